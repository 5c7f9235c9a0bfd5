from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.errors import MidiError
from popgen.formats.midi_reading import read_midi, song_from_midifile
from popgen.formats.midi_writing import song_to_midifile, write_midi
from popgen.music.keys import PITCH_CLASSES
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TempoChange, TimeSignature


def columns(song: Song) -> list[tuple[int, float, float, int, int]]:
    n = song.notes
    return sorted(
        zip(
            n["pitch"].tolist(),
            n["start"].tolist(),
            n["duration"].tolist(),
            n["velocity"].tolist(),
            n["track"].tolist(),
            strict=True,
        )
    )


def assert_same_notes(a: Song, b: Song, tol: float) -> None:
    assert a.num_notes == b.num_notes
    for x, y in zip(columns(a), columns(b), strict=True):
        assert x[0] == y[0] and x[3] == y[3] and x[4] == y[4], (x, y)
        assert abs(x[1] - y[1]) <= tol and abs(x[2] - y[2]) <= tol, (x, y)


# ------------------------------------------------------------------ reading
def test_read_melody(midi_dir: Path, midi_dir_files: dict[str, Any]) -> None:
    path = midi_dir / "melody.mid"
    song = read_midi(path)
    spec = midi_dir_files["melody.mid"]["notes"]
    assert song.title == "melody"
    assert song.source == str(path)
    assert song.notes["pitch"].tolist() == [n.pitch for n in spec]
    assert song.notes["start"].tolist() == [n.start for n in spec]
    assert song.notes["duration"].tolist() == [n.duration for n in spec]
    assert song.notes["velocity"].tolist() == [n.velocity for n in spec]
    assert song.tracks == (Track("Melody", 73, False),)
    assert song.tempos == (TempoChange(0.0, 100.0),)
    assert song.time_signatures == (TimeSignature(0.0, 3, 4),)
    assert song.key == "C major"


def test_read_band_drums_and_tempo_change(midi_dir: Path) -> None:
    song = read_midi(midi_dir / "band.mid")
    assert song.tracks == (Track("Piano", 0, False), Track("Drums", 0, True))
    assert song.tempos == (TempoChange(0.0, 120.0), TempoChange(4.0, 90.0))
    assert song.key == "A minor"
    drums = song.notes[song.notes["track"] == 1]
    assert len(drums) == 16 and set(drums["pitch"].tolist()) == {36, 42}
    # beats do not depend on tempo: the hi-hats after the change are still on off-beats
    assert drums["start"][drums["pitch"] == 42].tolist() == [b + 0.5 for b in range(8)]
    assert song.end == 8.0


def test_read_type0_splits_channels(midi_dir: Path) -> None:
    song = read_midi(midi_dir / "type0.mid")
    # channel 1's first note comes first, so it is track 0
    assert song.tracks == (Track("All", 33, False), Track("All", 81, False))
    assert song.notes[song.notes["track"] == 0]["pitch"].tolist() == [40, 43]
    assert song.notes[song.notes["track"] == 1]["pitch"].tolist() == [76, 79]
    assert song.tempos == (TempoChange(0.0, 140.0),)
    assert song.key is None


def test_defaults_without_meta_messages(tmp_path: Path, make_midi: Any) -> None:
    path = make_midi(tmp_path / "bare.mid", [(60, 0, 1)], tempos=(), time_signatures=())
    song = read_midi(path)
    assert song.tempos == (TempoChange(0.0, 120.0),)
    assert song.time_signatures == (TimeSignature(0.0, 4, 4),)
    assert song.tracks == (Track("", 0, False),)


def test_note_pairing_rules(tmp_path: Path, make_raw_midi: Any) -> None:
    on = lambda p, v=64: mido.Message("note_on", note=p, velocity=v)  # noqa: E731
    off = lambda p: mido.Message("note_off", note=p)  # noqa: E731
    events = [
        (0, on(60)),
        (480, on(60, 0)),  # velocity 0 = note-off
        (480, on(62, 50)),  # a 62 struck again: the next note-off ends both
        (720, on(62, 51)),
        (960, off(62)),
        (1200, off(62)),  # nothing left to end: ignored
        (1300, off(70)),  # note-off without note-on: ignored
        (1440, on(64)),  # zero-length: dropped
        (1440, off(64)),
        (1440, on(67)),  # never ended: ends at the track's end, with a warning (issue 29)
        (1920, mido.MetaMessage("marker", text="end")),
    ]
    with pytest.warns(UserWarning, match="pairs.mid: 1 notes had no note-off; each ends at"):
        song = read_midi(make_raw_midi(tmp_path / "pairs.mid", [events]))
    assert columns(song) == [
        (60, 0.0, 1.0, 64, 0),
        (62, 1.0, 1.0, 50, 0),
        (62, 1.5, 0.5, 51, 0),
        (67, 3.0, 1.0, 64, 0),
    ]


def test_program_from_last_change_before_first_note(tmp_path: Path, make_raw_midi: Any) -> None:
    pc = lambda p: mido.Message("program_change", channel=2, program=p)  # noqa: E731
    note = mido.Message("note_on", channel=2, note=60, velocity=90)
    events = [(0, pc(5)), (0, pc(6)), (10, note), (20, pc(7)), (100, note.copy(velocity=0))]
    song = read_midi(make_raw_midi(tmp_path / "prog.mid", [events]))
    assert song.tracks[0].program == 6


def test_song_from_midifile_without_source(tmp_path: Path, midi_dir: Path) -> None:
    song = song_from_midifile(mido.MidiFile(midi_dir / "melody.mid"))
    assert song.title == "" and song.source == "" and song.num_notes == 8


# ------------------------------------------------------------------ errors
def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.mid"
    with pytest.raises(MidiError, match=f"^{re.escape(str(path))}: no such file$"):
        read_midi(path)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"RIFF\x00\x00\x00\x04WAVE",
        b"MThd\x00\x00\x00\x06\x00\x01",
        b"just some text, not a MIDI file at all\n",
    ],
    ids=["empty", "wav-header", "short-header", "text"],
)
def test_not_a_midi_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.mid"
    path.write_bytes(content)
    with pytest.raises(MidiError, match="not a valid MIDI file") as info:
        read_midi(path)
    assert str(info.value).startswith(f"{path}: ")


def test_truncated_file(tmp_path: Path, midi_dir: Path) -> None:
    data = (midi_dir / "band.mid").read_bytes()
    path = tmp_path / "truncated.mid"
    path.write_bytes(data[: len(data) // 2])  # what comes before the cut is kept, with a warning
    with pytest.warns(UserWarning, match=f"^{re.escape(str(path))}: track .* cut short"):
        song = read_midi(path)
    whole = read_midi(midi_dir / "band.mid")
    assert 0 < song.num_notes < whole.num_notes
    path.write_bytes(data[:10])  # not even a header
    with pytest.raises(MidiError, match=f"^{re.escape(str(path))}: not a valid MIDI file"):
        read_midi(path)


def test_no_notes(tmp_path: Path, make_midi: Any) -> None:
    path = make_midi(tmp_path / "silent.mid", [])
    with pytest.raises(MidiError, match=f"^{re.escape(str(path))}: no notes$"):
        read_midi(path)


def test_midi_error_is_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        read_midi(tmp_path / "missing.mid")


# ------------------------------------------------------------------ writing
def full_song() -> Song:
    notes = make_notes(
        pitch=[60, 60, 64, 67, 36, 38, 72, 72],
        start=[0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 2.0, 2.5],
        duration=[1.0, 1.0, 2.0, 2.0, 0.25, 0.25, 0.5, 1.5],
        velocity=[100, 90, 80, 70, 120, 60, 30, 127],
        track=[0, 0, 0, 0, 1, 1, 2, 2],
    )
    return Song(
        notes,
        tracks=(Track("Piano", 0), Track("Kit", 0, True), Track("Strings", 48)),
        tempos=(TempoChange(0.0, 97.0), TempoChange(2.0, 140.0), TempoChange(3.5, 60.0)),
        time_signatures=(TimeSignature(0.0, 3, 4), TimeSignature(3.0, 6, 8)),
        key="F# minor",
        title="full",
    )


@pytest.mark.parametrize("tpb", [96, 480, 960])
def test_round_trip(tmp_path: Path, tpb: int) -> None:
    song = full_song()
    path = tmp_path / "full.mid"
    write_midi(song, path, ticks_per_beat=tpb)
    back = read_midi(path)
    assert mido.MidiFile(path).ticks_per_beat == tpb
    assert_same_notes(song, back, 1 / tpb)
    assert back.tracks == song.tracks
    assert back.key == song.key
    assert back.time_signatures == song.time_signatures
    assert [t.beat for t in back.tempos] == [t.beat for t in song.tempos]
    assert np.allclose([t.bpm for t in back.tempos], [t.bpm for t in song.tempos], atol=1e-3)
    assert back.title == "full"


def test_layout_of_written_file() -> None:
    mid = song_to_midifile(full_song())
    assert mid.type == 1 and len(mid.tracks) == 4
    conductor = {m.type for m in mid.tracks[0]}
    assert {"set_tempo", "time_signature", "key_signature"} <= conductor
    assert not any(m.type == "note_on" for m in mid.tracks[0])
    channels = [{m.channel for m in t if m.type == "note_on"} for t in mid.tracks[1:]]
    assert channels == [{0}, {9}, {1}]
    names = [next(m.name for m in t if m.type == "track_name") for t in mid.tracks[1:]]
    assert names == ["Piano", "Kit", "Strings"]


def test_repeated_notes_are_not_cut(tmp_path: Path) -> None:
    song = Song(make_notes([60] * 4, [0, 1, 2, 3], [1, 1, 1, 1]))
    write_midi(song, tmp_path / "rep.mid")
    back = read_midi(tmp_path / "rep.mid")
    assert back.notes["start"].tolist() == [0, 1, 2, 3]
    assert back.notes["duration"].tolist() == [1, 1, 1, 1]


def test_times_round_to_ticks_and_last_at_least_one(tmp_path: Path) -> None:
    song = Song(make_notes([60, 62], [0.3333333, 1.0], [0.6666667, 0.0001]))
    write_midi(song, tmp_path / "r.mid", ticks_per_beat=96)
    back = read_midi(tmp_path / "r.mid")
    assert back.notes["start"].tolist() == [32 / 96, 1.0]
    assert back.notes["duration"].tolist() == [64 / 96, 1 / 96]


@pytest.mark.parametrize("tonic", range(12))
@pytest.mark.parametrize("mode", ["major", "minor"])
def test_every_key_round_trips(tmp_path: Path, tonic: int, mode: str) -> None:
    key = f"{PITCH_CLASSES[tonic]} {mode}"
    song = Song(make_notes([60], [0], [1]), key=key)
    write_midi(song, tmp_path / "k.mid")
    assert read_midi(tmp_path / "k.mid").key == key


def test_many_melodic_tracks_wrap_around_channels() -> None:
    tracks = (*(Track(f"t{i}", i) for i in range(17)), Track("drums", 0, True))
    song = Song(make_notes([60] * 18, [0] * 18, [1] * 18, track=range(18)), tracks=tracks)
    mid = song_to_midifile(song)
    channels = [next(m.channel for m in t if m.type == "note_on") for t in mid.tracks[1:]]
    assert channels == [*range(9), *range(10, 16), 0, 1, 9]


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path: Path) -> None:
    path = tmp_path / "a.mid"
    path.write_bytes(b"old")
    full_song().write_midi(path)
    assert os.listdir(tmp_path) == ["a.mid"]
    assert read_midi(path).num_notes == 8


def test_failed_write_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "a.mid"
    path.write_bytes(b"old")
    song = Song(make_notes([60], [0], [1]), tracks=(Track("x", 200),))
    with pytest.raises(MidiError, match="program 200"):
        write_midi(song, path)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["a.mid"]


def test_empty_song_writes_a_file_without_notes(tmp_path: Path) -> None:
    write_midi(Song(make_notes([], [], [])), tmp_path / "e.mid")
    with pytest.raises(MidiError, match="no notes"):
        read_midi(tmp_path / "e.mid")


def _voice_free(notes: list[tuple[int, int, int, int, int]]) -> list[tuple[int, ...]]:
    """Drop notes that overlap an earlier note of the same (track, pitch).

    MIDI cannot tell such notes apart: a note-off ends every sounding note of its pitch.
    """
    kept: list[tuple[int, ...]] = []
    busy: dict[tuple[int, int], int] = {}
    for pitch, on, length, velocity, track in sorted(notes, key=lambda n: n[1]):
        if busy.get((track, pitch), -1) <= on:
            kept.append((pitch, on, length, velocity, track))
            busy[(track, pitch)] = on + length
    return kept


note_tuples = st.tuples(
    st.integers(0, 127),  # pitch
    st.integers(0, 4000),  # onset tick
    st.integers(1, 2000),  # length in ticks
    st.integers(1, 127),  # velocity
    st.integers(0, 2),  # track
)


@settings(max_examples=60, deadline=None)
@given(notes=st.lists(note_tuples, min_size=1, max_size=40), tpb=st.sampled_from([96, 480, 960]))
def test_round_trip_property(notes: list[tuple[int, int, int, int, int]], tpb: int) -> None:
    kept = _voice_free(notes)
    song = Song(
        make_notes(
            pitch=[n[0] for n in kept],
            start=[n[1] / tpb for n in kept],
            duration=[n[2] / tpb for n in kept],
            velocity=[n[3] for n in kept],
            track=[n[4] for n in kept],
        ),
        tracks=(Track("a", 1), Track("b", 2), Track("c", 3, True)),
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "p.mid"
        write_midi(song, path, ticks_per_beat=tpb)
        back = read_midi(path)
    # tracks without notes are not written back as tracks: compare by name
    used = sorted(set(song.notes["track"].tolist()))
    assert back.tracks == tuple(song.tracks[i] for i in used)
    expected = song.select_tracks(used)
    assert_same_notes(expected, back, 0.5 / tpb)
