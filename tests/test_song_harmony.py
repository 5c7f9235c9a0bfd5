"""Songs carrying chords, given bar lines and track roles through transforms and the cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.corpus.cache import SongCache, decode_songs, encode_songs
from popgen.music.chords import CHORD_DTYPE, QUALITIES, chord_labels, make_chords
from popgen.music.keys import PITCH_CLASSES
from popgen.music.song import ROLES, Song, Track, make_notes
from popgen.music.time import TimeSignature


def band() -> Song:
    """Lead, bass and drums with four chords, bars with a one-beat pickup, and roles."""
    lead = [(72, 1.0, 1.0), (74, 2.0, 1.0), (76, 5.0, 2.0), (77, 9.0, 1.0), (79, 13.0, 3.0)]
    bass = [(36, 1.0, 4.0), (43, 5.0, 4.0), (45, 9.0, 4.0), (41, 13.0, 4.0)]
    drums = [(36, float(b), 0.25) for b in range(1, 17)]
    rows = [(*n, 0) for n in lead] + [(*n, 1) for n in bass] + [(*n, 2) for n in drums]
    notes = make_notes(
        [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], track=[r[3] for r in rows]
    )
    tracks = (
        Track("Lead", 73, role="melody"),
        Track("Bass", 33, role="accompaniment"),
        Track("Kit", 0, is_drum=True, role="drums"),
    )
    chords = make_chords(["N", "C", "G/B", "Am7", "F"], [0, 1, 5, 9, 13], [1, 4, 4, 4, 4])
    return Song(
        notes, tracks, key="C major", chords=chords, bars=[1.0, 5.0, 9.0, 13.0], merged_notes=3
    )


# ------------------------------------------------------------------ Song
def test_song_checks_and_sorts_chords_and_bars() -> None:
    chords = make_chords(["G", "C"], [4, 0], [4, 4])
    song = Song(make_notes([60], [0], [8]), chords=chords, bars=[0, 4])
    assert chord_labels(song.chords) == ["C:maj", "G:maj"]
    assert not song.chords.flags.writeable and not song.bars.flags.writeable
    assert song.chords.dtype == CHORD_DTYPE and len(Song(make_notes([60], [0], [1])).chords) == 0
    with pytest.raises(ValueError, match=r"x\.mid: .*chord durations"):
        Song(make_notes([60], [0], [1]), chords=make_chords(["C"], [0], [0]), source="x.mid")
    with pytest.raises(ValueError, match=r"x\.mid: bar lines must be strictly increasing"):
        Song(make_notes([60], [0], [1]), bars=[4, 2], source="x.mid")


def test_track_roles_are_checked() -> None:
    for role in ("", *ROLES):
        assert Track("t", role=role).role == role
    with pytest.raises(ValueError, match="unknown track role 'lead'"):
        Track("t", role="lead")
    with pytest.raises(ValueError, match="unknown track role 'Melody'"):
        Track("t", role="Melody")


def test_bar_lines_follow_given_bars() -> None:
    song = band()
    assert song.bar_lines().tolist() == [0, 1, 5, 9, 13, 17]
    assert song.replace(bars=np.zeros(0)).bar_lines().tolist() == [0, 4, 8, 12, 16, 20]


# ------------------------------------------------------------ transforms
def test_transpose_moves_chords_but_not_times() -> None:
    song = band()
    up = song.transpose(2)
    assert chord_labels(up.chords) == ["N", "D:maj", "A:maj/3", "B:min7", "G:maj"]
    assert np.array_equal(up.chords[["start", "duration"]], song.chords[["start", "duration"]])
    assert up.bars.tolist() == song.bars.tolist()
    assert up.key == "D major"
    assert up.notes["pitch"][up.notes["track"] == 2].tolist() == [36] * 16  # drums stay
    assert [t.role for t in up.tracks] == ["melody", "accompaniment", "drums"]
    assert song.transpose(0) is song


@given(st.integers(-24, 24), st.lists(st.integers(0, 11), min_size=1, max_size=6))
@settings(max_examples=60, deadline=None)
def test_chords_survive_transposing_there_and_back(k: int, roots: list[int]) -> None:
    labels = [f"{PITCH_CLASSES[r]}:min7/b7" for r in roots] + ["N"]
    n = len(labels)
    song = Song(make_notes([60], [0], [1]), chords=make_chords(labels, range(n), [1] * n), key="E")
    back = song.transpose(k).transpose(-k)
    assert np.array_equal(back.chords, song.chords)
    assert back.key == song.key


def test_slice_cuts_chords_and_moves_bars() -> None:
    song = band()
    part = song.slice(3, 11)
    assert chord_labels(part.chords) == ["C:maj", "G:maj/3", "A:min7"]
    assert part.chords[["start", "duration"]].tolist() == [(0.0, 2.0), (2.0, 4.0), (6.0, 2.0)]
    assert part.bars.tolist() == [2.0, 6.0]
    assert part.bar_lines().tolist() == [0, 2, 6, 10]
    assert [t.role for t in part.tracks] == ["melody", "accompaniment", "drums"]
    assert len(song.slice(20, 30).chords) == 0 and len(song.slice(20, 30).bars) == 0


def test_a_slice_has_no_bars_past_its_end() -> None:
    sigs = [TimeSignature(0, 4, 4), TimeSignature(40, 3, 4)]
    song = Song(make_notes([60] * 12, [4 * i for i in range(12)], [4] * 12), time_signatures=sigs)
    assert song.slice(0, 8).bar_lines().tolist() == [0, 4, 8]


def test_quantize_snaps_chords_and_bars() -> None:
    notes = make_notes([60, 64], [0.1, 2.2], [1.9, 1.7])
    chords = make_chords(["C", "G/B", "N"], [0.1, 2.05, 3.9], [1.95, 1.85, 0.05])
    song = Song(notes, chords=chords, bars=[0.1, 2.1, 2.2, 4.2])
    snapped = song.quantize(2)
    assert snapped.chords[["start", "duration"]].tolist() == [(0.0, 2.0), (2.0, 2.0)]
    assert chord_labels(snapped.chords) == ["C:maj", "G:maj/3"]  # the N has no length left
    assert snapped.bars.tolist() == [0.0, 2.0, 4.0]  # 2.1 and 2.2 meet on one line
    assert song.chords["start"].tolist() == [0.1, 2.05, 3.9]  # the song is unchanged


def test_select_tracks_and_drop_drums_keep_chords_and_bars() -> None:
    song = band()
    for part in (song.drop_drums(), song.select_tracks([1]), song.select_tracks([2, 0])):
        assert np.array_equal(part.chords, song.chords)
        assert part.bars.tolist() == song.bars.tolist()
        assert part.merged_notes == song.merged_notes
    assert [t.role for t in song.select_tracks([2, 0]).tracks] == ["drums", "melody"]
    assert [t.role for t in song.drop_drums().tracks] == ["melody", "accompaniment"]


def test_without_leading_silence_follows_given_bars() -> None:
    song = Song(
        make_notes([60, 62, 64], [7.5, 8.0, 11.0], [0.5, 1.0, 2.0]),
        chords=make_chords(["N", "C", "F"], [0, 2, 10], [2, 8, 4]),
        bars=[2.0, 6.0, 10.0, 14.0],
    )
    trimmed = song.without_leading_silence()
    assert trimmed.notes["start"].tolist() == [1.5, 2.0, 5.0]  # from the bar line at 6
    assert trimmed.bars.tolist() == [0.0, 4.0]
    assert trimmed.bar_lines().tolist() == [0, 4, 8]
    assert trimmed.chords[["start", "duration"]].tolist() == [(0.0, 4.0), (4.0, 3.0)]
    assert chord_labels(trimmed.chords) == ["C:maj", "F:maj"]
    # a pickup bar: the first note in it keeps the song as it is
    pickup = song.replace(notes=make_notes([60], [1.0], [1.0]))
    assert pickup.without_leading_silence() is pickup


def test_without_leading_silence_in_three_four() -> None:
    song = Song(make_notes([60], [7.0], [1.0]), time_signatures=[TimeSignature(0, 3, 4)])
    assert song.without_leading_silence().notes["start"].tolist() == [1.0]


# ----------------------------------------------------------------- cache
def assert_same_song(a: Song, b: Song) -> None:
    assert np.array_equal(a.notes, b.notes)
    assert a.chords.dtype == b.chords.dtype == CHORD_DTYPE
    assert np.array_equal(a.chords, b.chords)
    assert a.bars.dtype == b.bars.dtype and a.bars.tolist() == b.bars.tolist()
    assert a.tracks == b.tracks
    assert (a.tempos, a.time_signatures, a.key, a.title, a.source) == (
        b.tempos,
        b.time_signatures,
        b.key,
        b.title,
        b.source,
    )
    assert a.merged_notes == b.merged_notes


def test_npz_round_trip_keeps_harmony_bars_roles_and_merged_notes(tmp_path: Path) -> None:
    songs = [
        band(),
        Song(make_notes([60], [0], [1]), title="plain"),
        band().replace(chords=make_chords([], [], []), bars=[0.0, 2.5], merged_notes=0),
    ]
    decoded = decode_songs(encode_songs(songs))
    assert len(decoded) == 3
    for a, b in zip(songs, decoded, strict=True):
        assert_same_song(a, b)
    cache = SongCache(tmp_path)
    key = cache.key(b"bytes", {"reader": "midi"})
    cache.put(key, songs)
    hit = cache.get(key)
    assert hit is not None
    for a, b in zip(songs, hit, strict=True):
        assert_same_song(a, b)


def test_decode_rejects_a_wrong_chord_dtype() -> None:
    arrays = encode_songs([band()])
    arrays["chords_0"] = arrays["chords_0"].astype(
        [("start", "f4"), ("duration", "f4"), ("root", "i1"), ("quality", "i1"), ("bass", "i1")]
    )
    with pytest.raises(ValueError, match="chords_0"):
        decode_songs(arrays)


@given(
    st.lists(
        st.tuples(
            st.integers(0, 11),
            st.integers(0, len(QUALITIES) - 1),
            st.integers(0, 11),
            st.floats(0.25, 8.0),
        ),
        max_size=6,
    ),
    st.lists(st.floats(0.5, 8.0), max_size=6),
    st.integers(0, 50),
    st.sampled_from(["", *ROLES]),
)
@settings(max_examples=50, deadline=None)
def test_encode_decode_is_exact(
    chords: list[tuple[int, int, int, float]], gaps: list[float], merged: int, role: str
) -> None:
    starts = np.concatenate([[0.0], np.cumsum([c[3] for c in chords])])[:-1]
    array = np.zeros(len(chords), CHORD_DTYPE)
    for i, (root, quality, bass, length) in enumerate(chords):
        array[i] = (starts[i], length, root, quality, bass)
    song = Song(
        make_notes([60], [0.1], [1 / 3]),
        tracks=(Track("x", role=role),),
        chords=array,
        bars=np.cumsum(gaps),
        merged_notes=merged,
    )
    assert_same_song(song, decode_songs(encode_songs([song]))[0])


# -------------------------------------------------------- music21 symbols
def test_music21_chord_symbols_become_chords_not_notes() -> None:
    from music21 import harmony, note, stream

    from popgen.formats.score_reading import score_to_song

    score = stream.Score()
    lead, bass = stream.Part(), stream.Part()
    lead.partName, bass.partName = "Lead", "Bass"
    symbols = ["C", "G7", None, "Bdim", "Dsus4", "Cmaj7", "E-m", "F/A"]
    pitches = ["C5", "D5", "E5", "F5", "G5", "A5", "B5", "C6"]
    for i, (symbol, pitch) in enumerate(zip(symbols, pitches, strict=True)):
        if symbol:
            lead.insert(i * 2.0, harmony.ChordSymbol(symbol))
        lead.insert(i * 2.0, note.Note(pitch, quarterLength=2))
        bass.insert(i * 2.0, note.Note("C3", quarterLength=2))
    lead.insert(4.0, harmony.NoChord())
    bass.insert(8.0, harmony.ChordSymbol("A"))  # a second symbol at 8: the first one wins
    score.insert(0, lead)
    score.insert(0, bass)
    for part in score.parts:
        part.makeMeasures(inPlace=True)
    song = score_to_song(score)
    assert song.num_notes == 16  # the symbols' tones are not notes
    assert sorted(set(song.notes["pitch"].tolist())) == [48, 72, 74, 76, 77, 79, 81, 83, 84]
    assert [t.name for t in song.tracks] == ["Lead", "Bass"]
    assert chord_labels(song.chords, style="symbol") == [
        "C",
        "G7",
        "N.C.",
        "Bdim",
        "Dsus4",
        "Cmaj7",
        "Ebm",
        "F/A",
    ]
    assert song.chords["start"].tolist() == [0, 2, 4, 6, 8, 10, 12, 14]
    assert song.chords["duration"].tolist() == [2.0] * 8  # each until the next, the last to the end


def test_music21_chord_symbol_lasts_until_the_next_or_the_end() -> None:
    from music21 import harmony, note, stream

    from popgen.formats.score_reading import score_to_song

    part = stream.Part()
    part.insert(0.0, harmony.ChordSymbol("Am7"))
    part.insert(0.0, note.Note("A4", quarterLength=3))
    part.insert(3.0, note.Note("G4", quarterLength=1))
    part.insert(3.0, harmony.ChordSymbol("D7/F#"))
    part.insert(4.0, note.Note("C5", quarterLength=5))
    song = score_to_song(part)
    assert song.notes["pitch"].tolist() == [69, 67, 72]
    assert chord_labels(song.chords) == ["A:min7", "D:7/3"]
    assert song.chords[["start", "duration"]].tolist() == [(0.0, 3.0), (3.0, 6.0)]


def test_chord_symbols_in_a_musicxml_file_read_through_the_corpus(tmp_path: Path) -> None:
    from music21 import harmony, meter, note, stream

    import popgen

    part = stream.Part()
    part.partName = "Voice"
    part.append(meter.TimeSignature("3/4"))
    for i, (symbol, pitch) in enumerate([("C", "E4"), ("Am", "C5"), ("F/A", "A4"), ("G7", "B4")]):
        part.insert(i * 3.0, harmony.ChordSymbol(symbol))
        part.insert(i * 3.0, note.Note(pitch, quarterLength=3))
    score = stream.Score()
    score.insert(0, part)
    score.write("musicxml", fp=tmp_path / "tune.musicxml")
    song = popgen.Corpus.from_paths([tmp_path], cache_dir=None, workers=1)[0]
    assert song.notes["pitch"].tolist() == [64, 72, 69, 71]
    assert chord_labels(song.chords) == ["C:maj", "A:min", "F:maj/3", "G:7"]
    assert song.chords[["start", "duration"]].tolist() == [(0, 3), (3, 3), (6, 3), (9, 3)]
    assert song.time_signatures == (TimeSignature(0.0, 3, 4),)
    none = popgen.Corpus.from_paths([tmp_path], cache_dir=None, workers=1, chords="none")[0]
    assert len(none.chords) == 0 and none.num_notes == 4
