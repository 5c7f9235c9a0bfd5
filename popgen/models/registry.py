"""Model classes by name: the name a run's ``popgen.json`` stores, and plugins.

Built-in: ``lstm`` (:class:`popgen.LSTMModel`). A user's model registers with
``@register_model("name")`` or through the entry-point group ``popgen.models``;
a run saved with it loads wherever that registration has run.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

from popgen.errors import RunError
from popgen.models.base import SequenceModel
from popgen.models.lstm import LSTMModel
from popgen.registry import Registry

__all__ = [
    "MODELS",
    "build_model",
    "list_models",
    "model_class",
    "model_from_dict",
    "model_to_dict",
    "register_model",
]

M = TypeVar("M", bound=type[Any])

#: Every known model class, by name (entry-point group ``popgen.models``).
MODELS: Registry[type[Any]] = Registry("model", group="popgen.models")
MODELS.add("lstm", LSTMModel)

#: Class names written by popgen 0.1's runs, before models had registry names.
_LEGACY_NAMES = {"LSTMModel": "lstm"}


def register_model(name: str, *, replace: bool = False) -> Callable[[M], M]:
    """Class decorator that registers a model class under ``name``.

    The class must implement :class:`popgen.models.SequenceModel`, for
    example by subclassing :class:`popgen.models.AbstractFlaxModel`.

    >>> from popgen.models import LSTMModel
    >>> with MODELS.scoped():
    ...     @register_model("wide-lstm")
    ...     class WideLSTM(LSTMModel):
    ...         pass
    ...     model_class("wide-lstm").model_type
    'wide-lstm'
    """

    def decorate(cls: M) -> M:
        for hook in ("from_config", "init_params", "logits", "init_carry", "make_step"):
            if not callable(getattr(cls, hook, None)):
                raise TypeError(
                    f"model class {cls.__name__} has no {hook}(); implement "
                    f"popgen.models.SequenceModel (e.g. subclass AbstractFlaxModel)"
                )
        if not dataclasses.is_dataclass(getattr(cls, "config_class", None)):
            raise TypeError(f"model class {cls.__name__} needs a dataclass config_class")
        MODELS.add(name, cls, replace=replace)
        cls.model_type = name
        return cls

    return decorate


def model_class(name: str) -> type[Any]:
    """The model class registered as ``name`` (plugins included).

    >>> model_class("lstm").__name__
    'LSTMModel'
    """
    return MODELS.get(_LEGACY_NAMES.get(name, name))


def list_models() -> list[str]:
    """Names of every registered model class, plugins included.

    >>> list_models()
    ['lstm']
    """
    return MODELS.names()


def build_model(name: str, **settings: Any) -> Any:
    """A model of the class registered as ``name``, with these config fields.

    Raises:
        ValueError: a setting the model's config does not have, or a bad value.

    >>> build_model("lstm", vocab_size=10, hidden_size=16).config().hidden_size
    16
    >>> build_model("lstm", vocab_size=10, width=16)
    Traceback (most recent call last):
    ValueError: model 'lstm' has no setting 'width'; its settings are: vocab_size, embed_dim, ...
    """
    cls = model_class(name)
    known = [f.name for f in dataclasses.fields(cls.config_class)]
    for key in settings:
        if key not in known:
            raise ValueError(
                f"model {name!r} has no setting {key!r}; its settings are: {', '.join(known)}"
            )
    try:
        config = cls.config_class(**settings)
    except TypeError as exc:  # a required field is missing
        raise ValueError(f"model {name!r}: {exc}") from None
    return cls.from_config(config)


def model_to_dict(model: SequenceModel) -> dict[str, Any]:
    """The JSON form of a model: its registered name and its config's fields.

    >>> model_to_dict(LSTMModel(vocab_size=10, hidden_size=16, num_layers=1))
    {'class': 'lstm', 'config': {'vocab_size': 10, 'embed_dim': 128, 'hidden_size': 16,
     'num_layers': 1, 'dropout': 0.2, 'feature_dim': 0, 'copy_heads': 0}}
    """
    name = type(model).model_type
    if not name or MODELS.get(name) is not type(model):
        raise ValueError(
            f"{type(model).__name__} is not a registered model class; register it with "
            f"@popgen.models.register_model('name') so that runs can rebuild it"
        )
    return {"class": name, "config": dataclasses.asdict(model.config())}


def model_from_dict(data: Any, *, source: str = "model data") -> Any:
    """Rebuild a model from :func:`model_to_dict`'s form.

    Raises:
        RunError: the class is not registered here, or the config does not fit it;
            the message names ``source``.

    >>> model_from_dict({"class": "lstm", "config": {"vocab_size": 10}}).hidden_size
    512
    >>> model_from_dict({"class": "gru", "config": {}}, source="run/popgen.json")
    Traceback (most recent call last):
    popgen.errors.RunError: run/popgen.json: unknown model 'gru'; known: lstm (a plugin's
    model must be registered before loading)
    """
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise RunError(f"{source}: no model description (expected 'class' and 'config')")
    name = str(data.get("class"))
    try:
        return build_model(name, **data["config"])
    except KeyError:  # UnknownNameError: no class of that name
        raise RunError(
            f"{source}: unknown model {name!r}; known: {', '.join(list_models())} "
            f"(a plugin's model must be registered before loading)"
        ) from None
    except ValueError as exc:
        raise RunError(f"{source}: {exc}") from None
