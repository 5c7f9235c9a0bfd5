"""What makes reading fast keeps its results: issue 30.

The one-pass annotation readers against the line-by-line rules they replace,
``Song.replace`` checking only what changes, chord labels parsed once, and
the song cache's key changing with everything that changes a read.
"""

from __future__ import annotations

import random
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import make_pop909_midi

from popgen.corpus import cache as cache_module
from popgen.corpus import reading
from popgen.corpus.cache import SongCache
from popgen.corpus.options import CorpusOptions
from popgen.formats.annotations import read_beat_file, read_chord_file
from popgen.music.chords import NO_CHORD, parse_chord
from popgen.music.limits import Limits
from popgen.music.song import Song, Track, make_notes


# ------------------------------------------------ annotation files, one pass
def beat_rule(text: str) -> tuple[list[float], list[bool], int]:
    """The line-by-line rule of ``read_beat_file`` (before sorting): times, downbeats, bad."""
    times, down, bad = [], [], 0
    for line in text.splitlines():
        parts = line.split()
        try:
            time = float(parts[0])
            is_down = bool(float(parts[-1])) if len(parts) > 1 else False
        except (IndexError, ValueError):
            bad += bool(line.strip())
            continue
        if np.isfinite(time) and time >= 0:
            times.append(time)
            down.append(is_down)
        else:
            bad += 1
    return times, down, bad


WORDS = ["0.5", "1.0", "0.0", "1", "0", "12.25", "1e2", "-1.0", "nan", "inf", "x", "1_0", ".5"]
SPACES = [" ", "\t", "  ", " \t"]
ENDS = ["\n", "\r\n", "\r", ""]


def random_lines(rng: random.Random, words: list[str], lines: int) -> str:
    """Lines of 0 to 4 words from ``words``, mostly three, with assorted spaces and ends."""
    out = []
    for _ in range(lines):
        count = rng.choice([3, 3, 3, 3, 0, 1, 2, 4])
        text = rng.choice(["", " "]) + rng.choice(SPACES).join(
            rng.choice(words) for _ in range(count)
        )
        out.append(text + rng.choice(ENDS[:2] if rng.random() < 0.9 else ENDS))
    return "".join(out)


@pytest.mark.parametrize("seed", range(40))
def test_beat_file_read_in_one_pass_follows_the_line_rules(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    clean = seed % 2 == 0  # half the files as POP909 writes them: the numpy path
    words = ["0.5", "1.0", "0.0", "2.75", "1e1"] if clean else WORDS
    lines = 50
    if clean:
        text = "".join(
            f"{rng.uniform(0, 100):.6f} {rng.choice(words)} {rng.choice(words)}\n"
            for _ in range(lines)
        )
    else:
        text = random_lines(rng, words, lines)
    path = tmp_path / "beat_midi.txt"
    path.write_text(text)
    times, down, bad = beat_rule(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got_times, got_down = read_beat_file(path)
    messages = [str(w.message) for w in caught]
    assert any("unreadable beat lines" in m for m in messages) == bool(bad)
    if len(times) > 1 and np.diff(times).min() <= 0:
        times_sorted, first = np.unique(times, return_index=True)
        times, down = times_sorted.tolist(), np.array(down)[first].tolist()
    assert got_times.tolist() == times and got_down.tolist() == down


def chord_rule(text: str) -> tuple[list[tuple[float, float, str]], int, set[str]]:
    """The line-by-line rule of ``read_chord_file``: segments, bad lines, unknown labels."""
    segments, bad, unknown = [], 0, set()
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        try:
            start, end, label = float(parts[0]), float(parts[1]), parts[2]
        except (IndexError, ValueError):
            bad += 1
            continue
        try:
            chord = parse_chord(label)
        except ValueError:
            unknown.add(label)
            chord = NO_CHORD
        if np.isfinite(start) and np.isfinite(end) and end > start:
            segments.append((start, end, chord.label))
        else:
            bad += 1
    return segments, bad, unknown


@pytest.mark.parametrize("seed", range(40))
def test_chord_file_read_in_one_pass_follows_the_line_rules(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    labels = ["C:maj", "A:min7", "N", "Bb:maj/3", "H:maj", "C:wat", "G:7"]
    if seed % 2 == 0:
        text = "".join(
            f"{a:.3f}\t{a + rng.choice([-1.0, 0.0, 2.0, 2.0]):.3f}\t{rng.choice(labels)}\n"
            for a in (rng.uniform(0, 50) for _ in range(30))
        )
    else:
        text = random_lines(rng, WORDS[:8] + labels, 30)
    path = tmp_path / "chord_midi.txt"
    path.write_text(text)
    segments, bad, unknown = chord_rule(text)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = [(a, b, c.label) for a, b, c in read_chord_file(path)]
    messages = [str(w.message) for w in caught]
    assert got == segments
    assert any(f"skipped {bad} unreadable" in m for m in messages) == bool(bad)
    listed = ", ".join(sorted(unknown)[:5])
    assert any(f"unknown chord labels ({listed})" in m for m in messages) == bool(unknown)


def test_chord_labels_are_parsed_once_and_errors_every_time() -> None:
    assert parse_chord("Bb:min7") is parse_chord("Bb:min7")  # one immutable value
    for _ in range(2):
        with pytest.raises(ValueError, match="unknown chord 'H7'"):
            parse_chord("H7")


# ------------------------------------------------------- Song, checked once
def test_replace_checks_what_it_changes() -> None:
    song = Song(make_notes([60, 64], [0, 1], [1, 1], track=[0, 1]), tracks=(Track(), Track()))
    with pytest.raises(ValueError, match="track indices"):
        song.replace(tracks=(Track(),))
    with pytest.raises(ValueError, match="durations"):
        song.replace(notes=make_notes([60], [0], [-1]))
    with pytest.raises(ValueError, match="bar lines"):
        song.replace(bars=[4.0, 0.0])
    with pytest.raises(ValueError, match="time order"):
        song.replace(tempos=[(4.0, 100.0), (0.0, 90.0)])
    with pytest.raises(TypeError, match="no field 'colour'"):
        song.replace(colour="red")
    retitled = song.replace(title="b", key="am")
    assert retitled.notes is song.notes and retitled.key == "A minor"
    assert song.replace(chords=[(4.0, 4.0, 0, 0, 0), (0.0, 4.0, 7, 0, 7)]).chords[
        "start"
    ].tolist() == [0.0, 4.0]


def test_notes_in_order_are_copied_not_frozen_in_the_callers_hands() -> None:
    notes = make_notes([60, 64, 60], [0, 0, 1], [1, 1, 1], velocity=[0, 200, 90])
    song = Song(notes)
    assert notes.flags.writeable and not song.notes.flags.writeable
    notes["pitch"] = 0
    assert song.notes["pitch"].tolist() == [60, 64, 60]
    assert song.notes["velocity"].tolist() == [1, 127, 90]
    unsorted = Song(make_notes([64, 60, 62], [1, 1, 0], [1, 1, 1], track=0))
    assert unsorted.notes[["start", "pitch"]].tolist() == [(0, 62), (1, 60), (1, 64)]


# ---------------------------------------------------------- the cache's key
def pop909_folder(root: Path) -> Path:
    folder = root / "001"
    folder.mkdir(parents=True)
    make_pop909_midi(folder / "001.mid", [(60, 0.0, 1.0, 80, 0), (64, 1.0, 1.0, 80, 2)], 120.0)
    (folder / "beat_midi.txt").write_text(
        "".join(f"{i / 2} 1.0 {float(i % 4 == 0)}\n" for i in range(8))
    )
    (folder / "chord_midi.txt").write_text("0.0\t2.0\tC:maj\n")
    return folder / "001.mid"


def key(path: Path, options: CorpusOptions) -> str:
    return SongCache("unused").key(path.read_bytes(), reading._settings(path, options))


@pytest.mark.parametrize(
    "change",
    [
        {"accents": False},
        {"keys": "file"},
        {"annotations": False},
        {"chords": "infer"},
        {"roles": (("MELODY", "melody"),)},
        {"limits": Limits(max_notes=10)},
        {"sections": "infer"},
    ],
)
def test_cache_key_changes_with_every_reading_option(
    tmp_path: Path, change: dict[str, Any]
) -> None:
    path = pop909_folder(tmp_path)
    assert set(change) <= set(reading._READ_FIELDS)
    assert key(path, CorpusOptions(**change)) != key(path, CorpusOptions())


def test_every_reading_option_is_in_the_key() -> None:
    tested = {"accents", "keys", "annotations", "chords", "roles", "limits", "sections"}
    assert set(reading._READ_FIELDS) == tested


@pytest.mark.parametrize("name", ["beat_midi.txt", "chord_midi.txt"])
def test_cache_key_changes_with_each_annotation_file(tmp_path: Path, name: str) -> None:
    path = pop909_folder(tmp_path)
    before = key(path, CorpusOptions())
    with (path.parent / name).open("a") as file:
        file.write("4.0 1.0 0.0\n" if name == "beat_midi.txt" else "2.0\t4.0\tG:maj\n")
    assert key(path, CorpusOptions()) != before
    (path.parent / name).unlink()
    assert key(path, CorpusOptions()) != before


def test_cache_key_changes_with_the_file_and_the_cache_format(
    tmp_path: Path, monkeypatch: Any
) -> None:
    path = pop909_folder(tmp_path)
    before = key(path, CorpusOptions())
    monkeypatch.setattr(cache_module, "CACHE_FORMAT_VERSION", cache_module.CACHE_FORMAT_VERSION + 1)
    assert key(path, CorpusOptions()) != before
    monkeypatch.undo()
    assert key(path, CorpusOptions()) == before
    path.write_bytes(path.read_bytes() + b"\0")
    assert key(path, CorpusOptions()) != before


# ----------------------------------------------------- worker processes: no imports each
@pytest.mark.parametrize(("reader", "symusic_loaded"), [("symusic", True), ("mido", False)])
def test_readers_are_imported_before_the_workers_fork(reader: str, symusic_loaded: bool) -> None:
    """Forked workers inherit the readers (symusic only when it is the reader)."""
    import subprocess
    import sys

    from popgen.formats.midi_symusic import symusic_available

    if symusic_loaded and not symusic_available():
        pytest.skip("symusic is not installed")
    code = (
        "import sys; from popgen.corpus.options import CorpusOptions; "
        "from popgen.corpus.reading import _load_readers; "
        f"_load_readers(CorpusOptions(reader={reader!r})); "
        "print(*(m in sys.modules for m in ('mido', 'popgen.formats.phrases', 'symusic')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True", str(symusic_loaded)]
