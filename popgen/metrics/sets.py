"""Metrics over sets of songs, and how close a generated set is to a reference set.

* :func:`metric_table` computes every metric of :data:`~popgen.metrics.music.METRICS`
  for each song of a set;
* :func:`reference_ranges` turns a reference corpus' table into each metric's
  percentile range (5th-95th by default), and :func:`inside_share` says which
  share of generated songs lies inside it;
* :func:`compare_sets` follows Yang & Lerch, "On the evaluation of generative
  models in music" (Neural Computing and Applications, 2020): for each
  feature, the distribution of distances *within* the reference set against
  the distances *between* generated and reference songs, summarised by
  overlap area and KL divergence (:class:`SetComparison`).

The examples assume ``from popgen.music.song import Song, make_notes``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.metrics.music import HISTOGRAMS, METRICS, Selection, choose_track, song_metrics
from popgen.music.song import Song, make_notes  # noqa: F401  (make_notes: used by the examples)

__all__ = [
    "SetComparison",
    "compare_sets",
    "inside_share",
    "metric_table",
    "reference_ranges",
]

_GRID = 1024  # points of the grid the two distance densities are compared on
_KL_EPS = 1e-10  # added to both densities' masses so that KL stays finite
_REACH = 4.0  # the grid extends this many bandwidths beyond the samples


def metric_table(songs: Iterable[Song], track: Selection = None) -> dict[str, NDArray[np.float64]]:
    """Every scalar metric of every song: metric name -> ``float64[songs]``.

    Args:
        songs: the set.
        track: which track of each song to measure (see
            :func:`~popgen.metrics.music.choose_track`).

    >>> songs = [Song(make_notes([60, 67], [0, 1], [1, 1])), Song(make_notes([60], [0], [1]))]
    >>> metric_table(songs)["pitch_range"]
    array([7., 0.])
    """
    rows = [song_metrics(song, track) for song in songs]
    return {name: np.array([row[name] for row in rows], dtype=np.float64) for name in METRICS}


def reference_ranges(
    table: Mapping[str, NDArray[Any]], low: float = 5, high: float = 95
) -> dict[str, tuple[float, float]]:
    """Each metric's ``low``-th and ``high``-th percentiles over a set, ``nan`` values ignored.

    Args:
        table: metric name -> values, as from :func:`metric_table`.
        low: lower percentile, 0..100.
        high: upper percentile, ``low``..100.

    Returns:
        Metric name -> ``(low value, high value)``; ``(nan, nan)`` for a
        metric with no value that is not ``nan``.

    Raises:
        ValueError: percentiles out of order or outside 0..100.

    >>> reference_ranges({"pitch_range": np.arange(101.0)}, 10, 90)
    {'pitch_range': (10.0, 90.0)}
    """
    if not 0 <= low <= high <= 100:
        raise ValueError(f"percentiles must satisfy 0 <= low <= high <= 100, got {low}, {high}")
    ranges = {}
    for name, values in table.items():
        known = np.asarray(values, dtype=np.float64)
        known = known[~np.isnan(known)]
        if not len(known):
            ranges[name] = (math.nan, math.nan)
            continue
        lo, hi = np.percentile(known, [low, high])
        ranges[name] = (float(lo), float(hi))
    return ranges


def inside_share(
    table: Mapping[str, NDArray[Any]], ranges: Mapping[str, tuple[float, float]]
) -> dict[str, float]:
    """Per metric, the share of songs whose value lies inside its range (ends included).

    A ``nan`` value, or any value against a ``(nan, nan)`` range, counts as
    outside; a metric with no songs gives ``nan``.

    Args:
        table: metric name -> values, as from :func:`metric_table`.
        ranges: metric name -> ``(low, high)``, as from :func:`reference_ranges`.

    Raises:
        KeyError: a metric of ``table`` has no range.

    >>> inside_share({"pitch_range": np.array([3.0, 12.0, np.nan, 7.0])}, {"pitch_range": (5, 12)})
    {'pitch_range': 0.5}
    """
    shares = {}
    for name, values in table.items():
        if name not in ranges:
            raise KeyError(f"no reference range for metric {name!r}; ranges: {', '.join(ranges)}")
        lo, hi = ranges[name]
        v = np.asarray(values, dtype=np.float64)
        shares[name] = float(((v >= lo) & (v <= hi)).mean()) if len(v) else math.nan
    return shares


@dataclass(frozen=True)
class SetComparison:
    """How alike a generated set and a reference set are in one feature (Yang & Lerch, 2020).

    Two samples of distances are compared: *intra*, between every two songs
    of the reference set, and *inter*, between every generated song and every
    reference song (absolute difference for scalar metrics, Euclidean
    distance for histograms). Each is smoothed into a density by a Gaussian
    kernel density estimate.

    Attributes:
        overlap_area: the area under both densities, ∫ min(p_intra, p_inter),
            in 0..1; 1 when generated songs sit among reference songs as the
            reference songs sit among themselves, near 0 when they are far off.
        kl_divergence: KL(p_intra || p_inter) in nats, >= 0; 0 for equal
            densities, growing as the inter-set distances stray from the
            intra-set ones.

    Both are ``nan`` when the reference set has fewer than two songs, or the
    generated set none, with a defined value for the feature.

    >>> SetComparison(overlap_area=0.9, kl_divergence=0.02).overlap_area
    0.9
    """

    overlap_area: float
    kl_divergence: float


def compare_sets(
    generated: Sequence[Song],
    reference: Sequence[Song],
    track: Selection = None,
    *,
    max_songs: int = 200,
    seed: int = 0,
) -> dict[str, SetComparison]:
    """Compare two sets feature by feature, after Yang & Lerch (2020): see :class:`SetComparison`.

    The features are every scalar metric (:data:`~popgen.metrics.music.METRICS`)
    and every histogram (:data:`~popgen.metrics.music.HISTOGRAMS`). Songs with
    a ``nan`` value of a feature are left out of that feature's comparison.

    The densities are Gaussian kernel density estimates with Scott's
    bandwidth (``std * n ** (-1/5)``, what ``scipy.stats.gaussian_kde``
    uses), evaluated by linear binning on a common grid of 1024 points and
    convolution, which costs milliseconds where evaluating every kernel at
    every grid point costs a fraction of a second per feature. A sample with
    fewer than two distinct distances borrows the other sample's bandwidth;
    when both are degenerate, the bandwidth is a tenth of the distance between
    them (or 1e-6 when they coincide).

    Args:
        generated: the generated songs.
        reference: the reference songs (e.g. held-out corpus songs).
        track: which track of each song to compare (see
            :func:`~popgen.metrics.music.choose_track`).
        max_songs: at most this many songs of each set are used, drawn
            without replacement (cost grows with the square of it).
        seed: seeds the draw; the result is a pure function of the inputs.

    Returns:
        Feature name -> :class:`SetComparison`, metrics first, then histograms.

    Raises:
        ValueError: ``max_songs < 2``.

    >>> songs = [Song(make_notes([60, 60 + k], [0, 1], [1, 1])) for k in range(1, 8)]
    >>> same = compare_sets(songs, songs)["pitch_range"]
    >>> same.overlap_area > 0.8, same.kl_divergence < 0.1
    (True, True)
    """
    if max_songs < 2:
        raise ValueError(f"max_songs must be >= 2, got {max_songs}")
    gen_rng, ref_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    gen = _features(_subsample(generated, max_songs, gen_rng), track)
    ref = _features(_subsample(reference, max_songs, ref_rng), track)
    return {name: _compare(gen[name], ref[name]) for name in gen}


def _subsample(songs: Sequence[Song], limit: int, rng: np.random.Generator) -> list[Song]:
    if len(songs) <= limit:
        return list(songs)
    return [songs[i] for i in np.sort(rng.choice(len(songs), size=limit, replace=False))]


def _features(songs: list[Song], track: Selection) -> dict[str, NDArray[np.float64]]:
    """Feature name -> ``float64[songs, dims]`` (``dims`` 1 for scalar metrics)."""
    chosen = [choose_track(song, track) for song in songs]
    functions: dict[str, Any] = {**METRICS, **HISTOGRAMS}
    features = {}
    for name, function in functions.items():
        rows = [np.atleast_1d(np.asarray(function(song), dtype=np.float64)) for song in chosen]
        features[name] = np.stack(rows) if rows else np.zeros((0, 1))
    return features


def _compare(gen: NDArray[np.float64], ref: NDArray[np.float64]) -> SetComparison:
    gen = gen[~np.isnan(gen).any(axis=1)]
    ref = ref[~np.isnan(ref).any(axis=1)]
    if len(ref) < 2 or not len(gen):
        return SetComparison(math.nan, math.nan)
    intra = _distances(ref, ref)[np.triu_indices(len(ref), k=1)]
    inter = _distances(gen, ref).ravel()
    p, q = _kde_masses(intra, inter)
    overlap = float(np.minimum(p, q).sum())
    kl = float((p * np.log((p + _KL_EPS) / (q + _KL_EPS))).sum())
    return SetComparison(overlap_area=min(overlap, 1.0), kl_divergence=max(kl, 0.0))


def _distances(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """float64[len(a), len(b)]: Euclidean distances between rows."""
    return np.asarray(np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=-1)))


def _scott(x: NDArray[np.float64]) -> float:
    """Scott's rule bandwidth of a 1-D sample; 0 with fewer than two distinct values."""
    if len(x) < 2 or np.ptp(x) == 0:
        return 0.0
    return float(np.std(x, ddof=1) * len(x) ** -0.2)


def _kde_masses(
    x: NDArray[np.float64], y: NDArray[np.float64], size: int = _GRID
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Gaussian KDEs of two samples as probability masses on one common grid."""
    both = np.concatenate([x, y])
    floor = 1e-6 * max(1.0, float(np.abs(both).max()))  # below this, floating point blurs the grid
    bw_x, bw_y = _scott(x), _scott(y)
    if not bw_x and not bw_y:
        bw_x = bw_y = float(np.ptp(both)) / 10
    bw_x, bw_y = max(bw_x or bw_y, floor), max(bw_y or bw_x, floor)
    lo = float(both.min()) - _REACH * max(bw_x, bw_y)
    step = (float(both.max()) + _REACH * max(bw_x, bw_y) - lo) / (size - 1)
    return _binned_kde(x, lo, step, size, bw_x), _binned_kde(y, lo, step, size, bw_y)


def _binned_kde(
    x: NDArray[np.float64], lo: float, step: float, size: int, bandwidth: float
) -> NDArray[np.float64]:
    """A Gaussian KDE of ``x`` on the grid ``lo + step * arange(size)``, as masses summing to 1."""
    t = (x - lo) / step
    i = np.clip(np.floor(t), 0, size - 2).astype(np.int64)
    frac = np.clip(t - i, 0.0, 1.0)
    counts = np.bincount(i, 1 - frac, minlength=size) + np.bincount(i + 1, frac, minlength=size)
    half = min(size - 1, math.ceil(_REACH * bandwidth / step))
    kernel = np.exp(-0.5 * (np.arange(-half, half + 1) * step / bandwidth) ** 2)
    density = np.convolve(counts, kernel)[half : half + size]
    return np.asarray(density / density.sum(), dtype=np.float64)
