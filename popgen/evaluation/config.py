"""What an evaluation measures and how it samples: EvaluationConfig, and the goal metrics."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "GOAL_METRICS",
    "EvaluationConfig",
]


#: The metrics of the musical goal: a good sample lies inside the reference range of each.
GOAL_METRICS = (
    "longest_pitch_run",
    "distinct_4gram_ratio",
    "pitch_class_entropy",
    "scale_consistency",
)


@dataclass(frozen=True)
class EvaluationConfig:
    """How :func:`evaluate` samples and measures.

    >>> EvaluationConfig(samples=8).ngram_order
    4

    """

    samples: int = 32  # songs to generate
    tokens: int | None = None  # new tokens per song; None: the held-out songs' median length
    seed: int = 0  # sampling seed
    # sampling strategy spec, as for 'generate' ('' samples plainly); None: the run's recipe
    strategy: str | None = None
    ngram_order: int = 4  # order of the Kneser-Ney baseline of the likelihood
    copy_n: int = 8  # length of the (pitch, duration) n-grams of the copying check
    # which track of multitrack reference songs: index, name or "merge"
    # (popgen.metrics.music.Selection; written out so the command line loads no metrics)
    track: int | str | None = None

    def __post_init__(self) -> None:
        for name in ("samples", "tokens", "ngram_order", "copy_n"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
