"""``popgen studio``: a local web page to generate, see, hear and download songs (``[studio]``)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from popgen.cli.options import Subcommands

__all__ = ["add_parser", "run"]


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    """Add the ``studio`` command to ``popgen``'s subcommands.

    >>> from popgen.cli import build_parser
    >>> args = build_parser().parse_args(["studio", "runs/pop", "--port", "8000"])
    >>> args.command, args.models, args.host, args.port
    ('studio', ['runs/pop'], '127.0.0.1', 8000)
    """
    parser = sub.add_parser(
        "studio",
        help="a local web page: pick a model, generate, see, play and download songs",
        description="Serves a page on this computer (127.0.0.1) with the shipped models and "
        "those given; no share link, no telemetry, no network needed. Files go to a temporary "
        "folder, removed on exit. Needs the studio extra: pip install 'popgen[studio]'.",
    )
    parser.add_argument(
        "models",
        nargs="*",
        metavar="MODEL",
        help="run directories, model files or pretrained names to offer beside the shipped "
        "models; the first is chosen when the page opens",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: 127.0.0.1, this computer only; 0.0.0.0 opens the "
        "page to your network, without a password)",
    )
    parser.add_argument(
        "--port", type=int, help="port to serve on (default: the first free one from 7860)"
    )
    return parser


def run(args: argparse.Namespace) -> None:
    """Serve the page until Ctrl-C or SIGTERM; the temporary folder is removed on the way out.

    ```text
    $ popgen studio runs/pop
    popgen studio: http://127.0.0.1:7860/ (files in /tmp/popgen-studio-x1y2; Ctrl-C to stop)
    ```
    """
    import signal

    from popgen.studio import Studio
    from popgen.studio.app import launch

    if args.port is not None and not 0 < args.port < 65536:
        raise ValueError(f"--port must be in 1..65535, got {args.port}")
    for stop in (signal.SIGINT, signal.SIGTERM):  # both end the serving loop, then clean up
        signal.signal(stop, _interrupt)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"popgen studio: warning: serving on {args.host}: anyone who can reach this "
            "computer can open the page (there is no password)",
            file=sys.stderr,
        )
    studio = Studio(args.models)
    try:
        app = launch(
            studio,
            host=args.host,
            port=args.port,
            model=args.models[0] if args.models else None,
            block=False,
        )
        print(
            f"popgen studio: {app.local_url} (files in {studio.folder}; Ctrl-C to stop)",
            flush=True,
        )
        app.block_thread()
    finally:
        studio.close()


def _interrupt(signum: int, frame: object) -> None:
    """Turn SIGINT or SIGTERM into the KeyboardInterrupt Gradio's serving loop stops on."""
    raise KeyboardInterrupt
