"""Bar lines: from time signatures, from annotated downbeats, and back to time signatures.

A song's bars are either given (:attr:`popgen.music.song.Song.bars`, the beats of
its annotated downbeats, as POP909's ``beat_midi.txt`` marks them) or follow
its time signatures. :func:`bar_lines` turns either into the edges of every
bar from beat 0 to the song's end, which is what bar-based metrics and
encodings read; :func:`signatures_from_bars` writes given bars back as the
time signatures a MIDI file can hold.

>>> from popgen.music.time import TimeSignature
>>> bar_lines(np.array([]), (TimeSignature(0, 3, 4),), end=7.0).tolist()
[0.0, 3.0, 6.0, 9.0]
>>> bar_lines(np.array([1.0, 5.0]), (), end=10.0).tolist()  # a one-beat pickup
[0.0, 1.0, 5.0, 9.0, 13.0]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from popgen.music.time import TimeSignature

__all__ = [
    "SHORTEST_BAR",
    "bar_lines",
    "check_bars",
    "common_meter",
    "has_bar",
    "meter_counts",
    "signatures_from_bars",
]

_EPS = 1e-6
#: Beats in the shortest bar :func:`bar_lines` makes (1/64 time): a time signature
#: with shorter bars, or with none (a numerator or denominator of 0), is ignored,
#: and bars continued past the last given bar line are never shorter, so that no
#: signature a file can hold asks for billions of bar lines.
SHORTEST_BAR = 1 / 16


def has_bar(sig: TimeSignature, shortest: float = SHORTEST_BAR) -> bool:
    """Whether ``sig`` makes bars: ``n/d`` with ``n, d >= 1``, bars of ``shortest`` beats or more.

    Bar lines, the encodings and :mod:`popgen.music.limits` ignore a time signature
    without bars (as a damaged or hostile file can hold); ``Limits.min_bar``
    gives ``shortest`` when a corpus is read.

    >>> from popgen.music.time import TimeSignature
    >>> has_bar(TimeSignature(0, 6, 8)), has_bar(TimeSignature(0, 0, 1))
    (True, False)
    >>> has_bar(TimeSignature(0, 1, 2**40)), has_bar(TimeSignature(0, 3, 0))
    (False, False)
    >>> has_bar(TimeSignature(0, 1, 16), shortest=0.5)
    False
    """
    return (
        sig.numerator >= 1
        and sig.denominator >= 1
        and sig.numerator * 4 / sig.denominator >= shortest
    )


def check_bars(bars: Sequence[float] | NDArray[np.float64]) -> NDArray[np.float64]:
    """``bars`` as a read-only float array, checked: finite, >= 0, strictly increasing.

    >>> check_bars([0, 4, 8]).tolist()
    [0.0, 4.0, 8.0]
    >>> check_bars([4, 0])
    Traceback (most recent call last):
    ValueError: bar lines must be strictly increasing, >= 0 and finite beats
    """
    out = np.array(bars, dtype=np.float64).reshape(-1)
    if len(out) and (
        not np.isfinite(out).all() or out[0] < 0 or (len(out) > 1 and np.diff(out).min() <= 0)
    ):
        raise ValueError("bar lines must be strictly increasing, >= 0 and finite beats")
    out.flags.writeable = False
    return out


def bar_lines(
    bars: NDArray[np.float64], time_signatures: Sequence[TimeSignature], end: float
) -> NDArray[np.float64]:
    """The edges of every bar from beat 0 until ``end`` is passed (at least one bar).

    Given ``bars`` win: a first bar line after 0 makes a shorter pickup bar
    from 0, and bars go on past the last given line at the last bar's length.
    Without them the time signatures set the bar lengths (4/4 when there is
    none), each bar starting at the previous one's end. A time signature
    whose bars would be shorter than :data:`SHORTEST_BAR` is ignored.

    Args:
        bars: given bar lines in beats (may be empty).
        time_signatures: the song's time signatures.
        end: the song's end in beats.

    Returns:
        ``edges`` with ``edges[0] == 0``, ``edges[-1] >= end``; bar ``i`` spans
        ``[edges[i], edges[i + 1])``.

    >>> from popgen.music.time import TimeSignature
    >>> bar_lines(np.array([]), (TimeSignature(0, 4, 4), TimeSignature(4, 2, 4)), 8).tolist()
    [0.0, 4.0, 6.0, 8.0]
    """
    if len(bars):
        edges = bars[bars > _EPS]
        edges = np.concatenate([[0.0], edges])
        last = float(edges[-1] - edges[-2]) if len(edges) > 1 else 4.0
        return _extend(edges, last, end)
    sigs = [s for s in time_signatures if has_bar(s)]
    edges_list = [0.0]
    for i, sig in enumerate(sigs):
        length = sig.numerator * 4 / sig.denominator
        stop = sigs[i + 1].beat if i + 1 < len(sigs) else None
        if stop is None:
            return _extend(np.array(edges_list), length, end)
        count = max(0, int(np.ceil((stop - edges_list[-1]) / length - _EPS)))
        if edges_list[-1] + length * count >= end:  # the end comes before the next change
            return _extend(np.array(edges_list), length, end)
        edges_list += (edges_list[-1] + length * np.arange(1, count + 1)).tolist()
    return _extend(np.array(edges_list), 4.0, end)


def _extend(edges: NDArray[np.float64], length: float, end: float) -> NDArray[np.float64]:
    """``edges`` continued by bars of ``length`` until one reaches ``end`` (at least one bar).

    A ``length`` shorter than :data:`SHORTEST_BAR` continues with 4-beat bars.
    """
    if not length >= SHORTEST_BAR:
        length = 4.0
    target = max(end, edges[-1] + _EPS if len(edges) == 1 else edges[-1])
    count = max(0, int(np.ceil((target - edges[-1]) / length - _EPS)))
    if len(edges) == 1:
        count = max(count, 1)
    return np.concatenate([edges, edges[-1] + length * np.arange(1, count + 1)])


def signatures_from_bars(bars: NDArray[np.float64]) -> tuple[TimeSignature, ...]:
    """Time signatures that put MIDI's bar lines where ``bars`` says (quarter-note beats).

    A bar of ``n`` beats is ``n/4``; of ``n + 1/2`` beats ``2n+1/8``; a pickup
    before the first bar line is a bar of its own.

    >>> [tuple(s) for s in signatures_from_bars(np.array([1.0, 5.0, 9.0, 12.0]))]
    [(0.0, 1, 4), (1.0, 4, 4), (9.0, 3, 4)]
    """
    from popgen.music.time import TimeSignature

    if not len(bars):
        return ()
    edges = bars if bars[0] <= _EPS else np.concatenate([[0.0], bars])
    if len(edges) < 2:  # one bar line only
        return (TimeSignature(0.0, 4, 4),)
    lengths, which = np.unique(np.diff(edges), return_inverse=True)  # few distinct lengths
    meters = np.array([_fraction(float(length)) for length in lengths])[which]
    changes = np.flatnonzero(np.any(meters[1:] != meters[:-1], axis=1)) + 1
    return tuple(
        TimeSignature(float(edges[i]), int(meters[i, 0]), int(meters[i, 1]))
        for i in [0, *changes.tolist()]
    )


def _fraction(beats: float) -> tuple[int, int]:
    """A bar length in quarter-note beats as (numerator, denominator)."""
    for den in (4, 8, 16):
        num = beats * den / 4
        if abs(num - round(num)) < 1e-3 and round(num) >= 1:
            return round(num), den
    return max(1, round(beats)), 4


def meter_counts(songs_bars: Sequence[NDArray[np.float64]]) -> Counter[tuple[int, int]]:
    """How many bars of each length (as a time signature) songs' bar edges hold.

    >>> meter_counts([np.array([0.0, 4, 8, 12]), np.array([0.0, 3, 7])])
    Counter({(4, 4): 4, (3, 4): 1})
    """
    counts: Counter[tuple[int, int]] = Counter()
    for edges in songs_bars:
        lengths = np.round(np.diff(edges), 3)
        for length, n in zip(*np.unique(lengths, return_counts=True), strict=True):
            counts[_fraction(float(length))] += int(n)
    return counts


def common_meter(songs_bars: Sequence[NDArray[np.float64]]) -> tuple[int, int]:
    """The most common bar length over songs' bar edges, as a time signature.

    >>> common_meter([np.array([0.0, 4, 8, 12]), np.array([0.0, 3, 7])])
    (4, 4)
    """
    counts = meter_counts(songs_bars)
    return counts.most_common(1)[0][0] if counts else (4, 4)
