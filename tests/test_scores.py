from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest

from popgen.errors import CorpusError
from popgen.formats.score_reading import (
    analyze_key,
    corpus_paths,
    load_music21_corpus,
    read_score,
    score_to_song,
)
from popgen.formats.score_writing import song_to_score, write_musicxml
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TempoChange, TimeSignature

# ------------------------------------------------------------------ corpus


def test_corpus_paths_collection() -> None:
    paths = corpus_paths("essenFolksong")
    assert len(paths) > 10
    assert paths == sorted(paths)
    assert all(p.suffix == ".abc" and p.exists() for p in paths)


@pytest.mark.parametrize("name", ["essenFolksong/test0", "essenFolksong/test0.abc"])
def test_corpus_paths_work(name: str) -> None:
    assert [p.name for p in corpus_paths(name)] == ["test0.abc"]


@pytest.mark.parametrize("name", ["no_such_composer_xyz", "essenFolksong/no_such_work", ""])
def test_corpus_paths_unknown(name: str) -> None:
    message = f"music21 corpus has no work or collection {name!r}"
    with pytest.raises(CorpusError, match=re.escape(message)):
        corpus_paths(name)


def test_load_opus_of_folk_songs() -> None:
    songs = load_music21_corpus("essenFolksong/test0")
    assert len(songs) > 5
    first = songs[0]
    assert first.source == "music21:essenFolksong/test0.abc#1"
    assert songs[4].source == "music21:essenFolksong/test0.abc#5"
    assert first.title.startswith("Ich hab die Nacht")
    assert first.time_signatures == (TimeSignature(0.0, 6, 8),)
    assert first.tempos == (TempoChange(0.0, 120.0),)
    assert first.key == "E major"  # from the ABC K: field
    assert len(first.tracks) == 1 and first.num_notes > 20
    # pitches of the first bar: B3 (pickup) E4 F#4 G4 F#4 E4
    assert first.notes["pitch"][:6].tolist() == [59, 64, 66, 67, 66, 64]
    assert first.notes["start"][:3].tolist() == [0.0, 0.5, 1.5]


def test_load_limit() -> None:
    songs = load_music21_corpus("essenFolksong/test0", limit=3)
    assert [s.source.rsplit("#", 1)[1] for s in songs] == ["1", "2", "3"]


def test_bach_chorale_parts_become_tracks() -> None:
    (song,) = load_music21_corpus("bach/bwv66.6")
    assert song.source == "music21:bach/bwv66.6.mxl"
    assert [t.name for t in song.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert song.key == "F# minor"
    assert song.tempos[0].beat == 0.0
    assert song.time_signatures == (TimeSignature(0.0, 4, 4),)
    # tied notes are merged: no note of one voice starts before the previous one ends
    for track in range(4):
        voice = song.notes[song.notes["track"] == track]
        assert np.all(voice["start"][1:] >= voice["start"][:-1] + voice["duration"][:-1] - 1e-9)


# ---------------------------------------------------------------- velocity


def test_accents_give_several_velocities() -> None:
    (song,) = load_music21_corpus("essenFolksong/test0", limit=1)
    velocities = set(song.notes["velocity"].tolist())
    assert len(velocities) >= 3
    assert max(velocities) == 103  # downbeats: music21 default 0.7087 * 127 * 1.15
    downbeat = song.notes[song.notes["start"] == 0.5]  # after the one-eighth pickup
    assert downbeat["velocity"].tolist() == [103]


def test_without_accents_velocities_are_music21s() -> None:
    from music21 import converter

    (path,) = corpus_paths("essenFolksong/test0")
    score = converter.parse(path).scores[0]
    song = score_to_song(score, accents=False)
    assert set(song.notes["velocity"].tolist()) == {90}


def test_dynamics_and_chords_and_grace_notes() -> None:
    from music21 import chord, dynamics, meter, note, stream

    part = stream.Part()
    part.insert(0, meter.TimeSignature("2/4"))
    part.insert(0, dynamics.Dynamic("pp"))
    part.insert(0, note.Note("C4", quarterLength=1))
    grace = note.Note("D4").getGrace()
    part.insert(1, grace)
    part.insert(1, note.Note("E4", quarterLength=1))
    part.insert(2, dynamics.Dynamic("ff"))
    part.insert(2, chord.Chord(["C4", "E4", "G4"], quarterLength=2))
    score = stream.Score()
    score.insert(0, part)
    song = score_to_song(score.makeNotation(), accents=False)
    assert song.notes["pitch"].tolist() == [60, 64, 60, 64, 67]
    assert song.notes["start"].tolist() == [0, 1, 2, 2, 2]
    pp, ff = song.notes["velocity"][0], song.notes["velocity"][2]
    assert pp < 60 and ff == 127


# ------------------------------------------------------------------ keys


def test_analyze_key_of_c_major_scale() -> None:
    pitches = [60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60]
    durations = [2, 1, 1, 1, 2, 1, 1, 2, 1, 1, 4]
    starts = np.cumsum([0, *durations[:-1]])
    song = Song(make_notes(pitches, starts, durations))
    assert analyze_key(song) == "C major"
    assert analyze_key(song.transpose(-3)) == "A major"


def test_analyze_key_ignores_drums_and_needs_notes() -> None:
    notes = make_notes([57, 60, 64, 57, 61, 63], [0, 1, 2, 3, 0, 0], [1, 1, 1, 2, 4, 4], track=0)
    notes["track"][4:] = 1
    song = Song(notes, tracks=(Track(), Track("drums", 0, True)))
    assert analyze_key(song) == "A minor"
    with pytest.raises(ValueError, match="without pitched notes"):
        analyze_key(song.select_tracks([1]))


# --------------------------------------------------------------- MusicXML


def test_musicxml_round_trip(tmp_path: Path) -> None:
    notes = make_notes(
        pitch=[60, 64, 67, 62, 65, 48, 55],
        start=[0.0, 0.0, 0.0, 1.0, 1.5, 0.0, 2.0],
        duration=[1.0, 1.0, 1.0, 0.5, 2.5, 2.0, 2.0],
        velocity=[100, 100, 100, 64, 80, 50, 70],
        track=[0, 0, 0, 0, 0, 1, 1],
    )
    song = Song(
        notes,
        tracks=(Track("Right", 0), Track("Left", 32)),
        tempos=(TempoChange(0.0, 100.0),),
        time_signatures=(TimeSignature(0.0, 3, 4),),
        key="D minor",
        title="Little piece",
    )
    path = tmp_path / "piece.musicxml"
    write_musicxml(song, path)
    assert os.listdir(tmp_path) == ["piece.musicxml"]
    (back,) = read_score(path)
    assert back.source == str(path)
    assert back.title == "Little piece"
    assert back.key == "D minor"
    assert back.tempos == song.tempos
    assert back.time_signatures == song.time_signatures
    assert [t.name for t in back.tracks] == ["Right", "Left"]
    assert back.tracks[1].program == 32
    keep = ["pitch", "start", "duration", "track"]
    assert back.notes[keep].tolist() == song.notes[keep].tolist()
    # velocities survive as note volumes (accents off to read them unchanged)
    from music21 import converter

    plain = score_to_song(converter.parse(path), accents=False)
    assert plain.notes["velocity"].tolist() == song.notes["velocity"].tolist()


def test_song_to_score_groups_chords() -> None:
    from music21 import chord

    song = Song(make_notes([60, 64, 67, 72], [0, 0, 0, 1], [1, 1, 1, 1]))
    score = song_to_score(song)
    chords = list(score.recurse().getElementsByClass(chord.Chord))
    assert len(chords) == 1 and [p.midi for p in chords[0].pitches] == [60, 64, 67]


def test_read_score_errors(tmp_path: Path) -> None:
    missing = tmp_path / "missing.xml"
    with pytest.raises(CorpusError, match=re.escape(f"{missing}: no such file")):
        read_score(missing)
    bad = tmp_path / "bad.xml"
    bad.write_text("<score-partwise><part><measure")
    with pytest.raises(CorpusError, match=re.escape(f"{bad}: music21 could not read it (")):
        read_score(bad)
