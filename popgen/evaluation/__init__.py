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
    from popgen.evaluation.report import Evaluation, json_ready
    from popgen.evaluation.steering import (
        GROUP,
        SteeringReport,
        evaluate_steering,
        excerpt,
        melody_controls,
        part,
    )

#: Where each name lives; modules are imported on first use.
_LAZY = {
    "Evaluation": "popgen.evaluation.report",
    "EvaluationConfig": "popgen.evaluation.config",
    "GOAL_METRICS": "popgen.evaluation.config",
    "GROUP": "popgen.evaluation.steering",
    "SteeringReport": "popgen.evaluation.steering",
    "evaluate": "popgen.evaluation.compute",
    "evaluate_steering": "popgen.evaluation.steering",
    "excerpt": "popgen.evaluation.steering",
    "json_ready": "popgen.evaluation.report",
    "melody_controls": "popgen.evaluation.steering",
    "part": "popgen.evaluation.steering",
    "split_reference": "popgen.evaluation.compute",
}


def __getattr__(name: str) -> Any:
    return _load(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "Evaluation",
    "EvaluationConfig",
    "GOAL_METRICS",
    "GROUP",
    "SteeringReport",
    "evaluate",
    "evaluate_steering",
    "excerpt",
    "json_ready",
    "melody_controls",
    "part",
    "split_reference",
]
