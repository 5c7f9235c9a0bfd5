"""Standard MIDI files -> :class:`~popgen.music.song.Song` with symusic (MidiTok's C++ reader).

The songs of :func:`popgen.formats.midi_reading.read_midi`, parsed about a hundred times
faster: install the extra (``pip install 'popgen[fast]'``); ``reader="auto"``
(the default of :class:`~popgen.corpus.options.CorpusOptions`) then uses it.

symusic keeps less of a file than popgen's rules need. A note-off ends only
the oldest sounding note of its pitch (popgen, like pretty_midi, ends all of
them) and notes left unended are dropped: popgen's notes are rebuilt from a
second reading of the file with note-offs appended past each track's end,
which holds every note-on. Its tracks have no MIDI channel, each MIDI track's
program starts at 0 (popgen takes one set in another track), a track's name
is its last ``track_name`` (popgen's the first), text that is not UTF-8 loses
bytes (mido reads Latin-1), events at one tick lose their file order (taken
back from the raw bytes where that is certain), and symusic accepts some bytes
mido rejects. So each file is checked, from symusic's readings and scans of
the raw bytes, for anything where the two could part; such a file, and any
file symusic cannot parse (a damaged one, SMPTE time, ...), is read with
:func:`popgen.formats.midi_reading.read_midi`, salvage of damaged files included; so is a file
with a note never ended (popgen ends it at its track's end, symusic drops it)
or with more track chunks than its header declares (symusic reads the count). On the
shared files, the songs are the same for every file (docs/benchmarks.md).
"""

from __future__ import annotations

import itertools
import os
import struct
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.formats.midi_salvage import count_track_chunks
from popgen.formats.midi_scan import TrackScan, scan_tracks
from popgen.music.keys import key_tonic
from popgen.music.song import NOTE_DTYPE, Song, Track

__all__ = ["read_midi_symusic", "symusic_available"]

_INSTALL_HINT = "install it with: pip install 'popgen[fast]' (or pip install symusic)"
_END_OF_TRACK = b"\xff\x2f\x00"


def symusic_available() -> bool:
    """Whether symusic is installed (the ``fast`` extra), without importing it.

    >>> isinstance(symusic_available(), bool)
    True
    """
    import importlib.util

    try:
        return importlib.util.find_spec("symusic") is not None
    except ValueError:  # in sys.modules as None: imports of it are blocked
        return False


def read_midi_symusic(path: str | os.PathLike[str]) -> Song:
    """Read a standard MIDI file with symusic: the song that mido's reader reads.

    That is, the song of :func:`popgen.formats.midi_reading.read_midi`.

    Files symusic cannot parse, and files where symusic's rules and popgen's
    could give different songs (see the module's docstring), are read with
    :func:`popgen.formats.midi_reading.read_midi`, so the result, its warnings and its errors
    are always those of ``read_midi``.

    Args:
        path: the ``.mid`` file.

    Returns:
        The song, with ``title`` the file's stem and ``source`` the path.

    Raises:
        ImportError: symusic is not installed; the message says how to install it.
        MidiError: as :func:`popgen.formats.midi_reading.read_midi`.

    >>> import tempfile
    >>> from popgen.formats.midi_reading import read_midi
    >>> from popgen.formats.midi_writing import write_midi
    >>> from popgen.music.song import make_notes
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_midi(Song(make_notes([60, 64], [0, 1], [1, 1]), key="Am"), f"{tmp}/tune.mid")
    ...     fast, slow = read_midi_symusic(f"{tmp}/tune.mid"), read_midi(f"{tmp}/tune.mid")
    >>> fast.key, fast.notes.tolist() == slow.notes.tolist()
    ('A minor', True)
    """
    score_class = _score_class()
    from popgen.formats.midi_reading import read_midi

    try:
        data = Path(path).read_bytes()
    except OSError:
        return read_midi(path)  # its error names the file
    song = _read(score_class, data, str(path))
    return read_midi(path) if song is None else song


@cache
def _score_class() -> Any:
    try:
        from symusic import Score
    except ImportError as exc:
        raise ImportError(
            f"reader='symusic' needs symusic, which is not installed; {_INSTALL_HINT}"
        ) from exc
    return Score


def _read(score_class: Any, data: bytes, source: str) -> Song | None:
    """The song of ``data`` read with symusic, or ``None`` where it could differ from mido's."""
    chunks = _track_chunks(data)
    scan = None if chunks is None else scan_tracks(data, chunks)
    if chunks is None or scan is None or not _plain_metas(scan):
        return None
    try:
        score = score_class.from_midi(data)
        closed = score_class.from_midi(_with_all_notes_ended(data, chunks))
    except Exception:  # symusic raises RuntimeError, ValueError, ...: mido decides
        return None
    if len(score.tracks) != len(closed.tracks) or not _tracks_agree(score, closed, data):
        return None
    endeds = [track.notes.numpy() for track in closed.tracks]
    notes = _paired([track.notes.numpy() for track in score.tracks], endeds)
    if notes is None:
        return None
    metas = _metas(score, scan)
    used = [track for track, ended in zip(score.tracks, endeds, strict=True) if len(ended["time"])]
    if metas is None or not used:
        return None  # with no notes, mido's reader gives the error
    return _song(int(score.ticks_per_quarter), used, notes, metas, source)


def _track_chunks(data: bytes) -> list[tuple[int, int]] | None:
    """(start, end) of each track chunk's events, when the file is laid out as mido expects.

    ``None`` for anything unusual: SMPTE or zero time division, a header of
    another size, chunks that are not ``MTrk``, too few or too many chunks, a
    chunk not ending with its one end-of-track event.
    """
    if len(data) < 14 or data[:8] != b"MThd\x00\x00\x00\x06":
        return None
    fmt, ntracks, division = struct.unpack(">HHH", data[8:14])
    if fmt > 2 or division == 0 or division & 0x8000:
        return None
    chunks: list[tuple[int, int]] = []
    at = 14
    for _ in range(ntracks):
        if data[at : at + 4] != b"MTrk" or at + 8 > len(data):
            return None
        start = at + 8
        end = start + struct.unpack(">I", data[at + 4 : start])[0]
        body = data[start:end]
        if end > len(data) or not body.endswith(_END_OF_TRACK):
            return None
        if body.count(_END_OF_TRACK) != 1 or (len(body) > 3 and body[-4] >= 0x80):
            return None
        chunks.append((start, end))
        at = end
    if count_track_chunks(data)[1] != ntracks:
        return None  # more track chunks than the header declares: mido's salvage reads them
    return chunks


def _plain_metas(scan: TrackScan) -> bool:
    """Whether the metas read alike: names and markers in ASCII, one name a track, sane values."""
    if any(len(names) > 1 for names in scan.names):
        return False  # mido keeps the first name, symusic the last
    texts = [name for names in scan.names for name in names] + scan.metas.get(0x06, [])
    if any(max(text, default=0) >= 0x80 for text in texts):
        return False  # mido reads Latin-1; symusic drops bytes that are not UTF-8
    if any(p[0] > 7 for p in scan.metas.get(0x58, [])):
        return False  # a meter with a denominator of 2**8 or more: symusic overflows
    if any(p[0] >> 5 > 3 for p in scan.metas.get(0x54, [])):
        return False  # an SMPTE offset mido cannot decode
    return all(
        (p[0] <= 7 or p[0] >= 249) and p[1] in (0, 1) for p in scan.metas.get(0x59, [])
    )  # key signatures mido can name


def _with_all_notes_ended(data: bytes, chunks: list[tuple[int, int]]) -> bytes:
    """``data`` with probes around each track: program 127 first, note-offs after the end.

    Read with symusic, this copy holds every note-on: those symusic's rules
    leave unended (and so drop) end one tick after the track's last event,
    where no note of the file ends (a second round of note-offs a tick later
    catches a second unended note of a pitch). A track that sets no program of
    its own before its notes shows up with program 127.
    """
    out = [data[: chunks[0][0] - 8] if chunks else data]
    for start, end in chunks:
        body = data[start:end]
        counts = np.bincount(np.frombuffer(body, dtype=np.uint8), minlength=256)
        channels = np.flatnonzero(counts[0x80:0x90] + counts[0x90:0xA0]).tolist()
        programs = b"".join(bytes((0, 0xC0 | c, 127)) for c in channels)
        offs = b"".join(_note_offs(c) for c in channels)
        if offs:  # an empty text event takes the end's delta time; note-offs 1 and 2 ticks later
            ends = b"\xff\x01\x00" + (b"\x01" + offs[1:]) * 2 + b"\x00" + _END_OF_TRACK
            body = programs + body[:-3] + ends
        out.append(b"MTrk" + struct.pack(">I", len(body)) + body)
    return b"".join(out)


@cache
def _note_offs(channel: int) -> bytes:
    return b"".join(bytes((0, 0x80 | channel, pitch, 0)) for pitch in range(128))


def _tracks_agree(score: Any, closed: Any, data: bytes) -> bool:
    """Whether symusic's reading of ``score`` is the one popgen's rules give (see the module)."""
    names = [t.name for t in score.tracks]
    if any(a == b for a, b in itertools.pairwise(names)):
        return False  # maybe one MIDI track split by channel or program: ambiguous
    any_programs = bool(((np.frombuffer(data, dtype=np.uint8) & 0xF0) == 0xC0).any())
    for track, ended in zip(score.tracks, closed.tracks, strict=True):
        if len(track.notes) and track.program != ended.program and any_programs:
            return False  # no program of its own: mido takes one set in another track
    return True


def _metas(score: Any, scan: TrackScan) -> list[list[tuple[Any, ...]]] | None:
    """Tempos, time signatures, keys and markers as ``(tick, *value)``, in file order per tick.

    symusic sorts each kind by tick but not stably; popgen's rules take the
    last (or, for keys, the first) in file order of those at one tick. Where
    events at one tick differ, their order is taken from the raw bytes
    (``scan``), when that is certain: ``None`` otherwise.
    """
    metas = scan.metas
    kinds = (
        (
            [(e.time, e.mspq) for e in score.tempos],
            [(int.from_bytes(p),) for p in metas.get(0x51, [])],
        ),
        (
            [(e.time, e.numerator, e.denominator) for e in score.time_signatures],
            [(p[0], 1 << p[1]) for p in metas.get(0x58, [])],
        ),
        (
            [(e.time, e.key, e.tonality) for e in score.key_signatures],
            [(p[0] - 256 * (p[0] > 127), p[1]) for p in metas.get(0x59, [])],
        ),
        (
            [(e.time, e.text) for e in score.markers],
            [(p.decode("ascii"),) for p in metas.get(0x06, []) if p],  # symusic drops empty ones
        ),
    )
    out: list[list[tuple[Any, ...]]] = []
    for events, raw in kinds:
        ordered = _in_file_order(events, raw)
        if ordered is None:
            return None
        out.append(ordered)
    return out


def _in_file_order(
    events: list[tuple[Any, ...]], raw: list[tuple[Any, ...]]
) -> list[tuple[Any, ...]] | None:
    """``events`` (sorted by tick) with those at one tick in file order, or ``None`` if unsure.

    The order of a tick's events is known from ``raw`` (every event's value, in
    file order) when no event of the same values lies at another tick.
    """
    groups: dict[int, list[tuple[Any, ...]]] = {}
    for event in events:
        groups.setdefault(event[0], []).append(event[1:])
    ties = [tick for tick, values in groups.items() if len(set(values)) > 1]
    if not ties:
        return events
    if sorted(raw) != sorted(event[1:] for event in events):
        return None  # a look-alike in the bytes, or an event symusic reads otherwise
    for tick in ties:
        values = set(groups[tick])
        if sum(event[1:] in values for event in events) != len(groups[tick]):
            return None
        groups[tick] = [value for value in raw if value in values]
    return [(tick, *value) for tick in sorted(groups) for value in groups[tick]]


#: ``(pitch, on, off, velocity, track)``: note columns in ticks; ``track`` counts only
#: the tracks with notes.
_Notes = tuple[
    NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]
]
_PITCH_STRIDE = np.int64(2**32)  # (track, pitch, tick) as one sortable number
_PITCHES = 128  # (track, pitch) as one number: track * 128 + pitch


def _paired(
    reads: list[dict[str, NDArray[Any]]], endeds: list[dict[str, NDArray[Any]]]
) -> _Notes | None:
    """Every track's notes under popgen's rules, from symusic's two readings; ``None`` if unsure.

    symusic ends the oldest sounding note of a pitch at a note-off; popgen (as
    pretty_midi) ends every note of that pitch begun before the note-off's
    tick, and drops a note begun at the note-off's own tick when nothing older
    sounds. ``endeds`` (the file read with note-offs appended past each track's
    end) holds every note-on; its note ends, less those appended, are the
    note-offs that ended something. Under popgen's rules each note-on then
    ends at the first of those ticks after it, or is dropped when none comes.
    The tracks are paired together, each pitch of each track apart: the
    track and pitch make one number, ``track * 128 + pitch``.

    Args:
        reads: each track's notes as symusic reads the file (``Track.notes.numpy()``).
        endeds: the same of the copy with note-offs appended.

    Returns:
        The notes of all tracks, in track order, each track's in ``endeds``'s
        order; ``track`` numbers only the tracks with notes. ``None`` where
        symusic's result leaves popgen's open: a note-on and note-off at one
        tick (their order in the file decides), more than one note per pitch
        left unended, ticks past int32.
    """
    counts = np.array([len(e["time"]) for e in endeds], dtype=np.int64)
    read_counts = np.array([len(r["time"]) for r in reads], dtype=np.int64)
    if not counts.sum():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty, empty
    column = {key: np.concatenate([e[key] for e in endeds]) for key in endeds[0]}
    start = column["time"].astype(np.int64)
    end = start + column["duration"]
    if column["duration"].min() <= 0 or start.min() < 0 or end.max() >= 2**31 - 1:
        return None  # a note of no length: a note-off at its note-on's tick
    track = np.repeat(np.arange(len(endeds)), counts)
    pitch = column["pitch"].astype(np.int64)
    key = track * _PITCHES + pitch  # each track's pitches apart
    # a track's notes past the last note symusic ended in it were ended by the appended
    # note-offs (all of them, when it ended none)
    last = np.full(len(reads), -1, dtype=np.int64)
    if read_counts.sum():
        read_end = np.concatenate([r["time"].astype(np.int64) + r["duration"] for r in reads])
        np.maximum.at(last, np.repeat(np.arange(len(reads)), read_counts), read_end)
    appended = end > last[track]
    appended_counts = np.bincount(track[appended], minlength=len(endeds))
    if ((appended_counts != counts - read_counts) & (counts > 0)).any():
        return None
    if appended.any():
        low = np.full(len(endeds), 2**31, dtype=np.int64)
        high = np.full(len(endeds), -1, dtype=np.int64)
        np.minimum.at(low, track[appended], end[appended])
        np.maximum.at(high, track[appended], end[appended])
        if (low[appended_counts > 0] != high[appended_counts > 0]).any():
            return None  # two notes of a pitch left unended: symusic's reading lost one
    offs = np.sort(key[~appended] * _PITCH_STRIDE + end[~appended])
    ons = key * _PITCH_STRIDE + start
    at = np.searchsorted(offs, ons, side="right")
    closing = offs[np.minimum(at, len(offs) - 1)] if len(offs) else ons
    if not ((at < len(offs)) & (closing // _PITCH_STRIDE == key)).all():
        return None  # a note never ended: mido's reader ends it at the track's end, and says so
    off = closing - key * _PITCH_STRIDE
    # a note-on at a note-off's tick survives it only when that note-off ends an older
    # note: certain if one note-off sits there and an older note of the pitch ends there
    struck = offs[at - 1] == ons if len(offs) else np.zeros(len(ons), dtype=bool)
    struck &= at > 0  # a note-off at the note-on's own tick (the last one not past it)
    if struck.any():
        once = at[struck] - np.searchsorted(offs, ons[struck], side="left")
        ending = np.sort(key * _PITCH_STRIDE + off)
        if np.any(once != 1) or not _contains(ending, ons[struck]).all():
            return None
    ranks = np.cumsum(counts > 0) - 1  # each track's index among those with notes
    return pitch, start, off, column["velocity"].astype(np.int64), ranks[track]


def _contains(ordered: NDArray[np.int64], values: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Which ``values`` are in the sorted array ``ordered``."""
    if not len(ordered):
        return np.zeros(len(values), dtype=bool)
    at = np.minimum(np.searchsorted(ordered, values), len(ordered) - 1)
    found: NDArray[np.bool_] = ordered[at] == values
    return found


def _song(
    tpb: int, tracks: list[Any], notes: _Notes, metas: list[list[tuple[Any, ...]]], source: str
) -> Song:
    """The :class:`Song` of checked notes, their tracks and metas, as ``song_from_midifile``."""
    import mido

    from popgen.formats.midi_reading import (
        _marker_chords,
        _marker_sections,
        _signature_map,
        _tempo_map,
    )

    pitch, on, off, velocity, track = notes
    kept, merged = _song_order(on, track, pitch, off - on)
    notes_array = np.zeros(len(kept), dtype=NOTE_DTYPE)
    notes_array["pitch"] = pitch[kept]
    notes_array["start"] = on[kept] / tpb
    notes_array["duration"] = (off - on)[kept] / tpb
    notes_array["velocity"] = velocity[kept]
    notes_array["track"] = track[kept]
    tempo_events, signatures, keys, markers = metas
    tempos = [(tick, round(mido.tempo2bpm(mspq), 3)) for tick, mspq in tempo_events if mspq > 0]
    song = Song(
        notes=notes_array,
        chords=_marker_chords(markers, tpb, int(off.max())),
        tracks=tuple(
            Track(name=t.name.strip(), program=t.program, is_drum=t.is_drum) for t in tracks
        ),
        tempos=_tempo_map(tempos, tpb),
        time_signatures=_signature_map(signatures, tpb),
        key=_key_name(keys[0][1], keys[0][2]) if keys else None,
        title=Path(source).stem if source else "",
        source=source,
        merged_notes=merged,
    )
    return _marker_sections(song, markers, tpb)


def _song_order(
    on: NDArray[np.int64], track: NDArray[Any], pitch: NDArray[np.int64], length: NDArray[np.int64]
) -> tuple[NDArray[np.intp], int]:
    """The notes to keep, in :class:`Song`'s order, and how many duplicates were merged.

    One sort for what :func:`~popgen.music.song.drop_duplicate_notes` and then
    ``Song`` do in two: by (onset, track, pitch), and of exact duplicates
    (same onset, track and pitch) the longest, the first in file order among
    equals. Ticks are below 2**31 (see :func:`_paired`), MIDI tracks fewer
    than 2**16 and pitches below 128, so the three fit one int64.
    """
    key = (on << 23) | (track.astype(np.int64) << 7) | pitch
    order = np.argsort(key, kind="stable")
    same = key[order][1:] == key[order][:-1]
    if not same.any():
        return order, 0
    order = np.lexsort((-length, key))  # the longest first among duplicates
    ordered = key[order]
    first = np.concatenate([[True], ordered[1:] != ordered[:-1]])
    return order[first], int(len(order) - first.sum())


def _key_name(sharps: int, tonality: int) -> str:
    """A key signature's key as popgen names it (mido's spelling, then sharps)."""
    from mido.midifiles.meta import _key_signature_decode

    return key_tonic(_key_signature_decode[(sharps, tonality)])
