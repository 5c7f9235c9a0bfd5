"""The metrics of one song by name: each registers itself where it is defined.

A scalar metric is a function ``(song) -> float`` decorated with
:func:`metric`; a histogram feature, ``(song) -> float64[bins]``, with
:func:`histogram`. The name is the function's. :data:`METRICS` and
:data:`HISTOGRAMS` hold them by module (pitch, rhythm and texture, harmony,
structure, then any other) and in each module in the order they are defined,
whatever order the modules are imported in; that is the one list of metric
names.

>>> from popgen.metrics.music import METRICS
>>> list(METRICS)[:2]
['pitch_class_entropy', 'pitch_class_entropy_1bar']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from popgen.music.song import Song

__all__ = ["HISTOGRAMS", "METRICS", "histogram", "metric"]

#: Scalar metrics by name, in the order they were registered.
METRICS: dict[str, Callable[[Song], float]] = {}
#: Histogram features by name; each returns a probability vector (or zeros).
HISTOGRAMS: dict[str, Callable[[Song], NDArray[np.float64]]] = {}

#: The modules of popgen's own metrics, in the order their metrics are listed.
_MODULES = (
    "popgen.metrics.pitch",
    "popgen.metrics.rhythm",
    "popgen.metrics.harmony",
    "popgen.metrics.structure",
)

_Any = TypeVar("_Any", bound=Callable[..., object])
_Metric = TypeVar("_Metric", bound=Callable[["Song"], float])
_Histogram = TypeVar("_Histogram", bound=Callable[["Song"], NDArray[np.float64]])


def metric(fn: _Metric) -> _Metric:
    """Register ``fn`` in :data:`METRICS` under its name, and return it unchanged.

    >>> @metric
    ... def silence(song): return 0.0
    >>> METRICS.pop("silence") is silence
    True
    """
    METRICS[fn.__name__] = fn
    _reorder(METRICS)
    return fn


def histogram(fn: _Histogram) -> _Histogram:
    """Register ``fn`` in :data:`HISTOGRAMS` under its name, and return it unchanged.

    >>> @histogram
    ... def flat(song): return np.ones(1)
    >>> HISTOGRAMS.pop("flat") is flat
    True
    """
    HISTOGRAMS[fn.__name__] = fn
    _reorder(HISTOGRAMS)
    return fn


def _reorder(table: dict[str, _Any]) -> None:
    """Sort ``table`` in place by module (:data:`_MODULES` first) and place of definition."""

    def key(item: tuple[str, _Any]) -> tuple[int, int]:
        fn = item[1]
        module = getattr(fn, "__module__", "")
        rank = _MODULES.index(module) if module in _MODULES else len(_MODULES)
        code = getattr(fn, "__code__", None)
        return rank, code.co_firstlineno if code is not None else 0

    items = sorted(table.items(), key=key)
    table.clear()
    table.update(items)
