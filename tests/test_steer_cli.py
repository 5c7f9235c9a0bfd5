"""`popgen generate --chords` and `popgen arrange`: controls from the command line, bad input."""

from pathlib import Path

import jax
import pytest
from conftest import make_midi

import popgen
from popgen.cli import main
from popgen.music.chords import chord_labels

LOOP = [(60, 64, 67), (55, 59, 62), (57, 60, 64), (53, 57, 60)]  # C G Am F


def _song_notes(bars: int) -> list[tuple[int, float, float, int, int]]:
    notes = []
    for bar in range(bars):
        chord = LOOP[bar % 4]
        for beat in range(4):
            notes.append((chord[beat % 3] + 12, bar * 4 + beat, 1.0, 90, 0))  # melody
        notes += [(p - 12, bar * 4, 4.0, 70, 1) for p in chord]  # accompaniment
    return notes


def _reference_songs(folder: Path) -> Path:
    """Five 8-bar songs like the tune, each a semitone above the last, in ``folder``."""
    folder.mkdir()
    for i in range(5):
        notes = [(p + i, s, d, v, t) for p, s, d, v, t in _song_notes(8)]
        make_midi(folder / f"s{i}.mid", notes, track_names=("Melody", "Piano"))
    return folder


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """An untrained pop run fitted on a song like the tune, a tune, and a lead-sheet run."""
    folder = tmp_path_factory.mktemp("midi")
    song_path = make_midi(folder / "song.mid", _song_notes(8), track_names=("Melody", "Piano"))
    tune = make_midi(folder / "tune.mid", [n for n in _song_notes(4) if n[4] == 0],
                     track_names=("Vocal",))  # fmt: skip
    runs = tmp_path_factory.mktemp("runs")
    corpus = popgen.Corpus.from_paths([song_path], cache_dir=None, workers=1)
    for name in ("pop", "lead"):
        tok = popgen.get_tokenizer(name).fit(corpus)
        model = popgen.LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
        params = model.init_params(key=jax.random.key(0))
        popgen.save_run(popgen.Run(model, tok, params), runs / name)
    return runs / "pop", runs / "lead", tune


def test_generate_over_chords(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = setup
    out = tmp_path / "song.mid"
    assert main(["generate", str(run), "--chords", "C G Am F", "--bars", "8", "--out", str(out),
                 "--strategy", "temperature=0.9,top_p=0.95", "--batch-size", "2"]) == 0  # fmt: skip
    for path in (tmp_path / "song-0.mid", tmp_path / "song-1.mid"):
        song = popgen.read_midi(path)
        assert [t.name for t in song.tracks] == ["Melody", "Accompaniment"]
        assert chord_labels(song.chords, style="symbol")[:8] == ["C", "G", "Am", "F"] * 2


def test_generate_chords_from_a_file(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = setup
    chords = tmp_path / "chords.txt"
    chords.write_text("# verse\nC . G .\nAm F\n")
    out = tmp_path / "song.mid"
    assert main(["generate", str(run), "--chords-file", str(chords), "--out", str(out)]) == 0
    song = popgen.read_midi(out)
    assert chord_labels(song.chords, style="symbol")[:4] == ["C", "G", "Am", "F"]
    assert song.chords["start"].tolist()[:4] == [0.0, 2.0, 4.0, 6.0]


def test_generate_a_form_writes_its_sections(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = setup
    chords = tmp_path / "form.txt"
    chords.write_text("A: C G Am F\nB: F G\n*: C\n")
    out = tmp_path / "song.mid"
    form = "i2 A4 B2 A4 o1"
    assert main(["generate", str(run), "--form", form, "--chords-file", str(chords),
                 "--out", str(out), "--seed", "1"]) == 0  # fmt: skip
    song = popgen.read_midi(out)
    assert popgen.format_form(song.sections) == form  # the markers, read back
    bars = chord_labels(song.chords, style="symbol")[:13]
    # i2: C C; A4: C G Am F; B2: F G; A4: C G Am F; o1: C (one marker a bar's chord)
    assert bars == ["C", "C", "C", "G", "Am", "F", "F", "G", "C", "G", "Am", "F", "C"]


def test_plain_bars_get_the_default_form(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = setup
    out = tmp_path / "song.mid"
    assert main(["generate", str(run), "--chords", "C G", "--bars", "20", "--out", str(out)]) == 0
    assert popgen.format_form(popgen.read_midi(out).sections) == "A8 B8 A4"


def test_arrange_keeps_the_melody(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, _, tune = setup
    out = tmp_path / "arranged.mid"
    assert main(["arrange", str(run), str(tune), "--out", str(out), "--seed", "2"]) == 0
    song = popgen.read_midi(out)
    given = popgen.read_midi(tune)
    melody = song.select_tracks([0])
    assert melody.notes[["pitch", "start", "duration", "velocity"]].tolist() == (
        given.notes[["pitch", "start", "duration", "velocity"]].tolist()
    )
    assert len(song.chords) >= 4  # inferred from the melody
    assert song.sections  # inferred from the melody's repeats, written as markers


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--chords", "C Hm"], "bar 2: unknown chord 'Hm'"),
        (["--chords", "C G Am", "--bars", "8"], "do not fill 8 bars"),
        (["--chords", "C G Am F", "--bars", "2"], "more than the 2 bars"),
        (["--bars", "4"], "--bars needs chords"),
        (["--chords", "C", "--beam-size", "2"], "cannot go with --primer or --beam-size"),
        (["--form", "A4 B", "--chords", "C"], "form: 'B' at 3 is not a section"),
        (["--form", "A4 B4"], "--form needs chords"),
        (["--form", "A4 B4", "--chords", "C", "--bars", "12"], "the form 'A4 B4' has 8 bars"),
        (["--form", "A4", "--chords", "C Hm"], "section A (bars 1-4): bar 2: unknown chord 'Hm'"),
    ],
)
def test_bad_controls(setup, tmp_path: Path, capsys, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = setup
    out = tmp_path / "song.mid"
    assert main(["generate", str(run), "--out", str(out), *args]) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_a_section_without_chords_is_one_line(setup, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = setup
    chords = tmp_path / "form.txt"
    chords.write_text("A: C G\n")
    out = tmp_path / "song.mid"
    assert main(["generate", str(run), "--form", "i2 A4", "--chords-file", str(chords),
                 "--out", str(out)]) == 1  # fmt: skip
    err = capsys.readouterr().err
    assert "section i (bars 1-2) has no chords" in err and "Traceback" not in err
    assert not out.exists()


def test_runs_that_cannot_follow(setup, tmp_path: Path, capsys, make_midi) -> None:  # type: ignore[no-untyped-def]
    _, lead, tune = setup
    out = tmp_path / "song.mid"
    assert main(["arrange", str(lead), str(tune), "--out", str(out)]) == 1
    assert "nothing to write beside" in capsys.readouterr().err
    chords_run = tmp_path / "note-run"
    tok = popgen.get_tokenizer("note")
    model = popgen.LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    popgen.save_run(popgen.Run(model, tok, model.init_params(key=jax.random.key(0))), chords_run)
    assert main(["generate", str(chords_run), "--chords", "C G", "--out", str(out)]) == 1
    assert "has no bars and chords to follow" in capsys.readouterr().err
    two_lines = make_midi(tmp_path / "two.mid", [(60, 0, 2, 80, 0), (64, 1, 2, 80, 0)])
    assert main(["arrange", str(setup[0]), str(two_lines), "--out", str(out)]) == 1
    assert "overlap" in capsys.readouterr().err
    empty = make_midi(tmp_path / "empty.mid", [])
    assert main(["arrange", str(setup[0]), str(empty), "--out", str(out)]) == 1
    assert "error" in capsys.readouterr().err
    assert not out.exists()


def test_evaluate_steer_measures_songs_over_chords_and_arrangements(
    setup, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    import json

    run, _, _ = setup
    folder = _reference_songs(tmp_path / "songs")
    out = tmp_path / "steer.json"
    args = ["evaluate", str(run), "--reference", str(folder), "--steer", "--bars", "4"]
    assert main([*args, "--json", str(out), "--strategy", "chord_tones=2.0"]) == 0
    figures = json.loads(out.read_text())
    assert figures["songs"] == 5 and figures["arranged_melody_unchanged"] is True
    assert 0 <= figures["chord_tone_share"]["inside"] <= 1
    goals = figures["goals"]
    assert goals["pitch_range"]["real"] == 14.0 and goals["harmonisation"]["real"] == 1.0
    assert goals["two_sample"]["real"] != goals["two_sample"]["real"]  # nan: all held out
    assert goals["section_repetition"]["songs"] == 0  # no song has 32 bars
    printed = capsys.readouterr().out
    assert "classifier on melodies" in printed and "melody leaps over a fifth" in printed
    assert main([*args, "--bars", "40"]) == 1
    assert "no held-out song has 40 whole 4/4 bars" in capsys.readouterr().err


def test_a_melody_with_bars_a_hair_off_4_beats_is_arranged_in_4_4() -> None:
    """POP909's 418 and 519: beats annotated a few millionths off; the vocabulary had no 1/1 bar."""
    import numpy as np

    from popgen.evaluation.steering import melody_controls
    from popgen.music.song import Song, Track, make_notes
    from popgen.sampling.follow import schedule

    notes = _song_notes(4)
    tracks = (Track("Melody", role="melody"), Track("Piano", role="accompaniment"))
    exact = Song(make_notes(*zip(*notes, strict=True)), tracks=tracks)
    tokenizer = popgen.get_tokenizer("pop").fit([exact])
    off = exact.replace(bars=np.arange(1, 5) * 3.999996)
    controls = melody_controls(off)
    assert controls.bars == 4
    schedule(tokenizer, controls)  # raised: lacks TIMESIG_1/1


def test_a_beat_layout_run_writes_songs_and_refuses_to_arrange(
    setup, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    import json

    _, _, tune = setup
    folder = _reference_songs(tmp_path / "songs")
    corpus = popgen.Corpus.from_paths(sorted(folder.glob("*.mid")), cache_dir=None, workers=1)
    tok = popgen.get_tokenizer("pop", layout="beat").fit(corpus)
    model = popgen.LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    run = tmp_path / "beat"
    popgen.save_run(popgen.Run(model, tok, model.init_params(key=jax.random.key(0))), run)
    song = tmp_path / "song.mid"
    args = ["generate", str(run), "--chords", "C G", "--bars", "2", "--seed", "0"]
    assert main([*args, "--out", str(song)]) == 0
    assert chord_labels(popgen.read_midi(song).chords, style="symbol")[:2] == ["C", "G"]
    capsys.readouterr()  # what generating said; the arrangement's error is read alone
    out = tmp_path / "arranged.mid"
    assert main(["arrange", str(run), str(tune), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "beat layout" in err and len(err.strip().splitlines()) == 1 and not out.exists()
    report = tmp_path / "steer.json"
    args = ["evaluate", str(run), "--reference", str(folder), "--steer", "--bars", "4"]
    assert main([*args, "--json", str(report)]) == 0
    figures = json.loads(report.read_text())
    assert figures["arranged_melody_unchanged"] is None  # no arrangements to measure
    assert figures["goals"]["harmonisation"]["songs"] == 0
    assert figures["goals"]["pitch_range"]["songs"] == 5
