"""popgen.music.bars: bar lines from time signatures and from given bars, and back to signatures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.music.bars import bar_lines, check_bars, common_meter, signatures_from_bars
from popgen.music.time import TimeSignature

NONE = np.zeros(0)


def lines(bars: list[float] | np.ndarray, sigs: tuple[TimeSignature, ...], end: float) -> list:
    return bar_lines(np.asarray(bars, dtype=np.float64), sigs, end).tolist()


# ------------------------------------------------------ from time signatures
def test_four_four_by_default() -> None:
    assert lines(NONE, (), 9.0) == [0, 4, 8, 12]
    assert lines(NONE, (TimeSignature(0, 4, 4),), 8.0) == [0, 4, 8]
    assert lines(NONE, (), 0.0) == [0, 4]  # at least one bar
    assert lines(NONE, (), 4.5) == [0, 4, 8]


def test_three_four_and_six_eight() -> None:
    assert lines(NONE, (TimeSignature(0, 3, 4),), 7.0) == [0, 3, 6, 9]
    assert lines(NONE, (TimeSignature(0, 6, 8),), 7.0) == [0, 3, 6, 9]
    assert lines(NONE, (TimeSignature(0, 2, 2),), 8.0) == [0, 4, 8]
    assert lines(NONE, (TimeSignature(0, 5, 8),), 5.0) == [0, 2.5, 5]


def test_time_signature_changes() -> None:
    sigs = (TimeSignature(0, 4, 4), TimeSignature(8, 3, 4), TimeSignature(14, 6, 8))
    assert lines(NONE, sigs, 20.0) == [0, 4, 8, 11, 14, 17, 20]
    two = (TimeSignature(0, 4, 4), TimeSignature(4, 2, 4))
    assert lines(NONE, two, 8.0) == [0, 4, 6, 8]
    # a change in the middle of a bar takes effect at the next bar line
    mid = (TimeSignature(0, 4, 4), TimeSignature(6, 3, 4))
    assert lines(NONE, mid, 12.0) == [0, 4, 8, 11, 14]


def test_a_change_after_the_end_adds_no_bars() -> None:
    sigs = (TimeSignature(0, 3, 4), TimeSignature(12, 4, 4))
    assert lines(NONE, sigs, 5.0) == [0, 3, 6]


# --------------------------------------------------------- from given bars
def test_given_bars_win_over_time_signatures() -> None:
    assert lines([0, 4, 8], (TimeSignature(0, 3, 4),), 8.0) == [0, 4, 8]


def test_pickup_bar() -> None:
    assert lines([1, 5], (), 10.0) == [0, 1, 5, 9, 13]
    assert lines([3], (), 10.0) == [0, 3, 6, 9, 12]  # one line: bars of the pickup's length


def test_bars_extend_past_the_end_at_the_last_length() -> None:
    assert lines([0, 4, 8], (), 20.0) == [0, 4, 8, 12, 16, 20]
    assert lines([0, 4, 7], (), 12.5) == [0, 4, 7, 10, 13]
    assert lines([0], (), 10.0) == [0, 4, 8, 12]  # no bar length given: 4 beats


def test_given_bars_after_the_end_are_kept() -> None:
    assert lines([0, 4, 8, 12], (), 5.0) == [0, 4, 8, 12]


@given(
    st.lists(st.sampled_from([1.5, 2.0, 3.0, 4.0, 6.0]), min_size=0, max_size=5),
    st.integers(0, 240).map(lambda n: n / 4),
)
@settings(max_examples=100, deadline=None)
def test_edges_start_at_zero_increase_and_reach_the_end(lengths: list[float], extra: float) -> None:
    sigs, beat = [], 0.0
    for length in lengths:
        sigs.append(TimeSignature(beat, *_sig(length)))
        beat += 2 * length  # two bars of each signature
    end = (sigs[-1].beat if sigs else 0.0) + extra  # every change before the end
    edges = bar_lines(NONE, tuple(sigs), end)
    assert edges[0] == 0 and edges[-1] >= end and len(edges) >= 2
    assert np.diff(edges).min() > 0
    assert edges[-2] < max(end, 1e-9)  # no whole bar beyond the end


def _sig(length: float) -> tuple[int, int]:
    return (int(length), 4) if length == int(length) else (int(length * 2), 8)


# ------------------------------------------------------ signatures_from_bars
def test_signatures_from_bars() -> None:
    sigs = signatures_from_bars(np.array([1.0, 5.0, 9.0, 12.0]))
    assert [tuple(s) for s in sigs] == [(0.0, 1, 4), (1.0, 4, 4), (9.0, 3, 4)]
    assert [tuple(s) for s in signatures_from_bars(np.array([0.0, 3, 6, 10.5, 15]))] == [
        (0.0, 3, 4),
        (6.0, 9, 8),
    ]
    assert [tuple(s) for s in signatures_from_bars(np.array([0.0, 0.75, 1.5]))] == [(0.0, 3, 16)]
    assert signatures_from_bars(NONE) == ()
    assert [tuple(s) for s in signatures_from_bars(np.array([0.0]))] == [(0.0, 4, 4)]


bar_lengths = st.lists(st.integers(1, 12), min_size=0, max_size=12)


@given(bar_lengths, st.integers(0, 7), st.integers(0, 20))
@settings(max_examples=200, deadline=None)
def test_signatures_from_bars_round_trip(lengths: list[int], pickup: int, extra: int) -> None:
    bars = pickup + np.concatenate([[0.0], np.cumsum(lengths)])
    sigs = signatures_from_bars(bars)
    end = float(bars[-1])
    expected = ([0.0] if pickup else []) + bars.tolist()
    if len(expected) == 1:  # a lone bar line at 0: 4-beat bars
        expected.append(4.0)
    assert lines(NONE, sigs, end) == expected
    assert lines(bars, (), end) == expected
    later = end + extra
    assert lines(NONE, sigs, later) == lines(bars, (), later)


@given(st.lists(st.integers(1, 32).map(lambda n: n / 4), min_size=1, max_size=10))
@settings(max_examples=100, deadline=None)
def test_signatures_from_bars_round_trip_fractional(lengths: list[float]) -> None:
    bars = np.concatenate([[0.0], np.cumsum(lengths)])
    sigs = signatures_from_bars(bars)
    assert all(s.denominator in (4, 8, 16) for s in sigs)
    assert lines(NONE, sigs, float(bars[-1])) == bars.tolist()


# ----------------------------------------------------------- common_meter
def test_common_meter() -> None:
    assert common_meter([]) == (4, 4)
    assert common_meter([np.array([0.0, 4, 8, 12]), np.array([0.0, 3, 7])]) == (4, 4)
    assert common_meter([np.array([0.0, 3, 6, 9]), np.array([0.0, 4, 8])]) == (3, 4)
    assert common_meter([np.array([0.0, 1.5, 3.0, 4.5])]) == (3, 8)
    assert common_meter([np.array([0.0])]) == (4, 4)  # no bar at all


# ------------------------------------------------------------- check_bars
def test_check_bars() -> None:
    out = check_bars([0, 4, 8])
    assert out.dtype == np.float64 and out.tolist() == [0, 4, 8]
    assert not out.flags.writeable
    assert check_bars([]).tolist() == []
    assert check_bars(np.array([[1.0, 2.0]])).tolist() == [1, 2]  # flattened
    source = np.array([0.0, 4.0])
    check_bars(source)
    assert source.flags.writeable  # the caller's array is not frozen


@pytest.mark.parametrize(
    "bars",
    [[4, 0], [0, 4, 4], [-1, 4], [0, np.inf], [0, np.nan], [np.nan]],
)
def test_check_bars_errors(bars: list[float]) -> None:
    with pytest.raises(ValueError, match="strictly increasing, >= 0 and finite"):
        check_bars(bars)
