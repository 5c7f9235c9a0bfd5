"""Checks on settings a person gives: whole numbers and real numbers, bools refused.

``True`` is an ``int`` to Python, so ``isinstance(x, int)`` lets ``top_k=True``
through; these checks refuse it, and say what was expected and what came.

>>> whole_number(8, "batch_size")
8
>>> whole_number(True, "batch_size")
Traceback (most recent call last):
ValueError: batch_size must be a whole number >= 1, got True
"""

from __future__ import annotations

import numbers
from typing import Any

__all__ = ["is_real", "is_whole", "whole_number"]


def is_whole(value: Any) -> bool:
    """Whether ``value`` is an integer (numpy's too) and not a bool.

    >>> is_whole(3), is_whole(3.0), is_whole(False)
    (True, False, False)
    """
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value: Any) -> bool:
    """Whether ``value`` is a real number (int, float, numpy's) and not a bool.

    >>> is_real(0.5), is_real("0.5"), is_real(True)
    (True, False, False)
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def whole_number(
    value: Any,
    name: str,
    *,
    minimum: int = 1,
    maximum: int | None = None,
    error: type[Exception] = ValueError,
) -> int:
    """``value`` as an ``int`` in ``minimum..maximum``, else ``error`` naming ``name``.

    Args:
        value: the setting as given.
        name: how the message names it (``"top_k"``, ``"gallery: columns"``).
        minimum: the smallest value allowed.
        maximum: the largest, or ``None`` for no bound.
        error: the exception type to raise (a ``ValueError`` unless the
            caller has its own, such as the studio's).

    >>> whole_number(5, "candidates", minimum=1, maximum=4)
    Traceback (most recent call last):
    ValueError: candidates must be a whole number in 1..4, got 5
    """
    inside = is_whole(value) and value >= minimum and (maximum is None or value <= maximum)
    if not inside:
        wanted = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise error(f"{name} must be a whole number {wanted}, got {value!r}")
    return int(value)
