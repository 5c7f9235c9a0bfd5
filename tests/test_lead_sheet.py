"""MusicXML as a lead sheet: chord symbols spelled in the key, a key signature."""

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.formats.score_reading import read_score
from popgen.formats.score_writing import write_musicxml
from popgen.music.chords import QUALITIES, Chord, chord_labels, make_chords, parse_chord
from popgen.music.keys import key_signature, spelled_names
from popgen.music.sections import parse_form
from popgen.music.song import Song, Track, make_notes


def _xml(song: Song, tmp_path: Path) -> str:
    path = tmp_path / "song.musicxml"
    write_musicxml(song, path)
    return path.read_text()


def test_chords_are_harmony_elements_spelled_in_the_key(tmp_path: Path) -> None:
    chords = make_chords(["F#m", "Ab7", "Bm7b5", "C#7"], [0, 2, 4, 6], [2, 2, 2, 2])
    melody = make_notes([66, 68, 69, 73], [0, 2, 4, 6], [2, 2, 2, 2])
    song = Song(melody, chords=chords, key="F# minor", tracks=(Track("MELODY", role="melody"),))
    xml = _xml(song, tmp_path)
    roots = re.findall(r"<root-step>(\w)</root-step>\s*(?:<root-alter>(-?\d)</root-alter>)?", xml)
    assert roots == [("F", "1"), ("G", "1"), ("B", "0"), ("C", "1")]  # G#7, not Ab7
    kinds = re.findall(r"<kind[^>]*>([^<]*)</kind>", xml)
    assert kinds == ["minor", "dominant", "half-diminished", "dominant"]
    assert re.findall(r"<fifths>(-?\d+)</fifths>", xml) == ["3"]
    (back,) = read_score(tmp_path / "song.musicxml")
    assert [c.root for c in map(parse_chord, chord_labels(back.chords))] == [6, 8, 11, 1]


def test_sections_are_rehearsal_marks(tmp_path: Path) -> None:
    notes = make_notes([60, 62, 64, 65], [0, 4, 8, 12], [4, 4, 4, 4])
    song = Song(notes, sections=parse_form("A2 B1 A1"))
    xml = _xml(song, tmp_path)
    assert re.findall(r"<rehearsal[^>]*>(\w)</rehearsal>", xml) == ["A", "B", "A"]
    measures = xml.split("<measure ")[1:]
    assert [i for i, m in enumerate(measures) if "<rehearsal" in m] == [0, 2, 3]


def test_a_song_without_a_key_gets_the_key_of_its_notes(tmp_path: Path) -> None:
    notes = make_notes([62, 66, 69, 74, 73, 71], range(6), [1] * 6)  # D major
    song = Song(notes, chords=make_chords(["D", "A"], [0, 3], [3, 3]))
    xml = _xml(song, tmp_path)
    assert re.findall(r"<fifths>(-?\d+)</fifths>", xml) == ["2"]
    assert len(re.findall("<harmony", xml)) == 2


def test_chord_symbols_go_above_the_melody_part(tmp_path: Path) -> None:
    notes = make_notes([48, 72], [0, 0], [4, 4], track=[0, 1])
    tracks = (Track("PIANO", role="accompaniment"), Track("MELODY", role="melody"))
    xml = _xml(Song(notes, tracks=tracks, chords=make_chords(["C"], [0], [4])), tmp_path)
    parts = xml.split("<part id=")[1:]
    assert ["<harmony" in p for p in parts] == [False, True]


@settings(deadline=None, max_examples=60)
@given(tonic=st.integers(0, 11), mode=st.sampled_from(["major", "minor"]),
       root=st.integers(0, 11), quality=st.integers(0, len(QUALITIES) - 1))  # fmt: skip
def test_every_chord_is_written_and_read_back_with_its_root(
    tonic: int, mode: str, root: int, quality: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    key = f"{spelled_names(None)[tonic]} {mode}"
    chord = Chord(root, quality, root)
    spelled = chord.symbol_in(key)
    names = spelled_names(key)
    assert spelled.startswith(names[root])
    if key_signature(key) > 0:
        assert "b" not in spelled.split("/")[0][1:2]  # sharp keys spell roots with sharps
    elif key_signature(key) < 0:
        assert "#" not in spelled
    song = Song(make_notes([60], [0], [4]), chords=make_chords([chord.label], [0], [4]), key=key)
    tmp = tmp_path_factory.mktemp("chord")
    (back,) = read_score(_write(song, tmp))
    assert parse_chord(chord_labels(back.chords)[0]).root == root


def _write(song: Song, folder: Path) -> Path:
    path = folder / "c.musicxml"
    write_musicxml(song, path)
    return path
