"""The studio's logic without a browser: settings, models, generation, files, bad input."""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from popgen import read_midi
from popgen.music.chords import chord_labels
from popgen.outputs.audio import read_wav
from popgen.studio import Settings, Studio, StudioError
from popgen.studio.settings import check_strategy, settings_from_page, strategy_spec
from popgen.tokenizers import get_tokenizer

CHORDS = "C G Am F"


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Studio:
    return Studio(folder=tmp_path_factory.mktemp("studio"))


@pytest.fixture(scope="module")
def over_chords(studio: Studio) -> list:
    return studio.generate("pop909-songs", Settings(chords=CHORDS, candidates=2, seed=1))


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


# ------------------------------------------------------------------ settings
@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"candidates": 0}, "candidates must be a whole number in 1..4, got 0"),
        ({"candidates": 9}, "got 9"),
        ({"tokens": 10**6}, "tokens must be a whole number in 1..4096"),
        ({"top_p": 0.0}, "top-p must be in (0, 1], got 0.0"),
        ({"temperature": -1.0}, "temperature must be > 0, got -1.0"),
        ({"top_k": 0}, "top-k must be a whole number"),
        ({"seed": -3}, "seed must be a whole number in 0..2147483647, got -3"),
        ({"bars": 8}, "give a chord progression too"),
    ],
)
def test_settings_refuse_out_of_range_values(fields: dict, says: str) -> None:
    with pytest.raises(StudioError, match=None) as info:
        Settings(**fields)
    assert says in str(info.value)


def test_page_fields_become_settings_zero_meaning_unset() -> None:
    settings = settings_from_page(
        chords=" C G | Am F ", bars=8.0, tokens=0.0, temperature=0.0, top_k=0.0, top_p=0.9,
        strategy="  ", seed=7.0, candidates=3.0,
    )  # fmt: skip
    assert settings == Settings(chords="C G | Am F", bars=8, top_p=0.9, seed=7, candidates=3)
    plain = settings_from_page(
        chords=None, bars=None, tokens=None, temperature=None, top_k=None, top_p=None,
        strategy="plain", seed=None, candidates=None,
    )  # fmt: skip
    assert plain.strategy == "" and plain.seed == 0 and plain.candidates == 1
    with pytest.raises(StudioError, match="tokens must be a whole number, got 2.5"):
        settings_from_page(
            chords="", bars=0, tokens=2.5, temperature=0, top_k=0, top_p=0, strategy="",
            seed=0, candidates=1,
        )  # fmt: skip


def test_strategy_spec_follows_generate_flags() -> None:
    recipe = "temperature=0.9,chord_tones=1.5"
    assert strategy_spec(Settings(), recipe=recipe) == recipe  # nothing set: the run's recipe
    assert strategy_spec(Settings(temperature=1.2), recipe=recipe) == "temperature=1.2"
    assert strategy_spec(Settings(strategy=""), recipe=recipe) == ""  # 'plain'
    both = Settings(temperature=0.8, top_k=12, top_p=0.95, strategy="repetition_penalty=1.2")
    assert strategy_spec(both, recipe=recipe) == (
        "temperature=0.8,top_k=12,top_p=0.95,repetition_penalty=1.2"
    )


def test_check_strategy_refuses_settings_that_mask_every_pitch() -> None:
    tok = get_tokenizer("note")
    check_strategy("pitch_range(60, 72),top_p=0.5", tok)  # some pitches left: fine
    with pytest.raises(StudioError, match="leaves no pitch the model can play"):
        check_strategy("in_key=C,pitch_range(61, 61)", tok)  # C# is not in C major
    with pytest.raises(StudioError, match="cannot be used: .*no_such_strategy"):
        check_strategy("no_such_strategy=1", tok)
    with pytest.raises(StudioError, match="top_p must be in"):
        check_strategy("top_p=0", tok)


# ------------------------------------------------------------------ models
def test_models_offered_and_described(studio: Studio, tmp_path: Path) -> None:
    given = Studio(["runs/mine"], folder=tmp_path)
    assert given.choices()[0] == "runs/mine"
    assert {"pop909-melody", "pop909-songs"} <= set(given.choices())
    songs, melody = studio.describe("pop909-songs"), studio.describe("pop909-melody")
    assert (songs.takes_chords, songs.encoding, songs.meter) == (True, "pop", (4, 4))
    assert (melody.takes_chords, melody.encoding) == (False, "note")
    assert "follows chords" in songs.summary()


def test_a_folder_that_is_not_a_run_is_a_message(studio: Studio, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a run")
    with pytest.raises(StudioError, match=f"{tmp_path}: not a model popgen can load"):
        studio.describe(str(tmp_path))
    with pytest.raises(StudioError, match="choose a model first"):
        studio.run("  ")


# ------------------------------------------------------------------ generation
def test_generate_a_form_with_a_progression_per_section(studio: Studio) -> None:
    settings = Settings(chords="A: C G\nB: Am F", form="A2 B2 A2")
    (candidate,) = studio.generate("pop909-songs", settings)
    song = read_midi(candidate.midi)
    assert [(s.label, s.first_bar, s.num_bars) for s in song.sections] == [
        ("A", 0, 2), ("B", 2, 2), ("A", 4, 2)
    ]
    labels = chord_labels(candidate.song.chords, style="symbol")
    assert labels[:6] == ["C", "G", "Am", "F", "C", "G"]
    with pytest.raises(StudioError, match="a form needs chords"):
        Settings(form="A4")
    with pytest.raises(StudioError, match="not a section"):
        Settings(chords="C", form="A4 B")


def test_generate_over_chords_writes_every_file(studio: Studio, over_chords: list) -> None:
    assert len(over_chords) == 2
    for i, candidate in enumerate(over_chords):
        assert candidate.midi.parent.parent == studio.folder
        assert candidate.midi.name == f"candidate-{i}.mid"
        song = read_midi(candidate.midi)
        assert song.num_notes == candidate.song.num_notes > 0
        labels = chord_labels(candidate.song.chords, style="symbol")
        assert labels == CHORDS.split()  # the progression is followed bar by bar
        assert candidate.png.read_bytes()[1:4] == b"PNG"
        assert candidate.musicxml is None  # written when kept
        assert candidate.wav is not None
        samples, rate = read_wav(candidate.wav)
        assert rate == 22050 and np.abs(samples).max() > 0.01  # it sounds (either synth)
        seconds = candidate.song.seconds()
        assert seconds - 0.1 <= len(samples) / rate <= seconds + 3.0  # the song, and a release
    assert over_chords[0].midi.read_bytes() != over_chords[1].midi.read_bytes()


def test_kept_candidate_gets_its_musicxml(
    studio: Studio, over_chords: list, tmp_path: Path
) -> None:
    kept = studio.with_musicxml(over_chords[0])
    assert kept.musicxml == over_chords[0].midi.with_suffix(".musicxml")
    assert b"<score-partwise" in kept.musicxml.read_bytes()
    assert studio.with_musicxml(kept).musicxml == kept.musicxml  # once
    stranger = dataclasses.replace(kept, midi=tmp_path / "elsewhere.mid")
    with pytest.raises(StudioError, match="elsewhere.mid: not a file of this studio"):
        studio.with_musicxml(stranger)
    assert not (tmp_path / "elsewhere.musicxml").exists()


def test_same_seed_same_songs(studio: Studio, over_chords: list) -> None:
    again = studio.generate("pop909-songs", Settings(chords=CHORDS, candidates=2, seed=1))
    assert [c.midi.read_bytes() for c in again] == [c.midi.read_bytes() for c in over_chords]
    assert again[0].midi.parent != over_chords[0].midi.parent  # each click its own folder


def test_continue_a_kept_candidate(studio: Studio, over_chords: list) -> None:
    kept = over_chords[0]
    longer = studio.generate("pop909-songs", Settings(tokens=48), primer=kept.song)[0]
    assert longer.song.num_notes > kept.song.num_notes
    start = longer.song.notes[: kept.song.num_notes]
    assert start["pitch"].tolist() == kept.song.notes["pitch"].tolist()
    assert [t.role for t in longer.song.tracks] == [t.role for t in kept.song.tracks]
    assert read_midi(longer.midi).num_notes == longer.song.num_notes


def test_primer_upload_is_read_and_continued(studio: Studio, over_chords: list) -> None:
    primer = studio.read_primer(over_chords[1].midi)
    assert primer.source == "candidate-1.mid"
    out = studio.generate("pop909-melody", Settings(tokens=30, strategy=""), primer=primer)
    assert out[0].song.num_notes > 0


def test_bad_input_is_a_message_and_writes_nothing(
    studio: Studio, over_chords: list, tmp_path: Path
) -> None:
    before = _files(studio.folder)
    not_midi = tmp_path / "song.mid"
    not_midi.write_text("this is text, not MIDI")
    with pytest.raises(
        StudioError, match="the primer is not a MIDI file popgen can read: song.mid"
    ):
        studio.read_primer(not_midi)
    with pytest.raises(StudioError, match="upload it again"):
        studio.read_primer(tmp_path / "gone.mid")
    with pytest.raises(StudioError, match="chords 'C Xq7 Am F': bar 2"):
        studio.generate("pop909-songs", Settings(chords="C Xq7 Am F"))
    with pytest.raises(StudioError, match="do not fill 8 bars"):
        studio.generate("pop909-songs", Settings(chords="C G Am", bars=8))
    with pytest.raises(StudioError, match="has no bars and chords to follow"):
        studio.generate("pop909-melody", Settings(chords=CHORDS))
    with pytest.raises(StudioError, match="leaves no pitch"):
        studio.generate("pop909-melody", Settings(strategy="in_key=C,pitch_range(61, 61)"))
    primer = studio.read_primer(over_chords[0].midi)
    with pytest.raises(StudioError, match="chords cannot go with a primer"):
        studio.generate("pop909-songs", Settings(chords=CHORDS), primer=primer)
    assert _files(studio.folder) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.mid"]


def test_two_requests_at_once_both_get_their_songs(studio: Studio) -> None:
    results: dict[int, list] = {}
    errors: list[BaseException] = []

    def ask(seed: int) -> None:
        try:
            results[seed] = studio.generate(
                "pop909-songs", Settings(chords=CHORDS, candidates=2, seed=seed)
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=ask, args=(seed,)) for seed in (11, 12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors and sorted(results) == [11, 12]
    folders = {c.midi.parent for made in results.values() for c in made}
    assert len(folders) == 2
    assert all(read_midi(c.midi).num_notes > 0 for made in results.values() for c in made)
    alone = studio.generate("pop909-songs", Settings(chords=CHORDS, candidates=2, seed=12))
    assert [c.midi.read_bytes() for c in alone] == [c.midi.read_bytes() for c in results[12]]


def test_close_removes_only_a_folder_it_made(tmp_path: Path) -> None:
    mine = Studio()
    assert mine.folder.name.startswith("popgen-studio-") and mine.folder.is_dir()
    mine.close()
    assert not mine.folder.exists()
    given = Studio(folder=tmp_path / "kept")
    given.close()
    assert given.folder.is_dir()


# ------------------------------------------------------------------ the command and the extra
def test_studio_command_parses_and_imports_no_gradio() -> None:
    from popgen.cli import build_parser

    args = build_parser().parse_args(["studio"])
    assert (args.models, args.host, args.port) == ([], "127.0.0.1", None)
    code = (
        "import sys, popgen.studio, popgen.cli.studio; from popgen.cli import build_parser; "
        "build_parser(); print('gradio' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_gradio_the_page_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from popgen.studio.app import INSTALL_HINT, build_app

    for name in ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
        monkeypatch.setenv(name, "")  # build_app sets them; restored after the test
    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio raises ImportError
    with pytest.raises(StudioError, match=r"pip install 'popgen\[studio\]'"):
        build_app(Studio(folder=tmp_path))
    assert "popgen[studio]" in INSTALL_HINT


def test_bad_port_is_refused(tmp_path: Path) -> None:
    from popgen.cli import studio as command

    args = argparse.Namespace(models=[], host="127.0.0.1", port=70000)
    with pytest.raises(ValueError, match="--port must be in 1..65535, got 70000"):
        command.run(args)
