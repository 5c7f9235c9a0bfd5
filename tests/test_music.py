from __future__ import annotations

import numpy as np
import pytest

from popgen.music.keys import key_tonic, parse_key
from popgen.music.song import NOTE_DTYPE, Song, Track, make_notes
from popgen.music.time import TempoChange, TimeSignature


def rows(song: Song) -> list[tuple[int, float, float, int, int]]:
    return [tuple(r) for r in song.notes.tolist()]


# ---------------------------------------------------------------- building


def test_make_notes_columns_and_defaults() -> None:
    notes = make_notes([60, 64], [0.0, 1.5], [1.0, 0.5])
    assert notes.dtype == NOTE_DTYPE
    assert notes["velocity"].tolist() == [80, 80] and notes["track"].tolist() == [0, 0]
    notes = make_notes([60, 64], [0, 1], [1, 1], velocity=[10, 20], track=[1, 0])
    assert notes["velocity"].tolist() == [10, 20] and notes["track"].tolist() == [1, 0]


def test_song_sorts_by_start_track_pitch_and_is_read_only() -> None:
    notes = make_notes([67, 60, 64, 48], [1, 1, 0, 1], [1, 1, 1, 1], track=[0, 0, 0, 1])
    song = Song(notes, tracks=(Track(), Track()))
    assert rows(song) == [
        (64, 0.0, 1.0, 80, 0),
        (60, 1.0, 1.0, 80, 0),
        (67, 1.0, 1.0, 80, 0),
        (48, 1.0, 1.0, 80, 1),
    ]
    assert not song.notes.flags.writeable
    assert notes["pitch"].tolist() == [67, 60, 64, 48]  # the caller's array is untouched
    with pytest.raises(ValueError):
        song.notes["pitch"][0] = 1


def test_song_queries() -> None:
    song = Song(
        make_notes([60, 62], [0, 3], [2, 1]), tempos=(TempoChange(0, 60), TempoChange(2, 120))
    )
    assert song.num_notes == 2 and song.end == 4.0 and song.bpm == 60
    assert song.seconds() == pytest.approx(2.0 + 1.0)
    empty = Song(make_notes([], [], []))
    assert empty.num_notes == 0 and empty.end == 0.0


def test_velocities_clipped_and_key_normalised() -> None:
    song = Song(make_notes([60, 61], [0, 1], [1, 1], velocity=[0, 300]), key="Bb:min")
    assert song.notes["velocity"].tolist() == [1, 127]
    assert song.key == "A# minor"


@pytest.mark.parametrize(
    ("notes", "tracks", "message"),
    [
        (make_notes([128], [0], [1]), (Track(),), "pitches must be in 0..127"),
        (make_notes([-1], [0], [1]), (Track(),), "pitches must be in 0..127"),
        (make_notes([60], [0], [0]), (Track(),), "durations must be > 0"),
        (make_notes([60], [-1], [1]), (Track(),), "onsets must be >= 0"),
        (
            make_notes([60], [0], [1], track=2),
            (Track(), Track()),
            r"track indices must be in 0\.\.1",
        ),
    ],
    ids=["high", "low", "zero-length", "negative-onset", "bad-track"],
)
def test_validation_errors(notes: np.ndarray, tracks: tuple[Track, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Song(notes, tracks=tracks)
    with pytest.raises(ValueError, match=f"^x.mid: .*{message}"):
        Song(notes, tracks=tracks, source="x.mid")


def test_bad_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown tonic"):
        Song(make_notes([60], [0], [1]), key="H major")


# ---------------------------------------------------------------- transforms


def test_transpose_moves_key_and_spares_drums() -> None:
    notes = make_notes([60, 64, 36, 120], [0, 1, 0, 2], [1, 1, 1, 1], track=[0, 0, 1, 0])
    song = Song(notes, tracks=(Track(), Track("kit", 0, True)), key="B major")
    up = song.transpose(10)
    assert sorted(up.notes["pitch"].tolist()) == [36, 70, 74]  # 130 left the range
    assert up.key == "A major"
    assert song.transpose(0) is song
    assert song.transpose(-13).key == "A# major"
    assert Song(make_notes([60], [0], [1])).transpose(2).key is None


def test_quantize_snaps_and_keeps_short_notes() -> None:
    song = Song(make_notes([60, 62, 64], [0.1, 1.02, 1.9], [0.9, 0.01, 0.3]))
    q = song.quantize(4)
    assert q.notes["start"].tolist() == [0.0, 1.0, 2.0]
    assert q.notes["duration"].tolist() == [1.0, 0.25, 0.25]
    with pytest.raises(ValueError, match="steps_per_beat must be >= 1"):
        song.quantize(0)


def test_quantize_resolves_overlaps() -> None:
    # same onset after snapping: the longer note is kept
    a = Song(make_notes([60, 60], [0.0, 0.05], [0.5, 2.0])).quantize(4)
    assert rows(a) == [(60, 0.0, 2.0, 80, 0)]
    # an earlier note still sounding is cut at the next onset of the same pitch
    b = Song(make_notes([60, 60, 64], [0.0, 1.0, 0.5], [2.0, 1.0, 2.0])).quantize(4)
    assert rows(b) == [(60, 0.0, 1.0, 80, 0), (64, 0.5, 2.0, 80, 0), (60, 1.0, 1.0, 80, 0)]
    # different tracks do not interfere
    c = Song(make_notes([60, 60], [0, 1], [2, 1], track=[0, 1]), tracks=(Track(), Track()))
    assert c.quantize(4).notes["duration"].tolist() == [2.0, 1.0]


def test_select_drop_and_merge_tracks() -> None:
    notes = make_notes([60, 36, 48, 60], [0, 0, 0, 0.5], [1, 1, 1, 1], track=[0, 1, 2, 2])
    tracks = (Track("lead", 80), Track("kit", 0, True), Track("bass", 33))
    song = Song(notes, tracks=tracks)
    picked = song.select_tracks([2, 0])
    assert picked.tracks == (tracks[2], tracks[0])
    assert rows(picked) == [(48, 0.0, 1.0, 80, 0), (60, 0.0, 1.0, 80, 1), (60, 0.5, 1.0, 80, 0)]
    with pytest.raises(ValueError, match="no track 3; the song has 3"):
        song.select_tracks([3])
    assert song.select_tracks([]).num_notes == 0
    no_drums = song.drop_drums()
    assert no_drums.tracks == (tracks[0], tracks[2]) and 36 not in no_drums.notes["pitch"]
    merged = no_drums.merge_tracks()
    assert merged.tracks == (Track("lead"),)
    # the two 60s now share a voice: the first is cut where the second starts
    assert rows(merged) == [(48, 0.0, 1.0, 80, 0), (60, 0.0, 0.5, 80, 0), (60, 0.5, 1.0, 80, 0)]
    assert song.merge_tracks(Track("all", 1)).tracks == (Track("all", 1),)


def test_slice() -> None:
    song = Song(
        make_notes([60, 62, 64, 65], [0, 2, 3.5, 6], [4, 1, 2, 1]),
        tempos=(TempoChange(0, 100), TempoChange(2, 80), TempoChange(5, 60)),
        time_signatures=(TimeSignature(0, 4, 4), TimeSignature(3, 3, 4)),
    )
    part = song.slice(2.5, 5.0)
    assert rows(part) == [(64, 1.0, 1.5, 80, 0)]  # cut at the slice's end
    assert part.tempos == (TempoChange(0.0, 80), TempoChange(2.5, 60))
    assert part.time_signatures == (TimeSignature(0.0, 4, 4), TimeSignature(0.5, 3, 4))
    assert song.slice(0, 0).num_notes == 0
    with pytest.raises(ValueError, match="before start"):
        song.slice(3, 2)


def test_replace_returns_new_song() -> None:
    song = Song(make_notes([60], [0], [1]), title="a")
    other = song.replace(title="b")
    assert (song.title, other.title) == ("a", "b")
    assert rows(other) == rows(song)


# --------------------------------------------------------------------- keys


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("C", (0, "major")),
        ("C major", (0, "major")),
        ("a minor", (9, "minor")),
        ("Am", (9, "minor")),
        ("F#m", (6, "minor")),
        ("Bbm", (10, "minor")),
        ("Gb:maj", (6, "major")),
        ("f#", (6, "minor")),
        ("e", (4, "minor")),
        ("Cb", (11, "major")),
        ("B- minor", (10, "minor")),
        ("  D  min ", (2, "minor")),
    ],
)
def test_parse_key(name: str, expected: tuple[int, str]) -> None:
    assert parse_key(name) == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [("", "empty key name"), ("H", "unknown tonic"), ("C lydian", "unknown mode")],
)
def test_parse_key_errors(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_key(name)


def test_key_tonic_uses_sharps() -> None:
    assert key_tonic("Db major") == "C# major"
    assert key_tonic("bb") == "A# minor"
    assert key_tonic("Am") == "A minor"


def test_without_leading_silence_keeps_the_bar_phase() -> None:
    from popgen.music.time import TimeSignature

    song = Song(make_notes([60, 62], [37.5, 38], [0.5, 1]), tempos=((0.0, 90.0),))
    trimmed = song.without_leading_silence()
    assert trimmed.notes["start"].tolist() == [1.5, 2.0]
    assert trimmed.bpm == 90.0
    waltz = Song(make_notes([60], [7.0], [1.0]), time_signatures=(TimeSignature(0.0, 3, 4),))
    assert waltz.without_leading_silence().notes["start"].tolist() == [1.0]  # bar at beat 6
    at_start = Song(make_notes([60], [0.5], [1.0]))
    assert at_start.without_leading_silence() is at_start
    empty = Song(make_notes([], [], []))
    assert empty.without_leading_silence() is empty
