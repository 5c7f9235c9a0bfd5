"""Training: every position of every window is a next-token target.

:func:`train` is the whole loop and reads top to bottom: split the songs,
encode them, cut windows, build the optax optimizer, then run a jit-compiled
train step over shuffled batches with a progress bar, validating on held-out
songs after every epoch and saving the run directory.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from popgen.checkpoint import Run, save_run
from popgen.data import batches, make_windows, split_by_song
from popgen.errors import CorpusError
from popgen.models.lstm import LSTMModel
from popgen.music import Song
from popgen.tokenizers.base import PAD, Tokenizer
from popgen.training_config import TrainConfig

__all__ = ["make_optimizer", "next_token_loss", "train"]


def make_optimizer(config: TrainConfig, total_steps: int) -> optax.GradientTransformation:
    """Gradient clipping followed by the configured optimizer and schedule."""
    decay_steps = max(total_steps - config.warmup_steps, 1)
    lr = config.learning_rate
    schedule: optax.Schedule
    if config.lr_schedule == "constant":
        schedule = optax.constant_schedule(lr)
    elif config.lr_schedule == "exponential":
        schedule = optax.exponential_decay(lr, decay_steps, config.lr_decay)
    else:
        schedule = optax.cosine_decay_schedule(lr, decay_steps)
    if config.warmup_steps:
        warmup = optax.linear_schedule(0.0, lr, config.warmup_steps)
        schedule = optax.join_schedules([warmup, schedule], [config.warmup_steps])
    optimizers = {
        "adam": lambda: optax.adam(schedule),
        "adamw": lambda: optax.adamw(schedule, weight_decay=config.weight_decay),
        "rmsprop": lambda: optax.rmsprop(schedule),
    }
    parts = [optax.clip_by_global_norm(config.clip_norm)] if config.clip_norm else []
    return optax.chain(*parts, optimizers[config.optimizer]())


def next_token_loss(
    model: LSTMModel,
    params: Any,
    batch: jax.Array,
    *,
    key: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Summed cross-entropy of predicting each next token, and the number of targets.

    Args:
        model: the model.
        params: its parameters.
        batch: ``int32[batch, seq_len + 1]`` windows; ``PAD`` targets are ignored.
        key: a dropout key; ``None`` runs deterministically.

    Returns:
        ``(float32[] loss summed over targets, float32[] number of targets)``.

    """
    inputs, targets = batch[:, :-1], batch[:, 1:]
    rngs = {"dropout": key} if key is not None else {}
    logits = model.apply(params, inputs, deterministic=key is None, rngs=rngs)
    mask = (targets != PAD).astype(jnp.float32)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
    return (ce * mask).sum(), mask.sum()


def train(
    model: LSTMModel,
    tokenizer: Tokenizer,
    songs: Sequence[Song],
    config: TrainConfig | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    valid: Sequence[Song] | None = None,
    progress: bool = True,
) -> Run:
    """Train ``model`` on ``songs`` and return the run (saved to ``out`` after every epoch).

    Args:
        model: an :class:`LSTMModel` whose ``vocab_size`` matches the tokenizer.
        tokenizer: a fitted tokenizer.
        songs: training songs (a :class:`popgen.Corpus` or any sequence of Songs).
        config: training settings; defaults to ``TrainConfig()``.
        out: run directory to write; ``None`` keeps the run in memory only.
        valid: validation songs; when omitted, ``config.valid_fraction`` of
            ``songs`` is held out, split by song.
        progress: show a progress bar with the loss and tokens/s.

    Returns:
        The :class:`popgen.Run` with the final parameters and the history.

    """
    config = config or TrainConfig()
    if model.vocab_size != tokenizer.vocab_size:
        raise ValueError(
            f"model vocab_size {model.vocab_size} != tokenizer vocab_size "
            f"{tokenizer.vocab_size}; build the model with vocab_size=tokenizer.vocab_size"
        )
    songs = list(songs)
    if valid is None:
        train_idx, valid_idx = split_by_song(len(songs), config.valid_fraction, config.seed)
        valid = [songs[i] for i in valid_idx]
        songs = [songs[i] for i in train_idx]
    train_windows = make_windows(
        [tokenizer.encode(s) for s in songs], config.seq_len, config.stride_or_default
    )
    valid_windows = make_windows([tokenizer.encode(s) for s in valid], config.seq_len)
    if not len(train_windows):
        raise CorpusError("no training windows: the training songs encode to no tokens")

    steps_per_epoch = math.ceil(len(train_windows) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    optimizer = make_optimizer(config, total_steps)

    key = jax.random.key(config.seed)
    init_key, dropout_key = jax.random.split(key)
    params = model.init(init_key, jnp.zeros((1, config.seq_len), jnp.int32))
    opt_state = optimizer.init(params)

    @partial(jax.jit, donate_argnums=(0, 1))
    def train_step(
        params: Any, opt_state: Any, batch: jax.Array, step: jax.Array
    ) -> tuple[Any, Any, jax.Array, jax.Array]:
        def loss_fn(p: Any) -> tuple[jax.Array, jax.Array]:
            total, count = next_token_loss(
                model, p, batch, key=jax.random.fold_in(dropout_key, step)
            )
            return total / jnp.maximum(count, 1.0), count

        (loss, count), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss, count

    @jax.jit
    def eval_step(params: Any, batch: jax.Array) -> tuple[jax.Array, jax.Array]:
        return next_token_loss(model, params, batch)

    run = Run(model, tokenizer, params, config, [])
    rng = np.random.default_rng(config.seed)
    step = 0
    bar = tqdm(total=total_steps, desc="training", unit="step", disable=not progress)
    try:
        for epoch in range(1, config.epochs + 1):
            start, seen, losses = time.perf_counter(), 0.0, []
            for batch in batches(train_windows, config.batch_size, rng=rng):
                if step >= total_steps:
                    break
                params, opt_state, loss, _ = train_step(
                    params, opt_state, jnp.asarray(batch), jnp.asarray(step)
                )
                step += 1
                losses.append(loss)  # stays on device: no host sync per step
                seen += float(np.count_nonzero(batch[:, 1:] != PAD))
                if step % 10 == 0 or step == total_steps:
                    elapsed = time.perf_counter() - start
                    bar.set_postfix(
                        epoch=epoch, loss=f"{float(loss):.3f}", tok_s=f"{seen / elapsed:,.0f}"
                    )
                bar.update(1)
            elapsed = time.perf_counter() - start
            entry: dict[str, Any] = {
                "epoch": epoch,
                "step": step,
                "train_loss": float(np.mean([float(x) for x in losses])) if losses else None,
                "tokens_per_s": seen / elapsed if elapsed > 0 else None,
                "seconds": elapsed,
            }
            if len(valid_windows):
                total, count = 0.0, 0.0
                for batch in batches(valid_windows, config.batch_size):
                    t, c = eval_step(params, jnp.asarray(batch))
                    total, count = total + float(t), count + float(c)
                entry["valid_loss"] = total / max(count, 1.0)
                entry["valid_perplexity"] = math.exp(min(entry["valid_loss"], 50.0))
            run.history.append(entry)
            run.params = params
            if out is not None:
                save_run(run, out)
            if step >= total_steps:
                break
    finally:
        bar.close()
    run.params = params
    return run
