"""Harmony metrics of one song: how its notes sit on its chords.

:func:`chord_tone_share` reads the song's chord segments
(:attr:`popgen.music.song.Song.chords`, see :mod:`popgen.music.chords`); it follows the
conventions stated in :mod:`popgen.metrics.music`, which lists it in its
``METRICS`` and re-exports it. :func:`harmonisation` reads no chord labels:
it matches a triad to the accompaniment of each half bar and measures the
melody against it, so it needs the track roles (:attr:`popgen.music.song.Track.role`)
and is computed on the whole song, before any track is chosen.

The examples assume ``from popgen.music.song import Song, Track, make_notes`` and
``from popgen.music.chords import make_chords``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from popgen.metrics._notes import bar_edges, overlaps, shortened
from popgen.metrics.registry import metric
from popgen.music.chords import chord_tone_mask, make_chords  # noqa: F401  (make_chords: examples)
from popgen.music.song import Song, Track, make_notes  # noqa: F401  (Track, make_notes: examples)

__all__ = ["TRIADS", "chord_tone_share", "harmonisation"]

#: bool[24, 12]: the pitch classes of the 12 major triads (roots C..B), then the 12 minor ones.
TRIADS = np.zeros((24, 12), dtype=bool)
for _root in range(12):
    TRIADS[_root, [_root, (_root + 4) % 12, (_root + 7) % 12]] = True
    TRIADS[12 + _root, [_root, (_root + 3) % 12, (_root + 7) % 12]] = True
#: int64[24, 3]: each triad's root, third and fifth, the order its score is summed in.
_TRIAD_TONES = np.array(
    [[r, (r + third) % 12, (r + 7) % 12] for third in (4, 3) for r in range(12)], dtype=np.int64
)
_TIE = 1e-9  # triads scoring within this share of the best tie (floating point slack)


@metric
def chord_tone_share(song: Song) -> float:
    """Share of note-time sounding a tone of the chord that sounds with it (over chord time).

    Each note is split by the chord segments it overlaps, and each piece
    weighs its length in beats: the share is the length of the pieces whose
    pitch class belongs to their chord (:func:`popgen.music.chords.chord_tone_mask`:
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


def harmonisation(
    song: Song,
    *,
    melody: Sequence[str] = ("melody",),
    accompaniment: Sequence[str] = ("accompaniment",),
) -> float:
    """Share of the melody's note-time on the tones of the triad its accompaniment plays.

    Each bar of :meth:`~popgen.music.song.Song.bar_lines` is cut in two halves of
    equal length. In each half bar, the accompaniment's pitch classes are
    weighed by the beats they sound there, and of the 24 major and minor
    triads (:data:`TRIADS`) the one with the most weight on its three tones
    is the half bar's chord. The melody's notes are split at the half-bar
    edges; the share is the melody time on its half bar's triad tones over
    the melody time in half bars with any accompaniment. Half bars without
    accompaniment are skipped: melody time there counts for nothing. When
    triads tie for the best, each counts equally (a melody note on the tones
    of one of two tied triads scores half), so that transposing the song
    never changes the value. ``nan`` when the song has no melody or no
    accompaniment notes, or when no melody sounds with accompaniment.

    Notes are told apart by their track's role (:attr:`popgen.music.song.Track.role`);
    drum tracks never count. Chord labels (:attr:`~popgen.music.song.Song.chords`)
    are not read. The 800 POP909 songs score 0.55 / 0.71 / 0.84 (5th / 50th /
    95th percentile); with each song's melody pitches shuffled, 0.34 / 0.46 /
    0.55 (``benchmarks/harmonisation.py``).

    Args:
        song: a song with tracks of both parts.
        melody: the roles whose notes are measured.
        accompaniment: the roles whose notes choose the triads.

    Returns:
        A share in [0, 1], or ``nan``.

    >>> tracks = (Track("Melody", role="melody"), Track("Piano", role="accompaniment"))
    >>> piano = make_notes([48, 52, 55, 53, 57, 60], [0] * 3 + [2] * 3, [2] * 6, track=1)
    >>> tune = make_notes([64, 65, 69, 71], [0, 1, 2, 3], [1, 1, 1, 1], track=0)
    >>> song = Song(np.concatenate([tune, piano]), tracks=tracks)  # C then F under E F A B
    >>> harmonisation(song)  # the F over C and the B over F miss
    0.5
    >>> harmonisation(song, melody=("second",))  # no such part
    nan
    """
    song = shortened(song)
    if not song.num_notes or not song.tracks:
        return math.nan
    notes = song.notes
    roles = np.array([t.role if not t.is_drum else "drums" for t in song.tracks])
    role = roles[notes["track"]]
    tune = notes[np.isin(role, list(melody))]
    backing = notes[np.isin(role, list(accompaniment))]
    if not len(tune) or not len(backing):
        return math.nan
    edges = bar_edges(song)
    halves = np.empty(2 * len(edges) - 1)
    halves[::2] = edges
    halves[1::2] = (edges[:-1] + edges[1:]) / 2
    starts, ends = halves[:-1], halves[1:]

    note, half, length = overlaps(
        backing["start"], backing["start"] + backing["duration"], starts, ends
    )
    weight = np.zeros((len(starts), 12))
    np.add.at(weight, (half, backing["pitch"][note].astype(np.int64) % 12), length)
    score = weight[:, _TRIAD_TONES].sum(axis=2)  # root + third + fifth, the same order for all
    best = score.max(axis=1, keepdims=True)
    tied = score >= best * (1 - _TIE)
    credit = (tied.astype(np.float64) @ TRIADS) / tied.sum(axis=1, keepdims=True)

    note, half, length = overlaps(tune["start"], tune["start"] + tune["duration"], starts, ends)
    heard = best[half, 0] > 0
    note, half, length = note[heard], half[heard], length[heard]
    total = float(length.sum())
    if total <= 0:
        return math.nan
    on = credit[half, tune["pitch"][note].astype(np.int64) % 12]
    return float((length * on).sum() / total)
