"""Neural network models: the interface every model implements, the registry, the LSTM.

Names are imported on first use, so that ``popgen.models.lstm_config`` (read
by the command line) loads no JAX.

>>> from popgen.models import build_model, list_models
>>> list_models()
['lstm']
>>> build_model("lstm", vocab_size=10, hidden_size=16).hidden_size
16
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popgen._lazy import load as _load

if TYPE_CHECKING:
    from popgen.models.base import AbstractFlaxModel, Carry, Params, SequenceModel, StepFn
    from popgen.models.lstm import LSTMModel, lstm_cell, lstm_update, make_step
    from popgen.models.lstm_config import LSTMConfig
    from popgen.models.registry import (
        MODELS,
        build_model,
        list_models,
        model_class,
        model_from_dict,
        model_to_dict,
        register_model,
    )

_LAZY = {
    "AbstractFlaxModel": "popgen.models.base",
    "Carry": "popgen.models.base",
    "Params": "popgen.models.base",
    "SequenceModel": "popgen.models.base",
    "StepFn": "popgen.models.base",
    "LSTMConfig": "popgen.models.lstm_config",
    "LSTMModel": "popgen.models.lstm",
    "lstm_cell": "popgen.models.lstm",
    "lstm_update": "popgen.models.lstm",
    "make_step": "popgen.models.lstm",
    "MODELS": "popgen.models.registry",
    "build_model": "popgen.models.registry",
    "list_models": "popgen.models.registry",
    "model_class": "popgen.models.registry",
    "model_from_dict": "popgen.models.registry",
    "model_to_dict": "popgen.models.registry",
    "register_model": "popgen.models.registry",
}


def __getattr__(name: str) -> Any:
    return _load(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "MODELS",
    "AbstractFlaxModel",
    "Carry",
    "LSTMConfig",
    "LSTMModel",
    "Params",
    "SequenceModel",
    "StepFn",
    "build_model",
    "list_models",
    "lstm_cell",
    "lstm_update",
    "make_step",
    "model_class",
    "model_from_dict",
    "model_to_dict",
    "register_model",
]
