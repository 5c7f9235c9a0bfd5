"""Command-line flags made from a frozen dataclass's fields, and the given values back.

A config class is the one description of its settings: each field becomes a
flag (``seq_len`` -> ``--seq-len``) whose type comes from the annotation, whose
help is the comment written after the field, and whose help ends with the
dataclass default. The flag's own default is ``None``, so :func:`given_values`
returns only what the user typed and ``Config(**given)`` lets every other field
take the dataclass default: the command line cannot disagree with the Python API.

>>> import argparse
>>> from popgen.runs.train_config import TrainConfig
>>> parser = argparse.ArgumentParser()
>>> add_config_flags(parser, TrainConfig, aliases={"learning_rate": ["--lr"]})
>>> args = parser.parse_args(["--seq-len", "64", "--lr", "1e-3"])
>>> given_values(args, TrainConfig)
{'seq_len': 64, 'learning_rate': 0.001}
>>> TrainConfig(**given_values(args, TrainConfig)).epochs == TrainConfig().epochs
True
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Collection, Mapping, Sequence
from typing import Any

__all__ = ["add_config_flags", "field_comments", "given_values"]

#: A field line, ``name: type = default``, with its comment if it has one.
_FIELD = re.compile(r"^[ \t]+(?P<name>\w+)[ \t]*:[^#]*?(?:#[ \t]*(?P<comment>.*?))?[ \t]*$")
#: A line holding only a comment.
_COMMENT = re.compile(r"^[ \t]*#[ \t]?(?P<text>.*?)[ \t]*$")
_SIMPLE_TYPES = (int, float, str)


def field_comments(config: type[Any]) -> dict[str, str]:
    """The comment of each field in ``config``'s source; ``{}`` when the source is unavailable.

    A field's comment is the one after it on its line or else the comment lines
    just above it.

    >>> from popgen.models.lstm_config import LSTMConfig
    >>> field_comments(LSTMConfig)["embed_dim"]
    "size of each token's learned vector"
    """
    try:
        lines = inspect.getsource(config).splitlines()
    except (OSError, TypeError):
        return {}
    names = {f.name for f in dataclasses.fields(config)}
    found: dict[str, str] = {}
    above: list[str] = []
    for line in lines:
        if comment := _COMMENT.match(line):
            above.append(comment["text"])
            continue
        field = _FIELD.match(line)
        if field and field["name"] in names and field["name"] not in found:
            text = field["comment"] or " ".join(above)
            if text:
                found[field["name"]] = text
        above = []
    return found


def add_config_flags(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    config: type[Any],
    *,
    skip: Collection[str] = (),
    aliases: Mapping[str, Sequence[str]] | None = None,
    choices: Mapping[str, Sequence[Any]] | None = None,
    notes: Mapping[str, str] | None = None,
) -> None:
    """Add one flag per field of the dataclass ``config`` to ``parser`` (or an argument group).

    Args:
        parser: where the flags go.
        config: a dataclass; every field not in ``skip`` becomes ``--field-name``.
        skip: fields that get no flag (set by the command itself).
        aliases: more option strings of a field, e.g. ``{"learning_rate": ["--lr"]}``.
        choices: the values a field may take, e.g. ``{"optimizer": OPTIMIZERS}``.
        notes: more help text for a field, after its comment (a value the
            command knows, such as the default recipe).

    Supported annotations: ``int``, ``float``, ``str``, ``bool`` (``--x``/``--no-x``),
    ``Literal[...]``, ``tuple[T, ...]`` (one or more values), each optionally ``| None``.

    Raises:
        TypeError: a field of another type; skip it and add its flag by hand.

    >>> from popgen.models.lstm_config import LSTMConfig
    >>> parser = argparse.ArgumentParser()
    >>> add_config_flags(parser, LSTMConfig, skip=["vocab_size"])
    >>> parser.parse_args(["--dropout", "0.1"])
    Namespace(embed_dim=None, hidden_size=None, num_layers=None, dropout=0.1, feature_dim=None,
              copy_heads=None)
    """
    hints = typing.get_type_hints(config)
    comments = field_comments(config)
    for field in dataclasses.fields(config):
        if field.name in skip:
            continue
        options = [f"--{field.name.replace('_', '-')}", *(aliases or {}).get(field.name, ())]
        kwargs = _argument_kwargs(field.name, hints[field.name])
        if choices and field.name in choices:
            kwargs["choices"] = list(choices[field.name])
        parts = [comments.get(field.name, ""), (notes or {}).get(field.name, "")]
        if field.default is not dataclasses.MISSING:
            parts.append(f"(default: {_show(field.default)})")
        elif field.default_factory is not dataclasses.MISSING:
            parts.append(f"(default: {_show(field.default_factory())})")
        else:
            kwargs["required"] = True
        help_text = " ".join(part for part in parts if part).replace("%", "%%")
        parser.add_argument(*options, dest=field.name, default=None, help=help_text, **kwargs)


def given_values(
    args: argparse.Namespace, config: type[Any], *, skip: Collection[str] = ()
) -> dict[str, Any]:
    """The fields of ``config`` that were given on the command line, by field name.

    Flags left out are absent, so ``config(**given)`` takes the dataclass defaults
    for them; values of ``tuple`` fields come back as tuples.

    >>> from popgen.models.lstm_config import LSTMConfig
    >>> args = argparse.Namespace(embed_dim=None, hidden_size=64, num_layers=None, dropout=0.0)
    >>> given_values(args, LSTMConfig, skip=["vocab_size"])
    {'hidden_size': 64, 'dropout': 0.0}
    """
    given: dict[str, Any] = {}
    for field in dataclasses.fields(config):
        value = getattr(args, field.name, None)
        if field.name not in skip and value is not None:
            given[field.name] = tuple(value) if isinstance(value, list) else value
    return given


def _argument_kwargs(name: str, hint: Any) -> dict[str, Any]:
    """``add_argument`` keywords for a field annotated ``hint``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _argument_kwargs(name, rest[0])
    elif hint is bool:
        return {"action": argparse.BooleanOptionalAction}
    elif hint in _SIMPLE_TYPES:
        return {"type": hint}
    elif origin is typing.Literal and len({type(a) for a in args}) == 1:
        return {"type": type(args[0]), "choices": list(args)}
    elif origin is tuple and len(args) == 2 and args[1] is Ellipsis and args[0] in _SIMPLE_TYPES:
        return {"type": args[0], "nargs": "+"}
    raise TypeError(
        f"field {name!r}: no command-line flag for type {hint!r}; skip it and add its flag by hand"
    )


def _show(value: Any) -> str:
    """A default as help shows it: tuples as space-separated values, others by ``str``."""
    if isinstance(value, tuple):
        return " ".join(str(v) for v in value) or "none"
    return str(value)
