"""Chord inference from notes: hand-made progressions with known chords."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.music.chord_inference import infer_chords
from popgen.music.chords import CHORD_DTYPE, chord_labels, make_chords, parse_chord
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TimeSignature

# voicings (MIDI pitches) of the chords used below, root in the bass
VOICINGS = {
    "C": [48, 60, 64, 67],
    "G": [43, 59, 62, 67],
    "Am": [45, 60, 64, 69],
    "F": [41, 60, 65, 69],
    "Dm": [50, 62, 65, 69],
    "E": [40, 59, 64, 68],
    "G7": [43, 59, 62, 65],
}


def block_chords(names: list[str], length: float = 4.0) -> list[tuple[int, float, float]]:
    """(pitch, start, duration) of each chord held for ``length`` beats, one after another."""
    return [(pitch, i * length, length) for i, name in enumerate(names) for pitch in VOICINGS[name]]


def song_of(rows: list[tuple[int, float, float]], **kwargs: Any) -> Song:
    pitch, start, duration = zip(*rows, strict=True)
    return Song(make_notes(pitch, start, duration), **kwargs)


def times(chords: Any) -> tuple[list[float], list[float]]:
    return chords["start"].tolist(), chords["duration"].tolist()


def test_block_chords_with_a_melody_and_passing_tones() -> None:
    accompaniment = block_chords(["C", "G", "Am", "F"])
    # eighth-note melody with passing and neighbour tones off the chord
    melody_pitches = [72, 74, 76, 77, 79, 77, 76, 74]  # over C: D and F pass
    melody_pitches += [74, 72, 71, 72, 74, 76, 74, 71]  # over G: C and E pass
    melody_pitches += [72, 71, 69, 71, 72, 74, 76, 72]  # over Am: B and D pass
    melody_pitches += [69, 67, 65, 67, 69, 71, 72, 69]  # over F: G and B pass
    melody = [(p, 0.5 * i, 0.5) for i, p in enumerate(melody_pitches)]
    chords = infer_chords(song_of(accompaniment + melody))
    assert chords.dtype == CHORD_DTYPE
    assert chord_labels(chords) == ["C:maj", "G:maj", "A:min", "F:maj"]
    assert times(chords) == ([0.0, 4.0, 8.0, 12.0], [4.0, 4.0, 4.0, 4.0])
    assert (chords["bass"] == chords["root"]).all()


def test_arpeggiated_chords() -> None:
    rows = []
    for bar, name in enumerate(["Dm", "G7", "C", "C"]):
        bass, *upper = VOICINGS[name]
        rows.append((bass - 12 if bass > 47 else bass, 4.0 * bar, 4.0))
        rows += [(upper[i % len(upper)], 4.0 * bar + 0.5 * i, 0.5) for i in range(8)]
    chords = infer_chords(song_of(rows))
    assert chord_labels(chords) == ["D:min", "G:7", "C:maj"]
    assert times(chords) == ([0.0, 4.0, 8.0], [4.0, 4.0, 8.0])


def test_a_minor_key_with_its_major_dominant() -> None:
    chords = infer_chords(song_of(block_chords(["Am", "Dm", "E", "Am"])))
    assert chord_labels(chords) == ["A:min", "D:min", "E:maj", "A:min"]
    assert chords["start"].tolist() == [0.0, 4.0, 8.0, 12.0]


def test_silence_is_no_chord() -> None:
    rows = block_chords(["C"]) + [(p, 8.0, 4.0) for p in VOICINGS["G"]]
    chords = infer_chords(song_of(rows))
    assert chord_labels(chords) == ["C:maj", "N", "G:maj"]
    assert times(chords) == ([0.0, 4.0, 8.0], [4.0, 4.0, 4.0])
    assert chords["root"][1] == chords["quality"][1] == chords["bass"][1] == -1


def test_leading_silence_and_a_short_last_note() -> None:
    rows = [(p, 4.0, 3.5) for p in VOICINGS["F"]]
    chords = infer_chords(song_of(rows))
    assert chord_labels(chords) == ["N", "F:maj"]
    assert times(chords) == ([0.0, 4.0], [4.0, 3.5])  # up to the last note's end


def test_three_four_time_changes_on_bar_lines() -> None:
    rows = block_chords(["C", "F", "G", "C"], length=3.0)
    chords = infer_chords(song_of(rows, time_signatures=[TimeSignature(0, 3, 4)]))
    assert chord_labels(chords) == ["C:maj", "F:maj", "G:maj", "C:maj"]
    assert times(chords) == ([0.0, 3.0, 6.0, 9.0], [3.0] * 4)


def test_given_bars_set_the_grid() -> None:
    # a pickup of half a beat, then bars of 4 beats from beat 0.5: C, then G from beat 4.5
    rows = [(67, 0.0, 0.5)] + [(p, 0.5 + s, d) for p, s, d in block_chords(["C", "G"])]
    chords = infer_chords(song_of(rows, bars=[0.5, 4.5]))
    assert chord_labels(chords) == ["C:maj", "G:maj"]
    assert times(chords) == ([0.0, 4.5], [4.5, 4.0])


def test_half_bar_segments() -> None:
    rows = block_chords(["C", "Am", "F", "G"], length=2.0)
    for per in ("half_bar", "beat"):
        chords = infer_chords(song_of(rows), per=per)
        assert chord_labels(chords) == ["C:maj", "A:min", "F:maj", "G:maj"]
        assert times(chords) == ([0.0, 2.0, 4.0, 6.0], [2.0] * 4)


def test_per_beat_sees_a_change_inside_half_a_bar_that_half_bars_cannot() -> None:
    rows = block_chords(["C", "C", "F", "G"], length=1.0)
    rows += [(p, 4.0, 4.0) for p in VOICINGS["C"]]
    beat = infer_chords(song_of(rows), per="beat")
    assert chord_labels(beat) == ["C:maj", "F:maj", "G:maj", "C:maj"]
    assert times(beat) == ([0.0, 2.0, 3.0, 4.0], [2.0, 1.0, 1.0, 4.0])
    half = infer_chords(song_of(rows), per="half_bar")
    assert set(half["start"].tolist()) <= {0.0, 2.0, 4.0}


def test_smoothing_keeps_a_chord_through_a_neighbour_chord() -> None:
    # C over a held bass C, with the upper voices moving to F and A on beat 3 (C-F/C-C)
    rows = [(48, 0.0, 4.0)] + [(p, 0.0, 2.0) for p in (64, 67, 72)]
    rows += [(p, 2.0, 1.0) for p in (65, 69, 72)] + [(p, 3.0, 1.0) for p in (64, 67, 72)]
    assert chord_labels(infer_chords(song_of(rows))) == ["C:maj"]
    unsmoothed = infer_chords(song_of(rows), smoothing=0.0)
    assert chord_labels(unsmoothed) == ["C:maj", "F:maj", "C:maj"]
    assert times(unsmoothed) == ([0.0, 2.0, 3.0], [2.0, 1.0, 1.0])


def test_the_songs_own_chords_and_drums_are_ignored() -> None:
    rows = block_chords(["C", "G"])
    drums = [(36, float(b), 0.25) for b in range(8)] + [(42, b + 0.5, 0.25) for b in range(8)]
    pitch, start, duration = zip(*(rows + drums), strict=True)
    track = [0] * len(rows) + [1] * len(drums)
    song = Song(
        make_notes(pitch, start, duration, track=track),
        tracks=(Track("Piano"), Track("Drums", is_drum=True)),
        chords=make_chords(["F#m", "Bb"], [0, 4], [4, 4]),
    )
    assert chord_labels(infer_chords(song)) == ["C:maj", "G:maj"]


def test_empty_and_drum_only_songs_have_no_chords() -> None:
    assert infer_chords(Song(make_notes([], [], []))).dtype == CHORD_DTYPE
    assert len(infer_chords(Song(make_notes([], [], [])))) == 0
    drums = Song(make_notes([36, 38], [0, 1], [1, 1]), tracks=(Track("Drums", is_drum=True),))
    assert len(infer_chords(drums)) == 0


def test_bad_arguments() -> None:
    song = song_of(block_chords(["C"]))
    with pytest.raises(ValueError, match="per='bar'"):
        infer_chords(song, per="bar")
    with pytest.raises(ValueError, match="smoothing"):
        infer_chords(song, smoothing=-1.0)


def test_deterministic_and_contiguous() -> None:
    rows = block_chords(["C", "G", "Am", "F"]) + [(72, 0.25 * i, 0.3) for i in range(64)]
    song = song_of(rows)
    a, b = infer_chords(song), infer_chords(song)
    assert a.tobytes() == b.tobytes()
    ends = a["start"] + a["duration"]
    assert np.allclose(ends[:-1], a["start"][1:]) and ends[-1] == song.end


TRIADS = ["C", "Cm", "D", "Dm", "Eb", "Em", "F", "Fm", "G", "Gm", "Ab", "Am", "Bb", "Bm"]


@settings(max_examples=40, deadline=None)
@given(
    progression=st.lists(st.sampled_from(TRIADS), min_size=1, max_size=6),
    lengths=st.lists(st.sampled_from([2, 4, 8]), min_size=6, max_size=6),
    shift=st.integers(-6, 6),
    per=st.sampled_from(["beat", "half_bar"]),
)
def test_transposing_the_song_transposes_its_chords(
    progression: list[str], lengths: list[int], shift: int, per: str
) -> None:
    rows, start = [], 0.0
    for name, length in zip(progression, lengths, strict=False):
        chord = parse_chord(name)
        root = 48 + chord.root
        rows.append((root - 12, start, float(length)))  # bass
        rows += [
            (root + (pc - chord.root) % 12, start, float(length)) for pc in chord.pitch_classes
        ]
        rows.append((72 + chord.root, start, 1.0))  # a melody note on the root
        start += length
    song = song_of(rows)
    chords = infer_chords(song, per=per)
    moved = infer_chords(song.transpose(shift), per=per)
    assert chord_labels(moved) == chord_labels(song.replace(chords=chords).transpose(shift).chords)
    assert moved.tobytes() == song.replace(chords=chords).transpose(shift).chords.tobytes()
