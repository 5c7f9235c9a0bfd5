"""Seconds ``popgen generate`` takes for a chord progression of 200, 800 and 3 200 bars (issue 29).

Each size runs ``popgen generate pop909-songs --chords "C G Am F" --bars N
--seed 0`` in a fresh process (model load, compilation and writing
included) and prints the wall time, the notes written and seconds per bar.
``--tree DIR`` runs another checkout of popgen (e.g. the one before the
change) the same way.

Usage: ``python benchmarks/generate_bars.py [--bars 200 800 3200] [--tree DIR]``
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, nargs="+", default=[200, 800, 3200])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the popgen checkout to run")
    parser.add_argument("--model", default="pop909-songs")
    args = parser.parse_args()
    env = {**os.environ, "PYTHONPATH": str(args.tree)}
    print(f"| bars | seconds | notes | ms a bar |  ({args.tree})")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for bars in args.bars:
            out = Path(tmp, f"{bars}.mid")
            argv = ["generate", args.model, "--chords", "C G Am F", "--bars", str(bars)]
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "popgen", *argv, "--seed", "0", "--out", str(out)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            seconds = time.perf_counter() - started
            notes = re.search(r"\((\d+) notes", done.stdout)
            count = notes[1] if notes else "?"
            print(f"| {bars} | {seconds:.1f} | {count} | {1000 * seconds / bars:.0f} |", flush=True)


if __name__ == "__main__":
    main()
