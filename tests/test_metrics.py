"""Musical metrics (popgen.metrics.music) and set comparisons (popgen.metrics.sets)."""

from __future__ import annotations

import doctest
import inspect
import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import popgen.metrics.music as music_metrics
import popgen.metrics.sets as set_metrics
from popgen.metrics import (
    DURATION_BINS,
    DURATION_EDGES,
    HISTOGRAMS,
    METRICS,
    SetComparison,
    bar_repetition,
    choose_track,
    compare_sets,
    distinct_4gram_ratio,
    distinct_ngram_ratio,
    empty_beat_rate,
    groove_consistency,
    inside_share,
    inter_onset_histogram,
    leap_share,
    longest_pitch_run,
    mean_interval,
    median_duration,
    metric_table,
    note_length_histogram,
    notes_per_bar,
    notes_per_onset,
    pitch_class_entropy,
    pitch_class_entropy_1bar,
    pitch_class_entropy_4bar,
    pitch_class_histogram,
    pitch_range,
    pitches_used,
    polyphony,
    polyphony_rate,
    reference_ranges,
    repeated_note_ratio,
    rhythm_repetition,
    scale_consistency,
    song_metrics,
    velocity_spread,
)
from popgen.music.chords import make_chords
from popgen.music.sections import Section, parse_form
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TimeSignature

C_MAJOR = [60, 62, 64, 65, 67, 69, 71]


def melody(pitches: list[int], step: float = 1.0, meter: tuple[int, int] = (4, 4)) -> Song:
    """One note per ``step`` beats, each lasting ``step``."""
    n = len(pitches)
    starts = [i * step for i in range(n)]
    return Song(
        make_notes(pitches, starts, [step] * n), time_signatures=(TimeSignature(0, *meter),)
    )


def notes(rows: list[tuple[int, float, float]], meter: tuple[int, int] = (4, 4)) -> Song:
    """A song from ``(pitch, start, duration)`` rows."""
    pitch, start, duration = zip(*rows, strict=True)
    return Song(make_notes(pitch, start, duration), time_signatures=(TimeSignature(0, *meter),))


EMPTY = Song(make_notes([], [], []))
ONE = Song(make_notes([60], [0.5], [1.0]))


# ----------------------------------------------------------------- pitch metrics
def test_c_major_scale() -> None:
    song = melody(C_MAJOR)
    assert pitch_class_entropy(song) == pytest.approx(math.log2(7))  # bits
    assert scale_consistency(song) == 1.0
    assert pitch_range(song) == 11.0
    assert pitches_used(song) == 7.0
    assert mean_interval(song) == pytest.approx(11 / 6)
    assert longest_pitch_run(song) == 1.0
    assert repeated_note_ratio(song) == 0.0
    assert distinct_4gram_ratio(song) == 1.0


def test_entropy_is_in_bits() -> None:
    chromatic = melody(list(range(60, 72)))
    assert pitch_class_entropy(chromatic) == pytest.approx(math.log2(12))
    assert pitch_class_entropy(melody([60, 72, 48])) == 0.0  # octaves: one pitch class
    assert scale_consistency(chromatic) == pytest.approx(7 / 12)


def test_a_minor_melody_is_consistent_with_its_scale() -> None:
    a_minor = [69, 71, 72, 74, 76, 77, 79]
    assert scale_consistency(melody(a_minor)) == 1.0
    harmonic = [*a_minor[:-1], 80]  # G#: in no natural-minor/major scale with the rest
    assert scale_consistency(melody(harmonic)) == pytest.approx(6 / 7)


def test_bar_entropies() -> None:
    # 3/4: bar 1 C D E (log2 3), bar 2 C C C (0), bar 3 empty, bar 4 C E (1)
    song = notes([(60, 0, 1), (62, 1, 1), (64, 2, 1), *[(60, 3 + i, 1) for i in range(3)],
                  (60, 9, 1), (64, 10, 1)], meter=(3, 4))  # fmt: skip
    assert pitch_class_entropy_1bar(song) == pytest.approx((math.log2(3) + 0 + 1) / 3)
    # 4-bar windows of 3 beats: beats 0-11 hold everything -> one window
    counts = np.array([5, 1, 2])  # C, D, E
    p = counts / counts.sum()
    assert pitch_class_entropy_4bar(song) == pytest.approx(float(-(p * np.log2(p)).sum()))


def test_top_line_takes_the_highest_note_of_each_chord() -> None:
    # C major triad, then D minor triad, then A alone: top line G, A, A
    song = notes([(60, 0, 1), (64, 0, 1), (67, 0, 1), (62, 1, 1), (65, 1, 1), (69, 1, 1),
                  (69, 2, 1)])  # fmt: skip
    assert mean_interval(song) == 1.0  # |69-67| and 0
    assert longest_pitch_run(song) == 2.0
    assert repeated_note_ratio(song) == 0.5


def test_nearly_simultaneous_onsets_are_one_chord() -> None:
    song = notes([(60, 0, 1), (67, 0.01, 1), (62, 1, 1)])
    assert mean_interval(song) == 5.0  # 67 -> 62
    assert inter_onset_histogram(song)[DURATION_BINS.index(1)] == 1.0


def test_repeats_and_ngrams() -> None:
    song = melody([60, 60, 60, 62, 60, 60, 60, 60])
    assert longest_pitch_run(song) == 4.0
    assert repeated_note_ratio(song) == pytest.approx(5 / 7)
    assert distinct_ngram_ratio(song, 1) == pytest.approx(2 / 8)
    # 4-grams: 60 60 60 62, 60 60 62 60, 60 62 60 60, 62 60 60 60, 60 60 60 60
    assert distinct_4gram_ratio(song) == 1.0
    assert distinct_4gram_ratio(melody([60] * 10)) == pytest.approx(1 / 7)
    with pytest.raises(ValueError, match="n-gram length"):
        distinct_ngram_ratio(song, 0)


# ---------------------------------------------------------------- rhythm metrics
def test_notes_per_bar_follows_the_time_signature() -> None:
    quarters = C_MAJOR[:6]
    assert notes_per_bar(melody(quarters, meter=(4, 4))) == 3.0  # 6 beats: 2 bars
    assert notes_per_bar(melody(quarters, meter=(3, 4))) == 3.0  # 2 bars of 3
    assert notes_per_bar(melody(quarters, meter=(6, 8))) == 3.0  # 6/8 = 3 beats
    assert notes_per_bar(melody(quarters, meter=(2, 4))) == 2.0
    no_meter = Song(make_notes(quarters, range(6), [1] * 6), time_signatures=())
    assert notes_per_bar(no_meter) == 3.0  # 4/4 assumed


def test_bars_come_from_bar_lines_not_the_first_meter() -> None:
    # POP909: MIDI files declare 1/4 while the annotated bars are 4 beats long
    quarters = melody([60, 62, 64, 65, 67, 69, 71, 72], meter=(1, 4))
    assert notes_per_bar(quarters) == 1.0
    annotated = quarters.replace(bars=np.array([0.0, 4.0]))
    assert notes_per_bar(annotated) == 4.0
    assert groove_consistency(annotated) == 1.0  # 4/4 bars, same rhythm in both
    assert pitch_class_entropy_1bar(annotated) == pytest.approx(2.0)  # 4 pitch classes per bar
    # a change of meter: 4/4 for a bar, then 2/4 (8 beats: bars 4 + 2 + 2)
    changed = notes([(60, b, 1) for b in range(8)], meter=(4, 4))
    changed = changed.replace(time_signatures=(TimeSignature(0, 4, 4), TimeSignature(4, 2, 4)))
    assert notes_per_bar(changed) == pytest.approx(8 / 3)
    assert groove_consistency(changed) == 1.0  # 4/4 against 2/4 skipped; the 2/4 bars agree


def test_bar_metrics_with_a_pickup() -> None:
    # a one-beat pickup, then 4-beat bars: | C | D E F G | D E F G |
    song = notes([(60, 0, 1), *[(p, 1 + i, 1) for i, p in enumerate([62, 64, 65, 67] * 2)]])
    song = song.replace(bars=np.array([1.0, 5.0]))
    assert notes_per_bar(song) == 3.0
    assert groove_consistency(song) == 1.0  # the pickup is not compared
    assert pitch_class_entropy_1bar(song) == pytest.approx((0 + 2 + 2) / 3)
    assert pitch_class_entropy_4bar(song) == pytest.approx(pitch_class_entropy(song))
    # without the bar lines, 4/4 from beat 0: | C D E F | G D E F | G |, the last bar differs
    assert groove_consistency(song.replace(bars=np.zeros(0))) == pytest.approx(1 - 3 / 32)


def test_groove_of_uneven_bars_compares_positions_from_each_bar_start() -> None:
    # bars 0-3.5 and 3.5-7 (7/8): onsets at 0 and 2 beats after each bar line
    song = notes([(60, 0, 1), (60, 2, 1), (60, 3.5, 1), (60, 5.5, 0.5)])
    assert groove_consistency(song.replace(bars=np.array([0.0, 3.5]))) == 1.0
    assert groove_consistency(song) < 1.0  # in 4/4 they fall on different positions
    # bars of 1, 2 and 3 beats, the song ending with the last: nothing to compare
    assert math.isnan(groove_consistency(song.replace(bars=np.array([1.0, 3.0, 6.0]))))


def test_empty_beat_rate() -> None:
    assert empty_beat_rate(melody([60, 62, 64, 65])) == 0.0
    # sounds in beat 0 and (held) beats 4-5, end = 6: beats 1, 2, 3 empty
    assert empty_beat_rate(notes([(60, 0, 0.5), (62, 4.5, 1.5)])) == 0.5
    # a short note in mid-beat still fills its beat
    assert empty_beat_rate(notes([(60, 0.25, 0.25), (62, 1, 1)])) == 0.0


def test_groove_consistency() -> None:
    four = [(60, float(b), 1.0) for b in range(4)]
    two = [(60, 4.0, 2.0), (60, 6.0, 2.0)]
    assert groove_consistency(notes(four + [(p, s + 4, d) for p, s, d in four])) == 1.0
    # bar 1 onsets at 0,1,2,3 (positions 0,4,8,12), bar 2 at 0,2: Hamming 2 of 16
    assert groove_consistency(notes(four + two)) == pytest.approx(1 - 2 / 16)
    # an empty bar between two equal bars: 4 + 4 differences over 2 pairs
    gap = four + [(p, s + 8, d) for p, s, d in four]
    assert groove_consistency(notes(gap)) == pytest.approx(1 - 4 / 16)
    # 3/4: 12 positions per bar
    assert groove_consistency(notes([*four[:3], (60, 3, 3)], meter=(3, 4))) == pytest.approx(
        1 - 2 / 12
    )
    assert math.isnan(groove_consistency(melody([60, 62])))  # one bar


# ------------------------------------------------------- texture and dynamics
def test_polyphony() -> None:
    song = notes([(60, 0, 1), (64, 0, 1), (67, 0, 1), (72, 1, 1)])  # 3 notes, then 1
    assert polyphony(song) == 2.0
    assert polyphony_rate(song) == 0.5
    assert polyphony(melody(C_MAJOR)) == 1.0
    assert polyphony_rate(melody(C_MAJOR)) == 0.0
    # silence does not count: two notes, a rest, one note
    rests = notes([(60, 0, 1), (64, 0, 1), (67, 3, 1)])
    assert polyphony(rests) == 1.5
    assert polyphony_rate(rests) == 0.5


def test_polyphony_rate_counts_very_short_notes() -> None:
    song = notes([(60, 0, 1), (64, 0.5, 0.01)])  # a grace note inside a held note
    assert polyphony_rate(song) == pytest.approx(1 / 4)


def test_velocity_spread() -> None:
    song = Song(make_notes([60, 62, 64], [0, 1, 2], [1] * 3, velocity=[40, 80, 120]))
    assert velocity_spread(song) == pytest.approx(np.std([40, 80, 120]))
    assert velocity_spread(melody(C_MAJOR)) == 0.0


# ------------------------------------------------------------------- histograms
def test_histograms_of_known_rhythm() -> None:
    song = notes([(60, 0, 1), (62, 1, 0.5), (64, 1.5, 0.5), (65, 2, 2 / 3), (67, 8 / 3, 4 / 3)])
    lengths = note_length_histogram(song)
    assert lengths[DURATION_BINS.index(1)] == pytest.approx(0.2)
    assert lengths[DURATION_BINS.index(1 / 2)] == pytest.approx(0.4)
    assert lengths[DURATION_BINS.index(2 / 3)] == pytest.approx(0.2)
    assert lengths[DURATION_BINS.index(4 / 3)] == pytest.approx(0.2)
    iois = inter_onset_histogram(song)  # 1, 0.5, 0.5, 2/3
    assert iois[DURATION_BINS.index(1 / 2)] == pytest.approx(0.5)
    assert pitch_class_histogram(melody([60, 72, 61, 71])).tolist() == [0.5, 0.25] + [0] * 9 + [
        0.25
    ]


@pytest.mark.parametrize("value", DURATION_BINS)
def test_each_note_value_has_its_own_bin_robust_to_rounding(value: float) -> None:
    edges = np.array(DURATION_EDGES)
    for jitter in (1 - 1e-6, 1.0, 1 + 1e-6):
        index = np.searchsorted(edges, value * jitter, side="right") - 1
        assert DURATION_BINS[index] == value
    assert len(DURATION_EDGES) == len(DURATION_BINS) + 1


def test_extreme_durations_go_to_the_end_bins() -> None:
    song = notes([(60, 0, 0.01), (62, 1, 100.0)])
    assert note_length_histogram(song)[[0, -1]].tolist() == [0.5, 0.5]


def test_leaps_durations_and_notes_per_onset() -> None:
    song = notes([(60, 0, 1), (64, 0, 2), (72, 1, 0.5), (71, 2, 0.5), (59, 3, 4)])
    # the top line: E4 C5 B4 B3, intervals +8 -1 -12
    assert leap_share(song) == pytest.approx(2 / 3)
    assert median_duration(song) == 1.0
    assert notes_per_onset(song) == pytest.approx(5 / 4)
    assert leap_share(notes([(60, 0, 1), (67, 1, 1)])) == 0.0  # a fifth is not a leap


def test_rhythm_repetition_reads_positions_not_pitches() -> None:
    bar = [(0, 1), (1, 0.5), (1.5, 0.5), (2, 2)]
    comp = [(48 + 5 * b + i, 4 * b + t, d) for b in range(4) for i, (t, d) in enumerate(bar)]
    song = notes(comp)
    assert rhythm_repetition(song) == 0.75  # three bars reuse the first bar's onsets
    assert bar_repetition(song) == 0.0  # their pitches differ
    chords = notes([(p, t, 1) for t in range(8) for p in (48, 52, 55)])  # block chords
    assert rhythm_repetition(chords) == 0.5


# -------------------------------------------------------------- degenerate songs
EMPTY_VALUES = {
    "pitches_used": 0.0,
    "longest_pitch_run": 0.0,
    "notes_per_bar": 0.0,
    "empty_beat_rate": 1.0,
}
ONE_NOTE_VALUES = {
    "pitch_class_entropy": 0.0,
    "pitch_class_entropy_1bar": 0.0,
    "pitch_class_entropy_4bar": 0.0,
    "pitch_range": 0.0,
    "pitches_used": 1.0,
    "longest_pitch_run": 1.0,
    "scale_consistency": 1.0,
    "notes_per_bar": 1.0,
    "empty_beat_rate": 0.0,
    "median_duration": 1.0,
    "polyphony": 1.0,
    "notes_per_onset": 1.0,
    "polyphony_rate": 0.0,
    "velocity_spread": 0.0,
    "bar_repetition": 0.0,
    "rhythm_repetition": 0.0,
}


def test_empty_song() -> None:
    values = song_metrics(EMPTY)
    assert list(values) == list(METRICS)
    for name, value in values.items():
        expected = EMPTY_VALUES.get(name, math.nan)
        assert value == expected or (math.isnan(value) and math.isnan(expected)), name
    for histogram in HISTOGRAMS.values():
        assert not histogram(EMPTY).any()


def test_one_note_song() -> None:
    values = song_metrics(ONE)
    for name, value in values.items():
        expected = ONE_NOTE_VALUES.get(name, math.nan)
        assert value == expected or (math.isnan(value) and math.isnan(expected)), name
    assert pitch_class_histogram(ONE).sum() == 1.0
    assert note_length_histogram(ONE).sum() == 1.0
    assert not inter_onset_histogram(ONE).any()


# ------------------------------------------------------------------- selection
TRACKS = (Track("Melody"), Track("Bass"), Track("Piano"))
MULTI = Song(
    make_notes([72, 36, 60, 64], [0, 0, 0, 1], [1, 2, 1, 1], track=[0, 1, 2, 2]),
    tracks=TRACKS,
    source="songs/001.mid",
)


def test_multitrack_song_needs_a_selection() -> None:
    with pytest.raises(ValueError, match=r"songs/001\.mid.*3 tracks.*Melody.*\"merge\""):
        song_metrics(MULTI)


def test_selecting_by_index_name_or_merge() -> None:
    assert choose_track(MULTI, 1).notes["pitch"].tolist() == [36]
    assert choose_track(MULTI, "piano").notes["pitch"].tolist() == [60, 64]
    assert choose_track(MULTI, "MELODY").tracks == (Track("Melody"),)
    merged = choose_track(MULTI, "merge")
    assert len(merged.tracks) == 1 and merged.num_notes == 4
    assert song_metrics(MULTI, "Merge")["pitch_range"] == 36.0
    assert song_metrics(MULTI, 2)["pitch_range"] == 4.0
    single = melody(C_MAJOR)
    assert choose_track(single) is single and choose_track(single, 0) is single


@pytest.mark.parametrize(
    ("track", "message"),
    [(3, r"no track 3; expected an index in 0\.\.2"), (-1, "no track -1"),
     ("drums", "no track named 'drums'"), ("", "no track named ''")],
)  # fmt: skip
def test_bad_selection_says_what_exists(track: int | str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as error:
        choose_track(MULTI, track)
    assert "songs/001.mid" in str(error.value)
    assert "0: Melody, 1: Bass, 2: Piano" in str(error.value)


def test_ambiguous_track_name() -> None:
    song = MULTI.replace(tracks=(Track("Piano"), Track("Bass"), Track("piano")))
    with pytest.raises(ValueError, match="2 tracks named 'Piano'"):
        choose_track(song, "Piano")


# ----------------------------------------------------------------- properties
METERS = st.sampled_from([(), ((0.0, 4, 4),), ((0.0, 3, 4),), ((0.0, 6, 8),), ((0.0, 7, 8),),
                          ((0.0, 5, 16),), ((2.0, 2, 2), (8.0, 3, 4))])  # fmt: skip


@st.composite
def songs(draw: st.DrawFn, max_tracks: int = 3) -> Song:
    """Random songs: empty, one note, chords, tiny and long notes, off-grid onsets."""
    tracks = draw(st.integers(1, max_tracks))
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(0, 127),
                st.one_of(st.integers(0, 64).map(lambda b: b / 4), st.floats(0, 64)),
                st.one_of(st.sampled_from([0.25, 0.5, 1.0, 4.0]), st.floats(1e-4, 32)),
                st.integers(1, 127),
                st.integers(0, tracks - 1),
            ),
            max_size=60,
        )
    )
    columns = list(zip(*rows, strict=True)) or [[], [], [], [], []]
    pitch, start, duration, velocity, track = columns
    return Song(
        make_notes(pitch, start, duration, list(velocity), list(track)),
        tracks=tuple(Track(f"t{i}") for i in range(tracks)),
        time_signatures=draw(METERS),
    )


def _check_values(values: dict[str, float]) -> None:
    assert list(values) == list(METRICS)
    for name, value in values.items():
        assert isinstance(value, float), name
        assert math.isnan(value) or math.isfinite(value), name


@settings(max_examples=150, deadline=None)
@given(songs(), st.sampled_from(["merge", 0, "T0"]))
def test_song_metrics_never_raise(song: Song, track: int | str) -> None:
    _check_values(song_metrics(song, track))
    chosen = choose_track(song, track)
    for name, histogram in HISTOGRAMS.items():
        h = histogram(chosen)
        assert h.dtype == np.float64 and np.all(h >= 0), name
        assert h.sum() == pytest.approx(1.0) or not h.any(), name


@settings(max_examples=100, deadline=None)
@given(songs(max_tracks=1))
def test_metric_bounds(song: Song) -> None:
    values = song_metrics(song)
    _check_values(values)
    shares = ["repeated_note_ratio", "distinct_4gram_ratio", "scale_consistency",
              "empty_beat_rate", "groove_consistency", "polyphony_rate", "leap_share",
              "rhythm_repetition"]  # fmt: skip
    for name in shares:
        assert math.isnan(values[name]) or -1e-12 <= values[name] <= 1 + 1e-12, name
    if song.num_notes:
        assert 0 <= values["pitch_class_entropy"] <= math.log2(12) + 1e-9
        assert values["scale_consistency"] >= 7 / 12 - 1e-9
        assert values["polyphony"] >= 1 - 1e-9
        assert 1 <= values["notes_per_onset"] <= song.num_notes
        assert values["rhythm_repetition"] >= values["bar_repetition"] - 1e-12
        assert 1 <= values["longest_pitch_run"] <= song.num_notes
        assert values["pitches_used"] <= values["pitch_range"] + 1


@settings(max_examples=50, deadline=None)
@given(songs(max_tracks=1), st.integers(-12, 12))
def test_pitch_class_metrics_ignore_transposition(song: Song, shift: int) -> None:
    moved = song.transpose(shift)
    if moved.num_notes != song.num_notes:
        return
    for metric in (pitch_class_entropy, scale_consistency, pitch_class_entropy_1bar,
                   pitch_range, mean_interval, distinct_4gram_ratio, polyphony,
                   leap_share, rhythm_repetition):  # fmt: skip
        a, b = metric(song), metric(moved)
        assert a == pytest.approx(b) or (math.isnan(a) and math.isnan(b)), metric.__name__


# ---------------------------------------------------------------- set metrics
def test_metric_table_ranges_and_inside_share() -> None:
    songs_ = [melody(C_MAJOR[: k + 1]) for k in range(7)]  # ranges 0, 2, 4, 5, 7, 9, 11
    table = metric_table(songs_)
    assert list(table) == list(METRICS)
    assert table["pitch_range"].tolist() == [0, 2, 4, 5, 7, 9, 11]
    assert math.isnan(table["mean_interval"][0])
    ranges = reference_ranges(table, 0, 100)
    assert ranges["pitch_range"] == (0.0, 11.0)
    assert ranges["mean_interval"] == (pytest.approx(5 / 3), 2.0)  # nan ignored
    assert reference_ranges(table)["pitch_range"] == pytest.approx((0.6, 10.4))
    shares = inside_share(table, ranges)
    assert shares["pitch_range"] == 1.0
    assert shares["mean_interval"] == pytest.approx(6 / 7)  # the nan is outside
    assert inside_share({"x": np.array([1.0, 2.0, 3.0])}, {"x": (2.0, 3.0)}) == {"x": 2 / 3}
    assert inside_share({"x": np.array([1.0])}, {"x": (math.nan, math.nan)}) == {"x": 0.0}
    assert math.isnan(inside_share({"x": np.zeros(0)}, {"x": (0.0, 1.0)})["x"])


def test_set_metric_errors() -> None:
    with pytest.raises(ValueError, match="0 <= low <= high <= 100"):
        reference_ranges({}, 95, 5)
    with pytest.raises(KeyError, match="no reference range for metric 'x'"):
        inside_share({"x": np.zeros(2)}, {"y": (0.0, 1.0)})
    assert all(math.isnan(v) for v in reference_ranges({"x": np.array([math.nan])})["x"])
    assert metric_table([])["pitch_range"].shape == (0,)
    with pytest.raises(ValueError, match="max_songs"):
        compare_sets([ONE], [ONE], max_songs=1)


def _random_melodies(count: int, seed: int, scale: list[int], length: int = 32) -> list[Song]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        octave = 12 * rng.integers(-1, 2, size=length)
        pitches = rng.choice(scale, size=length) + octave
        steps = rng.choice([0.5, 1.0, 1.5], size=length)
        starts = np.concatenate([[0.0], np.cumsum(steps)[:-1]])
        velocity = rng.integers(50, 110, size=length)
        bars = int(np.ceil((starts[-1] + steps[-1]) / 4))
        chords = make_chords(rng.choice(["C", "F", "G", "Am"], size=bars), np.arange(bars) * 4.0,
                             [4.0] * bars)  # fmt: skip
        form = tuple(Section("A", 2 * i, 2) for i in range(bars // 2))  # a two-bar phrase again
        out.append(Song(make_notes(pitches, starts, steps, velocity), chords=chords, sections=form))
    return out


def test_compare_sets_identical_vs_different() -> None:
    reference = _random_melodies(40, seed=1, scale=C_MAJOR)
    same = compare_sets(reference, reference)
    assert list(same) == [*METRICS, *HISTOGRAMS]
    for name, result in same.items():
        assert isinstance(result, SetComparison)
        assert result.overlap_area > 0.85, name
        assert 0 <= result.kl_divergence < 0.15, name
    # drones: one repeated pitch in even eighth notes, loud and flat
    drones = [Song(make_notes([60 + k] * 32, np.arange(32) / 2, [0.5] * 32, 100))
              for k in range(12)]  # fmt: skip
    different = compare_sets(drones, reference)
    for name in ("pitch_class_entropy", "pitch_range", "longest_pitch_run", "repeated_note_ratio",
                 "pitch_class_histogram", "inter_onset_histogram", "velocity_spread"):  # fmt: skip
        assert different[name].overlap_area < 0.2, name
        assert different[name].kl_divergence > 1.0, name
    assert math.isnan(different["chord_tone_share"].overlap_area)  # the drones have no chords
    mean_same = np.mean([r.overlap_area for r in same.values()])
    mean_different = np.nanmean([r.overlap_area for r in different.values()])
    assert mean_different < mean_same - 0.4


def test_compare_sets_other_scale_same_style_is_close() -> None:
    reference = _random_melodies(40, seed=1, scale=C_MAJOR)
    generated = _random_melodies(30, seed=2, scale=[p + 7 for p in C_MAJOR])  # G major
    result = compare_sets(generated, reference)
    assert result["scale_consistency"].overlap_area > 0.5
    assert result["pitch_class_histogram"].overlap_area < result["pitch_range"].overlap_area


def test_compare_sets_is_deterministic_and_subsamples() -> None:
    reference = _random_melodies(30, seed=3, scale=C_MAJOR)
    generated = _random_melodies(25, seed=4, scale=C_MAJOR)
    first = compare_sets(generated, reference, max_songs=10, seed=5)
    assert first == compare_sets(generated, reference, max_songs=10, seed=5)
    assert first != compare_sets(generated, reference, max_songs=10, seed=6)
    # a set no larger than max_songs is used whole, so the seed does not matter
    assert compare_sets(generated[:10], reference[:10], max_songs=10, seed=1) == compare_sets(
        generated[:10], reference[:10], max_songs=10, seed=2
    )
    full = compare_sets(generated, reference, max_songs=1000)
    assert full == compare_sets(list(generated), list(reference))


def test_compare_sets_degenerate_inputs() -> None:
    drone = melody([60] * 8).replace(
        chords=make_chords(["C"], [0], [8]), sections=parse_form("A1A1")
    )
    same = compare_sets([drone] * 3, [drone] * 4)  # every distance is 0
    for result in same.values():
        assert result.overlap_area == pytest.approx(1.0)
        assert result.kl_divergence == pytest.approx(0.0, abs=1e-9)
    apart = compare_sets([melody([60, 72] * 4)] * 3, [drone] * 4)
    assert apart["pitch_range"].overlap_area < 0.01
    assert apart["pitch_range"].kl_divergence > 5
    lonely = compare_sets([drone], [drone])  # one reference song: no intra-set distances
    assert all(math.isnan(r.overlap_area) and math.isnan(r.kl_divergence) for r in lonely.values())
    nothing = compare_sets([], [drone, drone])
    assert all(math.isnan(r.overlap_area) for r in nothing.values())
    empties = compare_sets([EMPTY, EMPTY], [EMPTY, ONE, drone])
    assert math.isnan(empties["mean_interval"].overlap_area)  # EMPTY and ONE have no interval
    assert 0 <= empties["pitches_used"].overlap_area <= 1
    multi = compare_sets([MULTI] * 2, [MULTI] * 3, "merge")
    assert multi["pitch_range"].overlap_area == pytest.approx(1.0)


def test_density_is_scipys_gaussian_kde() -> None:
    from scipy.stats import gaussian_kde

    rng = np.random.default_rng(0)
    x, y = rng.normal(0, 1, 400), rng.gamma(2.0, 1.0, 300)
    p, q = set_metrics._kde_masses(x, y)
    bandwidth = max(set_metrics._scott(x), set_metrics._scott(y))
    both = np.concatenate([x, y])
    grid = np.linspace(
        both.min() - set_metrics._REACH * bandwidth,
        both.max() + set_metrics._REACH * bandwidth,
        len(p),
    )
    for sample, masses in ((x, p), (y, q)):
        expected = gaussian_kde(sample)(grid)
        expected /= expected.sum()
        assert np.abs(expected - masses).sum() < 1e-3  # total variation, binning error


# ------------------------------------------------------------ API and speed
def test_public_names_have_examples_and_one_line_definitions() -> None:
    for module in (music_metrics, set_metrics):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                assert ">>>" in (inspect.getdoc(obj) or ""), f"{module.__name__}.{name}"
        assert doctest.testmod(module).failed == 0
    for name, metric in METRICS.items():
        first = (inspect.getdoc(metric) or "").splitlines()[0]
        assert first.endswith((".", ")")) and len(first) < 100, name


def test_import_is_light() -> None:
    code = (
        "import sys, popgen.metrics; "
        "print(sorted(m for m in ('jax', 'scipy', 'matplotlib', 'flax') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_song_metrics_is_fast_on_2000_notes() -> None:
    import time

    rng = np.random.default_rng(0)
    starts = np.sort(rng.integers(0, 4000, 2000)) / 4
    song = Song(make_notes(rng.integers(40, 90, 2000), starts, rng.integers(1, 8, 2000) / 4))
    song_metrics(song)
    began = time.perf_counter()
    for _ in range(5):
        song_metrics(song)
    assert (time.perf_counter() - began) / 5 < 0.05
