"""Bar-level structure metrics (popgen.metrics.structure)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import popgen.metrics
from popgen.metrics import METRICS, bar_features, bar_repetition, self_similarity
from popgen.music.song import Song, make_notes
from popgen.music.time import TimeSignature

C_MAJOR = np.array([60, 62, 64, 65, 67, 69, 71])


def random_bars(bars: int, seed: int) -> Song:
    """``bars`` 4/4 bars of random C-major notes in random eighths, quarters and dotted quarters."""
    rng = np.random.default_rng(seed)
    steps = rng.choice([0.5, 1.0, 1.5], size=bars * 8)
    starts = np.concatenate([[0.0], np.cumsum(steps)[:-1]])
    keep = starts < bars * 4
    pitches = rng.choice(C_MAJOR, size=keep.sum()) + 12 * rng.integers(-1, 2, size=keep.sum())
    durations = np.minimum(steps[keep], bars * 4 - starts[keep])  # the last note ends in time
    return Song(make_notes(pitches, starts[keep], durations))


def repeated(phrase: Song, times: int, beats: float) -> Song:
    """``phrase`` (``beats`` long) played ``times`` times in a row."""
    notes = np.concatenate([phrase.notes] * times)
    notes["start"] += np.repeat(np.arange(times) * beats, phrase.num_notes)
    return phrase.replace(notes=notes)


# ------------------------------------------------------------ bar_repetition
def test_a_repeated_phrase_repeats_its_bars() -> None:
    phrase = random_bars(4, seed=1)
    assert bar_repetition(phrase) == 0.0  # four different bars
    assert bar_repetition(repeated(phrase, 4, 16.0)) == pytest.approx(12 / 16)
    assert bar_repetition(random_bars(32, seed=2)) < 0.1


def test_patterns_are_exact_sets_of_positions_and_pitches() -> None:
    bar = [(60, 0.0, 1.0), (64, 1.0, 1.0), (67, 2.0, 2.0)]
    moved = [(60, 0.0, 1.0), (64, 1.5, 0.5), (67, 2.0, 2.0)]  # one onset later
    other_pitch = [(60, 0.0, 1.0), (65, 1.0, 1.0), (67, 2.0, 2.0)]
    shorter = [(60, 0.0, 0.5), (64, 1.0, 0.25), (67, 2.0, 1.0)]  # durations do not count
    chord = [*bar, (48, 0.0, 4.0)]
    bars = [bar, moved, other_pitch, shorter, bar, chord]
    rows = [(p, s + 4 * i, d) for i, b in enumerate(bars) for p, s, d in b]
    song = Song(make_notes(*zip(*rows, strict=True)))
    assert bar_repetition(song) == pytest.approx(2 / 6)  # "shorter" and the 2nd "bar"


def test_positions_count_from_each_bar_start() -> None:
    # a one-beat pickup, then the same bar twice: after the pickup, onsets fall on beats 1, 2, 3, 4
    rows = [(59, 0.0, 1.0)] + [(60 + k, 1.0 + 4 * b + k, 1.0) for b in range(2) for k in range(4)]
    song = Song(make_notes(*zip(*rows, strict=True)))
    annotated = song.replace(bars=np.array([1.0, 5.0]))
    assert bar_repetition(annotated) == pytest.approx(1 / 3)
    assert bar_repetition(song) == 0.0  # in 4/4 from beat 0 no two bars match
    # a bar of another length never repeats one: 2/4 then 4/4 with the same two notes
    two = Song(
        make_notes([60, 62, 60, 62], [0, 1, 2, 3], [1] * 4),
        time_signatures=(TimeSignature(0, 2, 4), TimeSignature(2, 4, 4)),
    )
    assert bar_repetition(two) == 0.0


def test_empty_bars_are_left_out() -> None:
    rows = [(60, 0.0, 1.0), (60, 8.0, 1.0), (60, 16.0, 1.0)]  # bars 1, 3, 5 of 4/4
    assert bar_repetition(Song(make_notes(*zip(*rows, strict=True)))) == pytest.approx(2 / 3)
    assert math.isnan(bar_repetition(Song(make_notes([], [], []))))
    assert bar_repetition(Song(make_notes([60], [0], [1]))) == 0.0


def _brute_repetition(song: Song) -> float:
    """The definition, one note and one bar at a time."""
    edges = song.bar_lines()
    grown = np.append(edges, 2 * edges[-1] - edges[-2])  # room for an onset rounded past the end
    groups: dict[int, set[tuple[int, int]]] = {}
    for note in song.notes:
        b = int(np.searchsorted(grown, note["start"] + 0.125, side="right")) - 1
        position = round((note["start"] - grown[b]) * 4)
        length = max(1, round((grown[b + 1] - grown[b]) * 4))
        groups.setdefault(b, set()).add((min(max(position, 0), length - 1), int(note["pitch"])))
    seen: list[tuple[int, frozenset[tuple[int, int]]]] = []
    repeats = 0
    for b in sorted(groups):
        key = (max(1, round((grown[b + 1] - grown[b]) * 4)), frozenset(groups[b]))
        repeats += key in seen
        seen.append(key)
    return repeats / len(groups) if groups else math.nan


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(58, 62), st.integers(0, 48).map(lambda s: s / 2), st.sampled_from([1, 2])
        ),
        max_size=40,
    ),
    st.sampled_from([[], [1.0, 5.0], [0.0, 3.0, 5.0]]),
)
def test_bar_repetition_matches_the_definition(
    rows: list[tuple[int, float, float]], bars: list[float]
) -> None:
    columns = list(zip(*rows, strict=True)) or [[], [], []]
    song = Song(make_notes(*columns), bars=np.array(bars))
    expected, got = _brute_repetition(song), bar_repetition(song)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


# ----------------------------------------------------------- self_similarity
def test_a_repeated_phrase_is_self_similar_and_a_random_song_is_not() -> None:
    for seed in range(5):
        phrase = random_bars(4, seed=seed)
        looped = self_similarity(repeated(phrase, 4, 16.0))
        wandering = self_similarity(random_bars(16, seed=100 + seed))
        assert looped > 0.95, seed
        assert wandering < 0.7, seed
        assert looped - wandering > 0.3, seed


def test_a_varied_repeat_still_scores_high() -> None:
    phrase = random_bars(4, seed=7)
    song = repeated(phrase, 4, 16.0)
    notes = song.notes.copy()
    notes["pitch"][::9] += 2  # every 9th note a step higher
    varied = self_similarity(song.replace(notes=notes))
    assert 0.8 < varied < self_similarity(song)


def test_leading_silence_and_transposition_do_not_matter() -> None:
    song = repeated(random_bars(4, seed=3), 3, 16.0)
    shifted = song.notes.copy()
    shifted["start"] += 32.0  # 8 bars of silence first
    assert self_similarity(song.replace(notes=shifted)) == pytest.approx(self_similarity(song))
    assert self_similarity(song.transpose(5)) == pytest.approx(self_similarity(song))


def test_self_similarity_degenerate_songs() -> None:
    assert math.isnan(self_similarity(Song(make_notes([], [], []))))
    assert math.isnan(self_similarity(Song(make_notes([60, 62], [0, 1], [1, 1]))))  # one bar
    # two sounding bars with two silent ones between: no pair within half the song
    assert math.isnan(self_similarity(Song(make_notes([60, 62], [0, 12], [1, 1]))))
    same = Song(make_notes([60, 60], [0, 4], [4, 4]))  # the same bar twice
    assert self_similarity(same) == pytest.approx(1.0)


def test_bar_features() -> None:
    song = Song(make_notes([60, 64, 67], [0, 3, 6], [3, 3, 1]))  # E crosses the bar line
    features = bar_features(song)
    assert features.shape == (2, 12 + 16)
    assert np.linalg.norm(features, axis=1) == pytest.approx([1.0, 1.0])
    pitch = features[:, :12] * np.sqrt(2)
    assert pitch[0, [0, 4]] == pytest.approx(np.array([3, 1]) / np.sqrt(10))  # C 3 beats, E 1
    assert pitch[1, [4, 7]] == pytest.approx(np.array([2, 1]) / np.sqrt(5))  # E 2 beats, G 1
    rhythm = features[:, 12:] * np.sqrt(2)
    assert np.flatnonzero(rhythm[0]).tolist() == [0, 12] and np.flatnonzero(rhythm[1]).tolist() == [
        8
    ]
    silent = bar_features(Song(make_notes([60], [8], [1])))
    assert not silent[:2].any() and silent[2].any()


# --------------------------------------------------------------- integration
def test_in_metrics_and_fast() -> None:
    import time

    assert METRICS["bar_repetition"] is bar_repetition
    assert METRICS["self_similarity"] is self_similarity
    for name in ("bar_features", "bar_repetition", "self_similarity"):
        assert name in popgen.metrics.__all__
    song = random_bars(400, seed=0)  # ~2600 notes
    began = time.perf_counter()
    bar_repetition(song), self_similarity(song)
    assert time.perf_counter() - began < 0.5
