"""``popgen demo``: train a small model on bundled folk songs and write a song."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from popgen.cli.options import positive_int

if TYPE_CHECKING:
    from popgen.cli.options import Subcommands

__all__ = ["add_parser", "run"]


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    """Add the ``demo`` command to ``popgen``'s subcommands.

    >>> from popgen.cli import build_parser
    >>> args = build_parser().parse_args(["demo", "--epochs", "2"])
    >>> args.command, str(args.out), args.epochs, args.seed
    ('demo', 'demo', 2, 0)
    """
    parser = sub.add_parser("demo", help="train a small model on bundled folk songs, write a song")
    parser.add_argument("--out", type=Path, default=Path("demo"), help="output folder")
    parser.add_argument("--epochs", type=positive_int, help="training epochs (default 8)")
    parser.add_argument("--seed", type=int, default=0, help="seed for training and sampling")
    return parser


def run(args: argparse.Namespace) -> None:
    """Run :func:`popgen.demo.run_demo` and print its summary.

    ```text
    $ popgen demo --out demo/
    ```
    """
    import dataclasses

    from popgen.demo import DemoConfig, run_demo

    config = DemoConfig(seed=args.seed)
    train_config = dataclasses.replace(config.train, seed=args.seed)
    if args.epochs:
        train_config = dataclasses.replace(train_config, epochs=args.epochs)
    config = dataclasses.replace(config, train=train_config)
    print(run_demo(args.out, config).summary())
