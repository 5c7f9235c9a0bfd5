"""Dropout that draws 16 random bits per element instead of 32.

Flax's ``nn.Dropout`` draws a 32-bit float per element; on a CPU the
random bits are most of its cost (about 75 ms of a 0.9 s train step of the
3 x 512 model with dropout 0.2; ``docs/benchmarks.md``). Two 16-bit draws
per 32-bit word halve that. The keep probability is rounded to a multiple
of 1/65536 (``0.8`` becomes ``0.800003``) and the kept values are scaled by
its exact inverse, so the expectation is unchanged.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["Dropout", "keep_threshold"]

_LEVELS = 1 << 16


def keep_threshold(rate: float) -> int:
    """The number of 16-bit values (of 65536) that keep an element.

    >>> keep_threshold(0.2), keep_threshold(0.0), keep_threshold(0.5)
    (52429, 65536, 32768)
    """
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"dropout rate must be in [0, 1), got {rate}")
    return max(1, min(_LEVELS, round((1.0 - rate) * _LEVELS)))


class Dropout(nn.Module):
    """Inverted dropout with 16-bit random draws; the ``"dropout"`` rng, like ``nn.Dropout``.

    >>> import jax, jax.numpy as jnp
    >>> drop = Dropout(rate=0.5)
    >>> x = jnp.ones((4, 1000))
    >>> y = drop.apply({}, x, deterministic=False, rngs={"dropout": jax.random.key(0)})
    >>> sorted(set(y.ravel().tolist())), round(float(y.mean()), 1)
    ([0.0, 2.0], 1.0)
    >>> bool((drop.apply({}, x, deterministic=True) == x).all())
    True
    """

    rate: float  # the share of elements set to zero

    @nn.compact
    def __call__(self, x: jax.Array, deterministic: bool) -> jax.Array:
        """``x`` with each element zeroed with probability ``rate``, the rest scaled up."""
        keep = keep_threshold(self.rate)
        if deterministic or keep == _LEVELS:
            return x
        size = math.prod(x.shape)
        words = jax.random.bits(self.make_rng("dropout"), ((size + 1) // 2,), jnp.uint32)
        halves = jax.lax.bitcast_convert_type(words, jnp.uint16).reshape(-1)[:size]
        mask = halves.reshape(x.shape).astype(jnp.uint32) < jnp.uint32(keep)
        return jnp.where(mask, x * jnp.asarray(_LEVELS / keep, x.dtype), jnp.zeros((), x.dtype))
