"""Harmony metrics (popgen.metrics.harmony) and notes per bar of each part."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import popgen.metrics
from popgen.metrics import (
    METRICS,
    chord_tone_share,
    harmonisation,
    metric_table,
    notes_per_bar,
    notes_per_bar_by_role,
    song_metrics,
)
from popgen.metrics.harmony import TRIADS
from popgen.music.chords import NO_CHORD, chord_tone_mask, make_chords
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TimeSignature


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
    for name in ("chord_tone_share", "harmonisation", "notes_per_bar_by_role"):
        assert name in popgen.metrics.__all__


# ---------------------------------------------------------------- harmonisation
PARTS = (
    Track("Melody", role="melody"),
    Track("Bridge", role="second"),
    Track("Piano", role="accompaniment"),
    Track("Kit", is_drum=True, role="accompaniment"),
)


Rows = Sequence[tuple[int, float, float]]  # (pitch, start, duration)


def parts(tune: Rows, piano: Rows, bridge: Rows = (), drums: Rows = (), **fields: Any) -> Song:
    """A song of the four PARTS from their notes; ``fields`` go to ``Song``."""
    rows = [(*r, 0) for r in tune] + [(*r, 1) for r in bridge]
    rows += [(*r, 2) for r in piano] + [(*r, 3) for r in drums]
    pitch, start, duration, track = zip(*rows, strict=True) if rows else ((), (), (), ())
    return Song(make_notes(pitch, start, duration, 80, track), tracks=PARTS, **fields)


C_THEN_G = [(48, 0, 2), (52, 0, 2), (55, 0, 2), (43, 2, 2), (47, 2, 2), (50, 2, 2)]


def test_triads() -> None:
    assert TRIADS.shape == (24, 12) and (TRIADS.sum(axis=1) == 3).all()
    assert np.flatnonzero(TRIADS[0]).tolist() == [0, 4, 7]  # C
    assert np.flatnonzero(TRIADS[12 + 9]).tolist() == [0, 4, 9]  # A minor


def test_a_melody_on_the_chords_fits_and_one_off_them_clashes() -> None:
    on = [(72, 0, 1), (76, 1, 1), (74, 2, 1), (79, 3, 1)]  # C E | D G
    assert harmonisation(parts(on, C_THEN_G)) == 1.0
    off = [(73, 0, 1), (75, 1, 1), (73, 2, 1), (80, 3, 1)]  # C# Eb | C# G#
    assert harmonisation(parts(off, C_THEN_G)) == 0.0
    swapped = [(74, 0, 2), (72, 2, 2)]  # D over C, C over G: each misses
    assert harmonisation(parts(swapped, C_THEN_G)) == 0.0


def test_weighs_melody_time_and_splits_notes_at_half_bars() -> None:
    # a 4-beat E: on C for its first half, off G for its second
    assert harmonisation(parts([(64, 0, 4)], C_THEN_G)) == 0.5
    # a 3-beat C (2 beats over C, 1 over G) and a 1-beat F (over G)
    assert harmonisation(parts([(72, 0, 3), (77, 3, 1)], C_THEN_G)) == 0.5
    # a 3-beat G (over C, then over G) and a 1-beat F (over G)
    assert harmonisation(parts([(67, 0, 3), (77, 3, 1)], C_THEN_G)) == 0.75


def test_picks_the_triad_with_most_accompaniment_time() -> None:
    # C E G A, the A longest: A minor (A C E, 4 + 1 + 1 beats) beats C (C E G, 1 + 1 + 1)
    piano = [(48, 0, 0.5), (52, 0, 0.5), (55, 0, 1), (57, 0, 2)]
    assert harmonisation(parts([(69, 0, 2)], piano)) == 1.0  # A: on A minor, not on C
    assert harmonisation(parts([(67, 0, 2)], piano)) == 0.0  # G: on C, not on A minor


def test_tied_triads_share_the_credit() -> None:
    # C and G alone: C major and C minor tie; E is a tone of one of them
    assert harmonisation(parts([(64, 0, 2)], [(48, 0, 2), (55, 0, 2)])) == 0.5
    assert harmonisation(parts([(60, 0, 2)], [(48, 0, 2), (55, 0, 2)])) == 1.0


def test_half_bars_follow_the_bar_lines() -> None:
    three = (TimeSignature(0, 3, 4),)  # halves of 1.5 beats
    piano = [(48, 0, 1.5), (52, 0, 1.5), (55, 0, 1.5), (50, 1.5, 1.5), (53, 1.5, 1.5)]
    piano += [(57, 1.5, 1.5)]  # C, then D minor
    assert harmonisation(parts([(64, 0, 1.5), (65, 1.5, 1.5)], piano, time_signatures=three)) == 1
    annotated = parts([(64, 1, 1.5), (65, 2.5, 1.5)], [(n[0], n[1] + 1, n[2]) for n in piano])
    assert harmonisation(annotated.replace(bars=np.array([1.0, 4.0]))) == 1.0  # pickup of 1 beat


def test_half_bars_without_accompaniment_are_skipped() -> None:
    tune = [(72, 0, 2), (61, 2, 2), (61, 4, 4)]  # C over C, then C# over nothing
    assert harmonisation(parts(tune, [(48, 0, 2), (52, 0, 2), (55, 0, 2)])) == 1.0


def test_nan_without_either_part() -> None:
    assert math.isnan(harmonisation(parts([], C_THEN_G)))
    assert math.isnan(harmonisation(parts([(72, 0, 4)], [])))
    assert math.isnan(harmonisation(parts([(72, 0, 4)], [], bridge=C_THEN_G)))  # no PIANO role
    assert math.isnan(harmonisation(parts([(72, 0, 4)], [(48, 8, 4)])))  # never together
    assert math.isnan(harmonisation(Song(make_notes([60], [0], [1]))))  # no roles at all


def test_roles_choose_the_parts_and_drums_never_count() -> None:
    song = parts([(61, 0, 4)], [(49, 0, 4)], bridge=[(72, 0, 4)], drums=[(36, 0, 4)] * 3)
    assert harmonisation(song) == 1.0  # C# over C#: the drum kit's C is ignored
    assert harmonisation(song, melody=("second",)) == 0.0  # C over the C# chord
    assert harmonisation(song, melody=("melody", "second")) == 0.5
    assert harmonisation(song, accompaniment=("accompaniment", "second")) == 0.5  # tie: C#, C


@st.composite
def two_part_songs(draw: st.DrawFn) -> Song:
    """Random melody, bridge and piano notes over random bars."""

    def notes(size: int) -> list[tuple[int, float, float]]:
        return draw(
            st.lists(
                st.tuples(
                    st.integers(30, 96),
                    st.integers(0, 64).map(lambda b: b / 4),
                    st.floats(0.05, 6),
                ),
                max_size=size,
            )
        )

    bars = draw(st.sampled_from([[], [1.0, 5.0], [0.0, 3.0, 7.5]]))
    return parts(notes(12), notes(16), notes(4)).replace(bars=np.array(bars))


@settings(max_examples=150, deadline=None)
@given(two_part_songs(), st.integers(-12, 12))
def test_a_share_that_ignores_transposition(song: Song, shift: int) -> None:
    value = harmonisation(song)
    assert math.isnan(value) or 0 <= value <= 1
    moved = harmonisation(song.transpose(shift))
    assert (math.isnan(value) and math.isnan(moved)) or moved == pytest.approx(value)
