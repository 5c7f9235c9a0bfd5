"""Harmony metrics of one song: how its notes sit on its chords.

:func:`chord_tone_share` reads the song's chord segments
(:attr:`popgen.music.Song.chords`, see :mod:`popgen.chords`); it follows the
conventions stated in :mod:`popgen.metrics.music`, which lists it in its
``METRICS`` and re-exports it.

The examples assume ``from popgen.music import Song, make_notes`` and
``from popgen.chords import make_chords``.
"""

from __future__ import annotations

import math

import numpy as np

from popgen.chords import chord_tone_mask, make_chords  # noqa: F401  (make_chords: examples)
from popgen.metrics._notes import overlaps
from popgen.music import Song, make_notes  # noqa: F401  (make_notes: used by the examples)

__all__ = ["chord_tone_share"]


def chord_tone_share(song: Song) -> float:
    """Share of note-time sounding a tone of the chord that sounds with it (over chord time).

    Each note is split by the chord segments it overlaps, and each piece
    weighs its length in beats: the share is the length of the pieces whose
    pitch class belongs to their chord (:func:`popgen.chords.chord_tone_mask`:
    the chord's tones and its bass) over the length of all pieces. Time
    without a chord, or under "no chord", counts for nothing. ``nan`` when
    the song has no chords or none of its notes sounds with one.

    >>> notes = make_notes([60, 62, 67], [0, 1, 2], [1, 1, 4])
    >>> chords = make_chords(["C", "G"], [0, 4], [4, 4])  # G sounds over C then over G
    >>> chord_tone_share(Song(notes, chords=chords))  # D is 1 beat out of 6
    0.8333333333333334
    """
    chords = song.chords[song.chords["root"] >= 0]
    if not len(chords) or not song.num_notes:
        return math.nan
    start = song.notes["start"]
    note, segment, length = overlaps(
        start,
        start + song.notes["duration"],
        chords["start"],
        chords["start"] + chords["duration"],
    )
    total = float(length.sum())
    if total <= 0:
        return math.nan
    tones = chord_tone_mask(chords)[segment, song.notes["pitch"][note].astype(np.int64) % 12]
    return float(length[tones].sum() / total)
