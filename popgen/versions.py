"""The version of the popgen running, as recorded in runs, model files and token stores."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["this_version"]


def this_version() -> str:
    """The version of the popgen running (``"unknown"`` from a source tree without metadata).

    >>> isinstance(this_version(), str)
    True
    """
    try:
        return version("popgen")
    except PackageNotFoundError:
        return "unknown"
