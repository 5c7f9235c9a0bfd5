"""Helpers the metric modules share: bars, onsets and the top line.

Private to :mod:`popgen.metrics`. :mod:`popgen.metrics.music` states the
conventions they implement and re-exports :data:`ONSET_TOLERANCE`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from popgen.music import Song

#: Onsets closer than this many beats count as one onset (a chord).
ONSET_TOLERANCE = 1 / 32

EPS = 1e-9  # slack for floor/ceil of times that floating point put just off a grid line


def beats_per_bar(song: Song) -> float:
    """Beats in a bar of the song's first time signature (4.0 when there is none)."""
    sigs = song.time_signatures
    if not sigs or sigs[0].numerator <= 0 or sigs[0].denominator <= 0:
        return 4.0
    return sigs[0].numerator * 4 / sigs[0].denominator


def num_bars(song: Song) -> int:
    """Bars the song spans, counted from beat 0; at least one."""
    return max(1, math.ceil(song.end / beats_per_bar(song) - EPS))


def onsets(starts: NDArray[np.float64]) -> NDArray[np.intp]:
    """Index of the first note of each onset in sorted ``starts``."""
    new = np.ones(len(starts), dtype=bool)
    new[1:] = np.diff(starts) >= ONSET_TOLERANCE
    return np.flatnonzero(new)


def top_line(song: Song) -> NDArray[np.int64]:
    """int64[onsets]: the highest pitch of each onset, in time order."""
    if not song.num_notes:
        return np.zeros(0, dtype=np.int64)
    pitch = song.notes["pitch"].astype(np.int64)
    return np.maximum.reduceat(pitch, onsets(song.notes["start"]))
