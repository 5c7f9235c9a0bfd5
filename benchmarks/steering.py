"""Steering figures on POP909: ``popgen.evaluation.steering`` on chosen held-out song folders.

``popgen evaluate RUN --reference SONGS --steer`` measures the songs the run
never trained on; this script holds out a fixed range of POP909's folders
instead (701-800 by default), so that runs trained on 001-700 compare on
the same songs. Several runs (or one run with several strategies) are
measured on the same excerpts in one process and printed side by side, one
column a run: the goals table of issue 28
(:func:`popgen.evaluation.goals.steering_table`).

    python benchmarks/steering.py --data ../shared/data/pop909 --held-out 701-800 \
        --run pop909-songs --run pop909-songs --run runs/songs-feat \
        --strategy recipe --strategy temperature=1.0,top_p=0.95 \
        --strategy temperature=1.0,top_p=0.95 --json steering.json

``--strategy`` is given once for every run or once per run; ``recipe`` stands
for the run's own recipe (the default). The songs are read as the first
run's training songs were.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from popgen import Corpus, load_run
from popgen.evaluation.goals import steering_table
from popgen.evaluation.steering import SteeringReport, evaluate_steering, steering_songs


def main() -> None:
    """Read the songs, measure each run on the same excerpts, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", action="append", required=True, help="repeat for more runs")
    parser.add_argument("--data", default="../shared/data/pop909")
    parser.add_argument("--held-out", default="701-800", help="song folders, FIRST-LAST")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--form-bars", type=int, default=32)
    parser.add_argument(
        "--strategy",
        action="append",
        help="once for all runs or once per run; 'recipe' (the default): the run's recipe",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    strategies = args.strategy or ["recipe"]
    if len(strategies) == 1:
        strategies = strategies * len(args.run)
    if len(strategies) != len(args.run):
        parser.error(f"{len(strategies)} --strategy for {len(args.run)} --run; give 1 or one each")

    runs = [load_run(path) for path in args.run]
    songs = Corpus.from_paths([args.data], runs[0].usage.reading, workers=2).songs
    first, last = (int(x) for x in args.held_out.split("-"))
    held = [s for s in songs if first <= int(Path(s.source).parent.name) <= last]
    excerpts = steering_songs(songs, held, bars=args.bars, form_bars=args.form_bars)
    reports: dict[str, SteeringReport] = {}
    for path, run, strategy in zip(args.run, runs, strategies, strict=True):
        spec = None if strategy == "recipe" else strategy
        name = f"{Path(path).name} {strategy}"
        if name in reports:  # a shipped name and a run folder of the same name: the path
            name = f"{path} {strategy}"
        reports[name] = evaluate_steering(
            run, songs, held, strategy=spec, seed=args.seed, songs=excerpts
        )
        print(f"measured {name}", flush=True)
    print(steering_table(reports))
    if args.json:
        figures = {name: report.figures for name, report in reports.items()}
        args.json.write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
