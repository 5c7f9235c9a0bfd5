"""The next-token loss of a sequence model, shared by training and likelihood measures."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import optax

from popgen.models.base import SequenceModel
from popgen.tokenizers.base import PAD

__all__ = [
    "next_token_loss",
]


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
            Windows of a model bound to step features may carry each token's
            codes computed over its whole song (``int32[batch, seq_len + 1,
            1 + width]``: the token, then its codes; see
            :func:`popgen.models.featured.with_step_features`).
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
    if batch.ndim == 3:  # tokens with their step-feature codes
        inputs, targets = batch[:, :-1, 0], batch[:, 1:, 0]
        codes = batch[:, :-1, 1:]
        logits = model.logits(params, inputs, key=key, codes=codes)  # type: ignore[call-arg]
    else:
        inputs, targets = batch[:, :-1], batch[:, 1:]
        logits = model.logits(params, inputs, key=key)
    mask = (targets != PAD).astype(jnp.float32)
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
    return (ce * mask).sum(), mask.sum()
