"""A small generic registry: names -> objects, with lazy plugins from entry points.

Built-in entries register themselves with a decorator; third-party packages
add entries through an entry-point group (``popgen.tokenizers``,
``popgen.strategies``), which is read only when a name is first looked up and
not found among the registered ones. Plugins that fail to import produce a
warning naming them, and the rest keep working.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from popgen.errors import UnknownNameError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Names mapped to objects of one kind.

    Args:
        kind: what the entries are, used in error messages (``"tokenizer"``).
        group: the entry-point group that plugins register in.

    >>> reg: Registry[int] = Registry("number", group="popgen.examples")
    >>> reg.add("one", 1)
    >>> reg.get("one")
    1

    """

    def __init__(self, kind: str, *, group: str) -> None:
        self.kind = kind
        self.group = group
        self._entries: dict[str, T] = {}
        self._plugins_loaded = False

    def add(self, name: str, obj: T, *, replace: bool = False) -> None:
        """Register ``obj`` as ``name``; an existing name needs ``replace=True``.

        >>> reg: Registry[str] = Registry("colour", group="popgen.examples")
        >>> reg.add("red", "#f00")
        >>> reg.add("red", "#e00")
        Traceback (most recent call last):
        ValueError: colour 'red' is already registered; pass replace=True to overwrite it
        >>> reg.add("red", "#e00", replace=True)
        """
        if not name or not isinstance(name, str):
            raise ValueError(f"a {self.kind} name must be a non-empty string, got {name!r}")
        if name in self._entries and not replace:
            raise ValueError(
                f"{self.kind} {name!r} is already registered; pass replace=True to overwrite it"
            )
        self._entries[name] = obj

    def register(self, name: str, *, replace: bool = False) -> Callable[[T], T]:
        """Decorator form of :meth:`add`; returns the object unchanged.

        >>> reg: Registry[object] = Registry("greeting", group="popgen.examples")
        >>> @reg.register("hello")
        ... def hello() -> str:
        ...     return "hello!"
        >>> reg.get("hello")()
        'hello!'
        """

        def decorate(obj: T) -> T:
            self.add(name, obj, replace=replace)
            return obj

        return decorate

    def get(self, name: str) -> T:
        """The object registered as ``name``, loading plugins if needed.

        Raises:
            UnknownNameError: unknown name (a ``KeyError``); the message lists the
                known ones.

        >>> reg: Registry[int] = Registry("number", group="popgen.examples")
        >>> reg.add("one", 1)
        >>> reg.get("two")
        Traceback (most recent call last):
        popgen.errors.UnknownNameError: unknown number 'two'; known: one

        """
        if name not in self._entries:
            self._load_plugins()
        try:
            return self._entries[name]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise UnknownNameError(f"unknown {self.kind} {name!r}; known: {known}") from None

    def names(self) -> list[str]:
        """Every registered name, plugins included, sorted.

        >>> reg: Registry[int] = Registry("number", group="popgen.examples")
        >>> reg.add("two", 2)
        >>> reg.add("one", 1)
        >>> reg.names()
        ['one', 'two']
        """
        self._load_plugins()
        return sorted(self._entries)

    def reload_plugins(self) -> None:
        """Read the entry-point group again, e.g. after installing a plugin in a running session.

        Names already registered are kept; a plugin that fails to import warns
        again.

        >>> from popgen.tokenizers.base import TOKENIZERS
        >>> TOKENIZERS.reload_plugins()  # after `pip install my-popgen-encoding`
        >>> "note" in TOKENIZERS.names()
        True
        """
        self._plugins_loaded = False
        self._load_plugins()

    @contextmanager
    def scoped(self) -> Iterator[Registry[T]]:
        """A block whose registrations and replacements are undone when it ends.

        For tests and notebooks that register throw-away entries:

        >>> reg: Registry[int] = Registry("number", group="popgen.examples")
        >>> reg.add("one", 1)
        >>> with reg.scoped():
        ...     reg.add("two", 2)
        ...     reg.add("one", 11, replace=True)
        ...     reg.names()
        ['one', 'two']
        >>> reg.names(), reg.get("one")
        (['one'], 1)
        """
        saved, loaded = dict(self._entries), self._plugins_loaded
        try:
            yield self
        finally:
            self._entries.clear()
            self._entries.update(saved)
            self._plugins_loaded = loaded

    def __contains__(self, name: object) -> bool:
        if name not in self._entries:
            self._load_plugins()
        return name in self._entries

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.group):
            if ep.name in self._entries:
                continue
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin must not break the others
                warnings.warn(
                    f"could not load {self.kind} plugin {ep.name!r} ({ep.value}): {exc}",
                    stacklevel=3,
                )
                continue
            self._entries.setdefault(ep.name, obj)
