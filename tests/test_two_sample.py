"""The classifier two-sample test (popgen.metrics.two_sample)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import popgen.metrics
from popgen.metrics import TwoSampleTest, metric_table, separating_metrics, two_sample_test
from popgen.metrics.two_sample import _logistic_regression, _wilson
from popgen.music.song import Song, make_notes


def table(rng: np.random.Generator, n: int, shift: float = 0.0) -> dict[str, np.ndarray]:
    """Three correlated metrics and one independent one, ``shift`` added to the first."""
    base = rng.normal(0, 1, n)
    return {
        "a": base + shift,
        "b": 0.5 * base + rng.normal(0, 1, n),
        "c": rng.gamma(2.0, 1.0, n),
        "d": rng.integers(0, 5, n).astype(float),
    }


def test_same_distribution_is_chance() -> None:
    rng = np.random.default_rng(0)
    result = two_sample_test(table(rng, 300), table(rng, 250))
    assert abs(result.accuracy - 0.5) < 0.05
    assert result.low < 0.5 < result.high
    assert result.n_generated == 300 and result.n_real == 250
    assert result.features == ("a", "b", "c", "d")
    # over many draws: centred on 0.5, and the interval mostly covers it (held-out
    # predictions are not quite independent trials, so it is somewhat narrow)
    runs = [two_sample_test(table(rng, 150), table(rng, 150), seed=s) for s in range(30)]
    assert abs(np.mean([r.accuracy for r in runs]) - 0.5) < 0.02
    assert sum(r.low < 0.5 < r.high for r in runs) >= 22


def test_different_distributions_are_told_apart() -> None:
    rng = np.random.default_rng(1)
    result = two_sample_test(table(rng, 200, shift=4.0), table(rng, 200))
    assert result.accuracy > 0.95 and result.low > 0.9
    # a moderate shift lands in between
    middle = two_sample_test(table(rng, 300, shift=1.0), table(rng, 300)).accuracy
    assert 0.6 < middle < 0.8
    # the classifier is linear: it sees shifted means, not a different spread alone
    wide = {"a": rng.normal(0, 3, 300), "b": rng.normal(0, 3, 300)}
    narrow = {"a": rng.normal(0, 1, 300), "b": rng.normal(0, 1, 300)}
    assert two_sample_test(wide, narrow).accuracy < 0.6


def test_is_deterministic_and_seeded() -> None:
    rng = np.random.default_rng(2)
    gen, real = table(rng, 120, shift=0.5), table(rng, 90)
    first = two_sample_test(gen, real, seed=3)
    assert first == two_sample_test(gen, real, seed=3)
    assert first == two_sample_test(dict(gen), {k: list(v) for k, v in real.items()}, seed=3)
    others = {two_sample_test(gen, real, seed=s).accuracy for s in range(6)}
    assert len(others) > 1  # the seed draws the subsample and the folds


def test_missing_values() -> None:
    rng = np.random.default_rng(4)
    gen, real = table(rng, 100, shift=3.0), table(rng, 100)
    for t in (gen, real):
        t["a"][::3] = np.nan  # imputed by the training folds' median
        t["e"] = np.full(100, np.nan)  # dropped: no song has a value
        t["f"] = np.full(100, 7.0)  # constant: no information, no harm
    t = gen
    t["c"][5] = np.inf  # non-finite counts as missing
    result = two_sample_test(gen, real)
    assert result.features == ("a", "b", "c", "d", "f")
    assert result.accuracy > 0.7  # a third of the telling values are missing
    assert math.isfinite(result.low) and math.isfinite(result.high)


def test_shared_songs_pull_accuracy_below_chance() -> None:
    # a song held out in one set has its twin in the other set's training folds
    rng = np.random.default_rng(5)
    same = table(rng, 60)
    result = two_sample_test(same, same)
    assert result.accuracy < 0.5
    constant = {"a": np.ones(40)}
    assert two_sample_test(constant, constant).accuracy == 0.5  # nothing to learn at all


def test_bad_input() -> None:
    rng = np.random.default_rng(6)
    with pytest.raises(
        ValueError, match=r"at least 5 songs of each set, got 4 generated and 30 real"
    ):
        two_sample_test(table(rng, 4), table(rng, 30))
    with pytest.raises(ValueError, match="at least 3 songs of each set"):
        two_sample_test(table(rng, 30), table(rng, 2), folds=3)
    with pytest.raises(ValueError, match="folds must be >= 2"):
        two_sample_test(table(rng, 30), table(rng, 30), folds=1)
    other = table(rng, 30)
    other["z"] = other.pop("d")
    with pytest.raises(ValueError, match=r"only in generated: \['d'\], only in real: \['z'\]"):
        two_sample_test(table(rng, 30), other)
    short = table(rng, 30)
    short["c"] = short["c"][:20]
    with pytest.raises(ValueError, match=r"real table's metrics have different numbers.*c: 20"):
        two_sample_test(table(rng, 30), short)
    with pytest.raises(ValueError, match="got 0 generated and 0 real"):
        two_sample_test({}, {})


def test_result_to_dict() -> None:
    rng = np.random.default_rng(7)
    result = two_sample_test(table(rng, 50), table(rng, 40))
    data = result.to_dict()
    assert list(data) == ["accuracy", "low", "high", "n_generated", "n_real", "features"]
    assert data["features"] == ["a", "b", "c", "d"]
    assert json.loads(json.dumps(data)) == data
    assert isinstance(result, TwoSampleTest)


def test_on_metric_tables_of_songs() -> None:
    rng = np.random.default_rng(8)

    def songs(count: int, step: float) -> list[Song]:
        out = []
        for _ in range(count):
            pitches = rng.choice([60, 62, 64, 65, 67, 69, 71], size=16)
            out.append(Song(make_notes(pitches, np.arange(16) * step, [step] * 16)))
        return out

    quick, slow = metric_table(songs(20, 0.5)), metric_table(songs(20, 1.0))
    result = two_sample_test(quick, slow)
    assert result.accuracy > 0.9
    assert "chord_tone_share" not in result.features  # no song has chords: dropped
    assert "notes_per_bar" in result.features


def test_wilson_interval() -> None:
    low, high = _wilson(0.5, 100)
    assert (low, high) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))
    assert _wilson(1.0, 20)[1] == 1.0 and _wilson(1.0, 20)[0] == pytest.approx(0.8389, abs=1e-4)
    assert _wilson(0.0, 20)[0] == 0.0


def test_logistic_regression_solves_its_objective() -> None:
    rng = np.random.default_rng(9)
    x = rng.normal(0, 1, (200, 3))
    y = (x @ [2.0, -1.0, 0.0] + rng.logistic(0, 1, 200) > 0).astype(float)
    w = _logistic_regression(x, y)
    design = np.concatenate([np.ones((200, 1)), x], axis=1)
    p = 1 / (1 + np.exp(-design @ w))
    gradient = design.T @ (p - y) + np.array([0.0, 1.0, 1.0, 1.0]) * w
    assert np.abs(gradient).max() < 1e-6  # the optimum: the gradient vanishes
    assert w[1] > 1 and w[2] < -0.5 and abs(w[3]) < 0.5
    separable = _logistic_regression(np.array([[-1.0], [1.0]] * 5), np.array([0.0, 1.0] * 5))
    assert np.isfinite(separable).all()  # the penalty keeps separable data finite


def test_exported() -> None:
    assert {"TwoSampleTest", "two_sample_test"} <= set(popgen.metrics.__all__)


def test_separating_metrics_rank_the_metrics_that_tell_sets_apart() -> None:
    rng = np.random.default_rng(5)
    real = table(rng, 200)
    gen = table(rng, 150, shift=4.0)  # only "a" moves
    ranked = separating_metrics(gen, real)
    assert ranked[0][0] == "a" and ranked[0][1] > 0.95
    assert all(abs(auc - 0.5) < 0.15 for _, auc in ranked[1:])
    assert [name for name, _ in separating_metrics(real, gen, top=1)] == ["a"]
    assert separating_metrics(real, gen, top=1)[0][1] == pytest.approx(1 - ranked[0][1])
    holes = {name: np.full(3, np.nan) for name in real}
    assert separating_metrics(holes, {k: v[:3] for k, v in real.items()}) == []
    with pytest.raises(ValueError, match="same metrics"):
        separating_metrics({"a": np.ones(3)}, {"b": np.ones(3)})
