"""Steering figures on POP909: ``popgen.evaluation.steering`` on chosen held-out song folders.

``popgen evaluate RUN --reference SONGS --steer`` measures the songs the run
never trained on; this script holds out a fixed range of POP909's folders
instead (701-800 by default), so that runs trained on 001-700 compare on
the same songs, and prints the same table.

    python benchmarks/steering.py --run runs/pop --data ../shared/data/pop909 \
        --held-out 701-800 --strategy 'temperature=0.9,chord_tones=1.5' --json steering.json
"""

from __future__ import annotations

import argparse
from pathlib import Path

from popgen import Corpus, load_run
from popgen.evaluation.steering import evaluate_steering


def main() -> None:
    """Read the songs as the run's training songs were, measure, print, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--data", default="../shared/data/pop909")
    parser.add_argument("--held-out", default="701-800", help="song folders, FIRST-LAST")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--strategy", default=None, help="default: the run's recipe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    run = load_run(args.run)
    songs = Corpus.from_paths([args.data], run.usage.reading, workers=2).songs
    first, last = (int(x) for x in args.held_out.split("-"))
    held = [s for s in songs if first <= int(Path(s.source).parent.name) <= last]
    report = evaluate_steering(
        run, songs, held, bars=args.bars, strategy=args.strategy, seed=args.seed
    )
    print(report.table())
    if args.json:
        report.write_json(args.json)


if __name__ == "__main__":
    main()
