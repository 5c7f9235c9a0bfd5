"""Damaged MIDI files: what can be read is kept, with a warning naming the file and the loss.

Files are built in code (``conftest.make_midi``) and then damaged byte by byte;
:func:`event_ends` locates every event of a file so that tests know exactly
which notes lie before the damage.
"""

from __future__ import annotations

import re
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import mido
import pytest
from conftest import MIDI_DIR_FILES, MidiNote, make_midi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from popgen.errors import MidiError
from popgen.formats.midi_reading import read_midi, song_from_midifile
from popgen.formats.midi_salvage import salvage_midi
from popgen.music.song import Song

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
HEADER = 14  # MThd chunk
TPB = 480
#: One track (type 0): metas, chords, a repeated pitch, a program change.
SMALL = [
    MidiNote(60, 0.0, 1.0, 90),
    MidiNote(64, 0.0, 1.0, 70),
    MidiNote(67, 1.0, 0.5, 100),
    MidiNote(67, 1.5, 0.5, 60),
    MidiNote(72, 2.0, 2.0, 110),
    MidiNote(48, 2.0, 0.25, 80, 0, 1),
    MidiNote(55, 3.0, 1.0, 40, 0, 1),
]


def notes(song: Song) -> Counter[tuple[int, int, int, int]]:
    """The song's notes as (pitch, start tick, end tick, velocity), track ignored."""
    n = song.notes
    rows = zip(n["pitch"], n["start"], n["start"] + n["duration"], n["velocity"], strict=True)
    return Counter((int(p), round(s * TPB), round(e * TPB), int(v)) for p, s, e, v in rows)


def event_ends(path: Path) -> list[list[tuple[int, int, Any]]]:
    """Per track, each event as (byte offset just past it, absolute tick, message).

    The events are encoded again as mido's writer does (running status) and the
    result is checked against the file's bytes, so the offsets are the file's.
    """
    data = path.read_bytes()
    pos, tracks = HEADER, []
    for track in mido.MidiFile(path).tracks:
        assert data[pos : pos + 4] == b"MTrk"
        pos, tick, running, events = pos + 8, 0, None, []
        for msg in track:
            raw = bytes(mido.midifiles.meta.encode_variable_int(msg.time))
            body = bytes(msg.bytes())
            if msg.is_meta:
                running = None
            elif body[0] == running:
                body = body[1:]
            else:
                running = body[0]
            assert data[pos : pos + len(raw) + len(body)] == raw + body
            pos, tick = pos + len(raw) + len(body), tick + msg.time
            events.append((pos, tick, msg))
        tracks.append(events)
    assert pos == len(data)
    return tracks


def read_quietly(path: Path) -> tuple[Song | MidiError, list[str]]:
    """``read_midi(path)`` or the MidiError it raised, and the warnings' messages."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: Song | MidiError = read_midi(path)
        except MidiError as exc:
            result = exc
    return result, [str(w.message) for w in caught]


def small_file(folder: Path) -> Path:
    return make_midi(folder / "small.mid", SMALL, midi_type=0, key="G", track_names=["All"])


def band_file(folder: Path) -> Path:
    return make_midi(folder / "band.mid", **MIDI_DIR_FILES["band.mid"])


# ------------------------------------------------------------------ repairs
def test_data_byte_above_127_is_clipped_with_a_warning(tmp_path: Path) -> None:
    path = small_file(tmp_path)
    expected = notes(read_midi(path))
    data = bytearray(path.read_bytes())
    at = data.index(bytes([0x90, 67, 100])) + 2  # velocity of the first G
    data[at] = 200
    path.write_bytes(data)
    song, messages = read_quietly(path)
    assert isinstance(song, Song)
    assert messages == [
        f"{path}: track 0: 1 data byte(s) above 127 clipped to 127 (first at byte {at})"
    ]
    del expected[(67, 480, 720, 100)]
    expected[(67, 480, 720, 127)] += 1
    assert notes(song) == expected


def prefix_song(tracks: list[list[tuple[int, int, Any]]], cut: int) -> Song:
    """The song of the events that lie wholly before byte ``cut`` (see :func:`event_ends`)."""
    prefix = mido.MidiFile(ticks_per_beat=TPB)
    for events in tracks:
        prefix.tracks.append(mido.MidiTrack(msg for end, _, msg in events if end <= cut))
    return song_from_midifile(prefix)


def test_track_cut_short_keeps_the_notes_before_the_cut(tmp_path: Path) -> None:
    path = band_file(tmp_path)
    original = read_midi(path)
    tracks = event_ends(path)
    piano = tracks[1]
    cut = piano[len(piano) // 2][0] + 2  # inside an event in the middle of track 1
    path.write_bytes(path.read_bytes()[:cut])
    song, messages = read_quietly(path)
    assert isinstance(song, Song)
    kept = sum(end <= cut for end, _, _ in piano)
    assert messages == [
        f"{path}: track 1 cut short at byte {cut}; kept its first {kept} events",
        f"{path}: the header declares 3 track(s); found 2",
    ]
    assert song.notes.tolist() == prefix_song(tracks, cut).notes.tolist()
    # the piano notes whose note-off lies before the cut: all of them are read, and only they
    ended = {(msg.note, tick) for end, tick, msg in piano if end <= cut and msg.type == "note_off"}
    assert ended
    assert notes(song) == Counter(
        {n: k for n, k in notes(original).items() if (n[0], n[2]) in ended}
    )


@pytest.mark.parametrize(
    "change", [+100, -5, +10_000], ids=["too-long", "too-short", "far-too-long"]
)
@pytest.mark.parametrize("track", [0, 1, 2])
def test_wrong_chunk_length_loses_nothing(tmp_path: Path, change: int, track: int) -> None:
    path = band_file(tmp_path)
    original = read_midi(path)
    data = bytearray(path.read_bytes())
    start = HEADER if track == 0 else event_ends(path)[track - 1][-1][0]
    length = int.from_bytes(data[start + 4 : start + 8], "big")
    data[start + 4 : start + 8] = (length + change).to_bytes(4, "big")
    path.write_bytes(data)
    song, messages = read_quietly(path)
    assert isinstance(song, Song) and notes(song) == notes(original)
    assert song.tracks == original.tracks and song.tempos == original.tempos
    assert messages == [
        f"{path}: track {track} declares {length + change} bytes but holds {length}; "
        "read it up to its end_of_track"
    ]


def test_unknown_chunk_type_is_skipped(tmp_path: Path) -> None:
    path = band_file(tmp_path)
    original = read_midi(path)
    data = path.read_bytes()
    at = event_ends(path)[0][-1][0]  # between track 0 and track 1
    path.write_bytes(data[:at] + b"JUNK\x00\x00\x00\x03abc" + data[at:])
    song, messages = read_quietly(path)
    assert isinstance(song, Song) and notes(song) == notes(original)
    assert messages == [f"{path}: skipped a chunk of unknown type 'JUNK' at byte {at}"]


def test_unreadable_bytes_between_chunks_are_skipped(tmp_path: Path) -> None:
    path = band_file(tmp_path)
    original = read_midi(path)
    data = path.read_bytes()
    at = event_ends(path)[1][-1][0]
    path.write_bytes(data[:at] + b"\xff\x00garbage" + data[at:])
    song, messages = read_quietly(path)
    assert isinstance(song, Song) and notes(song) == notes(original)
    assert messages == [f"{path}: skipped 9 unreadable byte(s) at byte {at}"]


def test_garbage_after_the_end_is_ignored(tmp_path: Path) -> None:
    path = band_file(tmp_path)
    original = read_midi(path)
    path.write_bytes(path.read_bytes() + b"MTrk\x00\x00\x00\x09\x00\x90\x3c junk")
    song, messages = read_quietly(path)
    assert isinstance(song, Song) and notes(song) == notes(original) and messages == []


def test_damaged_meta_event_keeps_the_times_after_it(tmp_path: Path) -> None:
    path = small_file(tmp_path)
    original = read_midi(path)
    data = bytearray(path.read_bytes())
    at = data.index(bytes([0xFF, 0x59, 0x02]))  # key signature: 2 bytes, sharps then mode
    data[at + 4] = 7  # mode 7 is neither major (0) nor minor (1)
    path.write_bytes(data)
    song, messages = read_quietly(path)
    assert isinstance(song, Song) and notes(song) == notes(original) and song.key is None
    assert len(messages) == 1 and f"skipped a damaged meta event at byte {at}" in messages[0]


def test_event_unreadable_midway_keeps_what_came_before(tmp_path: Path) -> None:
    path = small_file(tmp_path)
    events = event_ends(path)[0]
    data = bytearray(path.read_bytes())
    k = next(i for i, e in enumerate(events) if e[2].type == "note_on" and e[2].note == 72)
    at = events[k - 1][0] + 1  # status byte of the note-on of 72 (one-byte delta before it)
    data[at] = 0xF4  # an undefined status byte
    path.write_bytes(data)
    song, messages = read_quietly(path)
    assert isinstance(song, Song)
    assert messages == [
        f"{path}: track 0 unreadable from byte {at - 1} (OSError: undefined status byte 0xf4); "
        f"kept its first {k} events"
    ]
    assert sorted(notes(song)) == [
        (60, 0, 480, 90),
        (64, 0, 480, 70),
        (67, 480, 720, 100),
        (67, 720, 960, 60),
    ]


@pytest.mark.parametrize(
    "content",
    [b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0" + b"x" * 40, b"MThd\x00\x00\x00\x06"],
    ids=["no-track", "short-header"],
)
def test_nothing_readable_raises_midi_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "broken.mid"
    path.write_bytes(content)
    song, messages = read_quietly(path)
    assert isinstance(song, MidiError) and messages == []
    assert re.match(f"^{re.escape(str(path))}: not a valid MIDI file \\(", str(song))


def test_damaged_file_without_a_note_left_says_so(tmp_path: Path) -> None:
    path = band_file(tmp_path)
    path.write_bytes(path.read_bytes()[: event_ends(path)[0][-1][0] + 20])
    song, messages = read_quietly(path)
    assert isinstance(song, MidiError) and messages == []
    assert str(song).startswith(f"{path}: not a valid MIDI file (EOFError)")
    assert str(song).endswith("; in what could be read: no notes")


def _intact_files() -> list[Path]:
    return sorted(DATA.glob("pop909/00*/*.mid"))[:3] + sorted(DATA.glob("ff-piano/*.mid"))[:3]


@pytest.mark.parametrize("name", [*MIDI_DIR_FILES, *(p.name for p in _intact_files())])
def test_intact_files_read_as_mido_reads_them(midi_dir: Path, name: str) -> None:
    found = [p for p in _intact_files() if p.name == name]
    path = found[0] if found else midi_dir / name
    salvaged = salvage_midi(path.read_bytes())
    strict = mido.MidiFile(path)
    assert salvaged.losses == ()
    assert (salvaged.midi.type, salvaged.midi.ticks_per_beat) == (
        strict.type,
        strict.ticks_per_beat,
    )
    assert salvaged.midi.tracks == strict.tracks


# ------------------------------------------------------------------ properties
@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(cut=st.integers(0, 10_000))
def test_truncation_reads_exactly_the_events_before_the_cut(tmp_path: Path, cut: int) -> None:
    path = band_file(tmp_path)
    tracks = event_ends(path)
    cut %= len(path.read_bytes())
    path.write_bytes(path.read_bytes()[:cut])
    result, _ = read_quietly(path)
    try:
        expected = prefix_song(tracks, cut)
    except MidiError:  # no note ends before the cut
        assert isinstance(result, MidiError) and str(result).startswith(f"{path}: ")
        return
    assert isinstance(result, Song)
    assert result.notes.tolist() == expected.notes.tolist()


@settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(at=st.integers(0, 10_000), value=st.integers(0, 255))
def test_a_changed_byte_never_changes_the_notes_before_it(
    tmp_path: Path, at: int, value: int
) -> None:
    path = small_file(tmp_path)
    original = notes(read_midi(path))
    events = event_ends(path)[0]
    data = bytearray(path.read_bytes())
    at %= len(data)
    data[at] = value
    path.write_bytes(data)
    result, _ = read_quietly(path)
    if isinstance(result, MidiError):
        assert str(result).startswith(f"{path}: ")
        return
    intact = [tick for end, tick, _ in events if end <= at]
    if at < HEADER or not intact:
        return  # the header or the track's start is damaged: nothing is known to be intact
    # every later event of the track is at this tick or later, whatever the damage
    last = intact[-1]
    assert Counter({n: k for n, k in notes(result).items() if n[2] < last}) == Counter(
        {n: k for n, k in original.items() if n[2] < last}
    )
