"""Generation speed: popgen's scan sampler against the 2017 baseline's way, in one run.

The model is the issue's 3 x 512 LSTM (vocab 512, embedding 256) with untrained
parameters (speed does not depend on training).

(a) popgen: ``Sampler.generate_ids``, 500 tokens at batch 1, one jit-compiled
    ``lax.scan`` carrying the LSTM state (grammar enforced, plain sampling);
    compilation timed separately from the per-token time.
(b) the 2017 baseline's way: for every new token, re-run the network over the
    last 100 tokens (popgen's own ``LSTMModel.__call__``, jitted on a
    ``[1, 100]`` window) and take the argmax.
(c) the 2017 baseline's own code: ``predict.py``'s loop (``model.predict`` on
    the last 100 notes, argmax) on its Keras model (``keras_baseline.py``
    beside this script, Keras 3 on the JAX backend; only when keras is
    installed), 500 notes after a warm-up; as the script has it
    (``recurrent_dropout=0.3``) and without ``recurrent_dropout``.
(d) 64 songs x 500 tokens in one batch, wall time after compilation.

    python benchmarks/generate_speed.py [--baseline-tokens 100] [--keras-notes 500]
                                        [--no-keras] [--repeats 3] [--no-cache]

JAX's persistent compilation cache is on (``~/.cache/popgen/jax``) unless
``--no-cache``: a second run then loads the compiled programs from disk.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

import keras_baseline  # benchmarks/keras_baseline.py, beside this script

VOCAB, EMBED, HIDDEN, LAYERS = 512, 256, 512, 3
TOKENS, WINDOW, BATCH = 500, 100, 64


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-tokens", type=int, default=100, help="tokens timed for (b)")
    parser.add_argument("--keras-notes", type=int, default=TOKENS, help="notes timed for (c)")
    parser.add_argument("--no-keras", action="store_true", help="skip (c), the Keras script")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats of (a) and (d)")
    parser.add_argument("--no-cache", action="store_true", help="no persistent compile cache")
    args = parser.parse_args()

    import jax

    if not args.no_cache:
        cache = Path(os.environ.get("POPGEN_JAX_CACHE", Path.home() / ".cache/popgen/jax"))
        cache.mkdir(parents=True, exist_ok=True)
        settings = {
            "jax_compilation_cache_dir": str(cache),
            "jax_persistent_cache_min_compile_time_secs": 0.0,
            "jax_persistent_cache_min_entry_size_bytes": 0,
        }
        for name, value in settings.items():
            jax.config.update(name, value)  # type: ignore[no-untyped-call]

    import jax.numpy as jnp
    import numpy as np

    import popgen
    from popgen.sampling import Sampler

    tokenizer = _tokenizer()
    model = popgen.LSTMModel(VOCAB, embed_dim=EMBED, hidden_size=HIDDEN, num_layers=LAYERS)
    params = model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))
    sampler = Sampler(model, params, tokenizer)
    device = f"{jax.devices()[0].device_kind}, {os.cpu_count()} cores, {platform.machine()}"
    print(f"device: {device}; jax {jax.__version__}")
    print(f"model: {LAYERS} x {HIDDEN} LSTM, vocab {VOCAB}, embedding {EMBED} (untrained)")

    # (a) popgen, batch 1
    t0 = time.perf_counter()
    sampler.generate_ids(TOKENS, batch_size=1, seed=0)
    first = time.perf_counter() - t0
    runs = [_timed(sampler.generate_ids, TOKENS, seed=s) for s in range(args.repeats)]
    per_token = statistics.median(runs) / TOKENS
    print(
        f"(a) popgen sampler, batch 1: first call {first:.2f} s (compile + run), then "
        f"{statistics.median(runs) * 1e3:.0f} ms for {TOKENS} tokens = "
        f"{per_token * 1e3:.3f} ms/token; compilation ~ {first - statistics.median(runs):.2f} s"
    )

    # (b) the baseline's way: the whole window again for every token
    def last_argmax(p: Any, w: Any) -> Any:
        logits: Any = model.apply(p, w)
        return logits[:, -1].argmax(-1)

    forward = jax.jit(last_argmax)
    window = np.ones((1, WINDOW), np.int32)
    t0 = time.perf_counter()
    forward(params, window).block_until_ready()
    base_compile = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(args.baseline_tokens):
        token = int(forward(params, window)[0])
        window = np.roll(window, -1, axis=1)
        window[0, -1] = token
    base_per_token = (time.perf_counter() - t0) / args.baseline_tokens
    print(
        f"(b) baseline (re-run a {WINDOW}-token window per token, argmax): compile "
        f"{base_compile:.2f} s, {base_per_token * 1e3:.2f} ms/token over "
        f"{args.baseline_tokens} tokens = {base_per_token * TOKENS:.1f} s per {TOKENS} tokens"
    )
    print(f"    ratio: popgen is {base_per_token / per_token:.0f}x faster per token")

    # (c) the 2017 script's own Keras predict loop
    if keras_baseline.available() and not args.no_keras:
        _compare_keras(per_token, args.keras_notes)
    elif not args.no_keras:
        print("(c) the 2017 Keras script: keras not installed, skipped (pip install keras)")

    # (d) 64 songs at once
    t0 = time.perf_counter()
    sampler.generate_ids(TOKENS, batch_size=BATCH, seed=0)
    first = time.perf_counter() - t0
    runs = [
        _timed(sampler.generate_ids, TOKENS, batch_size=BATCH, seed=s) for s in range(args.repeats)
    ]
    wall = statistics.median(runs)
    print(
        f"(d) {BATCH} songs x {TOKENS} tokens: {wall:.2f} s "
        f"({BATCH * TOKENS / wall:,.0f} tokens/s; first call {first:.2f} s with compilation)"
    )


def _compare_keras(popgen_per_token: float, notes: int) -> None:
    """(c): ``predict.py``'s loop on the 2017 Keras model, beside popgen's per-token time."""
    print(f"(c) the 2017 script's Keras predict loop ({keras_baseline.describe()}), {notes} notes:")
    variants = {
        "as the script": keras_baseline.RECURRENT_DROPOUT,
        "no recurrent_dropout": 0.0,
    }
    for label, dropout in variants.items():
        ms, warmup_s = keras_baseline.generate_ms_per_note(
            VOCAB, notes=notes, seq_len=WINDOW, recurrent_dropout=dropout
        )
        ratio = popgen_per_token * 1e3 / ms
        print(
            f"    {label} (recurrent_dropout {dropout}): {ms:.1f} ms/note = "
            f"{ms * TOKENS / 1e3:.1f} s per {TOKENS} notes (warm-up incl. compile "
            f"{warmup_s:.1f} s); popgen ms/token / Keras ms/note = {ratio:.4f}: "
            f"popgen is {1 / ratio:.0f}x faster per token"
        )


def _tokenizer() -> Any:
    """A ``note`` tokenizer whose vocabulary has exactly ``VOCAB`` tokens."""
    from popgen.tokenizers import NoteTokenizer

    base = NoteTokenizer().vocab[4:]
    extra: list[str] = []
    step = 1
    while len(base) + len(extra) < VOCAB - 4:
        beats = Fraction(step, 12)
        extra += [f"DUR_{beats}", f"REST_{beats}", f"SHIFT_{beats}"]
        step += 1
    return NoteTokenizer(vocab=(base + extra)[: VOCAB - 4])


def _timed(fn: Callable[..., object], *args: Any, **kwargs: Any) -> float:
    t0 = time.perf_counter()
    fn(*args, **kwargs)  # returns numpy arrays: the work is done when it returns
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
