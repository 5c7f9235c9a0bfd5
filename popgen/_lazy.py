"""Names of a package imported on first use (PEP 562), for ``popgen`` and ``popgen.models``."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any


def load(package: str, table: Mapping[str, str], namespace: dict[str, Any], name: str) -> Any:
    """Import the module ``table[name]``, cache its ``name`` in ``namespace`` and return it.

    A name that is the module itself (``popgen.metrics`` for ``metrics``, or
    ``popgen.runs.pretrained`` for ``pretrained``) returns the module.

    >>> namespace: dict[str, Any] = {}
    >>> load("popgen", {"Song": "popgen.music.song"}, namespace, "Song").__name__, sorted(namespace)
    ('Song', ['Song'])
    >>> load("popgen", {}, namespace, "nothing")
    Traceback (most recent call last):
    AttributeError: module 'popgen' has no attribute 'nothing'
    """
    module = table.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    imported = importlib.import_module(module)
    value = imported if module.rsplit(".", 1)[-1] == name else getattr(imported, name)
    namespace[name] = value
    return value
