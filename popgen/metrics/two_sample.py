"""Can a classifier tell generated songs from real ones? A classifier two-sample test.

Per-metric comparisons (:func:`popgen.metrics.sets.compare_sets`) look at one
feature at a time; a generated set can match every one of them and still
differ in how they go together. :func:`two_sample_test` asks the joint
question (Lopez-Paz & Oquab, "Revisiting classifier two-sample tests", ICLR
2017): a cross-validated classifier reads every metric of a song and guesses
which set it came from. Held-out accuracy near 0.5 means the sets look alike
through these metrics; near 1 that they are easy to tell apart.

The classifier is L2-regularized logistic regression, fitted by Newton's
method in plain numpy. Its input is the metric tables that
:func:`popgen.metrics.sets.metric_table` returns. Being linear, it notices
sets whose metrics (or sums of metrics) differ in level, not sets that
differ only in a metric's spread around the same centre.

Two cautions in reading it. Cross-validated predictions are not quite
independent trials, so the binomial interval is somewhat narrow (about 85 %
coverage instead of 95 % on two equal sets of a few hundred songs). And when
the same songs appear in both sets, a held-out song's twin sits in the
training folds on the other side, pulling accuracy below 0.5: read accuracy
below 0.5 as chance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["TwoSampleTest", "separating_metrics", "two_sample_test"]

_L2 = 1.0  # ridge penalty on the standardized features' weights (summed log-loss)
_Z95 = 1.959963984540054  # the normal quantile of a 95 % two-sided interval
_NEWTON_STEPS = 100


@dataclass(frozen=True)
class TwoSampleTest:
    """The outcome of :func:`two_sample_test`.

    Attributes:
        accuracy: the share of held-out songs the classifier put in the right
            set, over both sets balanced; 0.5 means indistinguishable, 1.0
            perfectly told apart (below 0.5 is chance too).
        low: lower end of the 95 % Wilson interval of ``accuracy``.
        high: upper end of that interval.
        n_generated: generated songs given; ``min(n_generated, n_real)`` of
            each set took part.
        n_real: real songs given.
        features: the metric names the classifier read (metrics with a value
            for at least one song taking part).

    >>> result = TwoSampleTest(0.55, 0.45, 0.65, 100, 120, ("pitch_range",))
    >>> result.to_dict()["accuracy"], result.low <= 0.5 <= result.high
    (0.55, True)
    """

    accuracy: float
    low: float
    high: float
    n_generated: int
    n_real: int
    features: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-ready values (``features`` as a list).

        >>> TwoSampleTest(0.9, 0.8, 0.95, 50, 50, ("a", "b")).to_dict()["features"]
        ['a', 'b']
        """
        out = asdict(self)
        out["features"] = list(self.features)
        return out


def two_sample_test(
    generated: Mapping[str, NDArray[Any]],
    real: Mapping[str, NDArray[Any]],
    *,
    folds: int = 5,
    seed: int = 0,
) -> TwoSampleTest:
    """Cross-validated accuracy of a classifier telling generated songs from real ones.

    Each song is a row of metric values (the tables of
    :func:`popgen.metrics.sets.metric_table`). The larger set is subsampled
    to the size of the smaller, so that 0.5 is chance. Songs are split into
    ``folds`` folds with each set spread evenly; for each fold, logistic
    regression with an L2 penalty is fitted on the other folds and predicts
    the fold's songs. Missing values (``nan``, infinities) take the training
    folds' median; every metric is then standardized with the training
    folds' mean and standard deviation. Metrics without any value are left
    out. The interval is Wilson's 95 % score interval for a binomial share of
    the ``2 * min(n_generated, n_real)`` held-out predictions.

    Args:
        generated: metric name -> values, one per generated song.
        real: metric name -> values, one per real song; the same names.
        folds: cross-validation folds, >= 2.
        seed: seeds the subsampling and the folds; the result is a pure
            function of the inputs.

    Returns:
        A :class:`TwoSampleTest`.

    Raises:
        ValueError: the two tables name different metrics; a table's columns
            differ in length; ``folds < 2``; or either set has fewer than
            ``folds`` songs.

    >>> rng = np.random.default_rng(0)
    >>> real = {"pitch_range": rng.normal(20, 4, 200), "polyphony": rng.normal(2, 0.5, 200)}
    >>> like = {"pitch_range": rng.normal(20, 4, 150), "polyphony": rng.normal(2, 0.5, 150)}
    >>> unlike = {"pitch_range": rng.normal(30, 4, 150), "polyphony": rng.normal(2, 0.5, 150)}
    >>> same = two_sample_test(like, real)
    >>> same.low < 0.5 < same.high, round(two_sample_test(unlike, real).accuracy, 1)
    (True, 0.9)
    """
    if folds < 2:
        raise ValueError(f"folds must be >= 2, got {folds}")
    _same_metrics(generated, real)
    names = list(generated)
    gen = _matrix(generated, names, "generated")
    ref = _matrix(real, names, "real")
    if min(len(gen), len(ref)) < folds:
        raise ValueError(
            f"a {folds}-fold two-sample test needs at least {folds} songs of each set, "
            f"got {len(gen)} generated and {len(ref)} real"
        )
    rng = np.random.default_rng(seed)
    n_generated, n_real = len(gen), len(ref)
    size = min(n_generated, n_real)
    gen = gen[np.sort(rng.choice(len(gen), size, replace=False))]
    ref = ref[np.sort(rng.choice(len(ref), size, replace=False))]
    x = np.concatenate([gen, ref])
    y = np.concatenate([np.ones(size), np.zeros(size)])
    known = ~np.isnan(x).all(axis=0)
    x = x[:, known]
    fold = np.concatenate([_fold_numbers(size, folds, rng), _fold_numbers(size, folds, rng)])
    correct = 0
    for k in range(folds):
        train, test = fold != k, fold == k
        guess = _fit_predict(x[train], y[train], x[test])
        correct += int((guess == y[test]).sum())
    accuracy = correct / len(y)
    low, high = _wilson(accuracy, len(y))
    return TwoSampleTest(
        accuracy=accuracy,
        low=low,
        high=high,
        n_generated=n_generated,
        n_real=n_real,
        features=tuple(name for name, keep in zip(names, known, strict=True) if keep),
    )


def separating_metrics(
    generated: Mapping[str, NDArray[Any]],
    real: Mapping[str, NDArray[Any]],
    *,
    top: int | None = None,
) -> list[tuple[str, float]]:
    """What tells the sets apart, one metric at a time: each metric's AUC, the most telling first.

    A metric's AUC is the chance that a generated song's value exceeds a real
    song's (ties count a half; ``nan`` and infinities are left out): 0.5 when
    the metric cannot tell the sets apart, 1.0 when every generated song lies
    above every real one, 0.0 below. Where :func:`two_sample_test` says
    *whether* a classifier tells the sets apart, this says through which
    metrics: sorted by distance from 0.5, ties by name. Metrics with no finite
    value in either set are left out.

    Args:
        generated: metric name -> values, one per generated song.
        real: metric name -> values, one per real song.
        top: keep only this many; ``None``: all.

    Raises:
        ValueError: the two tables name different metrics.

    >>> real = {"pitch_range": np.array([10.0, 12, 14]), "notes": np.array([4.0, 5, 6])}
    >>> busy = {"pitch_range": np.array([11.0, 13, 12]), "notes": np.array([7.0, 8, 6])}
    >>> separating_metrics(busy, real)
    [('notes', 0.9444444444444444), ('pitch_range', 0.5)]
    """
    _same_metrics(generated, real)
    out = []
    for name in generated:
        gen = np.asarray(generated[name], dtype=np.float64).reshape(-1)
        ref = np.sort(np.asarray(real[name], dtype=np.float64).reshape(-1))
        gen, ref = gen[np.isfinite(gen)], ref[np.isfinite(ref)]
        if not (len(gen) and len(ref)):
            continue
        below = np.searchsorted(ref, gen, side="left")
        ties = np.searchsorted(ref, gen, side="right") - below
        out.append((name, float((below + 0.5 * ties).sum() / (len(gen) * len(ref)))))
    out.sort(key=lambda item: (-abs(item[1] - 0.5), item[0]))
    return out if top is None else out[:top]


def _same_metrics(generated: Mapping[str, Any], real: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` unless the two tables name the same metrics (naming the odd ones)."""
    if set(generated) != set(real):
        only_gen = sorted(set(generated) - set(real))
        only_real = sorted(set(real) - set(generated))
        raise ValueError(
            "the generated and real tables must name the same metrics; "
            f"only in generated: {only_gen or 'none'}, only in real: {only_real or 'none'}"
        )


def _matrix(table: Mapping[str, NDArray[Any]], names: list[str], which: str) -> NDArray[np.float64]:
    """float64[songs, metrics] in ``names`` order, non-finite values as ``nan``."""
    columns = [np.asarray(table[name], dtype=np.float64).reshape(-1) for name in names]
    lengths = {len(c) for c in columns}
    if len(lengths) > 1:
        sizes = ", ".join(f"{name}: {len(c)}" for name, c in zip(names, columns, strict=True))
        raise ValueError(f"the {which} table's metrics have different numbers of songs ({sizes})")
    x = np.stack(columns, axis=1) if columns else np.zeros((0, 0))
    return np.where(np.isfinite(x), x, np.nan)


def _fold_numbers(size: int, folds: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """A fold number for each of ``size`` songs: shuffled, the folds as even as can be."""
    out = np.empty(size, dtype=np.int64)
    out[rng.permutation(size)] = np.arange(size) % folds
    return out


def _fit_predict(
    x: NDArray[np.float64], y: NDArray[np.float64], x_test: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Fit on (x, y), impute and standardize as the training rows say; 1.0 = generated."""
    usable = ~np.isnan(x).all(axis=0)  # a metric without values in these folds is left out
    x, x_test = x[:, usable], x_test[:, usable]
    median = np.array([np.median(c[~np.isnan(c)]) for c in x.T])
    x = np.where(np.isnan(x), median, x)
    x_test = np.where(np.isnan(x_test), median, x_test)
    mean, std = x.mean(axis=0), x.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    weights = _logistic_regression((x - mean) / std, y)
    z = weights[0] + ((x_test - mean) / std) @ weights[1:]
    return np.asarray(z > 0, dtype=np.float64)


def _logistic_regression(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Intercept and weights minimising summed log-loss + ``_L2 / 2 * |weights|²``.

    Newton's method, each step halved until the objective does not rise.
    """
    design = np.concatenate([np.ones((len(x), 1)), x], axis=1)
    penalty = np.full(design.shape[1], _L2)
    penalty[0] = 1e-9  # the intercept is not shrunk (a trace keeps the Hessian invertible)

    def objective(w: NDArray[np.float64]) -> float:
        z = design @ w
        return float(np.logaddexp(0.0, z).sum() - z @ y + 0.5 * (penalty * w * w).sum())

    w = np.zeros(design.shape[1])
    value = objective(w)
    for _ in range(_NEWTON_STEPS):
        p = 0.5 * (1.0 + np.tanh(0.5 * (design @ w)))  # the logistic function, overflow-free
        gradient = design.T @ (p - y) + penalty * w
        hessian = design.T @ (design * (p * (1 - p))[:, None]) + np.diag(penalty)
        step = np.linalg.solve(hessian, gradient)
        for _ in range(30):
            new = objective(w - step)
            if new <= value:
                break
            step = step / 2
        w, value = w - step, min(new, value)
        if np.abs(step).max() < 1e-10:
            break
    return w


def _wilson(share: float, n: int) -> tuple[float, float]:
    """Wilson's 95 % score interval for a binomial share of ``n`` trials."""
    z2 = _Z95**2
    centre = (share + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z95 / (1 + z2 / n) * math.sqrt(share * (1 - share) / n + z2 / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)
