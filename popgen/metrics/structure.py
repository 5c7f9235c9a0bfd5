"""Bar-level structure of one song: repeated bars and self-similarity.

Pop songs repeat: a phrase comes back, a chorus returns. Four metrics read
that off the song's bars (:meth:`popgen.music.song.Song.bar_lines`):

* :func:`bar_repetition`: the share of bars that repeat an earlier bar
  exactly (the same onsets with the same pitches);
* :func:`rhythm_repetition`: the share of bars that reuse an earlier bar's
  onset positions (pitches aside), as an accompaniment keeps its pattern;
* :func:`self_similarity`: how strongly the song resembles itself shifted by
  some number of bars, from a bar-by-bar self-similarity matrix of pitch-class
  and rhythm features: the symbolic counterpart of the *structureness
  indicator* of MusDr (Wu & Yang, "The Jazz Transformer on the front line",
  ISMIR 2020), which finds repetition in a self-similarity matrix of audio
  chroma and tempo features;
* :func:`section_repetition`: how exactly a section with melody that comes
  back (:attr:`popgen.music.song.Song.sections`) repeats its first occurrence,
  bar by bar.

All four follow the conventions stated in :mod:`popgen.metrics.music`, which
lists them in its ``METRICS`` and re-exports them. Onset positions are on a
grid of 1/4 beat counted from the start of each bar; an onset a hair before
a bar line opens the next bar.

The examples assume ``from popgen.music.song import Song, make_notes``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.metrics._notes import bar_edges, onset_cells, overlaps, shortened
from popgen.metrics.registry import metric
from popgen.music.song import Song, make_notes  # noqa: F401  (make_notes: used by the examples)

__all__ = [
    "bar_features",
    "bar_repetition",
    "rhythm_repetition",
    "section_repetition",
    "self_similarity",
]

_PITCHES = 128


@metric
def bar_repetition(song: Song) -> float:
    """Share of bars with notes whose onsets and pitches repeat an earlier bar's exactly.

    A bar's pattern is the set of (onset position, pitch) of the notes that
    start in it, positions on the 1/4-beat grid from the bar's start, together
    with the bar's length; a bar repeats when an earlier bar has the same
    pattern. Durations and velocities do not count. Bars without onsets are
    left out. 0 when no bar repeats (a one-bar song), near 1 when the song
    plays one bar over and over; ``nan`` for an empty song.

    >>> bar = [60, 62, 64, 65]  # four quarter notes
    >>> bar_repetition(Song(make_notes(bar * 4, range(16), [1] * 16)))  # a bar, three repeats
    0.75
    >>> bar_repetition(Song(make_notes(bar + bar[::-1], range(8), [1] * 8)))  # two bars
    0.0
    """
    song = shortened(song)
    if not song.num_notes:
        return math.nan
    bar, position, steps = onset_cells(song, bar_edges(song))
    key = position * _PITCHES + song.notes["pitch"].astype(np.int64)
    return _repeated_share(bar, key, steps, int(steps.max()) * _PITCHES)


@metric
def rhythm_repetition(song: Song) -> float:
    """Share of bars with onsets whose onset positions repeat an earlier bar's exactly.

    As :func:`bar_repetition`, with pitches left out: a bar's pattern is the
    set of 1/4-beat positions at which notes start in it (however many start
    together), with the bar's length. An accompaniment that keeps its
    rhythm over changing chords repeats; ``nan`` for an empty song.

    >>> comp = [48, 52, 55, 52]  # a bar of quarter notes, then the same rhythm a fourth up
    >>> rhythm_repetition(Song(make_notes(comp + [p + 5 for p in comp], range(8), [1] * 8)))
    0.5
    """
    song = shortened(song)
    if not song.num_notes:
        return math.nan
    bar, position, steps = onset_cells(song, bar_edges(song))
    return _repeated_share(bar, position, steps, int(steps.max()))


def _repeated_share(
    bar: NDArray[np.int64], key: NDArray[np.int64], steps: NDArray[np.int64], width: int
) -> float:
    """Share of the bars with cells whose set of cells (keys below ``width``) an earlier bar has."""
    cells = np.unique(bar * width + key)
    owner = cells // width
    used, first, count = np.unique(owner, return_index=True, return_counts=True)
    rows = np.full((len(used), int(count.max()) + 1), -1, dtype=np.int64)
    rows[:, 0] = steps[used]  # bars of different lengths never match
    column = np.arange(len(cells)) - np.repeat(first, count) + 1
    rows[np.repeat(np.arange(len(used)), count), column] = cells % width
    _, index, inverse = np.unique(rows, axis=0, return_index=True, return_inverse=True)
    repeats = index[inverse.ravel()] < np.arange(len(used))
    return float(repeats.mean())


def bar_features(song: Song) -> NDArray[np.float64]:
    """float64[bars, 12 + positions]: each bar's pitch-class and onset features, unit length.

    Columns 0-11 are the beats each pitch class sounds in the bar (notes cut
    at the bar lines), the rest count the onsets at each 1/4-beat position
    from the bar's start (one per position, however many notes start there;
    as many positions as the longest bar has). Each half is scaled to unit
    length, then the whole row, so that pitch and rhythm weigh alike and the
    dot product of two rows is their cosine similarity. A bar in which
    nothing sounds is all zeros.

    >>> features = bar_features(Song(make_notes([60, 67], [0, 4], [4, 2])))
    >>> features.shape, features[0, [0, 7, 12]].round(3).tolist()
    ((2, 28), [0.707, 0.0, 0.707])
    """
    song = shortened(song)
    edges = bar_edges(song)
    bar, position, steps = onset_cells(song, edges)
    bars, width = len(steps), int(steps.max())
    if bars > len(edges) - 1:
        edges = np.append(edges, edges[-1] + (edges[-1] - edges[-2]))
    start = song.notes["start"]
    note, segment, length = overlaps(start, start + song.notes["duration"], edges[:-1], edges[1:])
    flat = segment * 12 + song.notes["pitch"][note].astype(np.int64) % 12
    pitch = np.bincount(flat, length, minlength=bars * 12).reshape(bars, 12)
    cells = np.unique(bar * width + position)
    rhythm = np.bincount(cells, minlength=bars * width).reshape(bars, width).astype(np.float64)
    features = np.concatenate([_unit(pitch), _unit(rhythm)], axis=1)
    return _unit(features)


def _unit(rows: NDArray[Any]) -> NDArray[np.float64]:
    norm = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.asarray(rows / np.where(norm > 0, norm, 1.0), dtype=np.float64)


@metric
def self_similarity(song: Song) -> float:
    """Largest mean cosine similarity of bars ``k`` bars apart, over lags ``k`` up to half the song.

    The bars' features (:func:`bar_features`: pitch classes sounding, onset
    positions) give a bar-by-bar cosine self-similarity matrix over the bars
    from the first to the last that sounds (``n`` of them). The mean of its
    ``k``-th diagonal, over pairs of bars that both sound, says how much the
    song resembles itself ``k`` bars later; the metric is the largest such
    mean for ``k`` in ``1..max(1, n // 2)`` (longer lags compare too few
    bars). It is the symbolic counterpart of MusDr's structureness indicator
    (Wu & Yang, 2020): near 1 when a phrase comes back whole (a 4-bar phrase
    repeated scores 1 at lag 4), lower for songs that never return to
    themselves. ``nan`` with fewer than two sounding bars, or no sounding
    pair within the lags.

    >>> phrase = [60, 62, 64, 65, 67, 69, 71, 72]  # two bars of quarter notes
    >>> round(self_similarity(Song(make_notes(phrase * 4, range(32), [1] * 32))), 3)  # 4 times
    1.0
    >>> chromatic = Song(make_notes(range(60, 72), range(12), [1] * 12))  # same rhythm, new notes
    >>> round(self_similarity(chromatic), 3)
    0.5
    """
    features = bar_features(song)
    sounding = np.flatnonzero(features.any(axis=1))
    if len(sounding) < 2:
        return math.nan
    features = features[sounding[0] : sounding[-1] + 1]
    has: NDArray[np.bool_] = np.asarray(features.any(axis=1))
    n = len(features)
    best = math.nan
    for lag in range(1, max(1, n // 2) + 1):  # a diagonal of the self-similarity matrix each
        pairs = int(np.count_nonzero(has[:-lag] & has[lag:]))
        if pairs:  # silent bars are zero rows: their products add nothing
            mean = float(np.einsum("ij,ij->", features[:-lag], features[lag:])) / pairs
            best = mean if math.isnan(best) else max(best, mean)
    return min(best, 1.0)  # not above 1 by rounding


@metric
def section_repetition(song: Song) -> float:
    """Share of the bars of repeated sections whose melody equals the same bar of the first one.

    A section repeats when an earlier section has its label and the label is a
    capital other than ``X`` (POP909's "other melodic material"); see
    :attr:`popgen.music.song.Song.sections`. Its ``i``-th bar is compared with the
    ``i``-th bar of the label's first section (bars past the shorter of the
    two are left out, and so are pairs in which neither bar has an onset): the
    two are equal when the same pitches start at the same 1/4-beat positions
    from the bar's start in bars of one length (as :func:`bar_repetition`
    compares bars; durations and velocities do not count). ``nan`` when the
    song has no repeated section. Measure a melody track alone
    (:func:`~popgen.metrics.music.choose_track` keeps the sections).

    >>> from popgen.music.sections import parse_form
    >>> a, b = [60, 62, 64, 65], [67, 65, 64, 62]  # two bars of quarter notes
    >>> song = Song(make_notes(a + b + a + a, range(16), [1] * 16), sections=parse_form("A2 A2"))
    >>> section_repetition(song)  # the second A's first bar repeats, its second does not
    0.5
    >>> section_repetition(song.replace(sections=parse_form("A2 B2")))
    nan
    """
    if not song.sections:
        return math.nan
    song = shortened(song)
    edges = bar_edges(song)
    bar, position, steps = onset_cells(song, edges)
    patterns: list[set[int]] = [set() for _ in range(len(steps))]
    keys = position * _PITCHES + song.notes["pitch"].astype(np.int64)
    for b, key in zip(bar.tolist(), keys.tolist(), strict=True):
        patterns[b].add(key)
    firsts: dict[str, tuple[int, int]] = {}
    equal = compared = 0
    for section in song.sections:
        if not section.melodic or section.label == "X":
            continue
        if section.label not in firsts:
            firsts[section.label] = (section.first_bar, section.num_bars)
            continue
        head, length = firsts[section.label]
        for i in range(min(length, section.num_bars)):
            a, b = head + i, section.first_bar + i
            if b >= len(steps) or not (patterns[a] or patterns[b]):
                continue
            compared += 1
            equal += int(patterns[a] == patterns[b] and bool(steps[a] == steps[b]))
    return equal / compared if compared else math.nan
