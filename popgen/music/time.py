"""Musical time: tempo changes, time signatures, and beats <-> seconds under a tempo map."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "TempoChange",
    "TimeSignature",
    "beats_to_seconds",
    "seconds_to_beats",
]


class TempoChange(NamedTuple):
    """A tempo that holds from ``beat`` until the next change.

    >>> from popgen.music.song import Song, make_notes
    >>> song = Song(make_notes([60], [0], [4]), tempos=[TempoChange(0, 60), TempoChange(2, 120)])
    >>> song.seconds()  # two beats at 60 bpm, two at 120
    3.0
    """

    beat: float
    bpm: float


class TimeSignature(NamedTuple):
    """A time signature that holds from ``beat`` until the next change.

    >>> from popgen.music.song import Song, make_notes
    >>> waltz = Song(make_notes([60], [0], [3]), time_signatures=[TimeSignature(0, 3, 4)])
    >>> waltz.time_signatures[0].numerator
    3
    """

    beat: float
    numerator: int
    denominator: int


def beats_to_seconds(beat: float, tempos: Sequence[TempoChange]) -> float:
    """Convert a time in beats to seconds, following a tempo map.

    >>> beats_to_seconds(3.0, [TempoChange(0, 60), TempoChange(2, 120)])  # 2 s, then 0.5 s
    2.5
    """
    seconds, last_beat, bpm = 0.0, 0.0, 120.0
    for change in tempos:
        if change.beat >= beat:
            break
        seconds += (change.beat - last_beat) * 60.0 / bpm
        last_beat, bpm = change.beat, change.bpm
    return seconds + (beat - last_beat) * 60.0 / bpm


def seconds_to_beats(
    seconds: NDArray[np.float64], tempos: Sequence[TempoChange]
) -> NDArray[np.float64]:
    """Convert times in seconds to beats, following a tempo map (vectorised).

    >>> seconds_to_beats(np.array([1.0, 3.0]), [TempoChange(0, 60), TempoChange(2, 120)]).tolist()
    [1.0, 4.0]
    """
    changes = list(tempos) or [TempoChange(0.0, 120.0)]
    if changes[0].beat > 0:
        changes.insert(0, TempoChange(0.0, 120.0))
    beats = np.array([c.beat for c in changes])
    bpm = np.array([c.bpm for c in changes])
    at = np.concatenate([[0.0], np.cumsum(np.diff(beats) * 60.0 / bpm[:-1])])
    index = np.clip(np.searchsorted(at, seconds, side="right") - 1, 0, len(at) - 1)
    out: NDArray[np.float64] = beats[index] + (seconds - at[index]) * bpm[index] / 60.0
    return out
