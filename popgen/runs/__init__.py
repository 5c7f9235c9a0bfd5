"""Runs: a trained model and everything needed to use it again.

The Run value, run directories (orbax), one-file models (safetensors),
pretrained models, and the checks on run descriptions.

>>> from popgen.runs import load_run
>>> load_run.__module__
'popgen.runs.load'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popgen._lazy import load as _load

if TYPE_CHECKING:
    from popgen.runs.keys import check_known_keys, this_version
    from popgen.runs.load import load_run, load_train_state
    from popgen.runs.model_file import (
        MODEL_FILE_VERSION,
        STORAGE_DTYPES,
        export_run,
        generates,
        load_model_file,
        read_model_card,
    )
    from popgen.runs.pretrained import (
        ENTRY_POINT_GROUP,
        PretrainedModel,
        available,
        builtin_folder,
        load,
        load_model,
    )
    from popgen.runs.run import RUN_FORMAT_VERSION, Run, describe_run, run_from_description
    from popgen.runs.run_dir import read_run_meta, save_run
    from popgen.runs.train_config import OPTIMIZERS, SCHEDULES, TrainConfig
    from popgen.runs.train_state import TrainState

#: Where each name lives; modules are imported on first use.
_LAZY = {
    "ENTRY_POINT_GROUP": "popgen.runs.pretrained",
    "MODEL_FILE_VERSION": "popgen.runs.model_file",
    "OPTIMIZERS": "popgen.runs.train_config",
    "PretrainedModel": "popgen.runs.pretrained",
    "RUN_FORMAT_VERSION": "popgen.runs.run",
    "Run": "popgen.runs.run",
    "SCHEDULES": "popgen.runs.train_config",
    "STORAGE_DTYPES": "popgen.runs.model_file",
    "TrainConfig": "popgen.runs.train_config",
    "TrainState": "popgen.runs.train_state",
    "available": "popgen.runs.pretrained",
    "builtin_folder": "popgen.runs.pretrained",
    "check_known_keys": "popgen.runs.keys",
    "describe_run": "popgen.runs.run",
    "export_run": "popgen.runs.model_file",
    "generates": "popgen.runs.model_file",
    "load": "popgen.runs.pretrained",
    "load_model": "popgen.runs.pretrained",
    "load_model_file": "popgen.runs.model_file",
    "load_run": "popgen.runs.load",
    "load_train_state": "popgen.runs.load",
    "read_model_card": "popgen.runs.model_file",
    "read_run_meta": "popgen.runs.run_dir",
    "run_from_description": "popgen.runs.run",
    "save_run": "popgen.runs.run_dir",
    "this_version": "popgen.runs.keys",
}


def __getattr__(name: str) -> Any:
    return _load(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ENTRY_POINT_GROUP",
    "MODEL_FILE_VERSION",
    "OPTIMIZERS",
    "PretrainedModel",
    "RUN_FORMAT_VERSION",
    "Run",
    "SCHEDULES",
    "STORAGE_DTYPES",
    "TrainConfig",
    "TrainState",
    "available",
    "builtin_folder",
    "check_known_keys",
    "describe_run",
    "export_run",
    "generates",
    "load",
    "load_model",
    "load_model_file",
    "load_run",
    "load_train_state",
    "read_model_card",
    "read_run_meta",
    "run_from_description",
    "save_run",
    "this_version",
]
