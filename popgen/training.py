"""Training: every position of every window is a next-token target.

:func:`train` is the whole loop and reads top to bottom: split the songs,
encode them, cut windows, build the optax optimizer, then run a jit-compiled
train step over batches shuffled by (seed, epoch), validating on held-out
songs after every epoch and checkpointing the run directory. Because the
batch order, dropout keys and optimizer state all follow from the seed and
the step, a run resumed from its last checkpoint ends with exactly the
parameters of a run that was never interrupted.

With several devices (GPUs, or ``--xla_force_host_platform_device_count`` on
CPU), each batch is split over a one-axis mesh and the parameters are
replicated: plain data parallelism through ``jax.sharding``.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from numpy.typing import NDArray
from tqdm.auto import tqdm

from popgen.checkpoint import Run, load_run, load_train_state, save_run
from popgen.data import batches, make_windows, song_key, split_by_song
from popgen.errors import CorpusError, RunError, TrainingError
from popgen.history import plot_history
from popgen.models.lstm import LSTMModel
from popgen.music import Song
from popgen.tokenizers.base import PAD, UNK, Tokenizer
from popgen.training_config import TrainConfig

__all__ = ["epoch_batches", "make_optimizer", "next_token_loss", "train"]


def make_optimizer(config: TrainConfig, total_steps: int) -> optax.GradientTransformation:
    """Gradient clipping followed by the configured optimizer and schedule.

    >>> import jax.numpy as jnp
    >>> opt = make_optimizer(TrainConfig(learning_rate=0.1, lr_schedule="constant"), 10)
    >>> params = {"w": jnp.ones(2)}
    >>> updates, _ = opt.update({"w": jnp.ones(2)}, opt.init(params), params)
    >>> [round(float(u), 3) for u in updates["w"]]  # Adam's first step: -lr per weight
    [-0.1, -0.1]

    """
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

    >>> model = LSTMModel(vocab_size=8, embed_dim=4, hidden_size=8, num_layers=1)
    >>> batch = jnp.array([[1, 5, 6, 2, 0]])  # BOS, two tokens, EOS, PAD
    >>> params = model.init(jax.random.key(0), batch[:, :-1])
    >>> total, count = next_token_loss(model, params, batch)
    >>> int(count), bool(abs(total / count - np.log(8)) < 0.1)  # untrained: about log(vocab)
    (3, True)

    """
    inputs, targets = batch[:, :-1], batch[:, 1:]
    rngs = {"dropout": key} if key is not None else {}
    logits = model.apply(params, inputs, deterministic=key is None, rngs=rngs)
    mask = (targets != PAD).astype(jnp.float32)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
    return (ce * mask).sum(), mask.sum()


def epoch_batches(
    windows: NDArray[np.int32], batch_size: int, seed: int, epoch: int
) -> Iterator[NDArray[np.int32]]:
    """The batches of one epoch, shuffled by ``(seed, epoch)`` alone (so resumable).

    >>> windows = np.arange(1, 13, dtype=np.int32).reshape(6, 2)
    >>> first = [b[:, 0].tolist() for b in epoch_batches(windows, 4, seed=0, epoch=0)]
    >>> first == [b[:, 0].tolist() for b in epoch_batches(windows, 4, seed=0, epoch=0)]
    True
    >>> sorted(x for b in first for x in b)  # every window once; PAD (0) rows fill the last batch
    [0, 0, 1, 3, 5, 7, 9, 11]

    """
    return batches(windows, batch_size, rng=np.random.default_rng([seed, epoch]))


def _encode(tokenizer: Tokenizer, songs: Sequence[Song], what: str) -> list[NDArray[np.int32]]:
    """Encode songs, reporting songs with tokens outside the vocabulary once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one summary below instead of a warning per song
        out = [tokenizer.encode(s) for s in songs]
    unknown = [int((ids == UNK).sum()) for ids in out]
    if any(unknown):
        warnings.warn(
            f"{sum(1 for u in unknown if u)} of {len(songs)} {what} songs have tokens outside "
            f"the vocabulary of tokenizer {tokenizer.name!r} ({sum(unknown)} became UNK)",
            stacklevel=3,
        )
    return out


def train(
    model: LSTMModel,
    tokenizer: Tokenizer,
    songs: Sequence[Song],
    config: TrainConfig | None = None,
    *,
    out: str | os.PathLike[str] | None = None,
    valid: Sequence[Song] | None = None,
    resume: bool = False,
    init_from: Run | str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> Run:
    """Train ``model`` on ``songs`` and return the run, checkpointed in ``out``.

    Args:
        model: an :class:`LSTMModel` whose ``vocab_size`` matches the tokenizer.
        tokenizer: a fitted tokenizer.
        songs: training songs (a :class:`popgen.Corpus` or any sequence of Songs).
        config: training settings; defaults to ``TrainConfig()``.
        out: run directory to write; ``None`` keeps the run in memory only.
        valid: validation songs; when omitted, ``config.valid_fraction`` of
            ``songs`` is held out, split by song.
        resume: continue the run in ``out`` from its last checkpoint; model,
            tokenizer and config must be the ones it was started with.
        init_from: start from the parameters of this run (fine-tuning); its
            model configuration and vocabulary must be ``model``'s and ``tokenizer``'s.
        progress: show a progress bar with the loss, tokens/s and ETA.

    Returns:
        The :class:`popgen.Run`; its ``params`` are the best by validation
        loss (the last ones when there is no validation).

    Raises:
        TrainingError: the loss became NaN or infinite; the last good
            checkpoint in ``out`` stays as it was.

    >>> from popgen import Song, get_tokenizer, make_notes
    >>> songs = [Song(make_notes([60, 62, 64, 65] * 4, range(16), [1] * 16))] * 2
    >>> tok = get_tokenizer("chord").fit(songs)
    >>> model = LSTMModel(vocab_size=tok.vocab_size, embed_dim=4, hidden_size=8, num_layers=1)
    >>> config = TrainConfig(seq_len=8, batch_size=2, epochs=3, learning_rate=0.05)
    >>> run = train(model, tok, songs, config, progress=False)
    >>> losses = [h["valid_loss"] for h in run.history]
    >>> len(losses), losses[-1] < losses[0]
    (3, True)

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
        _encode(tokenizer, songs, "training"), config.seq_len, config.stride_or_default
    )
    valid_windows = make_windows(_encode(tokenizer, valid, "validation"), config.seq_len)
    if not len(train_windows):
        raise CorpusError("no training windows: the training songs encode to no tokens")

    devices = jax.devices()
    if config.batch_size % len(devices):
        raise ValueError(
            f"batch_size {config.batch_size} must be a multiple of the {len(devices)} devices"
        )
    mesh = Mesh(np.array(devices), ("data",))
    replicated = NamedSharding(mesh, PartitionSpec())  # type: ignore[no-untyped-call]
    split = NamedSharding(mesh, PartitionSpec("data"))  # type: ignore[no-untyped-call]

    steps_per_epoch = math.ceil(len(train_windows) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    optimizer = make_optimizer(config, total_steps)

    key = jax.random.key(config.seed)
    init_key, dropout_key = jax.random.split(key)
    params = model.init(init_key, jnp.zeros((1, config.seq_len), jnp.int32))
    run = Run(model, tokenizer, params, config, [], state={"step": 0})
    if init_from is not None:
        params = _fine_tune_start(init_from, model, tokenizer)
    opt_state = optimizer.init(params)
    if resume:
        run, opt_state = _resume(out, model, tokenizer, config, opt_state)
        params = run.params
    run.state["songs"] = {  # which songs trained and which validated, for evaluation
        "train": sorted({song_key(s) for s in songs}),
        "valid": sorted({song_key(s) for s in valid}),
    }
    params, opt_state = jax.device_put((params, opt_state), replicated)

    @partial(jax.jit, donate_argnums=(0, 1))
    def train_step(
        params: Any, opt_state: Any, batch: jax.Array, step: jax.Array
    ) -> tuple[Any, Any, jax.Array]:
        def loss_fn(p: Any) -> jax.Array:
            key = jax.random.fold_in(dropout_key, step)
            total, count = next_token_loss(model, p, batch, key=key)
            return total / jnp.maximum(count, 1.0)

        loss, grads = jax.value_and_grad(loss_fn)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    @jax.jit
    def eval_step(params: Any, batch: jax.Array) -> tuple[jax.Array, jax.Array]:
        return next_token_loss(model, params, batch)

    def validate() -> float | None:
        if not len(valid_windows):
            return None
        total = count = 0.0
        for batch in batches(valid_windows, config.batch_size):
            t, c = eval_step(params, jax.device_put(batch, split))
            total, count = total + float(t), count + float(c)
        return total / max(count, 1.0)

    def checkpoint(best: bool) -> None:
        if out is not None:
            run.params = params
            save_run(run, out, opt_state=opt_state, best=best)

    step = int(run.state.get("step", 0))
    best_params: Any = None
    if resume and out is not None and "best_valid_loss" in run.state:
        best_params = load_run(out).params
    bar = tqdm(total=total_steps, initial=step, desc="training", unit="step", disable=not progress)
    try:
        for epoch in range(step // steps_per_epoch, config.epochs):
            start, seen, losses = time.perf_counter(), 0.0, []
            skip = step - epoch * steps_per_epoch  # batches already done before a resume
            for i, batch in enumerate(
                epoch_batches(train_windows, config.batch_size, config.seed, epoch)
            ):
                if i < skip:
                    continue
                if step >= total_steps:
                    break
                params, opt_state, loss = train_step(
                    params, opt_state, jax.device_put(batch, split), jnp.asarray(step)
                )
                step += 1
                losses.append(loss)  # stays on device: no host sync per step
                seen += float(np.count_nonzero(batch[:, 1:] != PAD))
                if step % 10 == 0 or step == total_steps:
                    _check_finite(losses[-10:], step, out)
                    rate = seen / (time.perf_counter() - start)
                    bar.set_postfix(
                        epoch=epoch + 1, loss=f"{float(loss):.3f}", tok_s=f"{rate:,.0f}"
                    )
                bar.update(1)
                if config.checkpoint_every and step % config.checkpoint_every == 0:
                    _check_finite(losses[-config.checkpoint_every :], step, out)
                    run.state["step"] = step
                    checkpoint(best=not len(valid_windows))
            _check_finite(losses, step, out)
            elapsed = time.perf_counter() - start
            valid_loss = validate()
            entry: dict[str, Any] = {
                "epoch": epoch + 1,
                "step": step,
                "train_loss": float(np.mean([float(x) for x in losses])) if losses else None,
                "tokens_per_s": seen / elapsed if seen and elapsed > 0 else None,
                "seconds": elapsed,
            }
            best = True  # without validation, the newest parameters are the best known
            if valid_loss is not None:
                entry["valid_loss"] = valid_loss
                entry["valid_perplexity"] = math.exp(min(valid_loss, 50.0))
                previous = run.state.get("best_valid_loss")
                best = previous is None or valid_loss < previous
                if best:
                    run.state["best_valid_loss"] = valid_loss
                    run.state["best_epoch"] = epoch + 1
            run.history.append(entry)
            run.state["step"] = step
            run.state["epochs_without_improvement"] = (
                0 if best else run.state.get("epochs_without_improvement", 0) + 1
            )
            checkpoint(best=best)
            if best:  # a copy: the train step donates (reuses) the buffers of params
                best_params = jax.tree.map(jnp.copy, params)
            if out is not None:
                plot_history(run.history, Path(out) / "loss.png")
            stop_early = (
                config.patience is not None
                and run.state["epochs_without_improvement"] >= config.patience
            )
            if step >= total_steps or stop_early:
                run.state["stopped_early"] = bool(stop_early and step < total_steps)
                break
    finally:
        bar.close()
    run.params = best_params if best_params is not None else params
    return run


def _check_finite(losses: list[jax.Array], step: int, out: str | os.PathLike[str] | None) -> None:
    """Raise :class:`TrainingError` naming the first step whose loss was NaN or infinite."""
    if not losses:
        return
    values = np.asarray(jax.device_get(losses), dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        first = step - len(values) + int(bad[0]) + 1
        kept = f"; the last good checkpoint in {out} is intact" if out is not None else ""
        raise TrainingError(
            f"the loss became {values[bad[0]]} at step {first}{kept}; "
            f"try a lower learning rate or gradient clipping (clip_norm)"
        )


def _fine_tune_start(
    init_from: Run | str | os.PathLike[str], model: LSTMModel, tokenizer: Tokenizer
) -> Any:
    """The parameters to fine-tune from, after checking they fit ``model`` and ``tokenizer``."""
    source = init_from if isinstance(init_from, Run) else load_run(init_from)
    where = source.path or "the initial run"
    if source.model.config() != model.config():
        raise RunError(
            f"{where}: its model {source.model.config()} does not match {model.config()}"
        )
    if source.tokenizer.vocab != tokenizer.vocab:
        raise RunError(f"{where}: its vocabulary differs from the tokenizer given")
    return source.params


def _resume(
    out: str | os.PathLike[str] | None,
    model: LSTMModel,
    tokenizer: Tokenizer,
    config: TrainConfig,
    opt_state: Any,
) -> tuple[Run, Any]:
    """The run in ``out`` at its last checkpoint, with the optimizer state."""
    if out is None:
        raise ValueError("resume=True needs the run directory out=")
    abstract = jax.eval_shape(lambda: opt_state)
    run, opt_state = load_train_state(out, abstract)
    if run.model.config() != model.config() or run.tokenizer.vocab != tokenizer.vocab:
        raise RunError(f"{out}: cannot resume: its model or vocabulary differs from the one given")
    if run.config != config:
        raise RunError(f"{out}: cannot resume with another training config than {run.config}")
    return run, opt_state
