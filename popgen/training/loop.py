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

import itertools
import math
import os
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
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

from popgen.data.store import TokenStore
from popgen.data.windows import WindowSource, batches
from popgen.errors import RunError, TrainingError
from popgen.locks import RunLock
from popgen.models.base import SequenceModel
from popgen.models.featured import with_step_features
from popgen.models.loss import next_token_loss
from popgen.music.song import Song
from popgen.runs.load import load_run, load_train_state
from popgen.runs.run import Run
from popgen.runs.run_dir import read_run_meta, save_run
from popgen.runs.train_config import TrainConfig
from popgen.runs.train_state import TrainState
from popgen.tokenizers.base import PAD, Tokenizer
from popgen.training.data import training_windows
from popgen.training.distributed import (
    initialize,
    is_main_process,
    local_rows,
    peer_failure,
    process_count,
    put_batch,
    replicate,
    to_host,
)
from popgen.training.history import plot_history
from popgen.training.step import make_optimizer, train_step

__all__ = [
    "PLOT_EVERY_S",
    "check_process_count",
    "epoch_batches",
    "train",
]

#: Seconds between two drawings of ``loss.png`` during training (drawing takes about
#: a quarter of a second); the curve is drawn once more when training ends.
PLOT_EVERY_S = 30.0


def epoch_batches(
    windows: WindowSource, batch_size: int, seed: int, epoch: int, *, rows: slice | None = None
) -> Iterator[NDArray[np.int32]]:
    """The batches of one epoch, shuffled by ``(seed, epoch)`` alone (so resumable).

    Every process of a run draws the same order; with ``rows`` it reads only
    its block of each batch (see :func:`popgen.data.windows.batches`).

    >>> windows = np.arange(1, 13, dtype=np.int32).reshape(6, 2)
    >>> first = [b[:, 0].tolist() for b in epoch_batches(windows, 4, seed=0, epoch=0)]
    >>> first == [b[:, 0].tolist() for b in epoch_batches(windows, 4, seed=0, epoch=0)]
    True
    >>> sorted(x for b in first for x in b)  # every window once; PAD (0) rows fill the last batch
    [0, 0, 1, 3, 5, 7, 9, 11]

    """
    return batches(windows, batch_size, rng=np.random.default_rng([seed, epoch]), rows=rows)


@dataclass
class _Loop:
    """What the training loop carries from step to step (device arrays and the run)."""

    run: Run  # model, tokenizer, config, history and the TrainState
    params: Any
    opt_state: Any
    best_params: Any = None  # a copy of the best parameters so far
    plotted: float = field(default_factory=time.perf_counter)  # when loss.png was last drawn
    plotted_epochs: int = -1  # how many epochs it showed (-1: none drawn yet)


def train(
    model: SequenceModel,
    tokenizer: Tokenizer,
    songs: Sequence[Song] | TokenStore,
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
        model: any registered :class:`popgen.models.SequenceModel` (e.g. an
            :class:`popgen.LSTMModel`) whose ``vocab_size`` matches the tokenizer.
        tokenizer: a fitted tokenizer.
        songs: training songs (a :class:`popgen.Corpus` or any sequence of
            Songs), or a :class:`popgen.TokenStore` (``tokenizer`` must be the
            store's): windows are then read from disk batch by batch, and are
            the windows the same songs in memory give.
        config: training settings; defaults to ``TrainConfig()``, the recipe.
        out: run directory to write; ``None`` keeps the run in memory only.
            Besides the checkpoints it holds ``loss.png``, the loss curve,
            redrawn after an epoch at most every :data:`PLOT_EVERY_S` seconds
            and when training ends.
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
        RunError: another process is writing ``out`` (see
            :class:`popgen.locks.RunLock`; ``resume=True`` takes over the
            lock of a process that no longer runs), or a checkpoint could not
            be written (a full disk); the previous checkpoint stays loadable.

    >>> from popgen import LSTMModel
    >>> from popgen import Song
    >>> from popgen import get_tokenizer
    >>> from popgen import make_notes
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
    # several processes when POPGEN_* say so (popgen.training.distributed)
    alone = initialize() == 1
    if resume and out is not None:
        check_process_count(out)  # before the slow part
    if out is None or not (alone or is_main_process()):  # process 0 alone writes the run
        return _train(model, tokenizer, songs, config, out, valid, resume, init_from, progress)
    with RunLock(out, take_over_stale=resume):  # one writer per run directory
        return _train(model, tokenizer, songs, config, out, valid, resume, init_from, progress)


def _train(
    model: SequenceModel,
    tokenizer: Tokenizer,
    songs: Sequence[Song] | TokenStore,
    config: TrainConfig,
    out: str | os.PathLike[str] | None,
    valid: Sequence[Song] | None,
    resume: bool,
    init_from: Run | str | os.PathLike[str] | None,
    progress: bool,
) -> Run:
    """:func:`train`'s loop, once its arguments are checked and ``out`` is held."""
    reads_features = bool(getattr(model, "feature_dim", 0))
    data = training_windows(tokenizer, songs, valid, config, features=reads_features)
    replicated, split = _shardings(config.batch_size)
    steps_per_epoch = math.ceil(len(data.train) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    optimizer = make_optimizer(config, total_steps)
    init_key, dropout_key = jax.random.split(jax.random.key(config.seed))
    loop = _start(model, tokenizer, config, optimizer, init_key, out, resume, init_from)
    loop.run.state = replace(
        loop.run.state, train_songs=data.train_songs, valid_songs=data.valid_songs
    )
    loop.run.usage = data.usage
    loop.params, loop.opt_state = replicate((loop.params, loop.opt_state), replicated)
    net = with_step_features(model, tokenizer)  # a model reading step features gets them
    update = jax.jit(partial(train_step, net, optimizer, dropout_key), donate_argnums=(0, 1))
    evaluate = jax.jit(partial(next_token_loss, net))
    start = loop.run.state.step
    # several processes: each reads its rows of every batch; tokens/s counts this
    # process's tokens times the number of processes
    processes = process_count()
    mine = local_rows(split, config.batch_size) if processes > 1 else None
    show = progress and is_main_process()
    bar = tqdm(total=total_steps, initial=start, desc="training", unit="step", disable=not show)
    try:
        for epoch in range(start // steps_per_epoch, config.epochs):
            started, losses, seen = time.perf_counter(), [], 0.0
            done = loop.run.state.step - epoch * steps_per_epoch  # batches before a resume
            order = epoch_batches(data.train, config.batch_size, config.seed, epoch, rows=mine)
            for batch in itertools.islice(order, done, None):
                step = loop.run.state.step
                if step >= total_steps:
                    break
                loop.params, loop.opt_state, loss = update(
                    loop.params, loop.opt_state, put_batch(batch, split), jnp.asarray(step)
                )
                loop.run.state = replace(loop.run.state, step=step + 1)
                losses.append(loss)  # stays on device: no host sync per step
                targets = batch[:, 1:, 0] if batch.ndim == 3 else batch[:, 1:]  # with codes
                seen += float(np.count_nonzero(targets != PAD)) * processes
                _report(bar, losses, step + 1, total_steps, epoch, seen, started, out)
                if config.checkpoint_every and (step + 1) % config.checkpoint_every == 0:
                    _check_finite(losses[-config.checkpoint_every :], step + 1, out)
                    _checkpoint(loop, out, best=not len(data.valid))
            _check_finite(losses, loop.run.state.step, out)
            elapsed = time.perf_counter() - started
            valid_loss = _validate(evaluate, loop.params, data.valid, config.batch_size, split)
            _end_epoch(loop, epoch, losses, seen, elapsed, valid_loss, out)
            patience_out = _out_of_patience(loop.run.state, config)
            if loop.run.state.step >= total_steps or patience_out:
                early = patience_out and loop.run.state.step < total_steps
                loop.run.state = replace(loop.run.state, stopped_early=early)
                break
    except Exception as exc:  # in several processes, most likely a peer that stopped
        stopped = peer_failure(exc, loop.run.state.step, out)
        if stopped is exc:
            raise
        raise stopped from exc
    finally:
        bar.close()
    if loop.plotted_epochs != len(loop.run.history):  # the last epochs are not drawn yet
        _plot(loop, out)
    loop.run.params = loop.best_params if loop.best_params is not None else loop.params
    if process_count() > 1:  # arrays spread over processes: hand back plain host copies
        loop.run.params = to_host(loop.run.params)
    return loop.run


def _shardings(batch_size: int) -> tuple[NamedSharding, NamedSharding]:
    """Parameters replicated and batches split over a one-axis mesh of every device.

    With several processes (:mod:`popgen.training.distributed`) the mesh spans the
    devices of all of them, and each process holds its block of the rows.
    """
    devices = jax.devices()
    if batch_size % len(devices):
        raise ValueError(
            f"batch_size {batch_size} must be a multiple of the {len(devices)} devices"
            f" (of {process_count()} processes)"
        )
    mesh = Mesh(np.array(devices), ("data",))
    replicated = NamedSharding(mesh, PartitionSpec())  # type: ignore[no-untyped-call]
    split = NamedSharding(mesh, PartitionSpec("data"))  # type: ignore[no-untyped-call]
    return replicated, split


def _start(
    model: SequenceModel,
    tokenizer: Tokenizer,
    config: TrainConfig,
    optimizer: optax.GradientTransformation,
    init_key: jax.Array,
    out: str | os.PathLike[str] | None,
    resume: bool,
    init_from: Run | str | os.PathLike[str] | None,
) -> _Loop:
    """Fresh parameters, a fine-tuning start, or the run in ``out`` to resume."""
    params = model.init_params(key=init_key)
    if init_from is not None:
        params = _fine_tune_start(init_from, model, tokenizer)
    loop = _Loop(Run(model, tokenizer, params, config, []), params, optimizer.init(params))
    loop.run.state = replace(loop.run.state, processes=process_count())
    if resume:
        loop.run, loop.opt_state = _resume(out, model, tokenizer, config, loop.opt_state)
        loop.params = loop.run.params
        if out is not None and loop.run.state.best_valid_loss is not None:
            loop.best_params = load_run(out).params
    return loop


def _report(
    bar: Any,
    losses: list[jax.Array],
    step: int,
    total_steps: int,
    epoch: int,
    seen: float,
    started: float,
    out: str | os.PathLike[str] | None,
) -> None:
    """Advance the progress bar; every 10 steps check the losses and show the rate."""
    if step % 10 == 0 or step == total_steps:
        _check_finite(losses[-10:], step, out)
        rate = seen / (time.perf_counter() - started)
        bar.set_postfix(epoch=epoch + 1, loss=f"{float(losses[-1]):.3f}", tok_s=f"{rate:,.0f}")
    bar.update(1)


def _validate(
    evaluate: Any, params: Any, windows: WindowSource, batch_size: int, split: NamedSharding
) -> float | None:
    """Mean loss per target over the validation windows; ``None`` without any."""
    if not len(windows):
        return None
    total = count = 0.0
    mine = local_rows(split, batch_size) if process_count() > 1 else None  # rows it reads
    for batch in batches(windows, batch_size, rows=mine):
        t, c = to_host(evaluate(params, put_batch(batch, split)))  # sums over every process
        total, count = total + float(t), count + float(c)
    return total / max(count, 1.0)


def _end_epoch(
    loop: _Loop,
    epoch: int,
    losses: list[jax.Array],
    seen: float,
    elapsed: float,
    valid_loss: float | None,
    out: str | os.PathLike[str] | None,
) -> None:
    """Record the epoch in the history and the state, checkpoint, keep the best parameters."""
    state = loop.run.state
    entry: dict[str, Any] = {
        "epoch": epoch + 1,
        "step": state.step,
        "train_loss": float(np.mean([float(x) for x in losses])) if losses else None,
        "tokens_per_s": seen / elapsed if seen and elapsed > 0 else None,
        "seconds": elapsed,
    }
    best = True  # without validation, the newest parameters are the best known
    if valid_loss is not None:
        entry["valid_loss"] = valid_loss
        entry["valid_perplexity"] = math.exp(min(valid_loss, 50.0))
        best = state.best_valid_loss is None or valid_loss < state.best_valid_loss
        if best:
            state = replace(state, best_valid_loss=valid_loss, best_epoch=epoch + 1)
    waited = 0 if best else state.epochs_without_improvement + 1
    loop.run.state = replace(state, epochs_without_improvement=waited)
    loop.run.history.append(entry)
    _checkpoint(loop, out, best=best)
    if best:  # a copy: the train step donates (reuses) the buffers of params
        loop.best_params = jax.tree.map(jnp.copy, loop.params)
    if time.perf_counter() - loop.plotted >= PLOT_EVERY_S:
        _plot(loop, out)


def _plot(loop: _Loop, out: str | os.PathLike[str] | None) -> None:
    """Draw the loss curve of the epochs so far in ``out``/loss.png (the main process)."""
    loop.plotted, loop.plotted_epochs = time.perf_counter(), len(loop.run.history)
    if out is not None and is_main_process():
        try:
            plot_history(loop.run.history, Path(out) / "loss.png")
        except OSError as exc:  # the picture is a convenience; checkpoints report real trouble
            warnings.warn(f"{Path(out) / 'loss.png'}: not written ({exc})", stacklevel=3)


def _checkpoint(loop: _Loop, out: str | os.PathLike[str] | None, *, best: bool) -> None:
    """Save the loop's parameters and optimizer state as a new checkpoint in ``out``.

    With several processes, process 0 alone writes host copies; the others go on.
    """
    if out is None:
        return
    if process_count() == 1:
        loop.run.params = loop.params
        save_run(loop.run, out, opt_state=loop.opt_state, best=best)
        return
    params, opt_state = to_host((loop.params, loop.opt_state))
    if is_main_process():
        loop.run.params = params
        save_run(loop.run, out, opt_state=opt_state, best=best)


def _out_of_patience(state: TrainState, config: TrainConfig) -> bool:
    """Whether ``config.patience`` epochs passed without a better validation loss."""
    return config.patience is not None and state.epochs_without_improvement >= config.patience


def _check_finite(losses: list[jax.Array], step: int, out: str | os.PathLike[str] | None) -> None:
    """Raise :class:`TrainingError` naming the first step whose loss was NaN or infinite."""
    if not losses:
        return
    values = np.asarray(to_host(losses), dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        first = step - len(values) + int(bad[0]) + 1
        kept = f"; the last good checkpoint in {out} is intact" if out is not None else ""
        raise TrainingError(
            f"the loss became {values[bad[0]]} at step {first}{kept}; "
            f"try a lower learning rate or gradient clipping (clip_norm)"
        )


def _fine_tune_start(
    init_from: Run | str | os.PathLike[str], model: SequenceModel, tokenizer: Tokenizer
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
    model: SequenceModel,
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


def check_process_count(out: str | os.PathLike[str]) -> None:
    """Refuse to resume ``out`` with another number of processes than trained it.

    :func:`train` checks it before it reads a song; ``popgen train --resume``
    before it reads the corpus.

    Raises:
        RunError: the run was trained by another number of processes (a
            folder that holds no run is left to the resume itself to report).

    ```python
    check_process_count("runs/lmd")  # before popgen.train(..., out="runs/lmd", resume=True)
    ```
    """
    try:
        meta = read_run_meta(out)
    except RunError:
        return  # no run there: resuming says so, as without several processes
    saved = TrainState.from_dict(meta.get("state") or {}).processes
    if saved != process_count():
        raise RunError(
            f"{out}: cannot resume: it was trained by {saved} process(es), this run has "
            f"{process_count()}; start it again with {saved} (POPGEN_NUM_PROCESSES, "
            f"see popgen.training.distributed)"
        )
