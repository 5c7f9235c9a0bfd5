"""``popgen corpus``: read sources and describe them (which also fills the song cache)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from popgen.cli.options import add_corpus_arguments, add_sources, read_corpus

if TYPE_CHECKING:
    from popgen.cli.options import Subcommands

__all__ = ["add_parser", "run"]


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    """Add the ``corpus`` command to ``popgen``'s subcommands.

    >>> from popgen.cli import build_parser
    >>> args = build_parser().parse_args(["corpus", "songs/", "--keys", "analysis"])
    >>> args.command, args.sources, args.keys
    ('corpus', ['songs/'], 'analysis')
    """
    parser = sub.add_parser("corpus", help="read sources and describe them (fills the cache)")
    add_sources(parser)
    add_corpus_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> None:
    """Print the description of the corpus, skipped files named.

    ```text
    $ popgen corpus music21:essenFolksong/test0 songs/
    ```
    """
    print(read_corpus(args, args.sources).describe(details=True))
