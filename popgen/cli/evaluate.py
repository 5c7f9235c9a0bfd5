"""``popgen evaluate``: measure a run's songs against real songs."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from popgen.cli.config_flags import add_config_flags, given_values
from popgen.cli.options import RUN_HELP, add_corpus_arguments, positive_int, read_corpus
from popgen.evaluation.config import EvaluationConfig
from popgen.sampling.recipe import DEFAULT_STRATEGY

if TYPE_CHECKING:
    from popgen.cli.options import Subcommands
    from popgen.music.song import Song
    from popgen.runs.run import Run

__all__ = ["add_parser", "run"]


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    """Add the ``evaluate`` command to ``popgen``'s subcommands.

    >>> from popgen.cli import build_parser
    >>> args = build_parser().parse_args(["evaluate", "run/", "--reference", "songs/"])
    >>> args.command, args.reference, args.samples, args.strategy
    ('evaluate', ['songs/'], None, None)
    """
    parser = sub.add_parser("evaluate", help="measure a run's songs against real songs")
    parser.add_argument("run", type=Path, help=RUN_HELP)
    parser.add_argument(
        "--reference",
        nargs="+",
        required=True,
        metavar="SOURCE",
        help="real songs (the run's training songs among them), read as the run's training "
        "songs were unless the reading flags below say otherwise",
    )
    add_corpus_arguments(parser)
    # --samples, --tokens, --seed, --strategy, --ngram-order, --copy-n: EvaluationConfig's fields
    add_config_flags(
        parser,
        EvaluationConfig,
        skip=("track",),
        notes={"strategy": f"(popgen's recipe: '{DEFAULT_STRATEGY}')"},
    )
    parser.add_argument(
        "--track", help="multitrack reference songs: a track index, a track name or 'merge'"
    )
    parser.add_argument(
        "--steer",
        action="store_true",
        help="measure steering instead (pop runs): songs over the held-out songs' chords and "
        "accompaniments for their melodies, against excerpts of the reference "
        "(popgen.evaluation.steering)",
    )
    parser.add_argument(
        "--bars", type=positive_int, default=16, help="--steer: bars per excerpt (default: 16)"
    )
    parser.add_argument(
        "--form-bars",
        type=positive_int,
        default=32,
        help="--steer: bars per excerpt of the form measure, written over its sections "
        "(default: 32)",
    )
    parser.add_argument("--json", type=Path, help="also write every figure as JSON")
    parser.add_argument("--png", type=Path, help="also write metric histograms as PNG")
    return parser


def run(args: argparse.Namespace) -> None:
    """Evaluate the run against the reference songs; print the table, write JSON and PNG.

    ```text
    $ popgen evaluate runs/folk --reference music21:essenFolksong/kinder0 --json eval.json
    ```
    """
    from popgen.evaluation.compute import evaluate
    from popgen.runs.load import load_run

    track: int | str | None = args.track
    if isinstance(track, str) and track.isdigit():
        track = int(track)
    config = EvaluationConfig(**given_values(args, EvaluationConfig, skip=("track",)), track=track)
    run = load_run(args.run)  # a bad run fails before reading the reference
    # the reference is read as the training songs were, unless a flag says otherwise
    reference = read_corpus(args, args.reference, base=run.usage.reading)
    if args.steer:
        _steer(run, list(reference), args)
        return
    report = evaluate(run, list(reference), config)
    print(report.table())
    if args.json:
        report.write_json(args.json)
        print(f"wrote {args.json}")
    if args.png:
        report.write_png(args.png)
        print(f"wrote {args.png}")


def _steer(run: Run, reference: list[Song], args: argparse.Namespace) -> None:
    """``--steer``: :func:`popgen.evaluation.steering.evaluate_steering` on the held-out songs."""
    from popgen.evaluation.compute import split_reference
    from popgen.evaluation.steering import evaluate_steering

    _, held_out = split_reference(run, reference)
    report = evaluate_steering(
        run,
        reference,
        held_out,
        bars=args.bars,
        form_bars=args.form_bars,
        strategy=args.strategy,
        seed=args.seed or 0,
    )
    print(report.table())
    if args.json:
        report.write_json(args.json)
        print(f"wrote {args.json}")
