"""The whole training loop's speed: ``popgen.train`` on synthetic songs, tokens per second.

``train_speed.py`` times one optimizer step; this times what a user runs,
``popgen.train``, with its batching, device transfers, loss bookkeeping,
progress reporting and validation, on the experiments' recipe model
(2 x 512 LSTM, dropout 0.2, windows of 32 tokens, batch 32). The first
epoch includes compilation, so the figure is the mean of the later epochs'
``tokens_per_s`` as the run's history records it; generation is timed the
same way through ``Sampler.generate_ids`` after a first, compiling call.
Uses only API that popgen 0.1 already had, so ``compare_trees.py`` can run
it against earlier versions.

Usage::

    python benchmarks/train_loop_speed.py [--epochs 4] [--songs 64]
    python benchmarks/compare_trees.py --base HEAD~1 -- benchmarks/train_loop_speed.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4, help="the first one compiles")
    parser.add_argument("--songs", type=int, default=64, help="synthetic songs of 200 notes")
    parser.add_argument("--tokens", type=int, default=400, help="tokens generated per song")
    args = parser.parse_args()

    import jax

    import popgen
    from popgen.music.song import Song, make_notes

    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    songs = [
        Song(
            make_notes(
                rng.integers(55, 80, 200),
                np.arange(200) * 0.5,
                rng.choice([0.25, 0.5, 1.0], 200),
                rng.integers(40, 110, 200),
            ),
            source=f"song{i}",
        )
        for i in range(args.songs)
    ]
    tokenizer = popgen.get_tokenizer("note").fit(songs)
    model = popgen.LSTMModel(
        vocab_size=tokenizer.vocab_size, embed_dim=128, hidden_size=512, num_layers=2, dropout=0.2
    )
    config = popgen.TrainConfig(
        seq_len=32,
        batch_size=32,
        epochs=args.epochs,
        learning_rate=2e-3,
        lr_schedule="constant",
        patience=None,
        valid_fraction=0.1,
    )
    device = f"{jax.devices()[0].device_kind}, {os.cpu_count()} cores, {platform.machine()}"
    print(f"device: {device}; jax {jax.__version__}; popgen from {popgen.__file__}")
    t0 = time.perf_counter()
    run = popgen.train(model, tokenizer, songs, config, progress=False)
    wall = time.perf_counter() - t0
    rates = [h["tokens_per_s"] for h in run.history[1:]]
    print(
        f"train: {statistics.mean(rates):,.0f} tokens/s (epochs 2-{args.epochs}, "
        f"{', '.join(f'{r:,.0f}' for r in rates)}); {wall:.1f} s for {args.epochs} epochs "
        f"with compilation and validation"
    )

    sampler = popgen.Sampler.from_run(run)
    t0 = time.perf_counter()
    sampler.generate_ids(args.tokens, batch_size=1, seed=0)
    first = time.perf_counter() - t0
    times = []
    for seed in range(1, 4):
        t0 = time.perf_counter()
        sampler.generate_ids(args.tokens, batch_size=1, seed=seed)
        times.append(time.perf_counter() - t0)
    print(
        f"generate: {statistics.median(times) / args.tokens * 1e3:.3f} ms/token "
        f"(batch 1, {args.tokens} tokens, median of 3; first call {first:.2f} s)"
    )


if __name__ == "__main__":
    main()
