"""The ``popgen`` command: parses arguments and calls the library, nothing more.

One module per subcommand (:mod:`popgen.cli.train`, :mod:`popgen.cli.generate`,
...), each with ``add_parser(sub)`` and ``run(args)``; the arguments several
share are in :mod:`popgen.cli.options`, flags made from config dataclasses in
:mod:`popgen.cli.config_flags`, and the parser and entry point in
:mod:`popgen.cli.app`. Building the parser loads no JAX.

>>> from popgen.cli import build_parser
>>> build_parser().parse_args(["train", "songs/", "--out", "run/"]).command
'train'
"""

from __future__ import annotations

from popgen.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
