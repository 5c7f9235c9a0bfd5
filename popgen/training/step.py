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
from popgen.models.loss import next_token_loss
from popgen.runs.train_config import TrainConfig

__all__ = [
    "make_optimizer",
    "train_step",
]


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
