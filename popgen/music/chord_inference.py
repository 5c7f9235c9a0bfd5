"""Chord inference from notes: a chord per beat (or half bar), smoothed with Viterbi.

:func:`infer_chords` labels a song's harmony from its notes alone:

1. **Segments.** Every bar of :meth:`popgen.music.song.Song.bar_lines` is cut into
   whole beats (``per="beat"``: the bar's length rounded to beats, at least
   one; a bar of 4 beats gives 4 segments) or into two halves
   (``per="half_bar"``). Segments run from beat 0 to the end of the last
   pitched note.
2. **Profiles.** For each segment, a 12-bin pitch-class profile of the
   non-drum notes sounding in it: each note adds its overlap with the segment
   (times 1.5 when it starts in the segment) to its pitch class; the profile
   is then normalised to sum 1. The segment's lowest note (among those
   sounding through a tenth of it) is its bass.
3. **Scores.** 60 chord templates -- 12 roots times major, minor, dominant
   seventh, major seventh and minor seventh -- each score a segment as: the
   share of the profile on chord tones, minus 0.4 times the share off them,
   minus 0.1 times the root's share, plus 0.3 when the bass is the root or 0.1
   when it is another chord tone, minus 0.2 per tone past three (so a seventh
   must earn its fourth tone); the score is multiplied by the segment's length
   in beats. A segment with no sound scores only "no chord" (``N``).
4. **Smoothing.** A Viterbi pass picks the best path through the segments,
   a path earning ``smoothing`` for each segment that keeps the previous
   segment's chord -- only 0.2 of it on a bar line and 0.45 in the middle of
   a bar (when a segment starts there), where pop harmony changes most. Each step is a
   handful of numpy operations over the 61 states; notes are never looped
   over.

Equal consecutive segments then merge into one chord row; the inferred bass is
the root (inversions are not inferred). The constants were tuned on POP909
songs 001-700 for the agreement of root and major/minor triad with the
dataset's annotations (``benchmarks/chord_agreement.py``).

>>> from popgen.music.chords import chord_labels
>>> from popgen.music.song import Song, make_notes
>>> song = Song(make_notes([60, 64, 67, 55, 59, 62], [0, 0, 0, 4, 4, 4], [4] * 6))
>>> chords = infer_chords(song)
>>> chord_labels(chords), chords["start"].tolist(), chords["duration"].tolist()
(['C:maj', 'G:maj'], [0.0, 4.0], [4.0, 4.0])
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from popgen.music.chords import CHORD_DTYPE, QUALITIES

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from popgen.music.song import Song

__all__ = ["infer_chords"]


@dataclass(frozen=True)
class _Params:
    """The method's constants, tuned on POP909 songs 001-700 (``benchmarks/chord_agreement.py``)."""

    qualities: tuple[str, ...] = ("maj", "min", "7", "maj7", "min7")
    root_weight: float = -0.1  # extra weight of the root's share (the bass term rewards it)
    off_weight: float = 0.4  # penalty per unit of sound off the chord
    bass_weight: float = 0.3  # bonus when the bass plays the root
    bass_tone_weight: float = 0.1  # bonus when the bass plays another chord tone
    extra_tone_cost: float = 0.2  # cost of each chord tone past three
    bass_min_share: float = 0.1  # a bass note must sound this share of its segment
    bar_change: float = 0.2  # share of ``smoothing`` a change costs on a bar line
    half_change: float = 0.45  # share on a half-bar line (per="beat")
    onset_bonus: float = 0.5  # extra weight of notes that start in the segment


_PARAMS = _Params()
_SILENT_SCORE = 1.0  # what "no chord" scores in a silent segment
_EPS = 1e-9


def infer_chords(song: Song, *, per: str = "beat", smoothing: float = 0.5) -> NDArray[Any]:
    """Infer the chords of a song from its notes (see the module docstring for the method).

    Args:
        song: the song; its drum tracks are ignored, its chords are not read.
        per: the segment grid, ``"beat"`` (each beat of each bar) or
            ``"half_bar"`` (each half of each bar).
        smoothing: the Viterbi bonus, per segment, for keeping the previous
            chord; 0 labels every segment on its own, larger values change
            chords less often.

    Returns:
        A :data:`popgen.music.chords.CHORD_DTYPE` array, one row per run of equal
        segments, from beat 0 to the end of the last pitched note; "no
        chord" rows (root -1) where nothing sounds. Empty when the song has no pitched notes.

    Raises:
        ValueError: an unknown ``per`` or a negative ``smoothing``.

    >>> from popgen.music.chords import chord_labels
    >>> from popgen.music.song import Song, make_notes
    >>> am = Song(make_notes([57, 60, 64, 69], [2, 2, 2, 2], [2, 2, 2, 2]))  # rest, then Am
    >>> chords = infer_chords(am, per="half_bar")
    >>> chord_labels(chords), chords["start"].tolist()
    (['N', 'A:min'], [0.0, 2.0])
    """
    return _infer(song, per=per, smoothing=smoothing, params=_PARAMS)


def _infer(song: Song, *, per: str, smoothing: float, params: _Params) -> NDArray[Any]:
    if per not in ("beat", "half_bar"):
        raise ValueError(f"unknown segment grid per={per!r}; expected 'beat' or 'half_bar'")
    if not smoothing >= 0:
        raise ValueError(f"smoothing must be >= 0, got {smoothing}")
    drum = np.array([t.is_drum for t in song.tracks], dtype=bool)
    notes = song.notes[~drum[song.notes["track"]]] if len(song.notes) else song.notes
    if not len(notes):
        return np.zeros(0, CHORD_DTYPE)
    end = float((notes["start"] + notes["duration"]).max())
    edges, change_cost = _grid(song.bar_lines(), per, end, params)
    profile, bass = _profiles(notes, edges, params)
    templates, roots, qualities = _templates(params)
    scores = _scores(profile, bass, templates, roots, qualities, params)
    scores *= np.diff(edges)[:, None]  # evidence grows with a segment's length
    path = _viterbi(scores, smoothing * change_cost)
    return _rows(path, edges, roots, qualities)


def _grid(
    bar_edges: NDArray[np.float64], per: str, end: float, params: _Params
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Segment edges up to ``end`` and, per segment, the share of smoothing a change costs there."""
    lengths = np.diff(bar_edges)
    if per == "beat":
        counts = np.maximum(np.round(lengths), 1).astype(np.int64)
    else:
        counts = np.full(len(lengths), 2, dtype=np.int64)
    bar = np.repeat(np.arange(len(lengths)), counts)
    first = np.cumsum(counts) - counts
    index = np.arange(len(bar)) - first[bar]  # position of each segment in its bar
    starts = bar_edges[bar] + lengths[bar] * index / counts[bar]
    cost = np.ones(len(starts))
    cost[index == 0] = params.bar_change
    cost[(2 * index == counts[bar]) & (index > 0)] = params.half_change
    keep = starts < end - _EPS
    keep[0] = True
    starts, cost = starts[keep], cost[keep]
    return np.append(starts, end), cost


def _profiles(
    notes: NDArray[Any], edges: NDArray[np.float64], params: _Params
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``[T, 12]`` weighted sounding time per pitch class per segment; ``[T, 12]`` one-hot bass."""
    n_seg = len(edges) - 1
    onset = notes["start"]
    offset = onset + notes["duration"]
    first = np.searchsorted(edges, onset, side="right") - 1
    last = np.clip(np.searchsorted(edges, offset, side="left") - 1, first, n_seg - 1)
    counts = last - first + 1
    note = np.repeat(np.arange(len(notes)), counts)
    seg = first[note] + np.arange(len(note)) - np.repeat(np.cumsum(counts) - counts, counts)
    overlap = np.minimum(offset[note], edges[seg + 1]) - np.maximum(onset[note], edges[seg])
    weight = overlap * (1.0 + params.onset_bonus * (seg == first[note]))
    pitch = notes["pitch"][note].astype(np.int64)
    pc = pitch % 12
    flat = np.bincount(seg * 12 + pc, weights=weight, minlength=n_seg * 12)
    profile = flat.astype(np.float64, copy=False).reshape(n_seg, 12)
    # the bass: the lowest note sounding through at least a share of its segment
    length = np.diff(edges)
    long_enough = overlap >= params.bass_min_share * length[seg] - _EPS
    low = np.where(long_enough, pitch, 1000 + pitch)
    order = np.lexsort((low, seg))
    head = order[np.r_[True, seg[order][1:] != seg[order][:-1]]]
    bass = np.zeros((n_seg, 12))
    bass[seg[head], pc[head]] = 1.0
    return profile, bass


def _templates(
    params: _Params,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """``[C, 12]`` chord-tone masks with each chord's root and quality index."""
    names = [q.name for q in QUALITIES]
    quality_ids = [names.index(name) for name in params.qualities]
    roots = np.tile(np.arange(12), len(quality_ids))
    qualities = np.repeat(quality_ids, 12)
    templates = np.zeros((len(roots), 12))
    for i, q in enumerate(quality_ids):  # a handful of qualities, not notes
        tones = (np.arange(12)[:, None] + np.array(QUALITIES[q].intervals)[None, :]) % 12
        templates[i * 12 + np.arange(12)[:, None], tones] = 1.0
    return templates, roots, qualities.astype(np.int64)


def _scores(
    profile: NDArray[np.float64],
    bass: NDArray[np.float64],
    templates: NDArray[np.float64],
    roots: NDArray[np.int64],
    qualities: NDArray[np.int64],
    params: _Params,
) -> NDArray[np.float64]:
    """``[T, C + 1]`` scores of each chord template and, last, "no chord"."""
    total = profile.sum(axis=1, keepdims=True)
    silent = total[:, 0] <= _EPS
    p = profile / np.where(silent[:, None], 1.0, total)
    b = bass
    on = p @ templates.T
    root = p[:, roots]
    scores = (
        on
        + params.root_weight * root
        - params.off_weight * (1.0 - on)
        + params.bass_weight * b[:, roots]
        + params.bass_tone_weight * (b @ templates.T - b[:, roots])
        - params.extra_tone_cost * (templates.sum(axis=1) - 3.0)[None, :]
    )
    no_chord = np.where(silent, _SILENT_SCORE, -np.inf)
    scores[silent] = -np.inf
    return np.concatenate([scores, no_chord[:, None]], axis=1)


def _viterbi(scores: NDArray[np.float64], stay_bonus: NDArray[np.float64]) -> NDArray[np.int64]:
    """The best state path when keeping a state earns ``stay_bonus[t]`` at step ``t``."""
    n_steps, n_states = scores.shape
    kept = np.zeros((n_steps, n_states), dtype=bool)
    best_prev = np.zeros(n_steps, dtype=np.int64)
    delta = scores[0].copy()
    for t in range(1, n_steps):  # O(T) numpy steps over the states
        j = int(delta.argmax())
        best = delta[j]
        delta += stay_bonus[t]
        np.greater_equal(delta, best, out=kept[t])
        best_prev[t] = j
        np.maximum(delta, best, out=delta)
        delta += scores[t]
    path = np.zeros(n_steps, dtype=np.int64)
    state = int(np.argmax(delta))
    for t in range(n_steps - 1, -1, -1):  # backtrack: plain integers
        path[t] = state
        if t and not kept[t, state]:
            state = int(best_prev[t])
    return path


def _rows(
    path: NDArray[np.int64],
    edges: NDArray[np.float64],
    roots: NDArray[np.int64],
    qualities: NDArray[np.int64],
) -> NDArray[Any]:
    """Merge equal consecutive states into :data:`CHORD_DTYPE` rows."""
    change = np.flatnonzero(np.r_[True, path[1:] != path[:-1]])
    states = path[change]
    starts = edges[change]
    stops = np.append(starts[1:], edges[-1])
    out = np.zeros(len(states), dtype=CHORD_DTYPE)
    out["start"] = starts
    out["duration"] = stops - starts
    none = states >= len(roots)
    safe = np.where(none, 0, states)
    out["root"] = np.where(none, -1, roots[safe])
    out["quality"] = np.where(none, -1, qualities[safe])
    out["bass"] = out["root"]
    return out
