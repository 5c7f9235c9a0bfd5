"""TrainConfig: every training setting in one frozen dataclass, saved beside the weights."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OPTIMIZERS", "SCHEDULES", "TrainConfig"]

#: The learning-rate schedules ``lr_schedule`` may name.
SCHEDULES = ("constant", "exponential", "cosine")
#: The optimizers ``optimizer`` may name.
OPTIMIZERS = ("adam", "adamw", "rmsprop")


@dataclass(frozen=True)
class TrainConfig:
    """How to train. Make variants with ``dataclasses.replace(config, epochs=3)``.

    The defaults are the best recipe of docs/experiments.md (POP909 melodies),
    and ``popgen train``'s flags are built from these fields, so the command
    line and ``popgen.train(..., TrainConfig())`` train the same way.

    >>> TrainConfig().seq_len, TrainConfig().lr_schedule, TrainConfig().patience
    (32, 'constant', 3)
    """

    seq_len: int = 32  # tokens the model reads per window; every position is a target
    stride: int | None = None  # tokens between window starts; None = seq_len (no overlap)
    batch_size: int = 32  # windows per step
    epochs: int = 20  # passes over the training windows (patience usually stops sooner)
    max_steps: int | None = None  # stop after this many steps even mid-epoch
    optimizer: str = "adam"  # adam | adamw | rmsprop
    learning_rate: float = 2e-3  # peak learning rate
    lr_schedule: str = "constant"  # constant | exponential | cosine
    lr_decay: float = 0.1  # exponential: the rate falls smoothly to lr * lr_decay at the end
    warmup_steps: int = 0  # linear warm-up steps before the schedule
    weight_decay: float = 0.0  # decoupled weight decay (adamw only)
    clip_norm: float = 1.0  # clip the global gradient norm to this (0 = no clipping)
    valid_fraction: float = 0.1  # share of songs held out for validation (split by song)
    patience: int | None = 3  # stop after this many epochs without a better valid loss
    checkpoint_every: int | None = None  # also checkpoint every N steps (None: each epoch)
    seed: int = 0  # one seed for initialisation, shuffling, dropout and the split

    def __post_init__(self) -> None:
        positive = {"seq_len": self.seq_len, "batch_size": self.batch_size, "epochs": self.epochs}
        for name, value in positive.items():
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        optional: dict[str, int | None] = {
            "stride": self.stride,
            "max_steps": self.max_steps,
            "patience": self.patience,
            "checkpoint_every": self.checkpoint_every,
        }
        for key, opt in optional.items():
            if opt is not None and opt < 1:
                raise ValueError(f"{key} must be >= 1 or None, got {opt}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {SCHEDULES}, got {self.lr_schedule!r}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0 < self.lr_decay <= 1:
            raise ValueError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if not 0 <= self.valid_fraction < 1:
            raise ValueError(f"valid_fraction must be in [0, 1), got {self.valid_fraction}")
        if self.clip_norm < 0 or self.weight_decay < 0 or self.warmup_steps < 0:
            raise ValueError("clip_norm, weight_decay and warmup_steps must be >= 0")

    @property
    def stride_or_default(self) -> int:
        """The stride actually used: ``stride`` or, when unset, ``seq_len``.

        >>> [TrainConfig(seq_len=32, stride=stride).stride_or_default for stride in (None, 8)]
        [32, 8]
        """
        return self.stride if self.stride is not None else self.seq_len
