"""Copy checks: note lines, n-gram shares and longest copies against brute force."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.metrics import copying
from popgen.metrics.copying import Copy, CopyIndex, CopyReport, note_line
from popgen.music.song import Song, Track, make_notes

Note = tuple[int, float]  # (pitch, duration in beats)


def melody(notes: Sequence[Note], title: str = "", source: str = "") -> Song:
    """A monophonic song: notes one after another."""
    durations = [d for _, d in notes]
    starts = np.concatenate([[0.0], np.cumsum(durations)[:-1]]) if notes else []
    return Song(make_notes([p for p, _ in notes], starts, durations), title=title, source=source)


def brute_longest(
    query: Sequence[Note], songs: Sequence[Sequence[Note]]
) -> tuple[int, int, int, int]:
    """(length, song, position, start) of the longest common run, earliest song/position first."""
    best = (0, -1, -1, -1)
    for s, song in enumerate(songs):
        for i in range(len(song)):
            for j in range(len(query)):
                length = 0
                while (
                    i + length < len(song)
                    and j + length < len(query)
                    and song[i + length] == query[j + length]
                ):
                    length += 1
                if length > best[0]:
                    best = (length, s, i, j)
    return best


def brute_share(query: Sequence[Note], songs: Sequence[Sequence[Note]], n: int) -> float:
    grams = {tuple(song[i : i + n]) for song in songs for i in range(len(song) - n + 1)}
    mine = [tuple(query[i : i + n]) for i in range(len(query) - n + 1)]
    return sum(g in grams for g in mine) / len(mine) if mine else math.nan


notes = st.tuples(st.sampled_from([60, 62]), st.sampled_from([0.5, 1.0]))
lines = st.lists(notes, max_size=25)


# ------------------------------------------------------------------ note_line
def test_note_line_orders_by_onset_then_pitch_and_rounds_durations() -> None:
    song = Song(
        make_notes(
            [67, 60, 64, 72], [0.0, 0.0, 0.001, 1.0], [1.0, 0.5, 0.01, 1 / 3], track=[1, 0, 0, 0]
        ),
        tracks=(Track(), Track()),
    )
    line = note_line(song, steps_per_beat=12)
    assert line.dtype == np.int64
    assert [(int(s) >> 32, int(s) & 0xFFFFFFFF) for s in line] == [
        (60, 6),
        (64, 1),
        (67, 12),
        (72, 4),
    ]
    assert [int(s) & 0xFFFFFFFF for s in note_line(song, steps_per_beat=2)] == [1, 1, 2, 1]
    assert note_line(Song(make_notes([], [], []))).shape == (0,)
    with pytest.raises(ValueError, match="steps_per_beat"):
        note_line(song, steps_per_beat=0)


def test_note_line_ignores_tempo_velocity_and_track() -> None:
    a = Song(make_notes([60, 62], [0, 1], [1, 1], velocity=30))
    b = Song(make_notes([60, 62], [0, 1], [1, 1], velocity=[90, 100]), tempos=((0.0, 90.0),))
    assert np.array_equal(note_line(a), note_line(b))


# ---------------------------------------------------------------- longest copy
@settings(max_examples=150, deadline=None, derandomize=True)
@given(query=lines, songs=st.lists(lines, max_size=4))
def test_longest_copy_matches_brute_force(query: list[Note], songs: list[list[Note]]) -> None:
    index = CopyIndex([melody(s) for s in songs], n=3)
    copy = index.longest_copy(melody(query))
    length, s, i, j = brute_longest(query, songs)
    if length == 0:
        assert copy is None
        return
    assert copy == Copy(length=length, song=f"#{s}", position=i, start=j)


@settings(max_examples=80, deadline=None, derandomize=True)
@given(query=lines, songs=st.lists(lines, min_size=1, max_size=4))
def test_longest_copy_is_exact_even_when_hashes_collide(
    query: list[Note], songs: list[list[Note]]
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(copying, "_HASHES", ((7, 3), (5, 2)))  # 35 keys: collisions everywhere
        index = CopyIndex([melody(s) for s in songs])
        copy = index.longest_copy(melody(query))
    length, *_ = brute_longest(query, songs)
    if length == 0:
        assert copy is None
        return
    assert copy is not None and copy.length == length
    song = songs[int(copy.song[1:])]
    assert song[copy.position : copy.position + length] == query[copy.start : copy.start + length]


def test_longest_copy_finds_a_planted_passage() -> None:
    rng = np.random.default_rng(7)
    songs = [
        melody(
            [
                (int(p), float(d))
                for p, d in zip(
                    rng.integers(40, 90, 300), rng.choice([0.5, 1, 2], 300), strict=True
                )
            ],
            title=f"song {k}",
        )
        for k in range(20)
    ]
    planted = [
        (int(p), float(d))
        for p, d in zip(
            songs[13].notes["pitch"][50:90], songs[13].notes["duration"][50:90], strict=True
        )
    ]
    query = melody([(30, 3.0)] * 5 + planted + [(31, 3.0)] * 5)
    copy = CopyIndex(songs).longest_copy(query)
    assert copy == Copy(length=40, song="song 13", position=50, start=5)


def test_longest_copy_none_and_names() -> None:
    index = CopyIndex(
        [melody([(60, 1.0)], title="t"), melody([(62, 1.0)], source="s.mid"), melody([(64, 1.0)])]
    )
    assert index.names == ("t", "s.mid", "#2")
    assert index.longest_copy(melody([])) is None
    assert index.longest_copy(melody([(70, 1.0)])) is None
    assert index.longest_copy(melody([(64, 0.5), (64, 1.0)])) == Copy(1, "#2", 0, 1)
    assert CopyIndex([]).longest_copy(melody([(60, 1.0)])) is None


# ---------------------------------------------------------------- n-gram share
@settings(max_examples=100, deadline=None, derandomize=True)
@given(query=lines, songs=st.lists(lines, max_size=4), n=st.integers(1, 4))
def test_copied_share_matches_brute_force(
    query: list[Note], songs: list[list[Note]], n: int
) -> None:
    share = CopyIndex([melody(s) for s in songs], n=n).copied_share(melody(query))
    want = brute_share(query, songs, n)
    assert (math.isnan(share) and math.isnan(want)) or share == pytest.approx(want, abs=1e-12)


def test_ngrams_do_not_span_two_songs() -> None:
    index = CopyIndex([melody([(60, 1.0), (62, 1.0)]), melody([(64, 1.0), (65, 1.0)])], n=3)
    assert index.copied_share(melody([(60, 1.0), (62, 1.0), (64, 1.0)])) == 0.0
    assert index.longest_copy(melody([(62, 1.0), (64, 1.0)])) == Copy(1, "#0", 1, 0)


# ---------------------------------------------------------------------- report
def test_report_pools_shares_and_names_the_longest() -> None:
    train = [melody([(60, 1.0), (62, 1.0), (64, 1.0), (65, 1.0), (67, 1.0)], title="scale")]
    index = CopyIndex(train, n=2)
    songs = [
        melody([(60, 1.0), (62, 1.0), (70, 1.0)]),  # 1 of 2 bigrams copied
        melody([(71, 1.0)]),  # too short for a bigram
        melody([(72, 1.0), (62, 1.0), (64, 1.0), (65, 1.0)]),  # 2 of 3, longest run 3
    ]
    report = index.report(songs)
    assert isinstance(report, CopyReport)
    assert report.copied_share == pytest.approx(3 / 5)
    assert report.ngrams == 5
    assert report.per_song[0] == 0.5 and math.isnan(report.per_song[1])
    assert report.per_song[2] == pytest.approx(2 / 3)
    assert report.longest == Copy(3, "scale", 1, 1) and report.longest_query == 2
    empty = index.report([])
    assert math.isnan(empty.copied_share) and empty.longest is None and empty.longest_query is None


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="n must be"):
        CopyIndex([], n=0)
    with pytest.raises(ValueError, match="steps_per_beat"):
        CopyIndex([], steps_per_beat=0)
