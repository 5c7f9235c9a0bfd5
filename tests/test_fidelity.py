"""popgen's MIDI reading against pretty_midi's on the real files of ../shared/data.

Skipped when the shared data (absent from a user's clone) or pretty_midi is missing.
The tests read every eighth file (about 110, in a few seconds); ``benchmarks/fidelity.py``
compares all of them.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from popgen.formats.midi_reading import read_midi

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
FILES = (sorted(DATA.glob("pop909/*/*.mid")) + sorted(DATA.glob("ff-piano/*.mid")))[::8]

pytestmark = pytest.mark.skipif(not FILES, reason=f"no shared MIDI data in {DATA}")


def _notes_in_ticks(path: Path) -> tuple[list[tuple[int, int, int]], list[tuple[int, int, int]]]:
    """Non-drum (pitch, on tick, off tick) as pretty_midi reads them, and as popgen does.

    pretty_midi's exact duplicates are merged as popgen merges them.
    """
    pretty_midi = pytest.importorskip("pretty_midi")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pm = pretty_midi.PrettyMIDI(str(path))
    # popgen merges exact duplicates (same track, pitch and onset; the longest kept)
    longest: dict[tuple[int, int, int], int] = {}
    for i, inst in enumerate(pm.instruments):
        if inst.is_drum:
            continue
        for n in inst.notes:
            key = (i, n.pitch, pm.time_to_tick(n.start))
            longest[key] = max(longest.get(key, -1), pm.time_to_tick(n.end))
    ref = sorted((pitch, on, off) for (_, pitch, on), off in longest.items())
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        song = read_midi(path).drop_drums()
    # notes with no note-off: pretty_midi drops them, popgen ends them at their track's end
    unended = sum(int(m.group(1)) for w in said
                  if (m := re.search(r"(\d+) notes had no note-off", str(w.message))))  # fmt: skip
    got = sorted(zip(song.notes["pitch"].tolist(), *_ticks(song, pm.resolution), strict=True))
    if unended:  # leave out the notes pretty_midi lacks, when they are exactly the unended ones
        left = Counter((pitch, on) for pitch, on, _ in ref)
        kept, extra = [], []
        for note in got:
            match = next(((note[0], note[1] + d) for d in (0, -1, 1)
                          if left[(note[0], note[1] + d)] > 0), None)  # fmt: skip
            if match is None:
                extra.append(note)
            else:
                left[match] -= 1
                kept.append(note)
        if len(extra) == unended:
            return ref, kept
    return ref, got


def _ticks(song: Any, tpb: int) -> tuple[list[int], list[int]]:
    """Each note's onset and offset in ticks."""
    on = np.round(song.notes["start"] * tpb).astype(int)
    off = np.round((song.notes["start"] + song.notes["duration"]) * tpb).astype(int)
    return on.tolist(), off.tolist()


def test_same_notes_as_pretty_midi() -> None:
    total = equal = 0
    count_mismatch = []
    for path in FILES:
        ref, got = _notes_in_ticks(path)
        if len(ref) != len(got):
            count_mismatch.append(f"{path.name}: pretty_midi {len(ref)}, popgen {len(got)}")
        total += len(ref)
        equal += sum(
            a[0] == b[0] and abs(a[1] - b[1]) <= 1 and abs(a[2] - b[2]) <= 1
            for a, b in zip(ref, got, strict=False)
        )
    assert not count_mismatch, count_mismatch
    assert equal / total >= 0.999, f"{equal} of {total} notes equal to one tick"
