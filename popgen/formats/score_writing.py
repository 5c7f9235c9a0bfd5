"""Songs -> music21 scores and MusicXML files."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from popgen.music.chords import QUALITIES, Chord
from popgen.music.keys import parse_key, profile_key, spelled_names
from popgen.music.limits import bound_song
from popgen.music.song import Song

if TYPE_CHECKING:
    import music21

__all__ = [
    "song_to_score",
    "write_musicxml",
]


def song_to_score(song: Song) -> music21.stream.Score:
    """Convert a :class:`Song` into a notated music21 score.

    One part per track (name, and an instrument chosen from the General MIDI
    program); notes of one track with the same onset and duration become a
    chord (with the loudest of their velocities); velocities are kept as note
    volumes; metronome marks, time signatures, key and title are added. It
    reads as a lead sheet: the song's chords are chord symbols (``<harmony>``
    in MusicXML) above the melody (the first part of role ``melody``, else the
    first part), spelled in the song's key (G#7, not Ab7, in F# minor); a song
    without a key gets the key its notes suggest
    (:func:`popgen.music.keys.profile_key`), so it has a key signature; the
    song's sections are rehearsal marks at their first bars.
    Measures, ties and voices are made by music21 (``makeNotation``). The
    song is bounded first (:func:`popgen.music.limits.bound_song` with the default
    limits, which warns when it changes anything), so that a long silence
    does not become millions of empty measures.

    Args:
        song: the song to convert.

    Returns:
        A ``music21.stream.Score``.

    >>> from popgen.music.song import make_notes
    >>> score = song_to_score(Song(make_notes([60, 64, 67, 72], [0, 0, 0, 1], [1, 1, 1, 1])))
    >>> [type(n).__name__ for n in score.recurse().notes]
    ['Chord', 'Note']

    """
    from music21 import chord, expressions, instrument, key, metadata, meter, note, stream, tempo

    song = bound_song(song)
    song_key = song.key if song.key is not None else _key_of(song)
    lead = next((i for i, t in enumerate(song.tracks) if t.role == "melody"), 0)
    score = stream.Score()
    score.metadata = metadata.Metadata(title=song.title or None)
    for index, track in enumerate(song.tracks):
        part = stream.Part()  # type: ignore[no-untyped-call]
        part.partName = track.name or None
        if track.is_drum:
            inst: Any = instrument.UnpitchedPercussion()  # type: ignore[no-untyped-call]
        else:
            inst = instrument.instrumentFromMidiProgram(track.program)
        inst.midiProgram = track.program
        part.insert(0, inst)
        for sig in song.time_signatures:
            part.insert(sig.beat, meter.TimeSignature(f"{sig.numerator}/{sig.denominator}"))
        if song_key is not None:
            tonic, mode = parse_key(song_key)
            part.insert(0, key.Key(spelled_names(song_key)[tonic], mode))
        if index == lead:
            for start, symbol in _chord_symbols(song, song_key):
                part.insert(start, symbol)
            edges = song.bar_lines() if song.sections else ()
            for section in song.sections:  # the form, as rehearsal marks
                mark = expressions.RehearsalMark(section.label)  # type: ignore[no-untyped-call]
                part.insert(float(edges[section.first_bar]), mark)
        if index == 0:
            for change in song.tempos:
                part.insert(change.beat, tempo.MetronomeMark(number=change.bpm))
        groups: dict[tuple[float, float], list[tuple[int, int]]] = defaultdict(list)
        for row in song.notes[song.notes["track"] == index]:
            groups[(float(row["start"]), float(row["duration"]))].append(
                (int(row["pitch"]), int(row["velocity"]))
            )
        for (start, duration), members in groups.items():
            if len(members) == 1:
                element: Any = note.Note(members[0][0], quarterLength=duration)
            else:
                element = chord.Chord([p for p, _ in members], quarterLength=duration)
            element.volume.velocity = max(v for _, v in members)
            part.insert(start, element)
        score.insert(0, part)
    score.makeNotation(inPlace=True)  # type: ignore[no-untyped-call]
    return score


#: music21's names of the chord kinds whose popgen symbol it does not read.
_MUSIC21_KINDS = {"m(maj7)": "mM7", "maj9": "M9", "m7b5": "ø7", "5": "power"}


def _chord_symbols(song: Song, key: str | None) -> list[tuple[float, Any]]:
    """``(beat, music21 ChordSymbol)`` for each of the song's chords, spelled in ``key``."""
    from music21 import harmony

    out: list[tuple[float, Any]] = []
    for row in song.chords:
        chord = Chord(int(row["root"]), int(row["quality"]), int(row["bass"]))
        if chord.is_none:
            out.append((float(row["start"]), harmony.NoChord()))
            continue
        text = chord.symbol_in(key)
        root, _, bass = text.partition("/")
        kind = QUALITIES[chord.quality].symbol
        name = root[: len(root) - len(kind)] if kind else root
        figure = name.replace("b", "-") + _MUSIC21_KINDS.get(kind, kind)
        if bass:
            figure += "/" + bass.replace("b", "-")
        out.append((float(row["start"]), harmony.ChordSymbol(figure)))
    return out


def _key_of(song: Song) -> str | None:
    """The key the song's notes suggest (how long each pitch class sounds), or ``None``."""
    notes = song.notes[
        ~np.isin(song.notes["track"], [i for i, t in enumerate(song.tracks) if t.is_drum])
    ]
    if not len(notes):
        return None
    weights = np.bincount(notes["pitch"] % 12, weights=notes["duration"], minlength=12)
    return profile_key(weights.astype(np.float64))


def write_musicxml(song: Song, path: str | os.PathLike[str]) -> None:
    """Write a :class:`Song` as MusicXML (compressed when ``path`` ends in ``.mxl``).

    The file is written to a temporary file in the same folder and then moved
    into place, so a reader never sees half a file.

    Args:
        song: the song to write (see :func:`song_to_score`).
        path: the destination; its folder must exist.

    >>> import os, tempfile
    >>> from popgen.formats.score_reading import read_score
    >>> from popgen.music.song import make_notes
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_musicxml(Song(make_notes([60, 62], [0, 1], [1, 1])), os.path.join(tmp, "a.mxl"))
    ...     read_score(os.path.join(tmp, "a.mxl"))[0].notes["pitch"].tolist()
    [60, 62]

    """
    target = Path(path)
    fmt = "mxl" if target.suffix.lower() == ".mxl" else "musicxml"
    score: Any = song_to_score(song)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    try:
        score.write(fmt, fp=tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
