"""What training reads: token windows and batches, the token store, a corpus's usage record.

>>> from popgen.data import make_windows
>>> make_windows.__module__
'popgen.data.windows'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popgen._lazy import load as _load

if TYPE_CHECKING:
    from popgen.data.store import (
        FORMAT,
        FORMAT_VERSION,
        Shard,
        StoreError,
        StoreWindows,
        TokenStore,
        is_store,
        open_store,
        token_dtype,
    )
    from popgen.data.store_build import build_store
    from popgen.data.usage import RunUsage, usage_for, usage_from_counts
    from popgen.data.windows import WindowSource, batches, make_windows, window_spans

#: Where each name lives; modules are imported on first use.
_LAZY = {
    "FORMAT": "popgen.data.store",
    "FORMAT_VERSION": "popgen.data.store",
    "RunUsage": "popgen.data.usage",
    "Shard": "popgen.data.store",
    "StoreError": "popgen.data.store",
    "StoreWindows": "popgen.data.store",
    "TokenStore": "popgen.data.store",
    "WindowSource": "popgen.data.windows",
    "batches": "popgen.data.windows",
    "build_store": "popgen.data.store_build",
    "is_store": "popgen.data.store",
    "make_windows": "popgen.data.windows",
    "open_store": "popgen.data.store",
    "token_dtype": "popgen.data.store",
    "usage_for": "popgen.data.usage",
    "usage_from_counts": "popgen.data.usage",
    "window_spans": "popgen.data.windows",
}


def __getattr__(name: str) -> Any:
    return _load(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "RunUsage",
    "Shard",
    "StoreError",
    "StoreWindows",
    "TokenStore",
    "WindowSource",
    "batches",
    "build_store",
    "is_store",
    "make_windows",
    "open_store",
    "token_dtype",
    "usage_for",
    "usage_from_counts",
    "window_spans",
]
