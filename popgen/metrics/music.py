"""Musical metrics of one song: pitch, rhythm, texture, dynamics, harmony and structure.

Every scalar metric is a function ``(song) -> float`` whose docstring starts
with its one-line definition; :data:`METRICS` lists them by name and
:func:`song_metrics` computes them all on one chosen track. The histogram
features in :data:`HISTOGRAMS` return probability vectors. The metrics live
in :mod:`popgen.metrics.pitch` (pitch metrics, pitch-class histogram),
:mod:`popgen.metrics.rhythm` (rhythm, texture and dynamics metrics, rhythm
histograms, notes per bar of each part), :mod:`popgen.metrics.harmony`
(notes against the song's chords) and :mod:`popgen.metrics.structure`
(repeated bars, self-similarity, repeated sections); this module re-exports them all.

Conventions shared by every metric:

* Times are in beats. Bars are those of :meth:`popgen.music.song.Song.bar_lines`,
  from beat 0 until the song's end (at least one): the song's annotated bar
  lines when it has them (a first line after 0 makes a pickup bar), else its
  time signatures (4/4 when there is none). Bars may differ in length; a
  time belongs to the bar it falls in, and positions in a bar count from its
  start. Metrics that compare bars with one another skip or separate bars
  of different lengths (each docstring says how). Metrics that count bars
  measure the song with stretches longer than 256 beats in which no note
  starts or ends shortened by whole bars (:func:`popgen.music.limits.shorten_silences`),
  so a hand-made song with a billion-beat rest costs what its notes cost.
* Entropies are in bits (log base 2).
* Onsets less than :data:`ONSET_TOLERANCE` beats apart are one onset (a
  chord). The *top line* is the highest pitch of each onset in time order; the
  melodic metrics (intervals, runs, repeats, n-grams) read it.
* A metric reads every note of the song it is given, whatever its track;
  choose or merge tracks first with :func:`choose_track` (``song_metrics`` does).
* Nothing raises on an empty or one-note song: a mean, share, spread or
  extent of nothing is ``nan``; a count is 0. Each docstring says which.

The examples assume ``from popgen.music.song import Song, make_notes``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# the metric modules register their metrics on import, in this order (pitch, rhythm and
# texture, harmony, structure): the order of METRICS and of every table of them
# isort: off
import popgen.metrics.pitch
import popgen.metrics.rhythm
import popgen.metrics.harmony
import popgen.metrics.structure  # noqa: F401

# isort: on
from popgen.metrics.registry import HISTOGRAMS, METRICS
from popgen.music.song import Song, make_notes  # noqa: F401  (make_notes: used by the examples)

__all__ = ["HISTOGRAMS", "METRICS", "Selection", "choose_track", "song_metrics"]

#: Which track to measure: ``None`` (the song must have one track), a track
#: index, a track name (case-insensitive) or ``"merge"`` (all tracks as one).
Selection = int | str | None


# ------------------------------------------------------------------ selection
def choose_track(song: Song, track: Selection = None) -> Song:
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

    >>> from popgen.music.song import Track
    >>> notes = make_notes([60, 36], [0, 0], [1, 1], track=[0, 1])
    >>> song = Song(notes, tracks=(Track("melody"), Track("bass")))
    >>> choose_track(song, "Bass").notes["pitch"].tolist()
    [36]
    >>> choose_track(song, "merge").num_notes
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


def song_metrics(song: Song, track: Selection = None) -> dict[str, float]:
    """Every metric of :data:`METRICS` on ``choose_track(song, track)``.

    Args:
        song: any song.
        track: which track to measure; see :func:`choose_track`.

    Returns:
        Metric name -> value (a float, possibly ``nan``), in ``METRICS`` order.

    >>> values = song_metrics(Song(make_notes([60, 62, 64, 65], range(4), [1] * 4)))
    >>> values["pitch_range"], values["scale_consistency"], values["polyphony"]
    (5.0, 1.0, 1.0)
    """
    chosen = choose_track(song, track)
    return {name: metric(chosen) for name, metric in METRICS.items()}


def __getattr__(name: str) -> Callable[[Song], Any]:
    """A metric or histogram by name (``popgen.metrics.music.pitch_range``), as before 0.2."""
    found = METRICS.get(name) or HISTOGRAMS.get(name)
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return found
