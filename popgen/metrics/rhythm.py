"""Rhythm, texture and dynamics metrics of one song, and its rhythm histograms.

Notes per bar, empty beats, groove consistency, polyphony and velocity
spread: each a function ``(song) -> float`` whose docstring starts with its
one-line definition; notes per bar of each part
(:func:`notes_per_bar_by_role`); and the inter-onset and note-length
histograms over :data:`DURATION_BINS`, probability vectors. They follow the
conventions stated in :mod:`popgen.metrics.music`, and each registers
itself in :data:`popgen.metrics.registry.METRICS` (or ``HISTOGRAMS``).

The examples assume ``from popgen.music.song import Song, make_notes``.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.metrics._notes import (
    EPS,
    STEPS_PER_BEAT,
    bar_edges,
    num_bars,
    onset_cells,
    onsets,
    shortened,
)
from popgen.metrics.registry import histogram, metric
from popgen.music.song import Song, make_notes  # noqa: F401  (make_notes: used by the examples)

__all__ = [
    "DURATION_BINS",
    "DURATION_EDGES",
    "empty_beat_rate",
    "groove_consistency",
    "inter_onset_histogram",
    "median_duration",
    "note_length_histogram",
    "notes_per_bar",
    "notes_per_bar_by_role",
    "notes_per_onset",
    "polyphony",
    "polyphony_rate",
    "velocity_spread",
]

#: Note values (in beats) of the rhythm histograms' bins, after Yang & Lerch
#: (2020): 16th, 8th triplet, dotted 16th, 8th, quarter triplet, dotted 8th,
#: quarter, half triplet, dotted quarter, half, dotted half, whole.
DURATION_BINS = (1 / 4, 1 / 3, 3 / 8, 1 / 2, 2 / 3, 3 / 4, 1, 4 / 3, 3 / 2, 2, 3, 4)

#: Bin edges in beats: 0, the geometric means of neighbouring
#: :data:`DURATION_BINS`, and infinity. A value falls in the bin of the note
#: value nearest to it on a log scale; shorter than a 16th counts as a 16th,
#: longer than a whole note as a whole note.
DURATION_EDGES = (
    0.0,
    *(math.sqrt(a * b) for a, b in itertools.pairwise(DURATION_BINS)),
    math.inf,
)

_INNER_EDGES = np.array(DURATION_EDGES[1:-1])


# -------------------------------------------------------------------- helpers
def _coverage(
    starts: NDArray[Any], ends: NDArray[Any]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Cut time at every note boundary: each piece's length and how many notes sound in it."""
    pos = np.concatenate([starts, ends]).astype(np.float64)
    delta = np.concatenate([np.ones(len(starts), np.int64), -np.ones(len(ends), np.int64)])
    order = np.argsort(pos, kind="stable")
    return np.diff(pos[order]), np.cumsum(delta[order])[:-1]


def _binned(values: NDArray[Any]) -> NDArray[np.float64]:
    counts = np.bincount(
        np.searchsorted(_INNER_EDGES, values, side="right"), minlength=len(DURATION_BINS)
    ).astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts


# --------------------------------------------------------------------- rhythm
@metric
def notes_per_bar(song: Song) -> float:
    """Number of notes divided by the number of bars (0 for an empty song).

    Bars are those of :meth:`Song.bar_lines` (annotated bar lines when the
    song has them, else its time signatures) up to the song's end.

    >>> notes_per_bar(Song(make_notes([60, 62, 64, 65, 67, 69], range(6), [1] * 6)))  # 2 bars
    3.0
    """
    song = shortened(song)
    return song.num_notes / num_bars(song)


def notes_per_bar_by_role(song: Song) -> dict[str, float]:
    """Notes of each part divided by the song's number of bars (see :func:`notes_per_bar`).

    A part is named by its tracks' role (:data:`popgen.music.song.ROLES`), or by
    the track's name when the role is unknown (``"track <i>"`` when that is
    empty too); tracks of one name count together. Every track is listed, in
    track order, notes or not.

    >>> from popgen.music.song import Track
    >>> tracks = (Track("MELODY", role="melody"), Track("PIANO", role="accompaniment"))
    >>> notes = make_notes([72, 74, 48, 52, 55, 48], [0, 4, 0, 0, 0, 4], [4] * 6, [80] * 6,
    ...                    track=[0, 0, 1, 1, 1, 1])
    >>> notes_per_bar_by_role(Song(notes, tracks=tracks))  # 2 bars
    {'melody': 1.0, 'accompaniment': 2.0}
    """
    song = shortened(song)
    counts = np.bincount(song.notes["track"], minlength=len(song.tracks))
    bars = num_bars(song)
    out: dict[str, float] = {}
    for i, track in enumerate(song.tracks):
        name = track.role or track.name or f"track {i}"
        out[name] = out.get(name, 0.0) + int(counts[i]) / bars
    return out


@metric
def median_duration(song: Song) -> float:
    """Median length of the notes, in beats (``nan`` for an empty song).

    >>> median_duration(Song(make_notes([60, 62, 64], [0, 1, 1.5], [1, 0.5, 2.5])))
    1.0
    """
    duration = song.notes["duration"]
    return float(np.median(duration)) if len(duration) else math.nan


@metric
def empty_beat_rate(song: Song) -> float:
    """Share of the beats in ``[0, ceil(song.end))`` during which no note sounds.

    A note sounds in every beat its span ``[start, start + duration)``
    touches. An empty song counts as one empty beat (1.0).

    >>> empty_beat_rate(Song(make_notes([60, 62], [0, 3], [1, 1])))  # beats 1, 2 empty
    0.5
    """
    if not song.num_notes:
        return 1.0
    start = song.notes["start"]
    first = np.floor(start + EPS)
    last = np.maximum(np.ceil(start + song.notes["duration"] - EPS), first + 1)
    lengths, count = _coverage(first, last)
    beats = max(math.ceil(song.end - EPS), float(last.max()))
    return float(1.0 - lengths[count > 0].sum() / beats)


@metric
def groove_consistency(song: Song) -> float:
    """1 - mean over neighbouring bars of their onset vectors' Hamming distance ÷ bar positions.

    Onsets are rounded to a 1/4-beat grid counted from the start of their bar
    (a bar of ``b`` beats has ``4 * b`` positions) and each bar is compared
    with the next; every bar of the song counts, empty ones included, but a
    pair of bars of different lengths on that grid (a pickup, a change of
    meter) is skipped. 1 when every bar has the same onsets; ``nan`` when no two
    neighbouring bars have the same length (songs shorter than two bars).

    >>> song = Song(make_notes([60, 62, 60, 62], [0, 2, 4, 6], [1] * 4))  # same rhythm twice
    >>> groove_consistency(song)
    1.0
    >>> groove_consistency(song.replace(bars=[1.0, 5.0]))  # pickup | beats 1, 3 | beat 1
    0.9375
    """
    song = shortened(song)
    if not song.num_notes:
        return math.nan
    bar, position, steps = onset_cells(song, bar_edges(song))
    bars = len(steps)
    if bars < 2:
        return math.nan
    width = int(steps.max())
    cells = np.unique(bar * width + position)  # one per (bar, position) with an onset
    per_bar = np.bincount(cells // width, minlength=bars)
    shared = np.bincount(cells // width, np.isin(cells + width, cells), minlength=bars)
    hamming = per_bar[:-1] + per_bar[1:] - 2 * shared[:-1]  # bar i against bar i + 1
    same = steps[:-1] == steps[1:]
    if not same.any():
        return math.nan
    return float(1.0 - (hamming[same] / steps[:-1][same]).mean())


# ------------------------------------------------------- texture and dynamics
@metric
def polyphony(song: Song) -> float:
    """Mean number of notes sounding at once, over the time when at least one sounds.

    Equals the notes' total duration divided by the length of the union of
    their spans; 1 for a melody without overlaps, ``nan`` for an empty song.

    >>> polyphony(Song(make_notes([60, 64, 67], [0, 0, 1], [2, 1, 1])))  # 2 notes for 2 beats
    2.0
    """
    if not song.num_notes:
        return math.nan
    start = song.notes["start"]
    lengths, count = _coverage(start, start + song.notes["duration"])
    return float((lengths * count).sum() / lengths[count > 0].sum())


@metric
def notes_per_onset(song: Song) -> float:
    """Mean number of notes that start together (onsets closer than ``ONSET_TOLERANCE``).

    1 for a melody of single notes, 3 for block triads; ``nan`` for an empty song.

    >>> notes_per_onset(Song(make_notes([60, 64, 67, 72], [0, 0, 0, 1], [1] * 4)))  # C E G, C
    2.0
    """
    if not song.num_notes:
        return math.nan
    return song.num_notes / len(onsets(np.sort(song.notes["start"])))


@metric
def polyphony_rate(song: Song) -> float:
    """Share of sounding 1/4-beat steps in which at least two notes sound.

    Notes are rounded to the grid and last at least one step; ``nan`` for an
    empty song.

    >>> polyphony_rate(Song(make_notes([60, 64], [0, 0], [2, 1])))  # 2 notes in 1 of 2 beats
    0.5
    """
    if not song.num_notes:
        return math.nan
    first = np.round(song.notes["start"] * STEPS_PER_BEAT)
    end = song.notes["start"] + song.notes["duration"]
    last = np.maximum(np.round(end * STEPS_PER_BEAT), first + 1)
    lengths, count = _coverage(first, last)
    return float(lengths[count > 1].sum() / lengths[count > 0].sum())


@metric
def velocity_spread(song: Song) -> float:
    """Standard deviation of the notes' velocities (population, ``nan`` for an empty song).

    >>> velocity_spread(Song(make_notes([60, 62], [0, 1], [1, 1], velocity=[60, 100])))
    20.0
    """
    velocity = song.notes["velocity"]
    return float(velocity.std()) if len(velocity) else math.nan


# ----------------------------------------------------------------- histograms
@histogram
def inter_onset_histogram(song: Song) -> NDArray[np.float64]:
    """float64[12]: share of the times between consecutive onsets in each :data:`DURATION_BINS` bin.

    Zeros for songs with fewer than two onsets.

    >>> song = Song(make_notes([60, 62, 64, 65], [0, 1, 1.5, 2], [1, 0.5, 0.5, 1]))
    >>> inter_onset_histogram(song)[[3, 6]]  # eighth, quarter
    array([0.66666667, 0.33333333])
    """
    starts = song.notes["start"]
    return _binned(np.diff(starts[onsets(starts)]))


@histogram
def note_length_histogram(song: Song) -> NDArray[np.float64]:
    """float64[12]: share of the note durations in each :data:`DURATION_BINS` bin.

    Zeros for an empty song.

    >>> song = Song(make_notes([60, 62, 64, 65], [0, 1, 1.5, 2], [1, 0.5, 0.5, 1]))
    >>> note_length_histogram(song)[[3, 6]]
    array([0.5, 0.5])
    """
    return _binned(song.notes["duration"])
