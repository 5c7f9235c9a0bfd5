"""The goals of a steering evaluation (issue 28), each judged, and one table of several runs.

:func:`popgen.evaluation.steering.evaluate_steering` measures each
:class:`Goal`'s measure on the real excerpts (the reference, and the held-out
songs the run never saw) and on the songs a run wrote for them, and
:func:`goal_row` judges it. The kinds of goal:

* ``"inside"``: at least ``threshold`` of the generated songs inside the
  reference's 5th-95th percentile range;
* ``"near"``: the generated median within ``threshold`` (a share) of the
  held-out median;
* ``"at_least"`` / ``"at_most"``: the generated median at least / at most
  ``threshold``;
* ``"real_median"``: the generated median at least the held-out median;
* ``"median_inside"``: the generated median inside the reference's range;
* ``None``: measured, no goal.

:func:`steering_table` prints one row per goal and a column per run, the
real figures first, as ``popgen evaluate --steer`` and
``benchmarks/steering.py`` show them.

>>> GOALS[0].name, GOALS[0].wanted
('pitch_range', '>= 70 % inside')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from popgen.evaluation.steering import SteeringReport

__all__ = ["GOALS", "Goal", "goal_row", "steering_table"]


@dataclass(frozen=True)
class Goal:
    """One row of the goals table: a measure, what is asked of it, and how it reads.

    Attributes:
        name: the measure's key in the figures' ``"goals"``.
        label: what the table calls it.
        kind: how it is judged (see the module's docstring); ``None``: not judged.
        threshold: the kind's number (a share, or a bound on the median).

    >>> Goal("bar_repetition", "bars that repeat", "near", 0.25).wanted
    'median within 25 % of real'
    """

    name: str
    label: str
    kind: str | None = None
    threshold: float = math.nan

    @property
    def wanted(self) -> str:
        """What the goal asks, in a few words.

        >>> Goal("two_sample", "classifier", "at_most", 0.75).wanted
        '<= 0.75'
        """
        return {
            "inside": f">= {self.threshold:.0%} inside".replace("%", " %"),
            "near": f"median within {self.threshold:.0%} of real".replace("%", " %"),
            "at_least": f"median >= {self.threshold:g}",
            "at_most": f"<= {self.threshold:g}",
            "real_median": "median >= real median",
            "median_inside": "median inside real 5-95 %",
        }.get(self.kind or "", "(measured)")


#: The goals of issue 28, in the order the table lists them.
GOALS = (
    Goal("pitch_range", "melody pitch range (semitones)", "inside", 0.70),
    Goal("mean_interval", "melody mean interval (semitones)", "inside", 0.70),
    Goal("leap_share", "melody leaps over a fifth (share)", "inside", 0.70),
    Goal("notes_per_bar", "melody notes per bar", "inside", 0.70),
    Goal("median_duration", "melody median duration (beats)", "inside", 0.70),
    Goal("bar_repetition", "melody bars repeating an earlier bar", "near", 0.25),
    Goal("accompaniment_rhythm_repetition", "accomp. bars reusing a rhythm", "near", 0.25),
    Goal("chord_tone_share", "melody time on the given chord tones", "at_least", 0.65),
    Goal("accompaniment_notes_per_bar", "accompaniment notes per bar"),
    Goal("notes_per_onset", "melody polyphony (notes per onset)"),
    Goal("harmonisation", "harmonisation of an arranged melody", "real_median"),
    Goal("two_sample", "classifier on melodies (0.5 = cannot)", "at_most", 0.75),
    Goal("section_repetition", "form: repeated sections' equal bars", "median_inside"),
)


def goal_row(
    goal: Goal,
    reference: Sequence[float],
    held_out: Sequence[float],
    generated: Sequence[float],
) -> dict[str, Any]:
    """One goal's figures: medians, the reference range, the share inside, whether it is met.

    Args:
        goal: the goal.
        reference: the measure on the reference excerpts (``nan`` ignored): the range.
        held_out: on the held-out excerpts: the real median.
        generated: on the songs written for the held-out excerpts.

    Returns:
        ``{"real", "generated", "range", "inside", "met", "songs"}``: the
        held-out and generated medians, the reference's 5th and 95th
        percentiles, the share of generated songs inside them, ``True`` /
        ``False`` (``None`` without a goal or figures), and the number of
        generated songs with a value.

    >>> row = goal_row(GOALS[0], [10, 12, 14, 16, 20], [12, 15], [13, 30])
    >>> row["real"], row["generated"], row["inside"], row["met"]
    (13.5, 21.5, 0.5, False)
    """
    ref, real, gen = (_finite(v) for v in (reference, held_out, generated))
    low, high = (float(x) for x in np.percentile(ref, [5, 95])) if len(ref) else (math.nan,) * 2
    median = float(np.median(gen)) if len(gen) else math.nan
    real_median = float(np.median(real)) if len(real) else math.nan
    inside = float(((gen >= low) & (gen <= high)).mean()) if len(gen) and len(ref) else math.nan
    met: bool | None = None
    if goal.kind == "inside":
        met = inside >= goal.threshold
    elif goal.kind == "near":
        met = abs(median - real_median) <= goal.threshold * abs(real_median)
    elif goal.kind == "at_least":
        met = median >= goal.threshold
    elif goal.kind == "at_most":
        met = median <= goal.threshold
    elif goal.kind == "real_median":
        met = median >= real_median
    elif goal.kind == "median_inside":
        met = low <= median <= high
    if math.isnan(median):
        met = None
    return {
        "real": real_median,
        "generated": median,
        "range": [low, high],
        "inside": inside,
        "met": met,
        "songs": len(gen),
    }


def steering_table(reports: Mapping[str, SteeringReport]) -> str:
    """The goals of several runs side by side: a row per measure, a column per run.

    The real column holds the held-out median and the reference's 5-95 %
    range; each run's cell its median, the share inside the range where the
    goal asks for it, and ``ok`` or ``NO``. The figures the report measured
    before the goals (:meth:`SteeringReport.extra_rows`) follow.

    ```python
    print(steering_table({"shipped": report, "retrained": other}))
    ```
    """
    first = next(iter(reports.values())).figures
    head = [
        "measure",
        "goal",
        f"real ({first['songs']} held-out)",
        *reports,
    ]
    rows = [head]
    for goal in GOALS:
        real = first["goals"][goal.name]
        low, high = real["range"]
        shown = _num(real["real"]) + ("" if math.isnan(low) else f" [{_num(low)}-{_num(high)}]")
        cells = [_cell(goal, r.figures["goals"][goal.name]) for r in reports.values()]
        rows.append([goal.label, goal.wanted, shown, *cells])
    extras = [r.extra_rows() for r in reports.values()]
    for i, (label, _) in enumerate(extras[0]):
        rows.append([label, "", "", *(e[i][1] for e in extras)])
    widths = [max(len(r[c]) for r in rows) for c in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = [
        f"{first['songs']} held-out excerpts of {first['bars']} bars "
        f"({first['form_songs']} of {first['form_bars']} bars with a repeated section for the "
        f"form), {first['reference_songs']} reference excerpts; real: held-out median "
        "[reference 5-95 %]; each run: median (share inside), ok / NO",
        *(
            f"{name}: {r.figures['strategy']}, {r.figures['seconds']:.0f} s"
            for name, r in reports.items()
        ),
    ]
    return "\n".join([*notes, *lines])


def _cell(goal: Goal, row: Mapping[str, Any]) -> str:
    text = _num(row["generated"])
    if goal.kind == "inside" and not math.isnan(row["inside"]):
        text += f" ({row['inside']:.0%})"
    if row["met"] is not None:
        text += " ok" if row["met"] else " NO"
    return text


def _num(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def _finite(values: Sequence[float]) -> np.ndarray[Any, np.dtype[np.float64]]:
    array = np.asarray(values, dtype=np.float64)
    return array[np.isfinite(array)]
