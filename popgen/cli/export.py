"""``popgen export``: write a run as one safetensors model file to share or ship."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from popgen.cli.options import RUN_HELP

if TYPE_CHECKING:
    from popgen.cli.options import Subcommands

__all__ = ["add_parser", "run"]


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    """Add the ``export`` command to ``popgen``'s subcommands.

    >>> from popgen.cli import build_parser
    >>> args = build_parser().parse_args(["export", "runs/pop", "--out", "pop.safetensors"])
    >>> args.command, str(args.out), args.dtype
    ('export', 'pop.safetensors', 'float16')
    """
    parser = sub.add_parser(
        "export",
        help="write a run as one safetensors model file (parameters and description)",
    )
    parser.add_argument("run", type=Path, help=RUN_HELP)
    parser.add_argument("--out", type=Path, required=True, help="model file to write")
    parser.add_argument(
        "--dtype",
        # popgen.runs.model_file.STORAGE_DTYPES, without importing JAX
        choices=("float16", "float32"),
        default="float16",
        help="how to store the parameters: float16 halves the size (default), float32 is exact",
    )
    card = parser.add_argument_group("the model's card ('popgen models' shows it)")
    card.add_argument("--name", help="the model's name (default: the output file's name)")
    card.add_argument("--description", default="", help="one line about the model")
    card.add_argument("--generates", help="what it writes (default: its parts or tracks)")
    card.add_argument("--data", default="", help="the songs it was trained on")
    card.add_argument("--licence", default="", help="the licence of those songs")
    return parser


def run(args: argparse.Namespace) -> None:
    """Load the run, write the model file, print what was written.

    ```text
    $ popgen export runs/pop --out pop.safetensors --description "pop melodies"
    ```
    """
    from popgen.runs.load import load_run
    from popgen.runs.model_file import export_run

    given = {
        "name": args.name,
        "description": args.description,
        "generates": args.generates,
        "data": args.data,
        "licence": args.licence,
    }
    card = {key: value for key, value in given.items() if value is not None}
    path = export_run(load_run(args.run), args.out, dtype=args.dtype, card=card)
    size = path.stat().st_size
    print(f"wrote {path}: {size / 2**20:.2f} MB, parameters as {args.dtype}")
