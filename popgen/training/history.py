"""Training history: the loss curves of a run as a PNG."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

__all__ = ["plot_history"]


def plot_history(history: Sequence[dict[str, Any]], path: str | os.PathLike[str]) -> None:
    """Draw train and validation loss per epoch (nats per token) to a PNG file.

    Args:
        history: ``Run.history``: dicts with ``epoch``, ``train_loss`` and,
            when there was validation, ``valid_loss``.
        path: the PNG file to write.

    >>> import tempfile
    >>> from pathlib import Path
    >>> history = [{"epoch": 1, "train_loss": 3.1, "valid_loss": 2.9},
    ...            {"epoch": 2, "train_loss": 2.4, "valid_loss": 2.7}]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     plot_history(history, f"{tmp}/loss.png")
    ...     Path(tmp, "loss.png").read_bytes()[1:4]
    b'PNG'
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 3.5), dpi=100)
    ax = fig.add_subplot()
    for key, label in (("train_loss", "train"), ("valid_loss", "validation")):
        points = [(h["epoch"], h[key]) for h in history if h.get(key) is not None]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.plot(xs, ys, marker="o", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (nats per token)")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend()
    fig.tight_layout()
    fig.savefig(os.fspath(path), format="png")
