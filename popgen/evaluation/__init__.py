"""Evaluate a run against real songs (compute), and report it (JSON, table, PNG); steering.

>>> from popgen.evaluation import EvaluationConfig
>>> EvaluationConfig(samples=8).samples
8
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popgen._lazy import load as _load

if TYPE_CHECKING:
    from popgen.evaluation.compute import evaluate, split_reference
    from popgen.evaluation.config import GOAL_METRICS, EvaluationConfig
    from popgen.evaluation.excerpts import (
        SteeringSongs,
        excerpt,
        melody_controls,
        one_line,
        part,
        steering_songs,
    )
    from popgen.evaluation.goals import GOALS, Goal, steering_table
    from popgen.evaluation.report import Evaluation, json_ready
    from popgen.evaluation.steering import GROUP, SteeringReport, evaluate_steering

#: Where each name lives; modules are imported on first use.
_LAZY = {
    "Evaluation": "popgen.evaluation.report",
    "EvaluationConfig": "popgen.evaluation.config",
    "GOAL_METRICS": "popgen.evaluation.config",
    "GOALS": "popgen.evaluation.goals",
    "GROUP": "popgen.evaluation.steering",
    "Goal": "popgen.evaluation.goals",
    "SteeringReport": "popgen.evaluation.steering",
    "SteeringSongs": "popgen.evaluation.excerpts",
    "evaluate": "popgen.evaluation.compute",
    "evaluate_steering": "popgen.evaluation.steering",
    "excerpt": "popgen.evaluation.excerpts",
    "json_ready": "popgen.evaluation.report",
    "melody_controls": "popgen.evaluation.excerpts",
    "one_line": "popgen.evaluation.excerpts",
    "part": "popgen.evaluation.excerpts",
    "split_reference": "popgen.evaluation.compute",
    "steering_songs": "popgen.evaluation.excerpts",
    "steering_table": "popgen.evaluation.goals",
}


def __getattr__(name: str) -> Any:
    return _load(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "Evaluation",
    "EvaluationConfig",
    "GOALS",
    "GOAL_METRICS",
    "GROUP",
    "Goal",
    "SteeringReport",
    "SteeringSongs",
    "evaluate",
    "evaluate_steering",
    "excerpt",
    "json_ready",
    "melody_controls",
    "one_line",
    "part",
    "split_reference",
    "steering_songs",
    "steering_table",
]
