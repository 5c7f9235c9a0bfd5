"""The real excerpts a steering evaluation measures: like with like, made once for all runs.

:func:`excerpt` cuts the same number of whole 4/4 bars from each song,
from the bar of its melody's first note (intros left out), its melody one
line (:func:`one_line`); :func:`steering_songs` makes those of the reference
and held-out songs, and the longer excerpts with a repeated section that the
form measure writes over (:class:`SteeringSongs`). :mod:`popgen.evaluation.steering`
generates for them and measures.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from popgen.metrics import ONSET_TOLERANCE
from popgen.metrics.structure import section_repetition
from popgen.music.melody import melody_line
from popgen.music.song import Song
from popgen.music.time import TimeSignature
from popgen.sampling.controls import Controls

__all__ = [
    "SteeringSongs",
    "excerpt",
    "melody_controls",
    "form_share",
    "one_line",
    "part",
    "steering_songs",
]

#: How much a melody note may overlap the next onset and still be one line (beats), as in
#: :func:`popgen.music.melody.melody_line`: played legato.
_LEGATO = 0.25


def part(song: Song, role: str) -> Song:
    """The tracks of one role, chords and bars kept.

    >>> from popgen.music.song import Track, make_notes
    >>> song = Song(make_notes([72, 48], [0, 0], [1, 1], track=[0, 1]),
    ...             tracks=(Track("V", role="melody"), Track("P", role="accompaniment")))
    >>> part(song, "accompaniment").notes["pitch"].tolist()
    [48]
    """
    return song.select_tracks([i for i, t in enumerate(song.tracks) if t.role == role])


def excerpt(song: Song, bars: int) -> Song | None:
    """``bars`` whole bars of 4/4 from the bar of the melody's first note, or ``None``.

    When a bar of another length (a 2/4 or 6/4 bar, common in POP909) comes
    within those bars, the excerpt starts instead at the first bar after it
    in which a melody note starts, and so on: the first ``bars`` bars of 4/4
    in a row that open with melody. A melody with chords or long overlaps
    (more than one line, :func:`popgen.music.melody.melody_line`) is reduced
    to its top line (:func:`one_line`). ``None`` when the song has no melody
    or no such run of bars.

    >>> from popgen.music.song import Track, make_notes
    >>> tune = Song(make_notes(range(60, 72), range(2, 14), [1] * 12),
    ...             tracks=(Track("Vocal", role="melody"),))
    >>> excerpt(tune, 2).notes["start"].tolist()[:3], excerpt(tune, 4) is None
    ([2.0, 3.0, 4.0], True)
    >>> odd = tune.replace(bars=[4, 6, 10, 14])  # bar 1 is 2/4: the excerpt starts at bar 2
    >>> excerpt(odd, 2).notes["start"].tolist()[:2]
    [0.0, 1.0]
    """
    edges = np.asarray(song.bar_lines(), dtype=np.float64)
    tune = part(song, "melody")
    if not tune.num_notes or len(edges) <= bars:
        return None
    odd = ~np.isclose(np.diff(edges), 4.0)
    odd_before = np.concatenate([[0], np.cumsum(odd)])  # odd bars before each bar
    opens = np.zeros(len(edges) - 1, dtype=bool)
    opens[np.clip(np.searchsorted(edges, tune.notes["start"], side="right") - 1, 0, None)] = True
    for first in np.flatnonzero(opens[: len(edges) - bars]).tolist():
        if odd_before[first + bars] == odd_before[first] and song.end >= edges[first + bars] - 1e-9:
            return _melody_as_one_line(song.slice(float(edges[first]), float(edges[first + bars])))
    return None


def one_line(tune: Song) -> Song:
    """The top line of a melody: the highest note of each onset, cut at the next onset.

    Notes starting within :data:`popgen.metrics.ONSET_TOLERANCE` of one another
    are one onset; a note that overlaps the next onset by more than a quarter
    of a beat (more than a legato overlap, as :func:`popgen.music.melody.melody_line`
    allows) ends there. Tracks are kept.

    >>> from popgen.music.song import make_notes
    >>> chordal = Song(make_notes([60, 64, 67, 65], [0, 0, 0.01, 2], [4, 2, 3, 2]))
    >>> one_line(chordal).notes[["pitch", "start", "duration"]].tolist()
    [(67, 0.01, 1.99), (65, 2.0, 2.0)]
    """
    notes = np.sort(tune.notes, order="start")
    if not len(notes):
        return tune
    new = np.ones(len(notes), dtype=bool)
    new[1:] = np.diff(notes["start"]) >= ONSET_TOLERANCE
    group = np.cumsum(new) - 1
    order = np.lexsort((notes["pitch"], group))  # by onset, the highest last
    last = np.append(group[order][1:] != group[order][:-1], True)
    kept = notes[order[last]].copy()
    ends = kept["start"] + kept["duration"]
    nexts = np.append(kept["start"][1:], np.inf)
    cut = ends > nexts + _LEGATO
    kept["duration"][cut] = nexts[cut] - kept["start"][cut]
    return tune.replace(notes=kept)


def _melody_as_one_line(song: Song) -> Song:
    """``song`` with its melody reduced to its top line when it is more than one line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a few stray overlaps are kept, as arrange keeps them
            melody_line(part(song, "melody"))
        return song
    except ValueError:  # more than one line: its top line
        pass
    melodic = np.array([t.role == "melody" for t in song.tracks], dtype=bool)
    is_tune = melodic[song.notes["track"]]
    tune = song.replace(notes=song.notes[is_tune])
    line = one_line(tune).notes.copy()
    line["track"] = int(np.flatnonzero(melodic)[0])  # the first melody track carries it
    return song.replace(notes=np.concatenate([song.notes[~is_tune], line]))


def melody_controls(song: Song) -> Controls:
    """The controls that arrange the melody of an :func:`excerpt`: its tune in 4/4, no chords.

    The excerpt's bars are whole 4/4 bars, so annotated bar lines a few
    millionths of a beat off 4 (POP909's songs 418 and 519) are dropped for
    4/4 from its start; kept, they would ask the encoding for a bar of one
    step at the end.

    >>> from popgen.music.song import Track, make_notes
    >>> tune = Song(make_notes([60, 62], [0, 4], [1, 1]), tracks=(Track("Vocal", role="melody"),),
    ...             bars=[3.999996, 7.999992])
    >>> melody_controls(tune).bars
    2
    """
    tune = part(song, "melody")
    four = (TimeSignature(0.0, 4, 4),)
    return Controls.for_melody(tune.replace(chords=tune.chords[:0], time_signatures=four, bars=[]))


@dataclass(frozen=True)
class SteeringSongs:
    """The real excerpts a steering evaluation measures against: made once, shared by runs.

    Attributes:
        bars: the length of :attr:`reference` and :attr:`held_out`'s excerpts.
        form_bars: the length of the form excerpts.
        reference: excerpts of every reference song: the reference ranges.
        held_out: excerpts of the held-out songs: the controls, and the real medians.
        training: the reference excerpts of songs not held out (the real-against-real test).
        form_reference: ``form_bars`` excerpts of reference songs with a repeated section.
        form_held_out: those of held-out songs: the forms and chords to write over.

    Build one with :func:`steering_songs`:

    ```python
    songs = steering_songs(corpus.songs, held_out, bars=16, form_bars=32)
    reports = [evaluate_steering(run, [], [], songs=songs) for run in runs]
    ```
    """

    bars: int
    form_bars: int
    reference: list[Song]
    held_out: list[Song]
    training: list[Song]
    form_reference: list[Song]
    form_held_out: list[Song]


def steering_songs(
    reference: Sequence[Song], held_out: Sequence[Song], *, bars: int = 16, form_bars: int = 32
) -> SteeringSongs:
    """The excerpts (:func:`excerpt`) of the reference and held-out songs, for all runs alike.

    A form excerpt is kept when its melody repeats a section
    (:func:`popgen.metrics.section_repetition` is not ``nan``). Reference songs
    that are among ``held_out`` (the same objects) are left out of ``training``.

    Raises:
        ValueError: no held-out or reference song has an excerpt of ``bars`` bars.

    >>> from popgen.music.song import Track, make_notes
    >>> tune = Song(make_notes(range(60, 76), range(16), [1] * 16),
    ...             tracks=(Track("Vocal", role="melody"),))
    >>> songs = steering_songs([tune], [tune], bars=2, form_bars=4)
    >>> len(songs.held_out), len(songs.training), len(songs.form_held_out)
    (1, 0, 0)
    """
    ref = [e for s in reference if (e := excerpt(s, bars)) is not None]
    held = [e for s in held_out if (e := excerpt(s, bars)) is not None]
    if not held or not ref:
        raise ValueError(f"no held-out song has {bars} whole 4/4 bars of melody; give fewer bars")
    out = {id(s) for s in held_out}
    training = [e for s in reference if id(s) not in out and (e := excerpt(s, bars)) is not None]
    return SteeringSongs(
        bars,
        form_bars,
        ref,
        held,
        training,
        _with_form(reference, form_bars),
        _with_form(held_out, form_bars),
    )


def _with_form(songs: Sequence[Song], bars: int) -> list[Song]:
    found = (excerpt(s, bars) for s in songs if s.sections)
    return [e for e in found if e is not None and not math.isnan(form_share(e))]


def form_share(song: Song) -> float:
    """:func:`popgen.metrics.section_repetition` of the song's melody part.

    >>> from popgen.music.sections import parse_form
    >>> from popgen.music.song import Track, make_notes
    >>> bar = [60, 62, 64, 65]
    >>> tune = Song(make_notes(bar * 2, range(8), [1] * 8), tracks=(Track("V", role="melody"),),
    ...             sections=parse_form("A1 A1"))
    >>> form_share(tune)
    1.0
    """
    return section_repetition(part(song, "melody"))
