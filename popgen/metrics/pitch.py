"""Pitch metrics of one song, and its pitch-class histogram.

Pitch-class entropies, range, intervals and runs of the top line, n-gram
variety and fit to a major or minor scale: each a function ``(song) ->
float`` whose docstring starts with its one-line definition; and
:func:`pitch_class_histogram`, a probability vector. They follow the
conventions stated in :mod:`popgen.metrics.music`, and each registers
itself in :data:`popgen.metrics.registry.METRICS` (or ``HISTOGRAMS``).

The examples assume ``from popgen.music.song import Song, make_notes``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.metrics._notes import bar_edges, bar_of, shortened, top_line
from popgen.metrics.registry import histogram, metric
from popgen.music.song import Song, make_notes  # noqa: F401  (make_notes: used by the examples)

__all__ = [
    "distinct_4gram_ratio",
    "distinct_ngram_ratio",
    "leap_share",
    "longest_pitch_run",
    "mean_interval",
    "pitch_class_entropy",
    "pitch_class_entropy_1bar",
    "pitch_class_entropy_4bar",
    "pitch_class_histogram",
    "pitch_range",
    "pitches_used",
    "repeated_note_ratio",
    "scale_consistency",
]

_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)
_MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], dtype=bool)  # natural minor
#: float64[24, 12]: row t (t < 12) is the major scale on tonic t, row 12 + t the minor.
_SCALES = np.array([np.roll(s, t) for s in (_MAJOR, _MINOR) for t in range(12)], dtype=np.float64)


# -------------------------------------------------------------------- helpers
def _entropy(counts: NDArray[Any]) -> NDArray[np.float64]:
    """Entropy in bits of each row of non-negative ``counts`` (rows sum > 0)."""
    p = counts / counts.sum(axis=-1, keepdims=True)
    logs = np.log2(np.where(p > 0, p, 1.0))
    return np.asarray(-(p * logs).sum(axis=-1), dtype=np.float64)


def _pc_counts(song: Song) -> NDArray[np.int64]:
    return np.bincount(song.notes["pitch"] % 12, minlength=12).astype(np.int64)


def _windowed_entropy(song: Song, bars: int) -> float:
    song = shortened(song)
    if not song.num_notes:
        return math.nan
    window = bar_of(bar_edges(song), song.notes["start"]) // bars
    _, index = np.unique(window, return_inverse=True)
    flat = index.ravel() * 12 + song.notes["pitch"] % 12
    counts = np.bincount(flat, minlength=(int(index.max()) + 1) * 12).reshape(-1, 12)
    return float(_entropy(counts).mean())


# ---------------------------------------------------------------------- pitch
@metric
def pitch_class_entropy(song: Song) -> float:
    """Entropy (bits) of the song's pitch-class histogram, counting notes.

    0 for one pitch class, log2(12) ≈ 3.58 for all twelve equally; ``nan``
    for an empty song.

    >>> pitch_class_entropy(Song(make_notes([60, 64, 67, 71], [0, 1, 2, 3], [1] * 4)))
    2.0
    """
    counts = _pc_counts(song)
    return float(_entropy(counts)) if counts.sum() else math.nan


@metric
def pitch_class_entropy_1bar(song: Song) -> float:
    """H1: mean over bars of the entropy (bits) of each bar's pitch-class histogram.

    A note belongs to the bar of its onset; bars without onsets are skipped.
    ``nan`` for an empty song.

    >>> song = Song(make_notes([60, 64, 60, 60], [0, 1, 4, 5], [1] * 4))  # bars: C E | C C
    >>> pitch_class_entropy_1bar(song)
    0.5
    >>> round(pitch_class_entropy_1bar(song.replace(bars=[1.0, 5.0])), 3)  # pickup: C | E C | C
    0.333
    """
    return _windowed_entropy(song, 1)


@metric
def pitch_class_entropy_4bar(song: Song) -> float:
    """H4: mean over 4-bar windows of the entropy (bits) of each window's pitch-class histogram.

    Windows are bars 1-4, 5-8, ... (not overlapping, of whatever length
    the bars have); a note belongs to the
    window of its onset; windows without onsets are skipped. ``nan`` for an
    empty song.

    >>> song = Song(make_notes([60, 64, 60, 60], [0, 4, 16, 20], [1] * 4))
    >>> pitch_class_entropy_4bar(song)  # windows: C E (1 bit) | C C (0 bits)
    0.5
    """
    return _windowed_entropy(song, 4)


@metric
def pitch_range(song: Song) -> float:
    """Highest minus lowest pitch, in semitones (``nan`` for an empty song).

    >>> pitch_range(Song(make_notes([60, 72, 67], [0, 1, 2], [1] * 3)))
    12.0
    """
    pitch = song.notes["pitch"]
    return float(pitch.max() - pitch.min()) if len(pitch) else math.nan


@metric
def pitches_used(song: Song) -> float:
    """Number of distinct pitches (0 for an empty song).

    >>> pitches_used(Song(make_notes([60, 72, 60], [0, 1, 2], [1] * 3)))
    2.0
    """
    return float(len(np.unique(song.notes["pitch"])))


@metric
def mean_interval(song: Song) -> float:
    """Mean absolute interval (semitones) between consecutive notes of the top line.

    The top line is the highest note of each onset. ``nan`` with fewer than
    two onsets.

    >>> mean_interval(Song(make_notes([60, 64, 62], [0, 1, 2], [1] * 3)))
    3.0
    """
    line = top_line(song)
    return float(np.abs(np.diff(line)).mean()) if len(line) > 1 else math.nan


#: The largest interval that is not a leap, in semitones: a perfect fifth.
_FIFTH = 7


@metric
def leap_share(song: Song) -> float:
    """Share of consecutive top-line note pairs a leap apart: more than a fifth (7 semitones).

    ``nan`` with fewer than two onsets.

    >>> leap_share(Song(make_notes([60, 67, 79, 77, 65], range(5), [1] * 5)))  # +7 +12 -2 -12
    0.5
    """
    line = top_line(song)
    return float((np.abs(np.diff(line)) > _FIFTH).mean()) if len(line) > 1 else math.nan


@metric
def longest_pitch_run(song: Song) -> float:
    """Length of the longest run of consecutive top-line notes with the same pitch.

    1 when no pitch repeats at once, 0 for an empty song.

    >>> longest_pitch_run(Song(make_notes([60, 62, 62, 62, 60], range(5), [1] * 5)))
    3.0
    """
    line = top_line(song)
    if not len(line):
        return 0.0
    bounds = np.concatenate([[-1], np.flatnonzero(np.diff(line)), [len(line) - 1]])
    return float(np.diff(bounds).max())


@metric
def repeated_note_ratio(song: Song) -> float:
    """Share of consecutive top-line note pairs that repeat the same pitch.

    ``nan`` with fewer than two onsets.

    >>> repeated_note_ratio(Song(make_notes([60, 60, 62, 62, 64], range(5), [1] * 5)))
    0.5
    """
    line = top_line(song)
    return float((np.diff(line) == 0).mean()) if len(line) > 1 else math.nan


def distinct_ngram_ratio(song: Song, n: int) -> float:
    """Distinct pitch n-grams of the top line divided by all of its pitch n-grams.

    1 when no n-gram repeats; ``nan`` when the top line has fewer than ``n``
    notes.

    Raises:
        ValueError: ``n < 1``.

    >>> song = Song(make_notes([60, 62, 60, 62, 60], range(5), [1] * 5))
    >>> distinct_ngram_ratio(song, 2)  # 60-62, 62-60, 60-62, 62-60
    0.5
    """
    if n < 1:
        raise ValueError(f"n-gram length must be >= 1, got {n}")
    line = top_line(song)
    if len(line) < n:
        return math.nan
    grams = np.lib.stride_tricks.sliding_window_view(line, n)
    return len(np.unique(grams, axis=0)) / len(grams)


@metric
def distinct_4gram_ratio(song: Song) -> float:
    """Distinct pitch 4-grams of the top line divided by all of its 4-grams.

    See :func:`distinct_ngram_ratio`; ``nan`` with fewer than four onsets.

    >>> distinct_4gram_ratio(Song(make_notes([60, 60, 60, 60, 60], range(5), [1] * 5)))
    0.5
    """
    return distinct_ngram_ratio(song, 4)


@metric
def scale_consistency(song: Song) -> float:
    """Largest share of notes whose pitch classes lie in one of the 24 major/minor scales.

    Minor means natural minor, so each minor scale holds the same pitch
    classes as its relative major. ``nan`` for an empty song.

    >>> c_major = [60, 62, 64, 65, 67, 69, 71, 72]
    >>> scale_consistency(Song(make_notes(c_major + [61], range(9), [1] * 9)))  # 8 of 9
    0.8888888888888888
    """
    counts = _pc_counts(song)
    total = counts.sum()
    return float((_SCALES @ counts).max() / total) if total else math.nan


# ------------------------------------------------------------------ histogram
@histogram
def pitch_class_histogram(song: Song) -> NDArray[np.float64]:
    """float64[12]: share of notes in each pitch class, C first (zeros for an empty song).

    >>> pitch_class_histogram(Song(make_notes([60, 64, 72], [0, 1, 2], [1] * 3)))[[0, 4]]
    array([0.66666667, 0.33333333])
    """
    counts = _pc_counts(song).astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts
