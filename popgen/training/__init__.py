"""Training: the loop, its config, one step, the state, several processes, the loss history.

>>> from popgen.training import TrainConfig
>>> TrainConfig().epochs > 0
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popgen._lazy import load as _load

if TYPE_CHECKING:
    from popgen.runs.train_config import TrainConfig
    from popgen.runs.train_state import TrainState
    from popgen.training.data import TrainingWindows, training_windows
    from popgen.training.distributed import (
        Cluster,
        cluster_from_env,
        initialize,
        is_main_process,
        local_rows,
        peer_failure,
        process_count,
        process_index,
        put_batch,
        replicate,
        to_host,
    )
    from popgen.training.history import plot_history
    from popgen.training.loop import check_process_count, epoch_batches, train
    from popgen.training.step import make_optimizer, train_step

#: Where each name lives; modules are imported on first use.
_LAZY = {
    "TrainConfig": "popgen.runs.train_config",
    "TrainState": "popgen.runs.train_state",
    "Cluster": "popgen.training.distributed",
    "TrainingWindows": "popgen.training.data",
    "check_process_count": "popgen.training.loop",
    "cluster_from_env": "popgen.training.distributed",
    "epoch_batches": "popgen.training.loop",
    "initialize": "popgen.training.distributed",
    "is_main_process": "popgen.training.distributed",
    "local_rows": "popgen.training.distributed",
    "make_optimizer": "popgen.training.step",
    "peer_failure": "popgen.training.distributed",
    "plot_history": "popgen.training.history",
    "process_count": "popgen.training.distributed",
    "process_index": "popgen.training.distributed",
    "put_batch": "popgen.training.distributed",
    "replicate": "popgen.training.distributed",
    "to_host": "popgen.training.distributed",
    "train": "popgen.training.loop",
    "train_step": "popgen.training.step",
    "training_windows": "popgen.training.data",
}


def __getattr__(name: str) -> Any:
    return _load(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "TrainConfig",
    "TrainState",
    "Cluster",
    "TrainingWindows",
    "check_process_count",
    "cluster_from_env",
    "epoch_batches",
    "initialize",
    "is_main_process",
    "local_rows",
    "make_optimizer",
    "peer_failure",
    "plot_history",
    "process_count",
    "process_index",
    "put_batch",
    "replicate",
    "to_host",
    "train",
    "train_step",
    "training_windows",
]
