"""Helpers the metric modules share: bars, onsets, overlaps and the top line.

Private to :mod:`popgen.metrics`. :mod:`popgen.metrics.music` states the
conventions they implement and re-exports :data:`ONSET_TOLERANCE`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.music.limits import DEFAULT_LIMITS, shorten_silences
from popgen.music.song import Song

#: Onsets closer than this many beats count as one onset (a chord).
ONSET_TOLERANCE = 1 / 32

EPS = 1e-9  # slack for floor/ceil of times that floating point put just off a grid line
STEPS_PER_BEAT = 4  # the grid of onset positions in a bar (groove, bar patterns)


def shortened(song: Song) -> Song:
    """``song`` as the bar metrics measure it: silences past the cap shortened.

    Stretches longer than :data:`popgen.music.limits.DEFAULT_LIMITS`' ``max_silence``
    in which no note starts or ends lose whole bars
    (:func:`popgen.music.limits.shorten_silences`), so that a metric counting bars
    costs what the notes and bars cost, never what a silence does; a song
    without such a stretch is returned as it is.
    """
    return shorten_silences(song, DEFAULT_LIMITS.max_silence)[0]


def bar_edges(song: Song) -> NDArray[np.float64]:
    """The edges of the song's bars, :meth:`Song.bar_lines` (at least one bar)."""
    return np.asarray(song.bar_lines(), dtype=np.float64)


def num_bars(song: Song) -> int:
    """Bars the song spans, counted from beat 0 along :meth:`Song.bar_lines`; at least one."""
    return len(bar_edges(song)) - 1


def bar_of(edges: NDArray[np.float64], times: NDArray[Any]) -> NDArray[np.int64]:
    """Index of the bar each time falls in (the last bar for times past the last edge)."""
    index = np.searchsorted(edges, np.asarray(times, dtype=np.float64) + EPS, side="right") - 1
    return np.clip(index, 0, len(edges) - 2).astype(np.int64)


def onset_cells(
    song: Song, edges: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Each note's onset on the 1/4-beat grid of its bar: ``(bar, position, steps per bar)``.

    An onset belongs to the bar its rounded time falls in (an onset a hair
    before a bar line opens the next bar), and its position counts grid steps
    from that bar's start. The third array holds every bar's length in steps
    (at least one), one per bar: one bar more than ``edges`` has when an
    onset rounds past the last edge (that bar as long as the last one).
    """
    lengths = np.diff(edges)
    last = float(lengths[-1])
    grown = np.append(edges, edges[-1] + last)
    start = song.notes["start"].astype(np.float64)
    half = 0.5 / STEPS_PER_BEAT
    bar = np.searchsorted(grown, start + half, side="right") - 1
    bar = np.clip(bar, 0, len(grown) - 2).astype(np.int64)
    bars = len(edges) - 1
    if len(bar) and bar.max() >= bars:
        edges, bars = grown, bars + 1
    steps = np.maximum(np.round(np.diff(edges) * STEPS_PER_BEAT), 1).astype(np.int64)
    position = np.round((start - edges[bar]) * STEPS_PER_BEAT).astype(np.int64)
    position = np.clip(position, 0, steps[bar] - 1)
    return bar, position, steps


def overlaps(
    starts: NDArray[Any], ends: NDArray[Any], seg_starts: NDArray[Any], seg_ends: NDArray[Any]
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """Every (note, segment) pair whose spans overlap, with the length of the overlap.

    ``seg_starts`` must be sorted; segments may overlap one another. Returns
    ``(note index, segment index, overlap in beats)``, all positive overlaps.
    """
    seg_starts = np.asarray(seg_starts, dtype=np.float64)
    seg_ends = np.asarray(seg_ends, dtype=np.float64)
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)
    reach = np.maximum.accumulate(seg_ends) if len(seg_ends) else seg_ends
    first = np.searchsorted(reach, starts, side="right")  # no earlier segment ends after start
    stop = np.searchsorted(seg_starts, ends, side="left")  # no later segment starts before end
    count = np.maximum(stop - first, 0)
    note = np.repeat(np.arange(len(starts)), count)
    offset = np.arange(len(note)) - np.repeat(np.cumsum(count) - count, count)
    segment = np.repeat(first, count) + offset
    length = np.minimum(ends[note], seg_ends[segment]) - np.maximum(
        starts[note], seg_starts[segment]
    )
    keep = length > 0
    return note[keep], segment[keep], length[keep]


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
