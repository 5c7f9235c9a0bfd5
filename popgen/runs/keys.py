"""Refuse a run description with settings this popgen does not know, naming who wrote it.

A run directory's ``popgen.json`` or a model file's header written by a newer
popgen can hold settings this version has never heard of (a new training
option, a new encoding option). Building the run from it would fail deep
inside a constructor, or worse, silently ignore a setting that changes what
the model means. :func:`check_known_keys` looks at every section first and
raises one :class:`popgen.RunError` that names the unknown settings and the
popgen version that wrote the file.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from popgen.errors import PopgenError, RunError
from popgen.versions import this_version

__all__ = ["check_known_keys", "this_version"]

#: The top-level keys of a run description (``popgen.json``, a model file's header).
TOP_LEVEL = frozenset(
    {
        "format",
        "version",
        "popgen_version",
        "model",
        "tokenizer",
        "train",
        "history",
        "state",
        "usage",
        "checkpoints",
        "storage_dtype",
        "card",
    }
)


def _release(text: str) -> tuple[int, ...] | None:
    match = re.match(r"(\d+(?:\.\d+)*)", text)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


def _fields(cls: type[Any]) -> set[str]:
    return {field.name for field in dataclasses.fields(cls)}


def _sections(meta: Mapping[str, Any]) -> Iterable[tuple[str, Any, set[str]]]:
    """(what, the section, the keys this popgen knows) for each section that is a dict.

    The training state is progress, not settings: its unknown keys are ignored
    (:meth:`popgen.runs.train_state.TrainState.from_dict`).
    """
    from popgen.corpus.options import CorpusOptions
    from popgen.data.usage import RunUsage
    from popgen.runs.train_config import TrainConfig

    yield "the description", meta, set(TOP_LEVEL)
    yield "the training config", meta.get("train"), _fields(TrainConfig)
    usage = meta.get("usage")
    yield "the usage record", usage, _fields(RunUsage)
    if isinstance(usage, Mapping):
        yield "the reading options", usage.get("reading"), _fields(CorpusOptions)
    model = meta.get("model")
    if isinstance(model, Mapping):
        from popgen.models.registry import model_class

        try:
            config_class = model_class(str(model.get("class"))).config_class
        except (PopgenError, KeyError, AttributeError):  # unknown classes are reported later
            pass
        else:
            yield f"model {model.get('class')!r}", model.get("config"), _fields(config_class)
    tokenizer = meta.get("tokenizer")
    if isinstance(tokenizer, Mapping):
        from popgen.tokenizers.base import tokenizer_class

        try:
            klass = tokenizer_class(str(tokenizer.get("encoding")))
        except (PopgenError, KeyError):
            pass
        else:
            known = _fields(klass.config_class)
            yield f"encoding {tokenizer.get('encoding')!r}", tokenizer.get("config"), known


def check_known_keys(meta: Mapping[str, Any], source: str) -> None:
    """Raise if any section of a run description holds a key this popgen does not know.

    Args:
        meta: the description (``popgen.json``'s content, or a model file's header).
        source: the file, named in the error.

    Raises:
        RunError: names the unknown keys, the version that wrote the file and
            this one; when the writer is newer, it says to upgrade.

    >>> check_known_keys({"format": "popgen.run", "train": {"seq_len": 32}}, "run/popgen.json")
    >>> check_known_keys({"popgen_version": "99.0", "train": {"seq_len": 32, "mixup": 0.2}},
    ...                  "run/popgen.json")
    Traceback (most recent call last):
    popgen.errors.RunError: run/popgen.json: the training config has settings this popgen does
    not know (mixup); written by popgen 99.0, newer than this ...; upgrade popgen
    """
    for what, section, known in _sections(meta):
        if not isinstance(section, Mapping):
            continue
        unknown = sorted(str(key) for key in section if key not in known)
        if not unknown:
            continue
        writer, mine = str(meta.get("popgen_version", "unknown")), this_version()
        newer = _release(writer)
        ours = _release(mine)
        if newer is not None and (ours is None or newer > ours):
            advice = f"written by popgen {writer}, newer than this {mine}; upgrade popgen"
        else:
            advice = f"written by popgen {writer}, this is popgen {mine}; is the file damaged?"
        raise RunError(
            f"{source}: {what} has settings this popgen does not know "
            f"({', '.join(unknown)}); {advice}"
        )
