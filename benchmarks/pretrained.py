"""Shipped models: float16 storage against float32, and a cold ``popgen generate NAME``.

(a) ``precision``: held-out NLL per token of a run directory's float32
    parameters against the same model stored as float16 in a model file, on
    the run's held-out reference songs (read as the run read its training
    songs). The rule for shipping float16: NLL moves by at most 0.5 %.
(b) ``speed``: ``popgen generate MODEL --out a.mid --tokens 300`` in fresh
    processes, side by side with the same model given as a run directory
    (parameters by orbax), each with JAX's compilation cache off, cold (an
    empty cache folder) and warm (the folder the cold run filled); then the
    breakdown in one fresh process: import, load, compile, generate.

    python benchmarks/pretrained.py precision RUN MODEL --reference ../shared/data/pop909
    python benchmarks/pretrained.py speed MODEL [--run RUN] [--repeats 3] [--tokens 300]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BREAKDOWN = r"""
import json, sys, time
t0 = time.perf_counter()
import jax, popgen.runs.run_dir, popgen.sampling
from popgen.sampling import Sampler, parse_strategy
t1 = time.perf_counter()
run = popgen.runs.load.load_run(sys.argv[1])
t2 = time.perf_counter()
sampler = Sampler.from_run(run, parse_strategy(run.usage.strategy, run.tokenizer))
sampler.generate(int(sys.argv[2]), seed=0)
t3 = time.perf_counter()
sampler.generate(int(sys.argv[2]), seed=1)
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "compile": (t3 - t2) - (t4 - t3),
                  "generate": t4 - t3}))
"""


def precision(args: argparse.Namespace) -> None:
    """Held-out NLL per token: float32 run directory against the float16 model file."""
    from popgen.corpus.corpus import Corpus
    from popgen.evaluation.compute import split_reference
    from popgen.metrics.likelihood import encode_songs, run_likelihood
    from popgen.runs.load import load_run

    full = load_run(args.run)
    half = load_run(args.model)
    assert full.usage.reading is not None, "the run records how its songs were read"
    reference = Corpus.from_paths(args.reference, options=full.usage.reading, progress=False)
    _, held_out = split_reference(full, list(reference))
    encoded = encode_songs(full.tokenizer, held_out)
    nll = {}
    for name, run in (("float32", full), ("float16", half)):
        t0 = time.perf_counter()
        nll[name] = run_likelihood(run, encoded).per_token
        print(f"{name}: held-out NLL {nll[name]:.5f} nats/token ({time.perf_counter() - t0:.0f} s)")
    change = (nll["float16"] - nll["float32"]) / nll["float32"]
    print(
        f"{len(held_out)} held-out songs, {encoded.targets:,} tokens; "
        f"float16 moves NLL by {change:+.3%}"
    )


def _wall(command: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(done.stderr)
    return time.perf_counter() - t0


def speed(args: argparse.Namespace) -> None:
    """Fresh-process wall time of ``popgen generate`` and its breakdown."""
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    refs = {"model file": args.model} | ({"run directory": str(args.run)} if args.run else {})
    with tempfile.TemporaryDirectory() as tmp:
        for label, ref in refs.items():
            cache = Path(tmp) / f"cache-{label.replace(' ', '-')}"
            command = [
                sys.executable,
                "-m",
                "popgen",
                "generate",
                ref,
                "--out",
                str(Path(tmp) / "a.mid"),
                "--tokens",
                str(args.tokens),
            ]
            for mode in ("off", "cold", "warm"):
                env = dict(os.environ)
                env["POPGEN_COMPILE_CACHE"] = "off" if mode == "off" else str(cache)
                times = []
                for _ in range(args.repeats):
                    if mode == "cold" and cache.exists():
                        subprocess.run(["rm", "-rf", str(cache)], check=True)
                    times.append(_wall(command, env))
                print(
                    f"{label:14} cache {mode:4}: {statistics.median(times):.2f} s wall "
                    f"(median of {args.repeats}: {', '.join(f'{t:.2f}' for t in times)})"
                )
            parts = json.loads(
                subprocess.run(
                    [sys.executable, "-c", BREAKDOWN, ref, str(args.tokens)],
                    env={**os.environ, "POPGEN_COMPILE_CACHE": "off"},
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            print(
                f"{label:14} breakdown (no cache): "
                + ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("precision")
    p.add_argument("run", type=Path)
    p.add_argument("model")
    p.add_argument("--reference", nargs="+", required=True)
    s = sub.add_parser("speed")
    s.add_argument("model")
    s.add_argument("--run", type=Path)
    s.add_argument("--repeats", type=int, default=3)
    s.add_argument("--tokens", type=int, default=300)
    args = parser.parse_args()
    precision(args) if args.what == "precision" else speed(args)


if __name__ == "__main__":
    main()
