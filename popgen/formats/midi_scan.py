"""Walk a MIDI file's track chunks as mido parses them, fast, without building messages.

:func:`scan_tracks` checks that every event of every track is one mido reads
without complaint (and so one :func:`popgen.formats.midi_reading.read_midi` reads without
salvage) and collects the meta events the symusic reader needs from the raw
bytes (:mod:`popgen.formats.midi_symusic`). Runs of channel messages, the bulk of a
file, are matched by one regular expression each; only meta and system
exclusive events are stepped through in Python.
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["TrackScan", "scan_tracks"]

_VARLEN = rb"[\x80-\xff]{0,3}[\x00-\x7f]"
_DATA = rb"[\x00-\x7f]"
#: Channel messages with their status bytes, each followed by running-status ones:
#: group 1 is the last 2-data-byte status, group 2 the last 1-data-byte one.
_CHANNEL = re.compile(
    rb"(?:" + _VARLEN + rb"(?:([\x80-\xbf\xe0-\xef])" + _DATA * 2
    + rb"(?:" + _VARLEN + _DATA * 2 + rb")*|([\xc0-\xdf])" + _DATA
    + rb"(?:" + _VARLEN + _DATA + rb")*))*",
    re.DOTALL,
)  # fmt: skip
_RUNNING = {
    2: re.compile(rb"(?:" + _VARLEN + _DATA * 2 + rb")*", re.DOTALL),
    1: re.compile(rb"(?:" + _VARLEN + _DATA + rb")*", re.DOTALL),
}
#: Meta events mido decodes, with the payload length mido's decoder needs.
_META_LENGTHS = {0x00: (0, 2), 0x20: (1,), 0x21: (1,), 0x2F: (0,), 0x51: (3,), 0x54: (5,),
                 0x58: (4,), 0x59: (2,)}  # fmt: skip


class TrackScan(NamedTuple):
    """What :func:`scan_tracks` collected: meta payloads, in file order.

    >>> TrackScan(names=((b"Piano",),), metas={0x03: [b"Piano"]}).metas[0x03]
    [b'Piano']
    """

    names: tuple[tuple[bytes, ...], ...]  # per track chunk, every track_name payload
    metas: dict[int, list[bytes]]  # meta type -> payloads of the whole file, in file order


def scan_tracks(data: bytes, chunks: list[tuple[int, int]]) -> TrackScan | None:
    """Walk each track chunk's events; ``None`` where mido would fail or read oddly.

    ``None`` for: a status byte of a system common or real-time message, a data
    byte above 127, running status with no status before it (or after a system
    exclusive message), a length past the chunk, a meta event of a kind mido
    decodes with a length it does not expect, an end-of-track before the
    chunk's end, a system exclusive message with a byte above 127 inside.

    Args:
        data: the file's bytes.
        chunks: ``(start, end)`` of each track chunk's events in ``data``.

    Returns:
        Each chunk's track names and the file's meta payloads by type.

    >>> body = bytes([0, 0xFF, 3, 2]) + b"Hi" + bytes([0, 0x90, 60, 90, 96, 60, 0])
    >>> body += bytes([0, 0xFF, 0x2F, 0])
    >>> scan_tracks(body, [(0, len(body))]).names
    ((b'Hi',),)
    >>> print(scan_tracks(bytes([0, 0xF4]) + body, [(0, len(body) + 2)]))
    None
    """
    names: list[tuple[bytes, ...]] = []
    metas: dict[int, list[bytes]] = {}
    for start, end in chunks:
        found = _scan_track(data, start, end, metas)
        if found is None:
            return None
        names.append(found)
    return TrackScan(tuple(names), metas)


def _scan_track(
    data: bytes, pos: int, end: int, metas: dict[int, list[bytes]]
) -> tuple[bytes, ...] | None:
    """One chunk's track names, its metas added to ``metas``; ``None`` as :func:`scan_tracks`."""
    names: list[bytes] = []
    last = 0  # data bytes of the running status: 0 none, else 1 or 2
    while pos < end:
        run = _match(_CHANNEL, data, pos, end)
        if run.end() > pos:
            two, one = run.start(1), run.start(2)
            last = 2 if two > one else 1
            pos = run.end()
        delta = _varlen(data, pos, end)
        if delta is None:
            return None
        status = data[delta[1]] if delta[1] < end else -1
        if 0 <= status < 0x80:  # running status after a meta event
            if not last:
                return None
            run = _match(_RUNNING[last], data, pos, end)
            if run.end() == pos:
                return None
            pos = run.end()
        elif status == 0xFF and delta[1] + 1 < end:
            kind = data[delta[1] + 1]
            size = _varlen(data, delta[1] + 2, end)
            if size is None or size[1] + size[0] > end:
                return None
            payload = data[size[1] : size[1] + size[0]]
            if kind in _META_LENGTHS and len(payload) not in _META_LENGTHS[kind]:
                return None
            pos = size[1] + size[0]
            if kind == 0x2F:
                return tuple(names) if pos == end else None
            if kind == 0x03:
                names.append(payload)
            metas.setdefault(kind, []).append(payload)
        elif status in (0xF0, 0xF7):
            size = _varlen(data, delta[1] + 1, end)
            if size is None or size[1] + size[0] > end:
                return None
            payload = data[size[1] : size[1] + size[0]]
            if max(payload.removeprefix(b"\xf0").removesuffix(b"\xf7"), default=0) > 127:
                return None
            pos, last = size[1] + size[0], 0
        else:
            return None
    return None  # no end-of-track


def _match(pattern: re.Pattern[bytes], data: bytes, pos: int, end: int) -> re.Match[bytes]:
    """``pattern`` (which matches the empty string too) at ``pos``."""
    found = pattern.match(data, pos, end)
    assert found is not None
    return found


def _varlen(data: bytes, pos: int, end: int) -> tuple[int, int] | None:
    """``(value, position after it)`` of the variable-length number at ``pos``."""
    value = 0
    for at in range(pos, min(pos + 4, end)):
        value = (value << 7) | (data[at] & 0x7F)
        if data[at] < 0x80:
            return value, at + 1
    return None
