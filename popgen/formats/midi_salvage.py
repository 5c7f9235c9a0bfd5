"""Salvage what can be read of a damaged standard MIDI file, with mido's readers.

:func:`salvage_midi` reads the bytes of a MIDI file the way ``mido.MidiFile``
does, but where mido gives up it keeps what it has read and says what was lost:

* a data byte above 127 is clipped to 127 (as mido's ``clip=True``);
* a track cut short, or unreadable from some byte on, keeps the events before
  that byte (notes never ended then end at the track's end, with a warning from
  :func:`popgen.formats.midi_reading.read_midi`);
* a header whose track count is wrong: every track chunk of the file is read,
  fewer or more than it declares (:func:`count_track_chunks` finds a header
  mido would read wrongly: mido stops at the count, and reads a count of 32 768
  or more as none);
* a track chunk's declared length is trusted when it ends at the next ``MTrk``
  chunk or at the end of the file; otherwise the track is read up to its
  ``end_of_track`` event;
* a chunk of unknown type, and unreadable bytes between chunks, are skipped;
* a meta event whose content mido cannot decode is kept as an unknown meta event
  (its delta time still counts), so later events keep their times.

Every event is read in file order from the bytes before it only, so nothing that
comes before the first damaged byte changes: damage can cost events after it,
never those before it.
"""

from __future__ import annotations

import io
import struct
from typing import Any, NamedTuple

import mido
from mido.midifiles import meta as _meta
from mido.midifiles import midifiles as _files

from popgen.errors import MidiError

__all__ = ["Salvaged", "count_track_chunks", "salvage_midi"]

_TRACK = b"MTrk"
_HEADER_SIZE = 14  # b"MThd", length 6, then format, number of tracks, division


class Salvaged(NamedTuple):
    """What :func:`salvage_midi` read: the file as mido would hold it, and what was lost.

    >>> salvaged = salvage_midi(b"MThd" + bytes([0, 0, 0, 6, 0, 1, 0, 2, 0, 96]))
    >>> salvaged.midi.ticks_per_beat, salvaged.midi.tracks, salvaged.losses
    (96, [], ('the header declares 2 track(s); found 0',))
    """

    midi: mido.MidiFile  # the tracks read, each ending where reading stopped
    losses: tuple[str, ...]  # one sentence per loss, e.g. "track 1 cut short at byte 90; ..."


def salvage_midi(data: bytes, *, source: str = "<bytes>") -> Salvaged:
    """Read what can be read of a standard MIDI file's bytes, even a damaged one.

    Reads like ``mido.MidiFile(file=..., clip=True)``, with the repairs listed in
    this module's docstring; an intact file reads as mido reads it, with no losses.
    Tracks are read until as many as the header declares are found, and then on
    while more track chunks follow (other later bytes are ignored, as mido
    ignores them).

    Args:
        data: the file's bytes.
        source: the file's name, for errors.

    Returns:
        The :class:`mido.MidiFile` and the losses, each a sentence without the
        file's name, e.g. ``"track 1 cut short at byte 90; kept its first 7 events"``.

    Raises:
        MidiError: the bytes do not start with a complete ``MThd`` header. The
            message starts with ``source``.

    >>> import io
    >>> mid = mido.MidiFile()
    >>> mid.tracks.append(mido.MidiTrack(
    ...     [mido.Message("note_on", note=60, time=0), mido.Message("note_off", note=60, time=96),
    ...      mido.Message("note_on", note=64, time=0), mido.Message("note_off", note=64, time=96)]))
    >>> buf = io.BytesIO()
    >>> mid.save(file=buf)
    >>> midi, losses = salvage_midi(buf.getvalue()[:-6])
    >>> [msg.type for msg in midi.tracks[0]], losses
    (['note_on', 'note_off', 'note_on'], ('track 0 cut short at byte 36; kept its first 3 events',))
    >>> salvage_midi(b"RIFF", source="song.mid")
    Traceback (most recent call last):
    popgen.errors.MidiError: song.mid: not a valid MIDI file (no complete MThd header)
    """
    if not data.startswith(b"MThd") or len(data) < _HEADER_SIZE:
        raise MidiError(f"{source}: not a valid MIDI file (no complete MThd header)")
    size = int.from_bytes(data[4:8], "big")
    kind, declared, division = struct.unpack(">hHh", data[8:_HEADER_SIZE])
    losses: list[str] = []
    pos = 8 + size
    if size != 6 and not data.startswith(_TRACK, pos):
        losses.append(f"the header chunk declares {size} bytes; read its first 6")
        pos = _HEADER_SIZE
    tracks: list[mido.MidiTrack] = []
    with _meta.meta_charset("latin1"):  # mido's default charset for text meta events
        while pos < len(data) and (len(tracks) < declared or data.startswith(_TRACK, pos)):
            if data.startswith(_TRACK, pos):
                track, pos = _read_track(data, pos, len(tracks), losses)
                tracks.append(track)
            else:
                pos = _skip_chunk(data, pos, losses)
    if len(tracks) < declared:
        losses.append(f"the header declares {declared} track(s); found {len(tracks)}")
    elif len(tracks) > declared:
        losses.append(f"the header declares {declared} track(s); read all {len(tracks)} found")
    if kind not in (0, 1, 2):
        guess = 0 if len(tracks) == 1 else 1
        losses.append(f"the header gives format {kind}, not 0, 1 or 2; read as type {guess}")
        kind = guess
    midi = mido.MidiFile(type=kind, ticks_per_beat=division, tracks=tracks)
    return Salvaged(midi, tuple(losses))


def count_track_chunks(data: bytes) -> tuple[int, int]:
    """``(tracks the header declares, track chunks that follow it)`` of a MIDI file's bytes.

    The chunks are walked by their declared lengths from the end of the
    header; the walk stops at the first chunk that runs past the end of the
    file. Linear in the chunks, no event is read. ``(0, 0)`` without a header.

    >>> header = b"MThd" + bytes([0, 0, 0, 6, 0, 1, 0, 1, 0, 96])
    >>> track = b"MTrk" + bytes([0, 0, 0, 4, 0, 0xFF, 0x2F, 0])
    >>> count_track_chunks(header + track * 3)
    (1, 3)
    """
    if not data.startswith(b"MThd") or len(data) < _HEADER_SIZE:
        return 0, 0
    declared = int.from_bytes(data[10:12], "big")
    pos, found = 8 + int.from_bytes(data[4:8], "big"), 0
    while pos + 8 <= len(data):
        end = pos + 8 + int.from_bytes(data[pos + 4 : pos + 8], "big")
        if end > len(data):
            break
        found += data.startswith(_TRACK, pos)
        pos = end
    return declared, found


def _read_track(data: bytes, pos: int, index: int, losses: list[str]) -> tuple[mido.MidiTrack, int]:
    """Read the track chunk at ``pos``; return it and where the next chunk starts."""
    length = int.from_bytes(data[pos + 4 : pos + 8], "big")
    start, end = pos + 8, pos + 8 + length
    trusted = end == len(data) or data.startswith(_TRACK, end)
    limit = end if trusted else len(data)
    infile = io.BytesIO(data[:limit])
    infile.seek(start)
    track = mido.MidiTrack()
    last_status: int | None = None
    clipped: list[int] = []  # where data bytes above 127 were
    problem = ""
    ended = False  # an end_of_track was read; a track read by its declared length goes on
    while infile.tell() < limit and not (ended and not trusted):
        at = infile.tell()
        try:
            msg, last_status = _read_event(infile, last_status, clipped, losses, index)
        except EOFError:
            problem = f"an event at byte {at} runs past the chunk's end" if trusted else ""
            break
        except Exception as exc:  # mido raises OSError, ValueError, ...
            problem = f"unreadable from byte {at} ({_reason(exc)})"
            break
        track.append(msg)
        ended = msg.type == "end_of_track"
    if clipped:
        losses.append(
            f"track {index}: {len(clipped)} data byte(s) above 127 clipped to 127 "
            f"(first at byte {clipped[0]})"
        )
    if problem:
        losses.append(f"track {index} {problem}; {_kept(track)}")
    elif not trusted and not ended:
        losses.append(f"track {index} cut short at byte {len(data)}; {_kept(track)}")
    elif not trusted and infile.tell() != end:
        losses.append(
            f"track {index} declares {length} bytes but holds {infile.tell() - start}; "
            "read it up to its end_of_track"
        )
    if trusted:
        return track, end
    if ended:
        return track, infile.tell()
    found = data.find(_TRACK, infile.tell())
    return track, found if found >= 0 else len(data)


def _read_event(
    infile: io.BytesIO, last_status: int | None, clipped: list[int], losses: list[str], index: int
) -> tuple[Any, int | None]:
    """Read one event (delta time, then message) as mido's ``read_track`` does.

    Returns the message and the running status after it. Data bytes above 127
    in a channel message are clipped (their positions added to ``clipped``); a
    meta event mido cannot decode becomes an unknown meta event (a loss).
    """
    delta = _files.read_variable_int(infile)
    status = _files.read_byte(infile)
    peek: list[int] = []
    if status < 0x80:
        if last_status is None:
            raise OSError("running status without a status byte before it")
        peek, status = [status], last_status
    elif status != 0xFF:  # meta events do not set running status
        last_status = status
    if status == 0xFF:
        at = infile.tell() - 1
        meta_type = _files.read_byte(infile)
        content = _files.read_bytes(infile, _files.read_variable_int(infile))
        try:
            return _meta.build_meta_message(meta_type, content, delta), last_status
        except Exception as exc:  # mido's decoders raise ValueError, KeyError, struct.error...
            losses.append(
                f"track {index}: skipped a damaged meta event at byte {at} ({_reason(exc)})"
            )
            return _meta.UnknownMetaMessage(meta_type, content, time=delta), last_status
    if status in (0xF0, 0xF7):
        return _files.read_sysex(infile, delta, clip=True), last_status
    first = infile.tell()
    msg = _files.read_message(infile, status, peek, delta, clip=True)
    with infile.getbuffer() as view:
        raw = bytes(view[first : infile.tell()])
    clipped.extend(first + i for i, byte in enumerate(raw) if byte > 127)
    return msg, last_status


def _skip_chunk(data: bytes, pos: int, losses: list[str]) -> int:
    """Skip what is at ``pos`` (not a track chunk); return where the next track may start.

    A chunk of another type (four letters, and a length that ends at a track
    chunk or the end of the file) is skipped whole; anything else is skipped up
    to the next ``MTrk``.
    """
    name, end = data[pos : pos + 4], pos + 8 + int.from_bytes(data[pos + 4 : pos + 8], "big")
    if len(name) == 4 and name.isalnum() and (end == len(data) or data.startswith(_TRACK, end)):
        losses.append(f"skipped a chunk of unknown type {name.decode()!r} at byte {pos}")
        return end
    found = data.find(_TRACK, pos + 1)
    stop = found if found >= 0 else len(data)
    losses.append(f"skipped {stop - pos} unreadable byte(s) at byte {pos}")
    return stop


def _kept(track: list[Any]) -> str:
    return f"kept its first {len(track)} events"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
