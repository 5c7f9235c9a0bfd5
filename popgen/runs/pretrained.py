"""Trained models that ship with popgen or with a plugin package, found by name.

The models in the wheel (``popgen/weights/*.safetensors``) and those that
other packages register are model files (:mod:`popgen.runs.model_file`); each
describes itself in its header, so :func:`available` lists them without
reading any weights. A name works wherever a run directory does
(:func:`popgen.load_run`, :meth:`popgen.Sampler.from_run`, ``popgen generate
NAME``, ``popgen train --init-from NAME``, ``popgen evaluate NAME``); a real
directory of that name wins.

A package ships its own models through the entry-point group
``popgen.pretrained``: the entry point's name is the model's name and its
object is the model file's path (a string or :class:`os.PathLike`) or a
function returning it::

    [project.entry-points."popgen.pretrained"]
    my-ballads = "my_package.models:ballads_path"

A plugin that cannot be imported, or whose file is missing or damaged, is a
warning in :func:`available` and an error only when it is loaded by name.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from popgen.errors import RunError
from popgen.runs.run import Run

__all__ = [
    "ENTRY_POINT_GROUP",
    "PretrainedModel",
    "available",
    "builtin_folder",
    "load",
    "load_model",
]

#: The entry-point group third-party packages register models in.
ENTRY_POINT_GROUP = "popgen.pretrained"


def builtin_folder() -> Path:
    """The folder of the models shipped inside popgen.

    >>> builtin_folder().name
    'weights'
    """
    return Path(__file__).parent / "weights"


@dataclass(frozen=True)
class PretrainedModel:
    """One model :func:`available` lists.

    Attributes:
        name: what to pass to :func:`load` (or wherever a run is taken).
        path: its model file.
        source: ``"popgen"`` for the models in the wheel, else the plugin
            package that registered it.
        generates: what it writes, e.g. ``"melody"``.
        encoding: its tokenizer's name.
        parameters: the number of parameters.
        size: bytes on disk.
        licence: the licence of its training data.
        description: one line about it.

    >>> PretrainedModel("tiny", Path("tiny.safetensors"), "popgen", "melody", "note",
    ...                 1000, 2048, "MIT", "a test").size_text
    '2.0 KB'
    """

    name: str
    path: Path
    source: str
    generates: str
    encoding: str
    parameters: int
    size: int
    licence: str
    description: str

    @property
    def size_text(self) -> str:
        """The size on disk for people, in KB or MB (1024-based).

        >>> PretrainedModel("x", Path("x"), "popgen", "", "", 0, 5 * 2**20, "", "").size_text
        '5.0 MB'
        """
        if self.size >= 2**20:
            return f"{self.size / 2**20:.1f} MB"
        return f"{self.size / 2**10:.1f} KB"


def _describe(name: str, path: Path, source: str) -> PretrainedModel:
    from popgen.runs.model_file import read_model_card

    card = read_model_card(path)
    return PretrainedModel(
        name=name,
        path=path,
        source=source,
        generates=str(card.get("generates", "")),
        encoding=str(card["encoding"]),
        parameters=int(card["parameters"]),
        size=int(card["size"]),
        licence=str(card.get("licence", "")),
        description=str(card.get("description", "")),
    )


def _plugin_path(obj: Any) -> Path:
    value = obj() if callable(obj) else obj
    if not isinstance(value, str | os.PathLike):
        raise TypeError(f"expected a model file path, got {type(value).__name__}")
    return Path(value)


def _candidates() -> tuple[dict[str, tuple[Path, str]], dict[str, str]]:
    """Every model name with its file and source; and the broken plugins with why."""
    found: dict[str, tuple[Path, str]] = {}
    folder = builtin_folder()
    if folder.is_dir():
        for file in sorted(folder.glob("*.safetensors")):
            found[file.stem] = (file, "popgen")
    broken: dict[str, str] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        owner = ep.dist.name if ep.dist is not None else ep.value
        if ep.name in found:
            warnings.warn(
                f"pretrained model plugin {ep.name!r} from {owner} is shadowed by "
                f"the model of that name from {found[ep.name][1]}",
                stacklevel=3,
            )
            continue
        try:
            loader: Callable[[], Any] | Any = ep.load()
            path = _plugin_path(loader)
        except Exception as exc:  # a broken plugin must not hide the other models
            broken[ep.name] = f"pretrained model plugin {ep.name!r} ({ep.value}): {exc}"
            continue
        found[ep.name] = (path, owner)
    return found, broken


def available() -> list[PretrainedModel]:
    """The models popgen and the installed plugins ship, sorted by name.

    A plugin that cannot be imported or whose file cannot be read is left out
    with a warning naming it.

    >>> [model.name for model in available() if model.source == "popgen"]
    ['pop909-melody', 'pop909-songs']
    >>> model = next(m for m in available() if m.name == "pop909-melody")
    >>> model.encoding, model.licence, model.size < 8 * 2**20
    ('note', 'MIT', True)
    """
    found, broken = _candidates()
    models = []
    for name, (path, source) in sorted(found.items()):
        try:
            models.append(_describe(name, path, source))
        except RunError as exc:
            broken[name] = f"pretrained model {name!r} from {source}: {exc}"
    for reason in broken.values():
        warnings.warn(f"left out {reason}", stacklevel=2)
    return models


def _known(found: dict[str, tuple[Path, str]]) -> str:
    return ", ".join(sorted(found)) or "none"


def load(name: str) -> Run:
    """The pretrained model ``name`` as a :class:`popgen.Run` (tokenizer, model, parameters).

    Raises:
        RunError: no model of that name (the message lists the known ones),
            or its file is missing or damaged.

    >>> run = load("pop909-melody")
    >>> run.tokenizer.name, run.usage.reading.transpose_to
    ('note', 'C')
    >>> load("pop909-rock")
    Traceback (most recent call last):
    popgen.errors.RunError: no pretrained model 'pop909-rock'; known: pop909-melody, pop909-songs...
    """
    from popgen.runs.model_file import load_model_file

    found, broken = _candidates()
    if name in broken:
        raise RunError(f"cannot load {broken[name]}")
    if name not in found:
        raise RunError(f"no pretrained model {name!r}; known: {_known(found)}")
    return load_model_file(found[name][0])


def load_model(ref: str | os.PathLike[str], *, which: str = "best") -> Run:
    """A run from a model file or a pretrained model's name (:func:`popgen.load_run` defers here).

    Args:
        ref: a model file's path, or a name from :func:`available`.
        which: only ``"best"``: a model file holds one set of parameters.

    Raises:
        RunError: ``ref`` is no directory, no file and no known name (the
            message lists the known names), or cannot be loaded.

    >>> load_model("no-such-run")
    Traceback (most recent call last):
    popgen.errors.RunError: no-such-run: no such run directory, model file or pretrained ...
    """
    from popgen.runs.model_file import load_model_file

    path = Path(ref)
    if path.is_file():
        if which != "best":
            raise RunError(f"{path}: a model file holds one set of parameters, not {which!r} ones")
        return load_model_file(path)
    found, broken = _candidates()
    name = str(ref)
    if name in found or name in broken:
        if which != "best":
            raise RunError(f"{name}: a pretrained model has one set of parameters, not {which!r}")
        return load(name)
    raise RunError(
        f"{name}: no such run directory, model file or pretrained model; known: {_known(found)}"
    )
