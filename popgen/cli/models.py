"""``popgen models``: list the pretrained models (shipped with popgen and from plugins)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from popgen.cli.options import Subcommands
    from popgen.runs.pretrained import PretrainedModel

__all__ = ["add_parser", "format_models", "run"]


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    """Add the ``models`` command to ``popgen``'s subcommands.

    >>> from popgen.cli import build_parser
    >>> build_parser().parse_args(["models"]).command
    'models'
    """
    return sub.add_parser(
        "models", help="list the pretrained models; a name works wherever a run directory does"
    )


def format_models(models: list[PretrainedModel]) -> str:
    """One line per model: name, what it generates, encoding, size, licence; its description below.

    >>> from pathlib import Path
    >>> from popgen.runs.pretrained import PretrainedModel
    >>> print(format_models([PretrainedModel("tiny", Path("t.safetensors"), "popgen", "melody",
    ...                                      "note", 12_345, 4096, "MIT", "a test model")]))
    name  generates  encoding  parameters  size    licence  from
    tiny  melody     note      12.3 k      4.0 KB  MIT      popgen
          a test model
    """
    if not models:
        return "no pretrained models installed"
    rows = [("name", "generates", "encoding", "parameters", "size", "licence", "from")]
    for model in models:
        count = model.parameters
        params = f"{count / 1e6:.2f} M" if count >= 10**6 else f"{count / 1e3:.1f} k"
        rows.append(
            (
                model.name,
                model.generates,
                model.encoding,
                params,
                model.size_text,
                model.licence,
                model.source,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        lines.append(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
        if index and models[index - 1].description:
            lines.append(" " * (widths[0] + 2) + models[index - 1].description)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> None:
    """Print :func:`popgen.runs.pretrained.available` as a table.

    ```text
    $ popgen models
    ```
    """
    from popgen.runs.pretrained import available

    print(format_models(available()))
