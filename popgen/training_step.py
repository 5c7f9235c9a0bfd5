"""One step of training: the optimizer, the next-token loss and the update.

:func:`popgen.train` jit-compiles :func:`train_step` with its model,
optimizer and dropout key bound; a loop of one's own can do the same. The
functions speak only the model interface (:class:`popgen.models.SequenceModel`),
so they train any registered model.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from popgen.models.base import SequenceModel
from popgen.tokenizers.base import PAD
from popgen.training_config import TrainConfig

__all__ = ["make_optimizer", "next_token_loss", "train_step"]


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
    model: SequenceModel,
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

    >>> import numpy as np
    >>> from popgen import LSTMModel
    >>> model = LSTMModel(vocab_size=8, embed_dim=4, hidden_size=8, num_layers=1)
    >>> batch = jnp.array([[1, 5, 6, 2, 0]])  # BOS, two tokens, EOS, PAD
    >>> params = model.init_params(key=jax.random.key(0))
    >>> total, count = next_token_loss(model, params, batch)
    >>> int(count), bool(abs(total / count - np.log(8)) < 0.1)  # untrained: about log(vocab)
    (3, True)

    """
    inputs, targets = batch[:, :-1], batch[:, 1:]
    logits = model.logits(params, inputs, key=key)
    mask = (targets != PAD).astype(jnp.float32)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
    return (ce * mask).sum(), mask.sum()


def train_step(
    model: SequenceModel,
    optimizer: optax.GradientTransformation,
    dropout_key: jax.Array,
    params: Any,
    opt_state: Any,
    batch: jax.Array,
    step: jax.Array,
) -> tuple[Any, Any, jax.Array]:
    """One optimizer step on the mean loss of ``batch``; dropout keyed by ``step``.

    :func:`train` jit-compiles it with the first three arguments bound; a
    loop of your own can do the same:

    ```python
    update = jax.jit(partial(train_step, model, optimizer, jax.random.key(1)),
                     donate_argnums=(0, 1))
    for step, batch in enumerate(epoch_batches(windows, 32, seed=0, epoch=0)):
        params, opt_state, loss = update(params, opt_state, batch, jnp.asarray(step))
    ```
    """

    def loss_fn(p: Any) -> jax.Array:
        total, count = next_token_loss(model, p, batch, key=jax.random.fold_in(dropout_key, step))
        return total / jnp.maximum(count, 1.0)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss
