"""Run one ``popgen`` command in a fresh process and measure it (shared by the benchmarks).

Peak memory is the largest descendant's maximum resident set size, as
``getrusage(RUSAGE_CHILDREN)`` reports it from a small runner process; the
compile cache is off, so every run pays the same compilation.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass

_RUNNER = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:]).returncode; "
    "print('PEAK', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


@dataclass(frozen=True)
class Measured:
    """What one ``popgen`` process cost and printed."""

    peak_mib: float
    wall_s: float
    stdout: str
    stderr: str


def run_popgen(args: list[str]) -> Measured:
    """Run ``python -m popgen ARGS``; exit with its error output if it fails."""
    env = {**os.environ, "POPGEN_COMPILE_CACHE": "off"}
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, sys.executable, "-m", "popgen", *args],
        capture_output=True,
        text=True,
        env=env,
    )
    wall = time.perf_counter() - start
    if done.returncode:
        raise SystemExit(f"popgen {args[0]} failed:\n{done.stderr[-3000:]}")
    peak_kib = int(re.findall(r"PEAK (\d+)", done.stderr)[-1])
    return Measured(peak_kib / 1024, wall, done.stdout, done.stderr)
