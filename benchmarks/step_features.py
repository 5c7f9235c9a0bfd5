"""Ablation: the same pop model with and without step features, same data and budget.

Trains two ``popgen train`` runs on POP909 songs 001-700 that differ only in
``--step-features`` (position in the bar, part, chord now, lookback one and
two bars, bar in the phrase), then measures each run's held-out negative
log-likelihood on songs 701-800, read as the runs read their training songs
(the same tracks, key and chords): like with like.

Usage: ``python benchmarks/step_features.py [--steps 400] [--tokenizer pop] [--out runs/ablation]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pop909"
TRAIN = [f"{DATA}/[0-6]*/*.mid", f"{DATA}/700"]
HELD_OUT = [str(DATA / f"{n:03d}") for n in range(701, 801)]


def train(out: Path, tokenizer: str, steps: int, features: bool) -> float:
    """Train one run; its wall time in seconds."""
    flags = [
        "--tokenizer", tokenizer, "--transpose-to", "C",
        "--seq-len", "256", "--batch-size", "16", "--epochs", "3", "--max-steps", str(steps),
        "--lr-schedule", "cosine", "--warmup-steps", "50",
        "--hidden-size", "256", "--num-layers", "2", "--embed-dim", "64", "--dropout", "0.1",
        "--valid-fraction", "0.05", "--quiet", "--seed", "0",
    ]  # fmt: skip
    if features:
        flags.append("--step-features")
    command = [sys.executable, "-m", "popgen.cli", "train", *TRAIN, *flags, "--out", str(out)]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    return time.perf_counter() - start


def held_out_nll(run_dir: Path) -> dict[str, float]:
    """Per-token and per-note NLL of songs 701-800 under the run, read as it read its songs."""
    import popgen
    from popgen.metrics.likelihood import run_likelihood

    run = popgen.load_run(run_dir)
    reading = run.usage.reading or popgen.CorpusOptions()
    songs = list(popgen.Corpus.from_paths(HELD_OUT, reading))
    lik = run_likelihood(run, songs)
    return {"per_token": lik.per_token, "per_note": lik.per_note, "songs": len(songs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--tokenizer", default="pop", choices=["pop", "lead"])
    parser.add_argument("--out", type=Path, default=Path("runs/ablation"))
    args = parser.parse_args()
    results = {}
    for name, features in (("tokens only", False), ("tokens + step features", True)):
        folder = args.out / ("features" if features else "plain")
        seconds = train(folder, args.tokenizer, args.steps, features)
        results[name] = {**held_out_nll(folder), "train_seconds": seconds}
        print(name, json.dumps(results[name]), flush=True)
    plain, featured = results["tokens only"], results["tokens + step features"]
    print(f"\n{args.tokenizer}, {args.steps} steps each, held-out songs 701-800")
    print("| model | NLL per token | NLL per note | training s |")
    print("|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['per_token']:.4f} | {r['per_note']:.4f} | {r['train_seconds']:.0f} |")
    change = featured["per_note"] / plain["per_note"] - 1
    print(f"\nstep features change held-out NLL per note by {100 * change:+.1f} %")


if __name__ == "__main__":
    main()
