"""The loss the grid encodings (note, event, remi) share, in one place."""

from __future__ import annotations

from popgen.music.limits import DEFAULT_LIMITS, shorten_silences
from popgen.music.song import Song, Track
from popgen.tokenizers.bins import bin_velocities

__all__ = ["merge_for_encoding"]


def merge_for_encoding(song: Song, steps_per_beat: int, velocity_bins: int) -> Song:
    """``song`` with no drums, as one track, on the grid, with binned velocities.

    Drum tracks are dropped; the other tracks are merged into one, named
    after the first named one; stretches longer than
    :data:`~popgen.music.limits.DEFAULT_LIMITS`' ``max_silence`` (256 beats) in which
    no note starts or ends are shortened (:func:`~popgen.music.limits.shorten_silences`),
    so that no song costs more tokens than its notes and bars; onsets and
    durations are quantized to ``1/steps_per_beat`` beat
    (:meth:`Song.quantize`); velocities become the centre of their bin
    (:func:`~popgen.tokenizers.bins.bin_velocities`). The song's other fields
    are kept: each encoding's ``prepare`` says what more it loses.

    >>> from popgen.music.song import make_notes
    >>> tracks = (Track("Drums", is_drum=True), Track(""), Track("Lead"))
    >>> notes = make_notes([36, 48, 72], [0, 0.1, 0.3], [1, 1, 1], [90, 100, 20], track=[0, 1, 2])
    >>> song = merge_for_encoding(Song(notes, tracks), steps_per_beat=4, velocity_bins=8)
    >>> song.tracks
    (Track(name='Lead', program=0, is_drum=False, role=''),)
    >>> song.notes.tolist()
    [(48, 0.0, 1.0, 104, 0), (72, 0.25, 1.0, 24, 0)]
    >>> gap = Song(make_notes([60, 62], [0, 10**9], [1, 1]))  # a billion silent beats: 255 kept
    >>> merge_for_encoding(gap, steps_per_beat=4, velocity_bins=8).notes["start"].tolist()
    [0.0, 256.0]
    """
    named = [t.name for t in song.tracks if not t.is_drum and t.name]
    song = song.drop_drums().merge_tracks(Track(name=named[0] if named else ""))
    song = shorten_silences(song, DEFAULT_LIMITS.max_silence)[0]
    song = song.quantize(steps_per_beat)
    notes = song.notes.copy()
    notes["velocity"] = bin_velocities(notes["velocity"], velocity_bins)
    return song.replace(notes=notes)
