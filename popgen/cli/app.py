"""The ``popgen`` parser and entry point: one subcommand per module of :mod:`popgen.cli`.

Bad input (a missing path, a corrupt file, an unknown name, impossible
settings) prints one line, ``popgen: error: ...``, and exits with status 1.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, cast

from popgen.errors import PopgenError

if TYPE_CHECKING:
    from popgen.cli.options import Subcommands

__all__ = ["COMMANDS", "build_parser", "main"]

#: The subcommands in the order ``popgen --help`` lists them. Each is a module
#: ``popgen.cli.<name>`` with ``add_parser(sub)`` and ``run(args)``, importing
#: JAX only inside ``run``; a new command is one module and one name here.
COMMANDS = (
    "demo",
    "corpus",
    "tokenize",
    "train",
    "generate",
    "arrange",
    "evaluate",
    "sweep",
    "models",
    "export",
    "studio",
)


class _Command(Protocol):
    """What a command module provides."""

    def add_parser(self, sub: Subcommands) -> argparse.ArgumentParser: ...

    def run(self, args: argparse.Namespace) -> None: ...


def _command(name: str) -> _Command:
    return cast(_Command, importlib.import_module(f"popgen.cli.{name}"))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand.

    >>> args = build_parser().parse_args(["generate", "run/", "--out", "song.mid"])
    >>> args.command, args.tokens, args.batch_size
    ('generate', None, 1)

    """
    parser = argparse.ArgumentParser(
        prog="popgen", description="Train LSTM music models and generate songs."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        _command(name).add_parser(sub)
    return parser


#: The commands that compile a model; they keep compiled programs between runs.
_COMPILING = frozenset({"demo", "train", "generate", "arrange", "evaluate", "sweep", "studio"})
#: Programs that compile faster than this are not worth a cache entry.
_MIN_CACHED_COMPILE_S = 0.2


def _use_compile_cache() -> None:
    """Point JAX's persistent compilation cache at popgen's folder, unless set or turned off."""
    import jax

    from popgen.corpus.cache import compile_cache_dir

    folder = compile_cache_dir()
    if folder is None or getattr(jax.config, "jax_compilation_cache_dir", None):
        return  # off, or the user's own
    jax.config.update("jax_compilation_cache_dir", str(folder))  # type: ignore[no-untyped-call]
    jax.config.update(  # type: ignore[no-untyped-call]
        "jax_persistent_cache_min_compile_time_secs", _MIN_CACHED_COMPILE_S
    )


def _show_warning(message: Warning | str, *args: object, **kwargs: object) -> None:
    print(f"popgen: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Bad input prints one ``popgen: error: ...`` line on stderr and returns 1.
    The caller's warning filters are left as they were.

    >>> main(["corpus", "no/such/folder"])
    1

    """
    args = build_parser().parse_args(argv)
    with warnings.catch_warnings():  # restores the filters and showwarning on the way out
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.simplefilter("always", UserWarning)
        warnings.showwarning = _show_warning
        try:
            if args.command in _COMPILING:
                _use_compile_cache()
            _command(args.command).run(args)
        except (PopgenError, ValueError, OSError) as exc:
            print(f"popgen: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("popgen: interrupted", file=sys.stderr)
            return 130
    return 0
