"""Chords through MIDI files: marker meta events with Harte labels, written and read."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.corpus.options import CorpusOptions
from popgen.corpus.reading import read_file
from popgen.formats.midi_reading import read_midi, song_from_midifile
from popgen.formats.midi_writing import song_to_midifile, write_midi
from popgen.music.chords import NO_CHORD, QUALITIES, Chord, chord_labels, make_chords
from popgen.music.song import Song, make_notes
from popgen.music.time import TempoChange

PROGRESSION = ["C:maj", "N", "A:min7/b7", "F:maj/3", "G:7"]


def chord_song(labels: list[str], starts: list[float], durations: list[float]) -> Song:
    """A song whose notes end where the last chord ends."""
    end = starts[-1] + durations[-1]
    return Song(
        make_notes([60, 64], [0, 1], [1, end - 1]),
        tempos=(TempoChange(0, 90), TempoChange(3, 120)),
        chords=make_chords(labels, starts, durations),
    )


def segments(song: Song) -> list[tuple[str, float, float]]:
    times = song.chords[["start", "duration"]].tolist()
    return [(label, *time) for label, time in zip(chord_labels(song.chords), times, strict=True)]


@pytest.mark.parametrize("tpb", [96, 480])
def test_chords_round_trip(tmp_path: Path, tpb: int) -> None:
    song = chord_song(PROGRESSION, [0, 4, 6, 8, 10.5], [4, 2, 2, 2.5, 1.5])
    write_midi(song, tmp_path / "chords.mid", ticks_per_beat=tpb)
    back = read_midi(tmp_path / "chords.mid")
    assert segments(back) == segments(song)
    assert chord_labels(back.chords) == PROGRESSION


def test_markers_are_in_the_conductor_track_in_time_order() -> None:
    song = chord_song(PROGRESSION, [0, 4, 6, 8, 10.5], [4, 2, 2, 2.5, 1.5])
    conductor = song_to_midifile(song, ticks_per_beat=4).tracks[0]
    events = list(zip(np.cumsum([m.time for m in conductor]).tolist(), conductor, strict=True))
    markers = [(tick, m.text) for tick, m in events if m.type == "marker"]
    assert markers == [(0, "C:maj"), (16, "N"), (24, "A:min7/b7"), (32, "F:maj/3"), (42, "G:7")]
    order = [(m.type, tick) for tick, m in events if m.type in ("set_tempo", "marker")]
    assert order[:4] == [("set_tempo", 0), ("marker", 0), ("set_tempo", 12), ("marker", 16)]
    assert [m.type for m in song_to_midifile(Song(make_notes([60], [0], [1]))).tracks[0]] == [
        "track_name",
        "set_tempo",
        "time_signature",
        "end_of_track",
    ]


def test_gaps_are_written_as_no_chord() -> None:
    """A chord that stops before the next one (or before the end) does not ring on."""
    song = Song(make_notes([60], [0], [8]), chords=make_chords(["C", "G"], [0, 4], [2, 2]))
    back = song_from_midifile(song_to_midifile(song))
    assert segments(back) == [("C:maj", 0, 2), ("N", 2, 2), ("G:maj", 4, 2), ("N", 6, 2)]


def test_last_chord_is_cut_at_the_end_of_the_notes() -> None:
    song = Song(make_notes([60], [0], [6]), chords=make_chords(["C", "G"], [0, 4], [4, 4]))
    back = song_from_midifile(song_to_midifile(song))
    assert segments(back) == [("C:maj", 0, 4), ("G:maj", 4, 2)]


def raw_file(path: Path, markers: list[tuple[int, str]], make_raw_midi: Any) -> Path:
    notes = [
        (0, mido.Message("note_on", note=60, velocity=90)),
        (1920, mido.Message("note_off", note=60)),
    ]
    meta = [(tick, mido.MetaMessage("marker", text=text)) for tick, text in markers]
    return make_raw_midi(path, [meta, notes], ticks_per_beat=480)  # type: ignore[no-any-return]


def test_a_file_with_other_markers_reads_no_chords(tmp_path: Path, make_raw_midi: Any) -> None:
    markers = [(0, "Intro"), (480, "Verse 1"), (960, "FF3 Battle (c) 1995"), (1440, "")]
    path = raw_file(tmp_path / "sections.mid", markers, make_raw_midi)
    song = read_midi(path)
    assert len(song.chords) == 0 and song.num_notes == 1


def test_rehearsal_letters_are_not_chords(tmp_path: Path, make_raw_midi: Any) -> None:
    """Sections A, B, C (as in ff-piano's ff7themep.mid) are not A, B and C major chords."""
    markers = [(0, "A"), (480, "B"), (960, "C"), (1200, "D/Build up"), (1440, "D")]
    assert len(read_midi(raw_file(tmp_path / "sections.mid", markers, make_raw_midi)).chords) == 0
    markers = [(0, "C"), (480, "Am"), (960, "F"), (1440, "G")]  # a lead sheet: all are chords
    song = read_midi(raw_file(tmp_path / "lead.mid", markers, make_raw_midi))
    assert chord_labels(song.chords) == ["C:maj", "A:min", "F:maj", "G:maj"]


def test_chord_markers_among_others(tmp_path: Path, make_raw_midi: Any) -> None:
    """Non-chords are skipped; symbols are read too; of two chords at a tick the later wins."""
    markers = [(0, "Intro"), (0, "Am"), (480, "Chorus"), (960, "G7"), (960, "F/A"), (1440, "NC")]
    path = raw_file(tmp_path / "mixed.mid", markers, make_raw_midi)
    song = read_midi(path)
    assert segments(song) == [("A:min", 0, 2), ("F:maj/3", 2, 1), ("N", 3, 1)]


def test_text_events_and_markers_after_the_end_are_not_chords(
    tmp_path: Path, make_raw_midi: Any
) -> None:
    notes = [
        (0, mido.Message("note_on", note=60, velocity=90)),
        (960, mido.Message("note_off", note=60)),
    ]
    meta = [
        (0, mido.MetaMessage("text", text="C")),
        (480, mido.MetaMessage("marker", text="D:min")),
        (960, mido.MetaMessage("marker", text="G:maj")),
    ]
    song = read_midi(make_raw_midi(tmp_path / "t.mid", [meta, notes]))
    assert segments(song) == [("D:min", 1, 1)]


def test_reading_rules_treat_markers_as_given_chords(tmp_path: Path) -> None:
    song = chord_song(["C", "G"], [0, 4], [4, 4])
    path = tmp_path / "001.mid"
    write_midi(song, path)
    read = {rule: read_file(path, CorpusOptions(chords=rule))[0] for rule in ("auto", "given")}
    assert all(segments(s) == segments(song) for s in read.values())
    assert len(read_file(path, CorpusOptions(chords="none"))[0].chords) == 0
    inferred = read_file(path, CorpusOptions(chords="infer"))[0]
    assert segments(inferred) != segments(song)
    # annotations beside the file win over its markers
    (tmp_path / "chord_midi.txt").write_text("0.0 4.0 A:min\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        annotated = read_file(path, CorpusOptions(chords="auto"))[0]
    assert chord_labels(annotated.chords) == ["A:min"]


chord_values = st.builds(
    Chord,
    root=st.integers(0, 11),
    quality=st.integers(0, len(QUALITIES) - 1),
    bass=st.integers(0, 11),
) | st.just(NO_CHORD)


@settings(max_examples=60, deadline=None)
@given(
    progression=st.lists(st.tuples(chord_values, st.integers(1, 8)), min_size=1, max_size=12),
    grid=st.sampled_from([1, 2, 3, 4]),
    tpb=st.sampled_from([24, 96, 480]),
)
def test_chord_progressions_round_trip_property(
    progression: list[tuple[Chord, int]], grid: int, tpb: int
) -> None:
    """Contiguous chords on a 1/grid-beat grid, up to the last note's end, read back exactly."""
    lengths = [length for _, length in progression]
    onsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    chords = make_chords([c for c, _ in progression], onsets / grid, np.array(lengths) / grid)
    song = Song(make_notes([60], [0], [sum(lengths) / grid]), chords=chords)
    back = song_from_midifile(song_to_midifile(song, ticks_per_beat=tpb))
    assert back.chords.tobytes() == song.chords.tobytes()


def test_marker_chords_move_with_the_notes_onto_annotated_beats(tmp_path: Path) -> None:
    song = Song(
        make_notes([60, 64], [0.5, 4.5], [4, 4]),
        tempos=[TempoChange(0, 60)],
        chords=make_chords(["C", "Am"], [0.5, 4.5], [4, 4]),
    )
    write_midi(song, tmp_path / "001.mid")
    (tmp_path / "beat_midi.txt").write_text(
        "".join(f"{0.5 + i} 0 {int(i % 4 == 0)}\n" for i in range(8))
    )
    read = read_file(tmp_path / "001.mid", CorpusOptions(chords="given"))[0]
    assert read.notes["start"].tolist() == [0.0, 4.0]
    assert segments(read) == [("C:maj", 0, 4), ("A:min", 4, 4)]
