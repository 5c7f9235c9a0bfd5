"""Copy heads: a learned bonus on the logits of tokens the step features name.

A pointer-generator network (See, Liu and Manning 2017) writes either from
its vocabulary or by pointing at something it has read. popgen's version is
small: the encoding's feature automaton names, at each step, the token that
would go on copying an earlier bar (one bar ago, two bars ago, the same bar
of the section's last occurrence; see :mod:`popgen.tokenizers.pop_features`),
and each copy head adds a bonus, a linear function of the top LSTM layer's
output, to that token's logit. The model learns when a bar repeats and then
points at it with one number, where a plain LSTM must rebuild the exact
pitch from a pitch class and an octave through its whole network.

>>> import jax.numpy as jnp
>>> logits = jnp.zeros((1, 4))
>>> copy_logits(logits, jnp.array([[2.0, 5.0]]), jnp.array([[3, -1]])).tolist()
[[0.0, 0.0, 0.0, 2.0]]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["checked_copies", "copy_logits"]


def copy_logits(logits: jax.Array, gates: jax.Array, candidates: jax.Array) -> jax.Array:
    """``logits`` with each head's gate added at its candidate token (``-1``: no candidate).

    Args:
        logits: ``float32[..., vocab]``.
        gates: ``float32[..., heads]``, each head's bonus at this step.
        candidates: ``int32[..., heads]``, each head's token, or ``-1``.

    Two heads naming the same token add up:

    >>> copy_logits(jnp.zeros((3,)), jnp.array([1.0, 0.5]), jnp.array([2, 2])).tolist()
    [0.0, 0.0, 1.5]
    """
    # plain comparisons and a sum (no one_hot or einsum: each is a jitted function of its
    # own, traced again in every fresh process); -1 matches no token
    hit = candidates[..., None] == jnp.arange(logits.shape[-1])
    bonus = jnp.where(hit, gates.astype(logits.dtype)[..., None], 0.0)
    return logits + bonus.sum(axis=-2)


def checked_copies(copies: jax.Array | None, heads: int) -> jax.Array | None:
    """``copies`` for a model with ``heads`` copy heads, checked; ``None`` for one without.

    A model without copy heads ignores candidates it is given; one with them
    needs as many per step as it has heads.

    >>> checked_copies(jnp.array([[1, 2]]), 0) is None
    True
    >>> checked_copies(None, 2)
    Traceback (most recent call last):
    ValueError: this model has 2 copy heads; give as many copy candidates per step (got none; ...
    """
    if not heads:
        return None
    if copies is None or copies.shape[-1] != heads:
        got = "none" if copies is None else f"{copies.shape[-1]}"
        raise ValueError(
            f"this model has {heads} copy heads; give as many copy candidates per step (got "
            f"{got}; popgen.models.with_step_features binds an encoding's)"
        )
    return copies
