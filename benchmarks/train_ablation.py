"""What each of popgen's LSTM training optimisations is worth, side by side in one run.

Times one Adam step of the same ``popgen.LSTMModel`` (the 3 x 512 model of
issue 6 by default) built four ways, in interleaved rounds:

* ``autodiff scan``: each layer a plain ``jax.lax.scan`` of
  :func:`popgen.models.lstm_cell`, differentiated by JAX (the previous build,
  :func:`popgen.models.recurrence.reference_lstm_layer`);
* ``hand-written backward``: :func:`popgen.models.recurrence.lstm_layer`,
  the first layer fed by the embedding as usual;
* ``+ first-layer table``: as popgen runs without dropout, the first layer
  reading rows of ``embedding @ W_in + b`` (:func:`lstm_table_layer`);
* ``+ table, projection before the loop``: the same with every layer's input
  projection as one product before the loop (popgen's choice on accelerators).

Usage::

    python benchmarks/train_ablation.py --rounds 9
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
import train_speed  # beside this script

import popgen.models.lstm as lstm
from popgen import LSTMModel
from popgen.models.recurrence import reference_lstm_layer


def build(
    args: argparse.Namespace, batch: np.ndarray, layer: Any, table: bool, per_step: bool
) -> Callable[[], Any]:
    """A compiled train step with popgen's layer function and switches set as given."""
    saved = lstm.lstm_layer, LSTMModel._first_layer_from_table, lstm.project_per_step
    lstm.lstm_layer = layer
    LSTMModel._first_layer_from_table = lambda self, positions, deterministic: table  # type: ignore[method-assign]
    lstm.project_per_step = lambda: per_step
    try:
        model = LSTMModel(
            vocab_size=args.vocab,
            embed_dim=args.embed,
            hidden_size=args.hidden,
            num_layers=args.layers,
        )
        run = train_speed.jax_step(model, batch)
        run()  # trace and compile with these switches
        return run
    finally:
        lstm.lstm_layer, LSTMModel._first_layer_from_table, lstm.project_per_step = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    train_speed.add_model_arguments(parser)
    args = parser.parse_args()
    batch = np.random.default_rng(0).integers(0, args.vocab, (args.batch, args.seq + 1))
    batch = batch.astype(np.int32)
    layer = lstm.lstm_layer
    runs = {
        "autodiff scan": build(args, batch, reference_lstm_layer, table=False, per_step=True),
        "hand-written backward": build(args, batch, layer, table=False, per_step=True),
        "+ first-layer table": build(args, batch, layer, table=True, per_step=True),
        "+ table, projection before the loop": build(
            args, batch, layer, table=True, per_step=False
        ),
    }
    print(
        f"model: vocab {args.vocab}, embed {args.embed}, {args.layers} x {args.hidden} LSTM; "
        f"batch {args.batch} x {args.seq}; {args.rounds} rounds of {args.steps} steps; "
        f"jax {jax.__version__} on {jax.devices()[0].platform}"
    )
    tokens = args.batch * args.seq
    measured = train_speed.interleaved_rates(runs, tokens, args.steps, args.rounds)
    base = measured["autodiff scan"][0]
    for name, (rate, _, rounds) in measured.items():
        print(
            f"{name:>36}: {rate:8,.0f} tokens/s (rounds {min(rounds):,.0f}-{max(rounds):,.0f}), "
            f"{rate / base:.2f}x the autodiff scan"
        )


if __name__ == "__main__":
    main()
