"""Generation speed with step features against without, in one run, same model size.

The shipped ``pop909-songs`` shape (``pop`` encoding with sections, embedding 64,
2 x 384 LSTM, untrained parameters: speed does not depend on training), once
reading the step features (the automaton runs inside the sampler's scan, one
update per token from its carried state) with its copy heads, once with the
features but no copy group (the model shipped before the copy heads), and
once on tokens only. Each writes
songs of 16 bars over ``C G Am F`` in the form ``A8 B8`` (the controls force
each bar's head), at batch 1 and batch 64, plain sampling; the wall time
after compilation, the best of ``--repeats``, alternating the two models.
The issue's goal: with features within 1.3x of without.

    python benchmarks/feature_speed.py [--repeats 3] [--bars 16] [--hidden-size 384]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from typing import Any


def _sampler(features: bool, copies: bool = True, hidden: int = 384) -> Any:
    import jax

    from popgen import LSTMModel
    from popgen.sampling import Sampler
    from popgen.tokenizers import get_tokenizer
    from popgen.tokenizers.pop_features import DEFAULT_FEATURES

    groups = tuple(g for g in DEFAULT_FEATURES if copies or g != "copy")
    tok = get_tokenizer("pop", sections=True, features=groups)
    step = tok.step_features()
    size, heads = (step.size, step.copies) if features else (0, 0)
    model = LSTMModel(tok.vocab_size, embed_dim=64, hidden_size=hidden, num_layers=2,
                      feature_dim=size, copy_heads=heads)  # fmt: skip
    return Sampler(model, model.init_params(key=jax.random.key(0)), tok)


def _time(sampler: Any, controls: Any, batch: int) -> float:
    start = time.perf_counter()
    songs = sampler.generate(controls=[controls] * batch, seed=1)
    assert len(songs) == batch
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--hidden-size", type=int, default=384, help="the LSTM's width")
    args = parser.parse_args()
    from popgen.sampling import Controls

    form = f"A{args.bars // 2} B{args.bars - args.bars // 2}"
    controls = Controls.over_form(form, "C G Am F")
    samplers = {
        "tokens only": _sampler(False, hidden=args.hidden_size),
        "features, no copy heads": _sampler(True, copies=False, hidden=args.hidden_size),
        "tokens + step features": _sampler(True, hidden=args.hidden_size),
    }
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"{args.bars} bars in the form {form}; 2 x {args.hidden_size} LSTM")  # fmt: skip
    rows = []
    for batch in (1, 64):
        best = {}
        for name, sampler in samplers.items():
            _time(sampler, controls, batch)  # compile
            best[name] = float("inf")
        for _ in range(args.repeats):
            for name, sampler in samplers.items():
                best[name] = min(best[name], _time(sampler, controls, batch))
        plain, featured = best["tokens only"], best["tokens + step features"]
        nocopy = best["features, no copy heads"]
        rows.append((batch, plain, nocopy, featured))
        print(f"batch {batch}: tokens only {plain:.2f} s, features without copy heads "
              f"{nocopy:.2f} s, with features and copy heads {featured:.2f} s, "
              f"{featured / plain:.2f}x", flush=True)  # fmt: skip
    print("\n| batch | tokens only | features, no copy heads | ratio | features and copy heads "
          "| ratio |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for batch, plain, nocopy, featured in rows:
        print(f"| {batch} | {plain:.2f} s | {nocopy:.2f} s | {nocopy / plain:.2f}x "
              f"| {featured:.2f} s | {featured / plain:.2f}x |")  # fmt: skip


if __name__ == "__main__":
    main()
