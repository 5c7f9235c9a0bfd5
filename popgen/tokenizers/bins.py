"""Velocity bins shared by the encodings: velocities 1..127 in equal bins, each as its centre."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["bin_velocities", "velocity_values"]


def bin_velocities(velocities: Any, bins: int) -> NDArray[np.int64]:
    """``int64[n]``: the centre of the bin each velocity falls in (``bins`` equal bins of 1..127).

    Where bins are narrower than two velocities (``bins`` > 64) and the
    rounded centre falls outside its bin, the bin's member nearest the centre
    is used, so that a bin's value always maps to itself.

    >>> bin_velocities([1, 64, 127], 8).tolist()
    [8, 56, 120]
    """
    v = np.clip(np.asarray(velocities, dtype=np.int64), 1, 127)
    out: NDArray[np.int64] = _velocity_table(bins)[v]
    return out


@lru_cache(maxsize=16)
def _velocity_table(bins: int) -> NDArray[np.int64]:
    """``int64[128]``: the value of velocity ``v``'s bin, at index ``v`` (index 0 unused)."""
    v = np.arange(128)
    b = np.minimum(np.maximum(v - 1, 0) * bins // 127, bins - 1)
    centre = np.round(1 + (b + 0.5) * 127 / bins - 0.5).astype(np.int64)
    lo = np.searchsorted(b[1:], b, side="left") + 1  # each bin's smallest member
    hi = np.searchsorted(b[1:], b, side="right")  # ... and largest
    table: NDArray[np.int64] = np.clip(centre, lo, hi)
    table.flags.writeable = False
    return table


def velocity_values(bins: int) -> NDArray[np.int64]:
    """The distinct velocities binning leaves: each bin's centre, ascending.

    >>> velocity_values(8).tolist()
    [8, 24, 40, 56, 72, 88, 104, 120]
    """
    out: NDArray[np.int64] = np.unique(_velocity_table(bins)[1:])
    return out
