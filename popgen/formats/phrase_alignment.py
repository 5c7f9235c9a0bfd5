"""Where the labels' melody lies in a song's: :func:`align_phrases` and what it reads.

Both melodies are grids of the pitch sounding at each 16th note (0 for
none): the labels' from ``phrases_melody.txt``
(:func:`popgen.formats.phrases.read_phrase_melody`), the song's from its
melody track (:func:`melody_grid`). :func:`align_phrases` chooses, with a
dynamic programme over the labels' bars, the shift of each bar that makes
the most 16ths agree; :mod:`popgen.formats.phrases` places the labels with
it (see there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from popgen.music.song import Song

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "MIN_AGREEMENT",
    "MIN_MARGIN",
    "SHIFT_PENALTY",
    "Alignment",
    "align_phrases",
    "melody_grid",
]

#: The least agreement (share of sounding 16ths with the same pitch) accepted.
MIN_AGREEMENT = 0.5
#: How far the agreement must lie above that of any shift far from the chosen ones.
MIN_MARGIN = 0.2
#: What a change of shift between two bars of the labels' melody costs (in 16ths of agreement).
SHIFT_PENALTY = 16
_STEPS = 16  # 16ths in a bar of the labels' melody
_PER_BEAT = 4  # 16ths in a beat


@dataclass(frozen=True)
class Alignment:
    """Where each bar of the labels' melody lies in the song, and how clear that is.

    >>> found = Alignment(shifts=(4, 4, 12), agreement=0.9, runner_up=0.3)
    >>> found.bar_lines().tolist(), found.accepted
    ([1.0, 5.0, 11.0, 15.0], True)
    """

    shifts: tuple[
        int, ...
    ]  # per labels' bar: the song's 16th (4 a beat) at its start, less 16 * bar
    agreement: float  # share of sounding 16ths with the same pitch, along ``shifts``
    runner_up: float  # the best agreement of one shift half a bar or more from all of ``shifts``

    @property
    def accepted(self) -> bool:
        """Whether the alignment is clear: :data:`MIN_AGREEMENT`, :data:`MIN_MARGIN`.

        >>> Alignment(shifts=(0,), agreement=0.6, runner_up=0.5).accepted
        False
        """
        return self.agreement >= MIN_AGREEMENT and self.agreement - self.runner_up >= MIN_MARGIN

    def bar_lines(self, bars: int | None = None) -> NDArray[np.float64]:
        """float64[bars + 1]: the song beat of each of the labels' bar lines.

        Bar ``j`` starts at ``(16 * j + shifts[j]) / 4`` beats and ends four
        beats later; bars past ``shifts`` keep its last shift. ``bars``
        defaults to ``len(shifts)``.

        >>> Alignment(shifts=(4,), agreement=1.0, runner_up=0.0).bar_lines(2).tolist()
        [1.0, 5.0, 9.0]
        """
        count = len(self.shifts) if bars is None else bars
        shifts = np.array(self.shifts or (0,), dtype=np.float64)
        index = np.minimum(np.arange(count + 1), len(shifts) - 1)
        starts = (np.arange(count + 1) * _STEPS + shifts[index]) / _PER_BEAT
        if count >= 1 and count <= len(shifts):  # the last line ends the last bar
            starts[count] = starts[count - 1] + _STEPS / _PER_BEAT
        out: NDArray[np.float64] = starts
        return out


def melody_grid(song: Song, track: int) -> NDArray[np.int16]:
    """int16[steps]: the highest pitch of ``track`` sounding at each 16th note from beat 0.

    Steps are 1/4 beat long and read at their middles; the grid ends with the song.

    >>> from popgen.music.song import make_notes
    >>> melody_grid(Song(make_notes([60, 64], [0, 1.5], [1, 1])), 0).tolist()
    [60, 60, 60, 60, 0, 0, 64, 64, 64, 64]
    """
    middles = (np.arange(int(np.ceil(song.end * _PER_BEAT))) + 0.5) / _PER_BEAT
    grid = np.zeros(len(middles), dtype=np.int16)
    notes = song.notes[song.notes["track"] == track]
    first = np.searchsorted(middles, notes["start"])
    last = np.searchsorted(middles, notes["start"] + notes["duration"])
    lengths = np.maximum(last - first, 0)
    # every (note, step) it covers, then the highest pitch at each step
    steps = np.arange(int(lengths.sum())) + np.repeat(
        first - (np.cumsum(lengths) - lengths), lengths
    )
    np.maximum.at(grid, steps, np.repeat(notes["pitch"].astype(np.int16), lengths))
    return grid


def align_phrases(
    labels: NDArray[np.int16], song: NDArray[np.int16], *, window: int = 8
) -> Alignment:
    """Where each bar of the labels' melody best lies on the song's melody.

    Each bar of 16 steps of ``labels`` may lie at a shift of up to ``window``
    bars either way; a bar scores the 16ths where both melodies sound the same
    pitch less those where either sounds and they differ. The shifts chosen
    maximise the total score less :data:`SHIFT_PENALTY` for each change of
    shift from one bar to the next (a dynamic programme over the bars): the
    labels' melody drops the song's short bars, so its shift grows there.

    Args:
        labels: the labels' melody grid, :func:`read_phrase_melody`.
        song: the song's, :func:`melody_grid`.
        window: the largest shift tried, in bars of 16 steps.

    Returns:
        The shifts, their agreement, and the best agreement of one shift
        half a bar (8 steps) or more from every shift chosen.

    >>> tune = np.random.default_rng(0).integers(60, 72, 64).astype(np.int16)
    >>> gap = np.zeros(8, np.int16)  # the song has two beats more before its third bar
    >>> found = align_phrases(tune, np.concatenate([gap, tune[:32], gap, tune[32:]]))
    >>> found.shifts, found.agreement, found.accepted
    ((8, 8, 16, 16), 1.0, True)
    """
    reach = _STEPS * window
    bars = max(1, -(-len(labels) // _STEPS))
    mine = np.zeros(bars * _STEPS, dtype=np.int16)
    mine[: len(labels)] = labels
    padded = np.zeros(len(mine) + 2 * reach, dtype=np.int16)
    padded[reach : reach + len(song[: len(mine) + reach])] = song[: len(mine) + reach]
    shifts = np.arange(-reach, reach + 1)
    other = sliding_window_view(padded, len(mine))  # [shift, step]: the song under the labels
    sounding = mine > 0
    if padded.min(initial=0) >= 0:  # pitches: where the labels rest, -1 matches nothing
        same = _bar_counts(other == np.where(sounding, mine, -1), bars).T  # [bar, shift]
    else:
        same = _bar_counts((other == mine) & sounding, bars).T
    heard = sliding_window_view(padded > 0, len(mine))  # other > 0, compared once
    either = _bar_counts(heard | sounding, bars).T
    score = 2 * same - either  # same minus differing
    # totals[bar, shift]: the best score of bars 0..bar with ``bar`` at ``shift``
    totals = np.empty((bars, len(shifts)), dtype=np.int64)
    totals[0] = score[0]
    views = list(totals)  # the rows, taken once: no indexing in the loop
    for before, row, scored in zip(views[:-1], views[1:], score[1:], strict=True):
        np.maximum(before, np.maximum.reduce(before) - SHIFT_PENALTY, out=row)
        np.add(row, scored, out=row)
    best = totals.argmax(axis=1)  # where the shift comes from when it changes
    path = [int(best[-1])]
    for bar in range(bars - 1, 0, -1):
        before, now = totals[bar - 1], path[-1]
        path.append(
            now if before[now] >= before[best[bar - 1]] - SHIFT_PENALTY else int(best[bar - 1])
        )
    path.reverse()
    rows = np.arange(bars)
    matched, sounding_total = same[rows, path].sum(), either[rows, path].sum()
    agreement = float(matched / sounding_total) if sounding_total else 0.0
    constant = same.sum(axis=0) / np.maximum(either.sum(axis=0), 1)
    used = shifts[path]
    far = np.abs(shifts[:, None] - np.unique(used)[None, :]).min(axis=1) >= _STEPS // 2
    runner_up = float(constant[far].max()) if far.any() else 0.0
    return Alignment(tuple(int(s) for s in used), agreement, runner_up)


_BYTE_SUM = np.uint64(0x0101010101010101)  # times a word of bytes: their sum in the top byte


def _bar_counts(flags: NDArray[np.bool_], bars: int) -> NDArray[np.int64]:
    """int64[rows, bars]: the true ``flags`` in each bar of 16 steps of each row.

    ``flags`` (bool[rows, bars * 16], each row contiguous) is read as two
    64-bit words a bar, each holding 8 flags of 0 or 1 as bytes; the bytes
    of their sum are at most 2, so one multiplication adds them up.
    """
    if not flags.flags.c_contiguous:
        flags = np.ascontiguousarray(flags)
    words = flags.view(np.uint64).reshape(len(flags), bars, 2)
    counts: NDArray[np.int64] = (
        ((words[:, :, 0] + words[:, :, 1]) * _BYTE_SUM) >> np.uint64(56)
    ).astype(np.int64)
    return counts
