"""Harmony metrics (popgen.metrics.harmony) and notes per bar of each part."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import popgen.metrics
from popgen.chords import NO_CHORD, chord_tone_mask, make_chords
from popgen.metrics import (
    METRICS,
    chord_tone_share,
    metric_table,
    notes_per_bar,
    notes_per_bar_by_role,
    song_metrics,
)
from popgen.music import Song, TimeSignature, Track, make_notes


def song_with(rows: list[tuple[int, float, float]], chords: list[tuple[str, float, float]]) -> Song:
    pitch, start, duration = zip(*rows, strict=True) if rows else ((), (), ())
    labels, c_start, c_duration = zip(*chords, strict=True) if chords else ((), (), ())
    return Song(make_notes(pitch, start, duration), chords=make_chords(labels, c_start, c_duration))


# ------------------------------------------------------------ chord_tone_share
def test_all_chord_tones_and_none() -> None:
    arpeggio = [(60, 0, 1), (64, 1, 1), (67, 2, 1), (72, 3, 1)]
    assert chord_tone_share(song_with(arpeggio, [("C", 0, 4)])) == 1.0
    assert chord_tone_share(song_with(arpeggio, [("F#", 0, 4)])) == 0.0
    assert chord_tone_share(song_with(arpeggio, [("Am", 0, 4)])) == 0.75  # all but the G


def test_weighs_duration_and_splits_notes_across_chords() -> None:
    # a whole-bar E over C (chord tone) then over F (not): half its time is on a chord tone
    held = song_with([(64, 0, 8)], [("C", 0, 4), ("F", 4, 4)])
    assert chord_tone_share(held) == 0.5
    # a long C and a short D over C: 3 beats of 4 on the chord
    assert chord_tone_share(song_with([(60, 0, 3), (62, 3, 1)], [("C", 0, 4)])) == 0.75
    # a note spanning three chords: C over C (1), Am (1), Dm (not: 1), G (not: 1)
    spanning = song_with([(60, 0, 4)], [("C", 0, 1), ("Am", 1, 1), ("Dm", 2, 1), ("G", 3, 1)])
    assert chord_tone_share(spanning) == 0.5


def test_time_without_a_chord_does_not_count() -> None:
    rows = [(61, 0, 4), (60, 4, 4), (61, 8, 4)]  # C# under "N", C under C, C# after the chords
    song = song_with(rows, [("N", 0, 4), ("C", 4, 4)])
    assert chord_tone_share(song) == 1.0
    assert math.isnan(chord_tone_share(song_with(rows, [("N", 0, 12)])))  # only "no chord"
    assert math.isnan(chord_tone_share(song_with(rows, [("C", 20, 4)])))  # no note under it
    assert math.isnan(chord_tone_share(song_with(rows, [])))  # no chords at all
    assert math.isnan(chord_tone_share(song_with([], [("C", 0, 4)])))  # no notes
    assert NO_CHORD.is_none


def test_the_bass_of_a_slash_chord_is_a_chord_tone() -> None:
    assert chord_tone_share(song_with([(58, 0, 4)], [("C/Bb", 0, 4)])) == 1.0
    assert chord_tone_share(song_with([(58, 0, 4)], [("C", 0, 4)])) == 0.0


def test_ignores_transposition_of_notes_and_chords() -> None:
    song = song_with([(60, 0, 2), (62, 2, 1), (65, 3, 3)], [("C", 0, 3), ("Dm", 3, 3)])
    for shift in range(-5, 7):
        assert chord_tone_share(song.transpose(shift)) == pytest.approx(chord_tone_share(song))


def _brute_force(song: Song) -> float:
    """The definition, one note and one chord at a time."""
    mask = chord_tone_mask(song.chords)
    on = total = 0.0
    for note in song.notes:
        a, b = note["start"], note["start"] + note["duration"]
        for k, chord in enumerate(song.chords):
            if chord["root"] < 0:
                continue
            overlap = min(b, chord["start"] + chord["duration"]) - max(a, chord["start"])
            if overlap > 0:
                total += overlap
                on += overlap * mask[k, note["pitch"] % 12]
    return on / total if total > 0 else math.nan


@st.composite
def chorded_songs(draw: st.DrawFn) -> Song:
    """Random notes under random chord segments (gaps, "no chord", overlapping chords)."""
    rows = draw(
        st.lists(st.tuples(st.integers(0, 127), st.floats(0, 32), st.floats(0.01, 12)), max_size=30)
    )
    chords = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["C", "Am", "G7", "F/A", "Bdim", "N", "Dsus4", "E5"]),
                st.integers(0, 64).map(lambda b: b / 2),
                st.integers(1, 16).map(lambda b: b / 2),
            ),
            max_size=12,
        )
    )
    bars = draw(st.sampled_from([[], [1.0, 5.0], [0.0, 3.0, 7.5]]))
    song = song_with(rows, chords)
    return song.replace(bars=np.array(bars))


@settings(max_examples=150, deadline=None)
@given(chorded_songs())
def test_matches_the_definition(song: Song) -> None:
    expected = _brute_force(song)
    got = chord_tone_share(song)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)
    values = song_metrics(song)  # every metric copes with bars and chords
    assert all(isinstance(v, float) for v in values.values())
    for name in ("chord_tone_share", "bar_repetition", "self_similarity"):
        assert math.isnan(values[name]) or 0 <= values[name] <= 1 + 1e-9, name


def test_is_a_metric_and_nan_passes_through_tables() -> None:
    assert METRICS["chord_tone_share"] is chord_tone_share
    with_chords = song_with([(60, 0, 4)], [("C", 0, 4)])
    table = metric_table([with_chords, song_with([(60, 0, 4)], [])])
    assert table["chord_tone_share"][0] == 1.0 and math.isnan(table["chord_tone_share"][1])


def test_survives_track_selection() -> None:
    tracks = (Track("Melody", role="melody"), Track("Piano", role="accompaniment"))
    notes = make_notes([72, 61], [0, 0], [4, 4], track=[0, 1])
    song = Song(notes, tracks=tracks, chords=make_chords(["C"], [0], [4]))
    assert song_metrics(song, "Melody")["chord_tone_share"] == 1.0
    assert song_metrics(song, "merge")["chord_tone_share"] == 0.5


# ---------------------------------------------------------- notes_per_bar_by_role
def test_notes_per_bar_by_role() -> None:
    tracks = (
        Track("MELODY", role="melody"),
        Track("BRIDGE", role="second"),
        Track("PIANO", role="accompaniment"),
        Track("Strings"),
        Track(""),
    )
    pitch = [72, 74, 76, 70, 48, 52, 55, 48, 52, 55, 60]
    start = [0, 4, 8, 2, 0, 0, 0, 4, 4, 4, 1]
    track = [0, 0, 0, 1, 2, 2, 2, 2, 2, 2, 3]
    song = Song(make_notes(pitch, start, [4] * 11, 80, track), tracks=tracks)  # 12 beats: 3 bars
    assert notes_per_bar_by_role(song) == {
        "melody": 1.0,
        "second": pytest.approx(1 / 3),
        "accompaniment": 2.0,
        "Strings": pytest.approx(1 / 3),
        "track 4": 0.0,
    }
    assert sum(notes_per_bar_by_role(song).values()) == pytest.approx(notes_per_bar(song))


def test_notes_per_bar_by_role_reads_bar_lines_and_sums_a_role() -> None:
    tracks = (Track("Piano RH", role="accompaniment"), Track("Piano LH", role="accompaniment"))
    notes = make_notes([72, 48, 50, 52], [0, 0, 4, 8], [4, 4, 4, 4], 80, [0, 1, 1, 1])
    song = Song(notes, tracks=tracks, time_signatures=(TimeSignature(0, 1, 4),))  # 12 bars of 1
    assert notes_per_bar_by_role(song) == {"accompaniment": pytest.approx(4 / 12)}
    annotated = song.replace(bars=np.array([0.0, 4.0]))  # 3 bars of 4
    assert notes_per_bar_by_role(annotated) == {"accompaniment": pytest.approx(4 / 3)}
    empty = Song(make_notes([], [], []))
    assert notes_per_bar_by_role(empty) == {"track 0": 0.0}


def test_exported() -> None:
    for name in ("chord_tone_share", "notes_per_bar_by_role"):
        assert name in popgen.metrics.__all__
