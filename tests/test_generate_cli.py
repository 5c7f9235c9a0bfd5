"""`popgen generate`: strategy specs, primers, output formats and bad settings."""

from pathlib import Path

import jax
import jax.numpy as jnp
import mido
import pytest
from conftest import MIDI_DIR_FILES, make_midi

import popgen
import popgen.outputs.audio
from popgen.cli import main


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """An untrained run whose vocabulary covers melody.mid, and the MIDI files."""
    folder = tmp_path_factory.mktemp("midi")
    for name, spec in MIDI_DIR_FILES.items():
        make_midi(folder / name, **spec)
    melody = popgen.read_midi(folder / "melody.mid")
    tok = popgen.get_tokenizer("note").fit([melody])
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    params = model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))
    run = popgen.save_run(popgen.Run(model, tok, params), tmp_path_factory.mktemp("run") / "run")
    return run, folder / "melody.mid", folder / "band.mid"


def generate(run: Path, out: Path, *args: str) -> int:
    return main(["generate", str(run), "--out", str(out), "--tokens", "45", *args])


def programs(path: Path) -> list[int]:
    return [m.program for t in mido.MidiFile(path).tracks for m in t if m.type == "program_change"]


def test_strategy_spec_musicxml_program_and_png(setup, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = setup
    out = tmp_path / "deep" / "song.mid"  # the folder is created
    spec = "in_key=A minor,pitch_range(48, 84),temperature=0.9,top_p=0.95,repetition_penalty=1.2"
    assert generate(run, out, "--strategy", spec, "--musicxml", "--program", "40", "--png") == 0
    assert programs(out) == [40]
    song = popgen.read_midi(out)
    assert song.num_notes > 0 and song.tracks[0].program == 40
    pitches = set(song.notes["pitch"].tolist())
    assert all(48 <= p <= 84 and p % 12 in (0, 2, 4, 5, 7, 9, 11) for p in pitches)
    xml = out.with_suffix(".musicxml").read_text()
    assert "<score-partwise" in xml and "<note" in xml
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert "song.musicxml" in capsys.readouterr().out


def test_continuation_only_keeps_the_primers_tempo(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, melody, _ = setup
    full, cont = tmp_path / "full.mid", tmp_path / "cont.mid"
    assert generate(run, full, "--primer", str(melody), "--seed", "3") == 0
    assert generate(run, cont, "--primer", str(melody), "--seed", "3", "--continuation-only") == 0
    a, b = popgen.read_midi(full), popgen.read_midi(cont)
    primer = popgen.read_midi(melody)
    assert a.notes["pitch"][: primer.num_notes].tolist() == primer.notes["pitch"].tolist()
    assert b.num_notes < a.num_notes
    for song in (a, b):
        assert song.bpm == 100.0 and song.key == "C major"
        assert song.time_signatures[0][1:] == (3, 4) and song.tracks[0].program == 73


def test_beam_search_and_best_of(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = setup
    assert generate(run, tmp_path / "beam.mid", "--beam-size", "3") == 0
    assert popgen.read_midi(tmp_path / "beam.mid").num_notes > 0
    assert generate(run, tmp_path / "b.mid", "--best-of", "3", "--batch-size", "2") == 0
    assert (tmp_path / "b-0.mid").is_file() and (tmp_path / "b-1.mid").is_file()


def test_wav_through_fluidsynth_or_the_built_in_synth(setup, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import wave

    run, _, _ = setup
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))  # no FluidSynth: popgen's synth
    assert generate(run, tmp_path / "a.mid", "--wav") == 0
    with wave.open(str(tmp_path / "a.wav")) as wav:
        assert wav.getnframes() > 0 and wav.getsampwidth() == 2
    # a stand-in fluidsynth that writes the file named after -F, with a soundfont: used
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "fluidsynth"
    fake.write_text('#!/bin/sh\nprintf RIFF > "$3"\n')  # fluidsynth -ni -F OUT ...
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    # a system soundfont must not count
    monkeypatch.setattr(popgen.outputs.audio, "SOUNDFONT_PATHS", ())
    (tmp_path / "gm.sf2").write_bytes(b"sfbk")
    monkeypatch.setenv("POPGEN_SOUNDFONT", str(tmp_path / "gm.sf2"))
    assert generate(run, tmp_path / "b.mid", "--wav") == 0
    assert (tmp_path / "b.wav").read_bytes() == b"RIFF"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "nosuch=1"], "unknown strategy 'nosuch'; known: chord_tones, greedy"),
        (["--strategy", "top_p=1.5"], "top_p must be in (0, 1], got 1.5"),
        (["--strategy", "pitch_range(50)"], "missing a required argument: 'high'"),
        (["--top-k", "0"], "top_k must be a whole number >= 1, got 0"),
        (["--temperature", "-1"], "temperature must be > 0"),
        (["--program", "128"], "--program must be a General MIDI program in 0..127, got 128"),
        (["--beam-size", "2", "--batch-size", "2"], "--beam-size writes one song"),
        (["--beam-size", "0"], "beam_size must be a whole number >= 1, got 0"),
        (["--best-of", "0"], "best_of must be a whole number >= 1, got 0"),
        (["--primer", "BAND"], "band.mid: the primer has"),
    ],
)
def test_impossible_settings_give_one_error_line(
    setup, tmp_path: Path, capsys, args, message
) -> None:  # type: ignore[no-untyped-def]
    run, _, band = setup
    args = [str(band) if a == "BAND" else a for a in args]
    assert generate(run, tmp_path / "x.mid", *args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("popgen: error: ")
    assert message in err[0]
    assert not (tmp_path / "x.mid").exists()


def test_the_default_strategy_is_the_recipe_unless_flags_are_given(
    setup, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    import popgen.sampling

    run, _, _ = setup
    seen: list[str] = []
    original = popgen.sampling.parse_strategy

    def spy(spec, tokenizer=None):  # type: ignore[no-untyped-def]
        seen.append(spec)
        return original(spec, tokenizer)

    monkeypatch.setattr(popgen.sampling, "parse_strategy", spy)
    assert generate(run, tmp_path / "a.mid") == 0
    assert generate(run, tmp_path / "b.mid", "--temperature", "0.8") == 0
    assert generate(run, tmp_path / "c.mid", "--strategy", "") == 0
    assert seen == [popgen.sampling.DEFAULT_STRATEGY, "temperature=0.8", ""]


def test_leading_silence_is_dropped_unless_asked_to_keep_it(setup, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    run, _, _ = setup
    spec = "temperature=0.5"  # the same draws both times; only the trimming differs
    assert generate(run, tmp_path / "a.mid", "--strategy", spec, "--seed", "4") == 0
    assert (
        generate(
            run, tmp_path / "b.mid", "--strategy", spec, "--seed", "4", "--keep-leading-silence"
        )
        == 0
    )
    trimmed, kept = popgen.read_midi(tmp_path / "a.mid"), popgen.read_midi(tmp_path / "b.mid")
    assert trimmed.num_notes == kept.num_notes
    assert trimmed.notes["start"].min() < 4.0  # within the first bar
    shift = kept.notes["start"].min() - trimmed.notes["start"].min()
    assert shift % 4.0 == 0.0


@pytest.fixture(scope="module")
def silent_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 'note' run whose model predicts REST_8 by far, whatever it has read."""
    tok = popgen.get_tokenizer("note").fit(
        [popgen.Song(popgen.make_notes([60, 62], [0, 10], [1, 1]))]
    )
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    params = model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))
    head = params["params"]["head"]
    head["kernel"] = jnp.zeros_like(head["kernel"])
    head["bias"] = jnp.zeros_like(head["bias"]).at[tok.token_id("REST_8")].set(20.0)
    return popgen.save_run(popgen.Run(model, tok, params), tmp_path_factory.mktemp("silent") / "r")


def test_beam_search_cannot_write_an_empty_song(silent_run: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    def beam(out: Path, *args: str) -> int:
        return main(["generate", str(silent_run), "--out", str(out), "--tokens", "100", *args])

    for size in ("2", "4", "8"):
        out = tmp_path / f"beam{size}.mid"
        assert beam(out, "--beam-size", size) == 0
        assert popgen.read_midi(out).num_notes >= 4  # a note within every 16 + 3 tokens
    primer = tmp_path / "primer.mid"
    popgen.Song(popgen.make_notes([60, 62], [0, 10], [1, 1])).write_midi(primer)
    out = tmp_path / "cont.mid"
    assert beam(out, "--beam-size", "4", "--primer", str(primer), "--continuation-only") == 0
    assert popgen.read_midi(out).num_notes >= 4
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("args", [[], ["--best-of", "2", "--batch-size", "2"]])
def test_a_song_without_notes_is_written_with_a_warning(
    silent_run: Path, tmp_path: Path, capsys, args
) -> None:  # type: ignore[no-untyped-def]
    assert generate(silent_run, tmp_path / "s.mid", *args) == 0
    captured = capsys.readouterr()
    outs = [tmp_path / "s.mid"] if not args else [tmp_path / "s-0.mid", tmp_path / "s-1.mid"]
    assert all(path.is_file() for path in outs) and "(0 notes" in captured.out
    warnings = captured.err.strip().splitlines()
    assert warnings == [
        f"warning: {path} has no notes (no note was drawn; try more --tokens, another --seed, "
        "or max_gap=16 in --strategy)"
        for path in outs
    ]
    assert generate(silent_run, tmp_path / "g.mid", "--strategy", "max_gap=16") == 0
    assert popgen.read_midi(tmp_path / "g.mid").num_notes > 0  # the hint works
