"""The cold read's shortcuts (issue 30) give what the rules they stand for give."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from popgen.formats.annotations import _median, annotation_files
from popgen.music.limits import _TOLERANCE, shorten_silences
from popgen.music.sections import MAX_SECTION_BARS, Section
from popgen.music.song import Song, make_notes


def listed_rule(midi_path: Path) -> tuple[Path | None, Path | None]:
    """annotation_files as it was: Path by Path."""
    found = [midi_path.parent / "beat_midi.txt", midi_path.parent / "chord_midi.txt"]
    if not any(p.is_file() for p in found):
        return None, None
    midis = [p for p in midi_path.parent.iterdir() if p.suffix.lower() in (".mid", ".midi")]
    if len(midis) != 1:
        return None, None
    beat, chord = (p if p.is_file() else None for p in found)
    return beat, chord


@pytest.mark.parametrize(
    "names",
    [
        ["001.mid", "beat_midi.txt", "chord_midi.txt"],
        ["001.mid", "chord_midi.txt"],
        ["001.mid", "002.MIDI", "beat_midi.txt"],
        ["001.mid", "...mid", "beat_midi.txt"],  # Path("...mid").suffix is ".mid"
        ["001.mid", ".mid", "beat_midi.txt"],  # no suffix
        ["001.mid", "notes.mid.txt", "b.Mid", "beat_midi.txt"],
        ["001.mid", "beat_midi.txt/", "chord_midi.txt"],  # a folder named as the beat file
        ["001.mid"],
    ],
)
def test_annotation_files_as_path_by_path(tmp_path: Path, names: list[str]) -> None:
    for name in names:
        if name.endswith("/"):
            (tmp_path / name).mkdir()
        else:
            (tmp_path / name).write_text("")
    midi = tmp_path / "001.mid"
    assert annotation_files(midi) == listed_rule(midi)


@pytest.mark.parametrize("seed", range(20))
def test_median_is_numpys(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = rng.normal(size=int(rng.integers(1, 30))).round(int(rng.integers(0, 3)))
    assert _median(values) == float(np.median(values))


@pytest.mark.parametrize("seed", range(40))
def test_the_silence_bound_never_skips_a_long_stretch(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 12)
    starts = sorted(rng.choice([0, 1, 2, 5, 30, 31, 100]) + rng.random() for _ in range(n))
    lengths = [rng.choice([0.5, 1, 20, 80]) for _ in range(n)]
    song = Song(make_notes([60] * n, starts, lengths))
    max_beats = rng.choice([8.0, 16.0, 64.0])
    events = np.unique(
        np.concatenate([[0.0], song.notes["start"], song.notes["start"] + song.notes["duration"]])
    )
    long = int((np.diff(events) > max_beats * (1 + _TOLERANCE)).sum())
    shortened, count = shorten_silences(song, max_beats)
    assert count == long
    assert (shortened is song) == (long == 0)


@pytest.mark.parametrize(
    "args",
    [
        ("A", 0, 1),
        ("z", 3, MAX_SECTION_BARS),
        ("A", np.int64(2), 4),
        ("A", True, 4),
        ("Ä", 0, 4),
        ("AB", 0, 4),
        ("A", -1, 4),
        ("A", 0, 0),
        ("A", 0, MAX_SECTION_BARS + 1),
        ("A", 1.0, 4),
        (1, 0, 4),
    ],
)
def test_section_checks_are_the_same_on_the_short_path(args: tuple[Any, ...]) -> None:
    class Label(str):
        pass

    outcomes: list[Any] = []
    for label in (args[0], Label(args[0]) if isinstance(args[0], str) else args[0]):
        try:
            section = Section(label, *args[1:])
            outcomes.append((section.label, section.first_bar, section.num_bars))
            assert type(section.first_bar) is int and type(section.num_bars) is int
        except (TypeError, ValueError) as exc:
            outcomes.append((type(exc), str(exc)))
    assert outcomes[0] == outcomes[1]  # a str subclass goes the long way
