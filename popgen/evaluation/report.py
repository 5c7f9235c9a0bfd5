"""Evaluation: a run's measures against its corpus, and their report (JSON, a table, a PNG)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.evaluation.config import GOAL_METRICS, EvaluationConfig
from popgen.metrics.copying import CopyReport
from popgen.metrics.likelihood import (
    Likelihood,
)
from popgen.metrics.sets import SetComparison, inside_share
from popgen.metrics.two_sample import TwoSampleTest
from popgen.music.song import Song

__all__ = [
    "Evaluation",
    "json_ready",
]


@dataclass
class Evaluation:
    """What :func:`evaluate` measured; ``to_dict()`` for JSON, ``table()`` for people.

    Made by :func:`evaluate`; its properties summarise it:

    ```python
    report = evaluate(run, songs)
    print(report.table())                # the terminal report
    report.goal_share                    # 0.88: share of songs inside every goal range
    report.nll_gain                      # 0.24: NLL 24 % below the n-gram's
    report.write_json("evaluation.json")
    report.write_png("evaluation.png")
    ```

    Attributes:
        config: the settings used.
        ranges: each metric's 5th-95th percentile over the reference songs.
        generated: each metric's value per generated song.
        held_out: each metric's value per held-out real song.
        comparisons: overlap area and KL divergence, generated against reference.
        lstm: held-out likelihood under the run (``None`` without held-out songs).
        ngram: the same under the n-gram baseline fitted on the training songs.
        copying: ``"generated"`` and ``"held_out"`` copying reports.
        two_sample: the classifier two-sample test, generated against held-out
            songs (``None`` with too few of either).
        meters: the most common bar of the ``"generated"`` and ``"reference"`` songs.
        parts: median notes per bar of each part (track role, else name) of the
            ``"generated"`` and ``"held_out"`` songs
            (:func:`popgen.metrics.rhythm.notes_per_bar_by_role`).
        songs: the generated songs.
    """

    config: EvaluationConfig
    ranges: dict[str, tuple[float, float]]
    generated: dict[str, NDArray[np.float64]]
    held_out: dict[str, NDArray[np.float64]]
    reference: dict[str, NDArray[np.float64]]
    comparisons: dict[str, SetComparison]
    lstm: Likelihood | None
    ngram: Likelihood | None
    copying: dict[str, CopyReport | None]
    two_sample: TwoSampleTest | None = None
    meters: dict[str, tuple[int, int]] = field(default_factory=dict)
    parts: dict[str, dict[str, float]] = field(default_factory=dict)
    songs: list[Song] = field(default_factory=list, repr=False)

    @property
    def unmeasured(self) -> list[str]:
        """Metrics with no value on any generated song but values on the reference songs.

        ```python
        report.unmeasured  # ['chord_tone_share']: the songs were generated without chords
        ```
        """
        return [
            name
            for name, values in self.generated.items()
            if not _finite_values(values).size and _finite_values(self.reference[name]).size
        ]

    @property
    def inside(self) -> dict[str, float]:
        """Per metric, the share of generated songs inside the reference range.

        ```python
        report.inside["longest_pitch_run"]  # 0.97: 97 % of the songs lie in the range
        ```
        """
        return inside_share(self.generated, self.ranges)

    @property
    def goal_share(self) -> float:
        """Share of generated songs inside the reference range of every goal metric.

        The goal metrics are :data:`GOAL_METRICS`; a song counts when all four
        of its values lie in their ranges.

        ```python
        report.goal_share  # 0.88
        ```
        """
        ok = np.ones(len(self.songs), dtype=bool)
        for name in GOAL_METRICS:
            low, high = self.ranges[name]
            values = self.generated[name]
            ok &= (values >= low) & (values <= high)
        return float(ok.mean()) if len(ok) else math.nan

    @property
    def nll_gain(self) -> float:
        """How much lower the run's held-out NLL per token is than the n-gram's (0.2 = 20 %).

        ```python
        report.nll_gain  # 0.24; negative when the n-gram predicts better
        ```
        """
        if self.lstm is None or self.ngram is None:
            return math.nan
        return 1.0 - self.lstm.per_token / self.ngram.per_token

    def to_dict(self) -> dict[str, Any]:
        """Every figure as JSON-ready values (no song data).

        ```python
        report.to_dict()["likelihood"]["lstm"]["per_note"]  # 5.27 nats per note
        ```
        """
        inside = self.inside
        unmeasured = self.unmeasured
        return {
            "config": asdict(self.config),
            "metrics": {
                name: {
                    "generated_median": _median(values),
                    "held_out_median": _median(self.held_out.get(name)),
                    "reference_range": list(self.ranges[name]),
                    "inside": None if name in unmeasured else inside[name],
                    "overlap_area": self.comparisons[name].overlap_area
                    if name in self.comparisons
                    else None,
                    "kl_divergence": self.comparisons[name].kl_divergence
                    if name in self.comparisons
                    else None,
                }
                for name, values in self.generated.items()
            },
            "histograms": {
                name: asdict(c) for name, c in self.comparisons.items() if name not in self.ranges
            },
            "goal_share": self.goal_share,
            "likelihood": {
                "lstm": self.lstm.to_dict() if self.lstm else None,
                "ngram": self.ngram.to_dict() if self.ngram else None,
                "ngram_order": self.config.ngram_order,
                "gain": self.nll_gain,
            },
            "copying": {name: _copy_dict(report) for name, report in self.copying.items()},
            "two_sample": self.two_sample.to_dict() if self.two_sample else None,
            "meters": {name: list(meter) for name, meter in self.meters.items()},
            "notes_per_bar_by_part": self.parts,
            "unmeasured": self.unmeasured,
        }

    def write_json(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` to ``path`` (non-finite numbers become ``null``).

        ```python
        report.write_json("evaluation.json")
        ```
        """
        Path(path).write_text(json.dumps(json_ready(self.to_dict()), indent=1))

    def table(self) -> str:
        """A plain-text report: metrics beside reference ranges, likelihood, copying.

        ```python
        print(report.table())  # what `popgen evaluate` prints
        ```
        """
        inside = self.inside
        unmeasured = self.unmeasured
        lines = [
            f"{'metric':<26}{'generated':>10}{'held-out':>10}{'reference 5-95%':>20}"
            f"{'inside':>8}{'overlap':>9}{'KL':>7}"
        ]
        for name, values in self.generated.items():
            if name in unmeasured:
                continue
            low, high = self.ranges[name]
            comp = self.comparisons.get(name)
            lines.append(
                f"{name:<26}{_median(values):>10.3g}{_median(self.held_out.get(name)):>10.3g}"
                f"{f'{low:.3g} .. {high:.3g}':>20}{inside[name]:>8.0%}"
                f"{comp.overlap_area if comp else math.nan:>9.2f}"
                f"{comp.kl_divergence if comp else math.nan:>7.2f}"
            )
        if unmeasured:
            lines.append(f"not measured on the generated songs: {', '.join(unmeasured)}")
        lines.append(
            f"samples inside the reference range of {', '.join(GOAL_METRICS)}: "
            f"{self.goal_share:.0%}"
        )
        if self.two_sample is not None:
            t = self.two_sample
            lines.append(
                f"two-sample test (classifier on the song metrics, generated against "
                f"held-out): accuracy {t.accuracy:.2f} (95 % {t.low:.2f}..{t.high:.2f}; "
                "0.50 = indistinguishable)"
            )
        if self.meters:
            lines.append("bars: " + ", ".join(f"{k} {n}/{d}" for k, (n, d) in self.meters.items()))
        for which, parts in self.parts.items():
            if parts:
                figures = ", ".join(f"{part} {value:.3g}" for part, value in parts.items())
                lines.append(f"notes per bar by part, {which.replace('_', '-')}: {figures}")
        if self.lstm is not None and self.ngram is not None:
            lines.append(
                f"held-out NLL per token: run {self.lstm.per_token:.3f}, "
                f"{self.config.ngram_order}-gram {self.ngram.per_token:.3f} "
                f"(the run's is {abs(self.nll_gain):.1%} "
                f"{'lower' if self.nll_gain >= 0 else 'higher'}); "
                f"per note: run {self.lstm.per_note:.3f}, "
                f"{self.config.ngram_order}-gram {self.ngram.per_note:.3f}"
            )
        for name, report in self.copying.items():
            if report is None:
                continue
            longest = report.longest
            where = f" from {longest.song!r}" if longest is not None else ""
            lines.append(
                f"copying, {name.replace('_', '-')} songs: {report.copied_share:.1%} of "
                f"{self.config.copy_n}-grams in the training songs, longest copied passage "
                f"{longest.length if longest else 0} notes{where}"
            )
        return "\n".join(lines)

    def write_png(self, path: str | os.PathLike[str]) -> None:
        """Histograms of each metric: generated songs against the reference songs.

        The dashed lines mark the reference range (5th and 95th percentile).

        ```python
        report.write_png("evaluation.png")
        ```
        """
        from matplotlib.figure import Figure  # no pyplot: the user's backend is left alone

        names = [n for n in self.generated if n not in self.unmeasured]
        cols = 4
        rows = math.ceil(len(names) / cols)
        fig = Figure(figsize=(3.2 * cols, 2.4 * rows))
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, name in zip(axes.flat, names, strict=False):
            ref = _finite_values(self.reference[name])
            gen = _finite_values(self.generated[name])
            both = np.concatenate([ref, gen])
            bins = np.histogram_bin_edges(both, bins=20) if len(both) else 10
            ax.hist(ref, bins=bins, density=True, alpha=0.5, label="reference")
            ax.hist(gen, bins=bins, density=True, alpha=0.5, label="generated")
            for edge in self.ranges[name]:
                ax.axvline(edge, color="k", lw=0.6, ls="--")
            ax.set_title(name, fontsize=8)
            ax.tick_params(labelsize=6)
        for ax in list(axes.flat)[len(names) :]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=6)
        fig.tight_layout()
        fig.savefig(path, dpi=90)


def _copy_dict(report: CopyReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    longest = report.longest
    return {
        "copied_share": report.copied_share,
        "longest_notes": longest.length if longest else 0,
        "longest_from": longest.song if longest else None,
    }


def json_ready(value: Any) -> Any:
    """``value`` with non-finite floats replaced by ``None`` (JSON has no NaN).

    >>> json_ready({"a": [1.0, float("nan")]})
    {'a': [1.0, None]}

    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value


def _median(values: NDArray[np.float64] | None) -> float:
    finite = _finite_values(values) if values is not None else np.array([])
    return float(np.median(finite)) if len(finite) else math.nan


def _finite_values(values: NDArray[np.float64]) -> NDArray[np.float64]:
    values = np.asarray(values, dtype=np.float64)
    return values[np.isfinite(values)]
