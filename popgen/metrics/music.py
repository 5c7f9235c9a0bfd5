"""Musical metrics of one song: pitch, rhythm, texture and dynamics.

Every scalar metric is a function ``(song) -> float`` whose docstring starts
with its one-line definition; :data:`METRICS` lists them by name and
:func:`song_metrics` computes them all on one chosen track. The histogram
features in :data:`HISTOGRAMS` return probability vectors.

Conventions shared by every function here:

* Times are in beats. Bars follow the song's first time signature
  (``numerator * 4 / denominator`` beats; 4/4 when there is none) and are
  counted from beat 0; a song spans ``ceil(song.end / beats_per_bar)`` bars,
  at least one.
* Entropies are in bits (log base 2).
* Onsets less than :data:`ONSET_TOLERANCE` beats apart are one onset (a
  chord). The *top line* is the highest pitch of each onset in time order; the
  melodic metrics (intervals, runs, repeats, n-grams) read it.
* A metric reads every note of the song it is given, whatever its track;
  choose or merge tracks first with :func:`prepare` (``song_metrics`` does).
* Nothing raises on an empty or one-note song: a mean, share, spread or
  extent of nothing is ``nan``; a count is 0. Each docstring says which.

The examples assume ``from popgen.music import Song, make_notes``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.music import Song, make_notes  # noqa: F401  (make_notes: used by the examples)

__all__ = [
    "DURATION_BINS",
    "DURATION_EDGES",
    "HISTOGRAMS",
    "METRICS",
    "ONSET_TOLERANCE",
    "Selection",
    "distinct_4gram_ratio",
    "distinct_ngram_ratio",
    "empty_beat_rate",
    "groove_consistency",
    "inter_onset_histogram",
    "longest_pitch_run",
    "mean_interval",
    "note_length_histogram",
    "notes_per_bar",
    "pitch_class_entropy",
    "pitch_class_entropy_1bar",
    "pitch_class_entropy_4bar",
    "pitch_class_histogram",
    "pitch_range",
    "pitches_used",
    "polyphony",
    "polyphony_rate",
    "prepare",
    "repeated_note_ratio",
    "scale_consistency",
    "song_metrics",
    "velocity_spread",
]

#: Which track to measure: ``None`` (the song must have one track), a track
#: index, a track name (case-insensitive) or ``"merge"`` (all tracks as one).
Selection = int | str | None

#: Onsets closer than this many beats count as one onset (a chord).
ONSET_TOLERANCE = 1 / 32

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
_STEPS_PER_BEAT = 4  # the grid of groove_consistency and polyphony_rate
_EPS = 1e-9  # slack for floor/ceil of times that floating point put just off a grid line
_MAJOR = np.array([1, 0, 1, 0, 1, 1, 0, 1, 0, 1, 0, 1], dtype=bool)
_MINOR = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0, 1, 0], dtype=bool)  # natural minor
#: float64[24, 12]: row t (t < 12) is the major scale on tonic t, row 12 + t the minor.
_SCALES = np.array([np.roll(s, t) for s in (_MAJOR, _MINOR) for t in range(12)], dtype=np.float64)


# ------------------------------------------------------------------ selection
def prepare(song: Song, track: Selection = None) -> Song:
    """The part of ``song`` to measure: one track, or all tracks merged.

    Args:
        song: any song.
        track: ``None`` when the song has a single track; else a track index,
            a track name (case-insensitive) or ``"merge"`` (every track as one,
            drum tracks included: call ``song.drop_drums()`` first to leave
            them out).

    Returns:
        A song with one track.

    Raises:
        ValueError: ``track`` is ``None`` and the song has several tracks, or
            the index or name matches no track (or a name several); the
            message names the song's source and lists its tracks.

    >>> from popgen.music import Track
    >>> notes = make_notes([60, 36], [0, 0], [1, 1], track=[0, 1])
    >>> song = Song(notes, tracks=(Track("melody"), Track("bass")))
    >>> prepare(song, "Bass").notes["pitch"].tolist()
    [36]
    >>> prepare(song, "merge").num_notes
    2
    """
    if track is None:
        if len(song.tracks) <= 1:
            return song
        raise ValueError(
            f"{_where(song)} has {len(song.tracks)} tracks ({_listing(song)}); "
            'pass a track index, a track name or "merge"'
        )
    if isinstance(track, str):
        if track.lower() == "merge":
            return song.merge_tracks()
        matches = [i for i, t in enumerate(song.tracks) if t.name.lower() == track.lower()]
        if len(matches) != 1:
            found = "no track" if not matches else f"{len(matches)} tracks"
            raise ValueError(
                f"{_where(song)} has {found} named {track!r} ({_listing(song)}); "
                'pass a unique track name, a track index or "merge"'
            )
        track = matches[0]
    if not 0 <= track < len(song.tracks):
        raise ValueError(
            f"{_where(song)} has no track {track}; expected an index in "
            f"0..{len(song.tracks) - 1} ({_listing(song)})"
        )
    return song if len(song.tracks) == 1 else song.select_tracks([track])


def _where(song: Song) -> str:
    return repr(song.source or song.title or "the song")


def _listing(song: Song) -> str:
    return ", ".join(f"{i}: {t.name or '(unnamed)'}" for i, t in enumerate(song.tracks))


# -------------------------------------------------------------------- helpers
def _beats_per_bar(song: Song) -> float:
    sigs = song.time_signatures
    if not sigs or sigs[0].numerator <= 0 or sigs[0].denominator <= 0:
        return 4.0
    return sigs[0].numerator * 4 / sigs[0].denominator


def _num_bars(song: Song) -> int:
    return max(1, math.ceil(song.end / _beats_per_bar(song) - _EPS))


def _onsets(starts: NDArray[np.float64]) -> NDArray[np.intp]:
    """Index of the first note of each onset in sorted ``starts``."""
    new = np.ones(len(starts), dtype=bool)
    new[1:] = np.diff(starts) >= ONSET_TOLERANCE
    return np.flatnonzero(new)


def _top_line(song: Song) -> NDArray[np.int64]:
    """int64[onsets]: the highest pitch of each onset, in time order."""
    if not song.num_notes:
        return np.zeros(0, dtype=np.int64)
    pitch = song.notes["pitch"].astype(np.int64)
    return np.maximum.reduceat(pitch, _onsets(song.notes["start"]))


def _entropy(counts: NDArray[Any]) -> NDArray[np.float64]:
    """Entropy in bits of each row of non-negative ``counts`` (rows sum > 0)."""
    p = counts / counts.sum(axis=-1, keepdims=True)
    logs = np.log2(np.where(p > 0, p, 1.0))
    return np.asarray(-(p * logs).sum(axis=-1), dtype=np.float64)


def _pc_counts(song: Song) -> NDArray[np.int64]:
    return np.bincount(song.notes["pitch"] % 12, minlength=12).astype(np.int64)


def _windowed_entropy(song: Song, bars: int) -> float:
    if not song.num_notes:
        return math.nan
    window = np.floor(song.notes["start"] / (_beats_per_bar(song) * bars) + _EPS)
    _, index = np.unique(window, return_inverse=True)
    flat = index.ravel() * 12 + song.notes["pitch"] % 12
    counts = np.bincount(flat, minlength=(int(index.max()) + 1) * 12).reshape(-1, 12)
    return float(_entropy(counts).mean())


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


# ---------------------------------------------------------------------- pitch
def pitch_class_entropy(song: Song) -> float:
    """Entropy (bits) of the song's pitch-class histogram, counting notes.

    0 for one pitch class, log2(12) ≈ 3.58 for all twelve equally; ``nan``
    for an empty song.

    >>> pitch_class_entropy(Song(make_notes([60, 64, 67, 71], [0, 1, 2, 3], [1] * 4)))
    2.0
    """
    counts = _pc_counts(song)
    return float(_entropy(counts)) if counts.sum() else math.nan


def pitch_class_entropy_1bar(song: Song) -> float:
    """H1: mean over bars of the entropy (bits) of each bar's pitch-class histogram.

    A note belongs to the bar of its onset; bars without onsets are skipped.
    ``nan`` for an empty song.

    >>> song = Song(make_notes([60, 64, 60, 60], [0, 1, 4, 5], [1] * 4))  # bars: C E | C C
    >>> pitch_class_entropy_1bar(song)
    0.5
    """
    return _windowed_entropy(song, 1)


def pitch_class_entropy_4bar(song: Song) -> float:
    """H4: mean over 4-bar windows of the entropy (bits) of each window's pitch-class histogram.

    Windows are bars 1-4, 5-8, ... (not overlapping); a note belongs to the
    window of its onset; windows without onsets are skipped. ``nan`` for an
    empty song.

    >>> song = Song(make_notes([60, 64, 60, 60], [0, 4, 16, 20], [1] * 4))
    >>> pitch_class_entropy_4bar(song)  # windows: C E (1 bit) | C C (0 bits)
    0.5
    """
    return _windowed_entropy(song, 4)


def pitch_range(song: Song) -> float:
    """Highest minus lowest pitch, in semitones (``nan`` for an empty song).

    >>> pitch_range(Song(make_notes([60, 72, 67], [0, 1, 2], [1] * 3)))
    12.0
    """
    pitch = song.notes["pitch"]
    return float(pitch.max() - pitch.min()) if len(pitch) else math.nan


def pitches_used(song: Song) -> float:
    """Number of distinct pitches (0 for an empty song).

    >>> pitches_used(Song(make_notes([60, 72, 60], [0, 1, 2], [1] * 3)))
    2.0
    """
    return float(len(np.unique(song.notes["pitch"])))


def mean_interval(song: Song) -> float:
    """Mean absolute interval (semitones) between consecutive notes of the top line.

    The top line is the highest note of each onset. ``nan`` with fewer than
    two onsets.

    >>> mean_interval(Song(make_notes([60, 64, 62], [0, 1, 2], [1] * 3)))
    3.0
    """
    line = _top_line(song)
    return float(np.abs(np.diff(line)).mean()) if len(line) > 1 else math.nan


def longest_pitch_run(song: Song) -> float:
    """Length of the longest run of consecutive top-line notes with the same pitch.

    1 when no pitch repeats at once, 0 for an empty song.

    >>> longest_pitch_run(Song(make_notes([60, 62, 62, 62, 60], range(5), [1] * 5)))
    3.0
    """
    line = _top_line(song)
    if not len(line):
        return 0.0
    bounds = np.concatenate([[-1], np.flatnonzero(np.diff(line)), [len(line) - 1]])
    return float(np.diff(bounds).max())


def repeated_note_ratio(song: Song) -> float:
    """Share of consecutive top-line note pairs that repeat the same pitch.

    ``nan`` with fewer than two onsets.

    >>> repeated_note_ratio(Song(make_notes([60, 60, 62, 62, 64], range(5), [1] * 5)))
    0.5
    """
    line = _top_line(song)
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
    line = _top_line(song)
    if len(line) < n:
        return math.nan
    grams = np.lib.stride_tricks.sliding_window_view(line, n)
    return len(np.unique(grams, axis=0)) / len(grams)


def distinct_4gram_ratio(song: Song) -> float:
    """Distinct pitch 4-grams of the top line divided by all of its 4-grams.

    See :func:`distinct_ngram_ratio`; ``nan`` with fewer than four onsets.

    >>> distinct_4gram_ratio(Song(make_notes([60, 60, 60, 60, 60], range(5), [1] * 5)))
    0.5
    """
    return distinct_ngram_ratio(song, 4)


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


# --------------------------------------------------------------------- rhythm
def notes_per_bar(song: Song) -> float:
    """Number of notes divided by the number of bars (0 for an empty song).

    >>> notes_per_bar(Song(make_notes([60, 62, 64, 65, 67, 69], range(6), [1] * 6)))  # 2 bars
    3.0
    """
    return song.num_notes / _num_bars(song)


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
    first = np.floor(start + _EPS)
    last = np.maximum(np.ceil(start + song.notes["duration"] - _EPS), first + 1)
    lengths, count = _coverage(first, last)
    beats = max(math.ceil(song.end - _EPS), float(last.max()))
    return float(1.0 - lengths[count > 0].sum() / beats)


def groove_consistency(song: Song) -> float:
    """1 - mean Hamming distance between neighbouring bars' onset vectors ÷ positions per bar.

    Onsets are rounded to a 1/4-beat grid (``4 * beats_per_bar`` positions
    per bar); every bar of the song counts, empty ones included. 1 when
    every bar has the same onsets; ``nan`` for songs shorter than two bars.

    >>> song = Song(make_notes([60, 62, 60, 62], [0, 2, 4, 6], [1] * 4))  # same rhythm twice
    >>> groove_consistency(song)
    1.0
    """
    if not song.num_notes:
        return math.nan
    per_bar = max(1, round(_beats_per_bar(song) * _STEPS_PER_BEAT))
    cells = np.unique(np.round(song.notes["start"] * _STEPS_PER_BEAT).astype(np.int64))
    bar = cells // per_bar
    bars = max(_num_bars(song), int(bar[-1]) + 1)
    if bars < 2:
        return math.nan
    shared = np.isin(cells + per_bar, cells).sum()  # same position in the next bar
    first, last = (bar == 0).sum(), (bar == bars - 1).sum()
    hamming = 2 * len(cells) - first - last - 2 * shared  # summed over neighbouring pairs
    return float(1.0 - hamming / (bars - 1) / per_bar)


# ------------------------------------------------------- texture and dynamics
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


def polyphony_rate(song: Song) -> float:
    """Share of sounding 1/4-beat steps in which at least two notes sound.

    Notes are rounded to the grid and last at least one step; ``nan`` for an
    empty song.

    >>> polyphony_rate(Song(make_notes([60, 64], [0, 0], [2, 1])))  # 2 notes in 1 of 2 beats
    0.5
    """
    if not song.num_notes:
        return math.nan
    first = np.round(song.notes["start"] * _STEPS_PER_BEAT)
    end = song.notes["start"] + song.notes["duration"]
    last = np.maximum(np.round(end * _STEPS_PER_BEAT), first + 1)
    lengths, count = _coverage(first, last)
    return float(lengths[count > 1].sum() / lengths[count > 0].sum())


def velocity_spread(song: Song) -> float:
    """Standard deviation of the notes' velocities (population, ``nan`` for an empty song).

    >>> velocity_spread(Song(make_notes([60, 62], [0, 1], [1, 1], velocity=[60, 100])))
    20.0
    """
    velocity = song.notes["velocity"]
    return float(velocity.std()) if len(velocity) else math.nan


# ----------------------------------------------------------------- histograms
def pitch_class_histogram(song: Song) -> NDArray[np.float64]:
    """float64[12]: share of notes in each pitch class, C first (zeros for an empty song).

    >>> pitch_class_histogram(Song(make_notes([60, 64, 72], [0, 1, 2], [1] * 3)))[[0, 4]]
    array([0.66666667, 0.33333333])
    """
    counts = _pc_counts(song).astype(np.float64)
    total = counts.sum()
    return counts / total if total else counts


def inter_onset_histogram(song: Song) -> NDArray[np.float64]:
    """float64[12]: share of the times between consecutive onsets in each :data:`DURATION_BINS` bin.

    Zeros for songs with fewer than two onsets.

    >>> song = Song(make_notes([60, 62, 64, 65], [0, 1, 1.5, 2], [1, 0.5, 0.5, 1]))
    >>> inter_onset_histogram(song)[[3, 6]]  # eighth, quarter
    array([0.66666667, 0.33333333])
    """
    starts = song.notes["start"]
    return _binned(np.diff(starts[_onsets(starts)]))


def note_length_histogram(song: Song) -> NDArray[np.float64]:
    """float64[12]: share of the note durations in each :data:`DURATION_BINS` bin.

    Zeros for an empty song.

    >>> song = Song(make_notes([60, 62, 64, 65], [0, 1, 1.5, 2], [1, 0.5, 0.5, 1]))
    >>> note_length_histogram(song)[[3, 6]]
    array([0.5, 0.5])
    """
    return _binned(song.notes["duration"])


#: Scalar metrics by name, in a stable order (pitch, rhythm, texture).
METRICS: dict[str, Callable[[Song], float]] = {
    "pitch_class_entropy": pitch_class_entropy,
    "pitch_class_entropy_1bar": pitch_class_entropy_1bar,
    "pitch_class_entropy_4bar": pitch_class_entropy_4bar,
    "pitch_range": pitch_range,
    "pitches_used": pitches_used,
    "mean_interval": mean_interval,
    "longest_pitch_run": longest_pitch_run,
    "repeated_note_ratio": repeated_note_ratio,
    "distinct_4gram_ratio": distinct_4gram_ratio,
    "scale_consistency": scale_consistency,
    "notes_per_bar": notes_per_bar,
    "empty_beat_rate": empty_beat_rate,
    "groove_consistency": groove_consistency,
    "polyphony": polyphony,
    "polyphony_rate": polyphony_rate,
    "velocity_spread": velocity_spread,
}

#: Histogram features by name; each returns a probability vector (or zeros).
HISTOGRAMS: dict[str, Callable[[Song], NDArray[np.float64]]] = {
    "pitch_class_histogram": pitch_class_histogram,
    "inter_onset_histogram": inter_onset_histogram,
    "note_length_histogram": note_length_histogram,
}


def song_metrics(song: Song, track: Selection = None) -> dict[str, float]:
    """Every metric of :data:`METRICS` on ``prepare(song, track)``.

    Args:
        song: any song.
        track: which track to measure; see :func:`prepare`.

    Returns:
        Metric name -> value (a float, possibly ``nan``), in ``METRICS`` order.

    >>> values = song_metrics(Song(make_notes([60, 62, 64, 65], range(4), [1] * 4)))
    >>> values["pitch_range"], values["scale_consistency"], values["polyphony"]
    (5.0, 1.0, 1.0)
    """
    chosen = prepare(song, track)
    return {name: metric(chosen) for name, metric in METRICS.items()}
