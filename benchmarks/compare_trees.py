"""Run one benchmark script against two versions of popgen, in alternating rounds.

A refactoring must not cost speed: this exports ``popgen/`` as it was at a
git revision (default ``HEAD~1``) into a temporary folder and runs the same
benchmark command with ``PYTHONPATH`` pointing at that copy and at this
working tree, alternating which goes first in each round so that neither
always meets a warmer machine. Each run's output lines that hold a figure
are printed under its label.

Usage::

    python benchmarks/compare_trees.py --base HEAD~1 --rounds 3 -- \\
        benchmarks/train_speed.py --rounds 3 --no-keras --models popgen
    python benchmarks/compare_trees.py -- benchmarks/train_loop_speed.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def export(revision: str, folder: Path) -> Path:
    """``popgen/`` at ``revision``, unpacked under ``folder``; returns the folder."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "popgen"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def run(tree: Path, command: list[str]) -> str:
    """The command's output with ``popgen`` imported from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    check = "import popgen, sys; sys.stdout.write(popgen.__file__)"
    where = subprocess.run(
        [sys.executable, "-c", check], env=env, capture_output=True, text=True, check=True, cwd=tree
    )
    assert where.stdout.startswith(str(tree)), f"popgen came from {where.stdout}, not {tree}"
    done = subprocess.run(
        [sys.executable, *command], env=env, capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode:
        raise SystemExit(f"{command} failed with popgen from {tree}:\n{done.stderr[-3000:]}")
    return done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="HEAD~1", help="git revision to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- script.py [args]")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the benchmark command after --")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {f"base ({args.base})": export(args.base, Path(tmp)), "this tree": ROOT}
        for round_ in range(args.rounds):
            order = list(trees.items())
            if round_ % 2:
                order.reverse()
            for label, tree in order:
                out = run(tree, command)
                print(f"--- round {round_ + 1}, {label}")
                for line in out.splitlines():
                    if any(ch.isdigit() for ch in line):
                        print(f"    {line}")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
