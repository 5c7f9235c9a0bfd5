"""Ablation: the same pop model with each input taken away, same data and budget.

Trains ``popgen train`` runs on POP909 songs 001-700 that differ only in what
the model reads besides the token: no step features; every group
(:data:`popgen.tokenizers.pop_features.FEATURE_GROUPS`) with ``SECTION``
tokens; and every group but one (``--only`` picks variants). Then measures
each run's held-out negative log-likelihood on songs 701-800, read as the
runs read their training songs (the same tracks, key, chords and sections):
like with like. Per note, so that runs with and without ``SECTION`` tokens
compare (a run with them also pays for predicting them).

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


def variants() -> dict[str, list[str]]:
    """Each variant's extra ``popgen train`` flags."""
    from popgen.tokenizers.pop_features import FEATURE_GROUPS

    every = ["--tokenizer-option", "sections=True", "--step-features"]
    out = {"tokens only": [], "all inputs": every}
    for group in FEATURE_GROUPS:
        kept = tuple(g for g in FEATURE_GROUPS if g != group)
        out[f"all but {group}"] = [*every, "--tokenizer-option", f"features={kept!r}"]
    out["all but sections"] = ["--step-features"]  # no SECTION tokens: no section to follow
    return out


def train(out: Path, tokenizer: str, steps: int, extra: list[str]) -> float:
    """Train one run; its wall time in seconds."""
    flags = [
        "--tokenizer", tokenizer, "--transpose-to", "C",
        "--seq-len", "256", "--batch-size", "16", "--epochs", "3", "--max-steps", str(steps),
        "--lr-schedule", "cosine", "--warmup-steps", "50",
        "--hidden-size", "256", "--num-layers", "2", "--embed-dim", "64", "--dropout", "0.1",
        "--valid-fraction", "0.05", "--quiet", "--seed", "0", *extra,
    ]  # fmt: skip
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
    parser.add_argument("--only", action="append", help="a variant's name; repeatable")
    args = parser.parse_args()
    results = {}
    for name, extra in variants().items():
        if args.only and name not in args.only:
            continue
        folder = args.out / name.replace(" ", "-")
        if not (folder / "popgen.json").exists():
            seconds = train(folder, args.tokenizer, args.steps, extra)
        else:  # trained by an earlier call: measure it again
            seconds = float("nan")
        results[name] = {**held_out_nll(folder), "train_seconds": seconds}
        print(name, json.dumps(results[name]), flush=True)
    base = results.get("all inputs")
    print(f"\n{args.tokenizer}, {args.steps} steps each, held-out songs 701-800")
    print("| model | NLL per token | NLL per note | vs all inputs | training s |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        change = f"{100 * (r['per_note'] / base['per_note'] - 1):+.1f} %" if base else "-"
        print(
            f"| {name} | {r['per_token']:.4f} | {r['per_note']:.4f} | {change} "
            f"| {r['train_seconds']:.0f} |"
        )


if __name__ == "__main__":
    main()
