"""Griffe extension for the docs build: read popgen's reST-flavoured docstrings as Markdown.

popgen's docstrings hold doctests (``>>> ...`` and their output) in plain
text. Rendered as Markdown, an output such as ``[[True, False]]`` would read
as a link; this wraps each doctest run in a fenced ``pycon`` block first. It
also documents class attributes from their trailing comment (popgen's
config dataclasses describe each field as ``name: int = 3  # what it is``),
and turns Sphinx roles (``:class:`Song```, ``:meth:`~Corpus.split```) into
inline code, which Markdown would otherwise show as written.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_FENCE = "```"
_COMMENT = re.compile(r"\s#\s*(\S.*)$")
_ROLE = re.compile(r":(?:class|meth|func|data|attr|mod|exc|obj):`~?([^`]+)`")


def plain_roles(text: str) -> str:
    """``:class:`~popgen.Song``` -> ```Song```, ``:meth:`Corpus.split``` -> ```Corpus.split```."""
    return _ROLE.sub(lambda m: f"`{m.group(1)}`", text)


def fence_doctests(text: str) -> str:
    """Wrap each run of doctest lines (prompt, continuation, output) in a fence."""
    out: list[str] = []
    indent: str | None = None
    for line in text.splitlines():
        stripped = line.lstrip()
        if indent is None:
            if stripped.startswith(">>>"):
                indent = line[: len(line) - len(stripped)]
                out.append(f"{indent}{_FENCE}pycon")
            out.append(line)
            continue
        if stripped == "":
            out.append(f"{indent}{_FENCE}")
            out.append(line)
            indent = None
        else:
            out.append(line)
    if indent is not None:
        out.append(f"{indent}{_FENCE}")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fence the doctests of every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite ``obj``'s docstring once, when the object is created."""
        if obj.docstring is None:
            return
        text = plain_roles(obj.docstring.value)
        if ">>>" in text:
            text = fence_doctests(text)
        obj.docstring.value = text

    def on_attribute_instance(self, *, attr: griffe.Attribute, **kwargs: Any) -> None:
        """Give a class attribute without a docstring its trailing comment as one."""
        if attr.docstring is not None or not attr.parent or not attr.parent.is_class:
            return
        lines = attr.lines
        match = _COMMENT.search(lines[0]) if len(lines) == 1 else None
        if match and not match.group(1).startswith(("type:", "noqa", "pragma")):
            attr.docstring = griffe.Docstring(match.group(1), parent=attr)
