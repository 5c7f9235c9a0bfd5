"""``popgen sweep``: train and evaluate a grid of runs described by a TOML file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from popgen.cli.options import Subcommands

__all__ = ["add_parser", "run"]


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    """Add the ``sweep`` command to ``popgen``'s subcommands.

    >>> from popgen.cli import build_parser
    >>> args = build_parser().parse_args(["sweep", "grid.toml", "--out", "runs/"])
    >>> args.command, str(args.config), args.report_block
    ('sweep', 'grid.toml', 'results')
    """
    parser = sub.add_parser("sweep", help="train and evaluate a grid of runs from a TOML file")
    parser.add_argument("config", type=Path, help="sweep file (see examples/sweep-pop909.toml)")
    parser.add_argument("--out", type=Path, required=True, help="folder of the runs and results")
    parser.add_argument("--report", type=Path, help="also write a Markdown results page")
    parser.add_argument(
        "--report-block",
        default="results",
        help="which generated block of the page to write (default: results)",
    )
    parser.add_argument(
        "--reevaluate",
        action="store_true",
        help="evaluate finished runs again (after changing the [evaluate] settings)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def run(args: argparse.Namespace) -> None:
    """Run the sweep, print each run's held-out likelihood, optionally write the report.

    ```text
    $ popgen sweep examples/sweep-pop909.toml --out sweeps/pop909 --report docs/experiments.md
    ```
    """
    from popgen.sweep.grid import SweepConfig, run_sweep
    from popgen.sweep.report import write_report

    config = SweepConfig.from_toml(args.config)
    results = run_sweep(config, args.out, progress=not args.quiet, reevaluate=args.reevaluate)
    for result in results:
        lik = result["evaluation"]["likelihood"]
        lstm = (lik["lstm"] or {}).get("per_note")
        print(f"{result['name']}: held-out NLL per note {lstm if lstm is None else round(lstm, 3)}")
    print(f"wrote {args.out / 'results.json'}")
    if args.report:
        print(f"wrote {write_report(results, args.report, block=args.report_block)}")
