"""``popgen tokenize``: encode a corpus once into a token store (see :mod:`popgen.data.store`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from popgen.cli.options import add_corpus_arguments, corpus_options, key_value, positive_int

if TYPE_CHECKING:
    from popgen.cli.options import Subcommands

__all__ = ["add_parser", "run"]


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    """Add the ``tokenize`` command to ``popgen``'s subcommands.

    >>> from popgen.cli import build_parser
    >>> args = build_parser().parse_args(["tokenize", "lmd/", "--out", "st/", "--tokenizer", "pop"])
    >>> args.command, args.sources, args.tokenizer, args.part_size
    ('tokenize', ['lmd/'], 'pop', 256)
    """
    parser = sub.add_parser(
        "tokenize",
        help="encode MIDI files once into a token store on disk (train with popgen train STORE)",
    )
    parser.add_argument("sources", nargs="+", help="MIDI or score files, folders, glob patterns")
    parser.add_argument("--out", type=Path, required=True, help="the store's folder")
    parser.add_argument("--tokenizer", default="note", help="encoding name (default: note)")
    parser.add_argument(
        "--tokenizer-option",
        type=key_value,
        action="append",
        metavar="KEY=VALUE",
        help="an option of the encoding's config, the value read as a Python literal; repeatable",
    )
    parser.add_argument(
        "--vocab-from",
        metavar="RUN",
        help="keep this run's tokenizer and vocabulary instead of fitting one (to fine-tune it); "
        "a run directory, model file or pretrained model's name",
    )
    parser.add_argument(
        "--part-size",
        type=positive_int,
        default=256,
        help="files per part, the unit of parallel work and of resuming (default: 256)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_corpus_arguments(parser, cache=False)  # every file is read once, into the store
    return parser


def run(args: argparse.Namespace) -> None:
    """Build (or finish building) the store and describe it.

    ```text
    $ popgen tokenize 'lmd_full/**/*.mid' --out lmd-store --tokenizer pop --transpose-to C
    ```
    """
    from popgen.data.store_build import build_store
    from popgen.tokenizers.base import get_tokenizer

    options = dict(args.tokenizer_option or ())
    if args.vocab_from is not None:
        if options:
            raise ValueError("--tokenizer-option: with --vocab-from the encoding is the run's")
        from popgen.runs.load import load_run

        tokenizer = load_run(args.vocab_from).tokenizer
    else:
        tokenizer = get_tokenizer(args.tokenizer, **options)
    store = build_store(
        args.sources,
        args.out,
        tokenizer,
        options=corpus_options(args),
        fit=args.vocab_from is None,
        part_size=args.part_size,
        workers=args.workers,
        progress=not args.quiet,
    )
    print(f"wrote {args.out}: {store.describe()}")
