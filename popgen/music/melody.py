"""The melody line of a song: its melody track, monophonic, legato."""

from __future__ import annotations

import warnings

from popgen.music.song import Song

__all__ = [
    "melody_line",
]


#: How much a melody note may overlap the next (beats) and still be one line: played legato.
_LEGATO = 0.25


#: The share of notes that may overlap more (stray notes, kept with a warning); above: two lines.
_STRAY = 0.05


def melody_line(song: Song) -> Song:
    """The song's melody as one line: its melody-role tracks, else its one non-drum track.

    Notes may overlap the next one by up to a quarter of a beat (played legato).
    Up to 5 % of them may overlap more (stray notes, kept as they are, with a
    warning); more than that is more than one line, an error.

    Raises:
        ValueError: no notes, no melody track among several, or notes that
            overlap (more than one line); each names the file.

    >>> from popgen.music.song import Track, make_notes
    >>> song = Song(make_notes([72, 48], [0, 0], [1, 4], track=[0, 1]),
    ...             tracks=(Track("Vocal", role="melody"), Track("Piano", role="accompaniment")))
    >>> melody_line(song).notes["pitch"].tolist()
    [72]
    """
    where = f"{song.source}: " if song.source else ""
    song = song.drop_drums()
    keep = [i for i, t in enumerate(song.tracks) if t.role == "melody"]
    if not keep:
        used = sorted(set(song.notes["track"].tolist()))
        if len(used) > 1:
            names = ", ".join(repr(song.tracks[i].name) for i in used)
            raise ValueError(
                f"{where}{len(used)} tracks ({names}) and none is the melody; give the melody "
                "alone, or name its track (e.g. 'Melody') or give --role NAME=melody"
            )
        keep = used or [0]
    line = song.select_tracks(keep)
    if not line.num_notes:
        raise ValueError(f"{where}the melody has no notes")
    notes = line.notes
    ends = notes["start"] + notes["duration"]
    overlap = notes["start"][1:] < ends[:-1] - _LEGATO  # a slight legato overlap is one line
    if overlap.any():
        at = float(notes["start"][1:][overlap][0])
        told = f"notes that overlap (first at beat {at:g}, {int(overlap.sum())} in all)"
        if overlap.mean() > _STRAY:
            raise ValueError(f"{where}the melody has {told}: give one line, one note at a time")
        warnings.warn(
            f"{where}the melody has a few {told}; they are kept as they are", stacklevel=2
        )
    notes = notes.copy()
    notes["track"] = 0  # one track, every note as it was (merge_tracks would trim overlaps)
    return line.replace(notes=notes, tracks=line.tracks[:1])
