"""Sweeps: train a grid of runs, evaluate each, write a report.

>>> from popgen.sweep import SweepConfig
>>> SweepConfig.__module__
'popgen.sweep.grid'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popgen._lazy import load as _load

if TYPE_CHECKING:
    from popgen.sweep.grid import MODEL_FIELDS, SweepConfig, plan, run_sweep
    from popgen.sweep.report import markers, render_results, write_report

#: Where each name lives; modules are imported on first use.
_LAZY = {
    "MODEL_FIELDS": "popgen.sweep.grid",
    "SweepConfig": "popgen.sweep.grid",
    "markers": "popgen.sweep.report",
    "plan": "popgen.sweep.grid",
    "render_results": "popgen.sweep.report",
    "run_sweep": "popgen.sweep.grid",
    "write_report": "popgen.sweep.report",
}


def __getattr__(name: str) -> Any:
    return _load(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "MODEL_FIELDS",
    "SweepConfig",
    "markers",
    "plan",
    "render_results",
    "run_sweep",
    "write_report",
]
