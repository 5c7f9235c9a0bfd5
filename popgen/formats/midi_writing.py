"""Songs -> standard MIDI files (type 1), with mido.

Notes, the tempo map, meters, the key, and chords and sections as markers
(``section:A8`` at a section's first bar).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import mido
import numpy as np
from numpy.typing import NDArray

from popgen.errors import MidiError
from popgen.formats.midi_reading import _DRUM_CHANNEL
from popgen.music.chords import NO_CHORD, chord_labels
from popgen.music.keys import PITCH_CLASSES, parse_key
from popgen.music.sections import section_marker
from popgen.music.song import Song

__all__ = [
    "song_to_midifile",
    "write_midi",
]


#: Channels for melodic tracks, in the order they are handed out.
_MELODIC_CHANNELS = tuple(c for c in range(16) if c != _DRUM_CHANNEL)


#: mido has no major keys spelled with these sharps; it uses the flat names.
_MIDO_MAJOR_FLATS = {"D#": "Eb", "G#": "Ab", "A#": "Bb"}


def song_to_midifile(song: Song, *, ticks_per_beat: int = 480) -> mido.MidiFile:
    """Convert a :class:`Song` into a type-1 :class:`mido.MidiFile`.

    Track 0 holds the tempo map, time signatures, key signature and a
    ``marker`` meta event at the start of each chord segment with its Harte
    label (``"C:maj"``, ``"A:min7/b7"``, ``"N"`` for no chord; a gap between
    segments, or after the last one before the last note ends, is marked
    ``"N"`` so that reading it back does not stretch the chord before it);
    then one MIDI track per song track with its name, program and notes. Drum tracks
    play on channel 9 (MIDI channel 10); the others on channels 0..15 without
    9, in order, wrapping around after 15 melodic tracks. Times round to the
    nearest tick and every note lasts at least one tick; at each tick
    note-offs come before note-ons, so repeated notes of one pitch stay apart.
    (Overlapping notes of one pitch on one track cannot be told apart in
    MIDI: read back, a note-off ends every sounding note of its pitch.)

    Args:
        song: the song to convert.
        ticks_per_beat: the file's resolution, pulses per quarter note.

    Returns:
        The MIDI file, not yet saved.

    Raises:
        ValueError: ``ticks_per_beat`` is not in 1..32767.
        MidiError: a track's program is outside 0..127, or a time signature's
            denominator is not a power of two.

    >>> from popgen.music.song import make_notes
    >>> mid = song_to_midifile(Song(make_notes([60], [0], [1])), ticks_per_beat=96)
    >>> len(mid.tracks), [m for m in mid.tracks[1] if m.type == "note_on"]
    (2, [Message('note_on', channel=0, note=60, velocity=80, time=0)])
    >>> from popgen.music.chords import make_chords
    >>> chords = make_chords(["C", "N", "Am7/G"], [0, 4, 6], [4, 2, 2])
    >>> mid = song_to_midifile(Song(make_notes([60], [0], [8]), chords=chords), ticks_per_beat=96)
    >>> [(m.time, m.text) for m in mid.tracks[0] if m.type == "marker"]
    [(0, 'C:maj'), (384, 'N'), (192, 'A:min7/b7')]

    """
    if not 1 <= ticks_per_beat <= 32767:
        raise ValueError(f"ticks_per_beat must be in 1..32767, got {ticks_per_beat}")
    mid = mido.MidiFile(type=1, ticks_per_beat=ticks_per_beat)
    mid.tracks.append(_conductor_track(song, ticks_per_beat))
    melodic = 0
    for index, track in enumerate(song.tracks):
        if not 0 <= track.program <= 127:
            raise MidiError(
                f"track {index} ({track.name!r}): program {track.program} not in 0..127"
            )
        if track.is_drum:
            channel = _DRUM_CHANNEL
        else:
            channel = _MELODIC_CHANNELS[melodic % len(_MELODIC_CHANNELS)]
            melodic += 1
        notes = song.notes[song.notes["track"] == index]
        events: list[tuple[int, int, Any]] = [
            (0, -1, mido.MetaMessage("track_name", name=track.name, time=0)),
            (0, -1, mido.Message("program_change", channel=channel, program=track.program)),
        ]
        events += _note_events(notes, channel, ticks_per_beat)
        mid.tracks.append(_to_track(events))
    return mid


def write_midi(song: Song, path: str | os.PathLike[str], *, ticks_per_beat: int = 480) -> None:
    """Write a :class:`Song` as a type-1 standard MIDI file, atomically.

    The file is written to a temporary file in the same folder and then moved
    into place, so a reader never sees half a file. See
    :func:`song_to_midifile` for the layout.

    Args:
        song: the song to write.
        path: the destination; its folder must exist.
        ticks_per_beat: the file's resolution, pulses per quarter note.

    >>> import os, tempfile
    >>> from popgen.music.song import make_notes
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_midi(Song(make_notes([60, 64], [0, 1], [1, 1])), os.path.join(tmp, "a.mid"))
    ...     os.listdir(tmp)
    ['a.mid']

    """
    mid = song_to_midifile(song, ticks_per_beat=ticks_per_beat)
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            mid.save(file=handle)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _conductor_track(song: Song, tpb: int) -> mido.MidiTrack:
    """Track 0: title, tempo map, time signatures, key signature, chord and section markers."""
    events: list[tuple[int, int, Any]] = [
        (0, -1, mido.MetaMessage("track_name", name=song.title, time=0))
    ]
    for change in song.tempos:
        tempo = mido.bpm2tempo(change.bpm)
        events.append((_tick(change.beat, tpb), 0, mido.MetaMessage("set_tempo", tempo=tempo)))
    for sig in song.time_signatures:
        if sig.denominator < 1 or sig.denominator & (sig.denominator - 1):
            raise MidiError(
                f"time signature {sig.numerator}/{sig.denominator} at beat {sig.beat}: "
                "MIDI needs a denominator that is a power of two"
            )
        msg = mido.MetaMessage(
            "time_signature", numerator=sig.numerator, denominator=sig.denominator
        )
        events.append((_tick(sig.beat, tpb), 0, msg))
    if song.key is not None:
        events.append((0, 0, mido.MetaMessage("key_signature", key=_mido_key(song.key))))
    events += _chord_markers(song, tpb)
    edges = song.bar_lines()
    for section in song.sections:
        marker = mido.MetaMessage("marker", text=section_marker(section))
        events.append((_tick(float(edges[section.first_bar]), tpb), 2, marker))
    return _to_track(events)


def _chord_markers(song: Song, tpb: int) -> list[tuple[int, int, Any]]:
    """(tick, order, marker) at each chord's start; ``"N"`` where a gap follows a chord."""
    events: list[tuple[int, int, Any]] = []
    chords = song.chords
    if not len(chords):
        return events
    ends = chords["start"] + chords["duration"]
    nexts = np.append(chords["start"][1:], max(song.end, float(ends.max())))
    for start, end, following, label in zip(
        chords["start"].tolist(), ends.tolist(), nexts.tolist(), chord_labels(chords), strict=True
    ):
        events.append((_tick(start, tpb), 1, mido.MetaMessage("marker", text=label)))
        if _tick(end, tpb) < _tick(following, tpb) and label != NO_CHORD.label:
            events.append((_tick(end, tpb), 1, mido.MetaMessage("marker", text=NO_CHORD.label)))
    return events


def _mido_key(key: str) -> str:
    """Spell a key name as mido does: ``"A minor"`` -> ``"Am"``, ``"A# major"`` -> ``"Bb"``."""
    pc, mode = parse_key(key)
    tonic = PITCH_CLASSES[pc]
    if mode == "minor":
        return tonic + "m"
    return _MIDO_MAJOR_FLATS.get(tonic, tonic)


def _note_events(notes: NDArray[Any], channel: int, tpb: int) -> list[tuple[int, int, Any]]:
    """(tick, order, message) for each note's on and off; offs sort before ons."""
    on = np.rint(notes["start"] * tpb).astype(np.int64)
    off = np.maximum(np.rint((notes["start"] + notes["duration"]) * tpb).astype(np.int64), on + 1)
    events: list[tuple[int, int, Any]] = []
    for pitch, t_on, t_off, velocity in zip(
        notes["pitch"].tolist(), on.tolist(), off.tolist(), notes["velocity"].tolist(), strict=True
    ):
        events.append(
            (t_on, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity))
        )
        events.append((t_off, 0, mido.Message("note_off", channel=channel, note=pitch)))
    return events


def _to_track(events: list[tuple[int, int, Any]]) -> mido.MidiTrack:
    """Sort (tick, order, message) events and give them delta times; add end-of-track."""
    track = mido.MidiTrack()
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _tick(beat: float, tpb: int) -> int:
    return round(beat * tpb)
