"""Training speed: popgen's LSTM train step against the alternatives, same shapes, same run.

Measures tokens per second (positions with a loss) of one optimizer step of
an embedding -> N x LSTM -> logits model, for:

* ``popgen``: :class:`popgen.LSTMModel` (hand-written backward pass, the
  weight gradients as products over all steps), jit-compiled, buffers donated;
* ``flax-rnn``: the stock Flax way, ``nn.RNN(nn.OptimizedLSTMCell)`` layers;
* ``torch``: PyTorch ``nn.LSTM`` (only when torch is installed);
* ``keras-2017``: the 2017 baseline's own Keras model (``keras_baseline.py``
  beside this script; only when keras is installed), which learns one target
  per ``--seq``-step window at its batch of 128, so it is reported in
  targets/s, with popgen's tokens/s divided by it; as the script has it
  (``recurrent_dropout=0.3``) and without ``recurrent_dropout``.

Usage::

    python benchmarks/train_speed.py                    # the 3 x 512 model of issue 6
    python benchmarks/train_speed.py --rounds 9 --no-keras
    python benchmarks/train_speed.py --hidden 256 --layers 2 --embed 128 --vocab 160
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import keras_baseline  # benchmarks/keras_baseline.py, beside this script
import numpy as np
import optax

from popgen import LSTMModel


class FlaxRNN(nn.Module):
    """The same network built from Flax's stock LSTM cell."""

    vocab: int
    embed: int
    hidden: int
    layers: int

    @nn.compact
    def __call__(self, tokens: jax.Array) -> jax.Array:
        x = nn.Embed(self.vocab, self.embed)(tokens)
        for _ in range(self.layers):
            x = nn.RNN(nn.OptimizedLSTMCell(self.hidden))(x)
        return nn.Dense(self.vocab)(x)


def jax_step(model: nn.Module, batch: np.ndarray, dropout: bool = False) -> Callable[[], Any]:
    """One jitted Adam step; with ``dropout``, the model's dropout is on (a new key per step)."""
    params = model.init(jax.random.key(0), jnp.asarray(batch[:, :-1]))
    opt = optax.adam(1e-3)
    state = [params, opt.init(params), jax.random.key(1)]

    def loss_fn(p: Any, b: jax.Array, key: jax.Array) -> jax.Array:
        if dropout:
            logits = model.apply(p, b[:, :-1], deterministic=False, rngs={"dropout": key})
        else:
            logits = model.apply(p, b[:, :-1])
        return optax.softmax_cross_entropy_with_integer_labels(logits, b[:, 1:]).mean()

    def update(p: Any, o: Any, b: jax.Array, key: jax.Array) -> tuple[Any, Any, jax.Array]:
        loss, grads = jax.value_and_grad(loss_fn)(p, b, key)
        updates, o = opt.update(grads, o, p)
        return optax.apply_updates(p, updates), o, loss

    step = jax.jit(update, donate_argnums=(0, 1))
    device_batch = jnp.asarray(batch)

    def run() -> Any:
        state[2], key = jax.random.split(state[2])
        state[0], state[1], loss = step(state[0], state[1], device_batch, key)
        return loss.block_until_ready()

    return run


def torch_step(args: argparse.Namespace, batch: np.ndarray) -> Callable[[], Any] | None:
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        """popgen's network: dropout after the embedding and after every LSTM layer."""

        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Embedding(args.vocab, args.embed)
            self.lstm = torch.nn.LSTM(
                args.embed, args.hidden, args.layers, batch_first=True, dropout=args.dropout
            )
            self.drop = torch.nn.Dropout(args.dropout)
            self.head = torch.nn.Linear(args.hidden, args.vocab)

        def forward(self, x: Any) -> Any:
            if not args.dropout:
                return self.head(self.lstm(self.embed(x))[0])
            return self.head(self.drop(self.lstm(self.drop(self.embed(x)))[0]))

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    b = torch.from_numpy(batch.astype(np.int64))

    def run() -> Any:
        opt.zero_grad()
        logits = net(b[:, :-1])
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, args.vocab), b[:, 1:].reshape(-1)
        )
        loss.backward()
        opt.step()
        return float(loss)

    return run


def interleaved_rates(
    runs: dict[str, Callable[[], Any]], tokens: int, steps: int, rounds: int
) -> dict[str, tuple[float, float, list[float]]]:
    """Each candidate's tokens/s, timed in turns so they share the machine's ups and downs.

    Every candidate's first (compiling) step and one more are not timed; then,
    ``rounds`` times, each candidate runs ``steps`` steps in turn. Returns
    ``{name: (median rate, first step seconds, all round rates)}``.
    """
    first: dict[str, float] = {}
    for name, run in runs.items():
        t0 = time.perf_counter()
        run()  # compile / warm up
        first[name] = time.perf_counter() - t0
        run()
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            t0 = time.perf_counter()
            for _ in range(steps):
                run()
            rates[name].append(tokens * steps / (time.perf_counter() - t0))
    return {name: (float(np.median(r)), first[name], r) for name, r in rates.items()}


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The model shape (issue 6's 3 x 512 LSTM by default) and the timing rounds."""
    parser.add_argument("--vocab", type=int, default=512)
    parser.add_argument("--embed", type=int, default=256)
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq", type=int, default=100)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per round")
    parser.add_argument(
        "--rounds", type=int, default=5, help="turns in which every model runs --steps steps"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_model_arguments(parser)
    parser.add_argument(
        "--dropout",
        type=float,
        default=0.0,
        help="train with this dropout (popgen and torch; flax-rnn has none)",
    )
    parser.add_argument(
        "--models",
        default="popgen,flax-rnn,torch",
        help="comma-separated: popgen, flax-rnn, torch (popgen alone gives its own peak memory)",
    )
    parser.add_argument("--ff-piano", action="store_true", help="also time an ff-piano epoch")
    parser.add_argument("--no-keras", action="store_true", help="skip the 2017 Keras baseline")
    args = parser.parse_args()

    batch = np.random.default_rng(0).integers(0, args.vocab, (args.batch, args.seq + 1))
    batch = batch.astype(np.int32)
    tokens = args.batch * args.seq
    builders: dict[str, Callable[[], Callable[[], Any] | None]] = {
        "popgen": lambda: jax_step(
            LSTMModel(
                vocab_size=args.vocab,
                embed_dim=args.embed,
                hidden_size=args.hidden,
                num_layers=args.layers,
                dropout=args.dropout,
            ),
            batch,
            dropout=args.dropout > 0,
        ),
        "flax-rnn": lambda: jax_step(
            FlaxRNN(args.vocab, args.embed, args.hidden, args.layers), batch
        ),
        "torch": lambda: torch_step(args, batch),
    }
    candidates = {name: builders[name]() for name in args.models.split(",")}
    print(
        f"model: vocab {args.vocab}, embed {args.embed}, {args.layers} x {args.hidden} LSTM; "
        f"batch {args.batch} x {args.seq}; {args.rounds} rounds of {args.steps} timed steps"
    )
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, jax {jax.__version__} "
        f"on {jax.devices()[0].platform}"
    )
    for name in [name for name, run in candidates.items() if run is None]:
        print(f"{name:>9}: not installed, skipped")
    runs = {name: run for name, run in candidates.items() if run is not None}
    measured = interleaved_rates(runs, tokens, args.steps, args.rounds)
    results = {name: rate for name, (rate, _, _) in measured.items()}
    for name, (rate, first_s, rounds) in measured.items():
        print(
            f"{name:>9}: {rate:10,.0f} tokens/s median of {args.rounds} rounds "
            f"(range {min(rounds):,.0f}-{max(rounds):,.0f}; "
            f"first step incl. compile {first_s:.1f} s)"
        )
    for name, rate in results.items():
        if name != "popgen" and "popgen" in results:
            ratios = [a / b for a, b in zip(measured["popgen"][2], measured[name][2], strict=True)]
            print(
                f"popgen / {name}: {results['popgen'] / rate:.2f}x "
                f"(per round {min(ratios):.2f}-{max(ratios):.2f}x)"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory of this process (the models above): {peak:,.0f} MB")
    if not args.no_keras and "popgen" in results:
        compare_keras(args, results["popgen"])
    if args.ff_piano:
        ff_piano_epoch(args)


def compare_keras(args: argparse.Namespace, popgen_rate: float) -> None:
    """The 2017 script's Keras model beside popgen: its targets/s and popgen's tokens/s over it."""
    if not keras_baseline.available():
        print("keras-2017: keras not installed, skipped (pip install keras)")
        return
    print(
        f"keras-2017: {keras_baseline.describe()}; the 2017 script's model at vocab "
        f"{args.vocab}, batch {keras_baseline.BATCH}, one target per {args.seq}-step window"
    )
    variants = {
        "as the script": keras_baseline.RECURRENT_DROPOUT,
        "no recurrent_dropout": 0.0,
    }
    for label, dropout in variants.items():
        rate, first_s = keras_baseline.train_targets_per_s(
            args.vocab, steps=args.steps * args.rounds, seq_len=args.seq, recurrent_dropout=dropout
        )
        print(
            f"{'keras-2017':>9}: {rate:10,.1f} targets/s  {label} (recurrent_dropout {dropout}; "
            f"first batch incl. compile {first_s:.1f} s)"
        )
        print(f"popgen tokens/s / keras-2017 targets/s ({label}): {popgen_rate / rate:,.0f}x")


def ff_piano_epoch(args: argparse.Namespace) -> None:
    """One epoch of the shared ff-piano files, ``chord`` encoding, with popgen.train."""
    import warnings

    import popgen

    warnings.simplefilter("ignore")
    data = Path(__file__).resolve().parents[2] / "shared" / "data" / "ff-piano"
    corpus = popgen.Corpus.from_paths([data])
    tok = popgen.get_tokenizer("chord").fit(corpus)
    model = LSTMModel(
        vocab_size=tok.vocab_size,
        embed_dim=args.embed,
        hidden_size=args.hidden,
        num_layers=args.layers,
    )
    config = popgen.TrainConfig(
        seq_len=args.seq, batch_size=args.batch, epochs=2, valid_fraction=0.0
    )
    run = popgen.train(model, tok, corpus, config, progress=False)
    second = run.history[1]  # the first epoch includes compilation
    print(
        f"ff-piano, chord encoding (vocabulary {tok.vocab_size}), seq {args.seq}: one epoch "
        f"of {second['step'] - run.history[0]['step']} steps in {second['seconds']:.1f} s "
        f"after compilation ({second['tokens_per_s']:,.0f} tokens/s)"
    )


if __name__ == "__main__":
    main()
