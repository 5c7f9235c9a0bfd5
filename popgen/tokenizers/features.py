"""What a model may see at each step besides the token: features an encoding computes.

An encoding that knows where a token sits (the position in the bar, the part,
the chord sounding, what was played there a bar ago) offers those facts as a
small feature vector per step, computed from the tokens so far by an
automaton: :class:`StepFeatures` is its pair of pure functions, shaped like a
sampling strategy. ``init(batch)`` gives the state before the first token;
``update(state, token)`` reads one token per row and returns the new state and
the features that describe the context *after* that token, the context in
which the model predicts the next one.

Training runs the automaton over whole windows in one ``lax.scan``
(:func:`sequence_features`); the sampler carries its state and calls
``update`` once per step inside its own scan. Both run the same code, so what
the model sees when it writes is what it saw when it learned. Nothing here is
Python per token.

>>> import jax.numpy as jnp
>>> counter = counting_features(3)  # a toy automaton: how many tokens so far, one-hot
>>> sequence_features(counter, jnp.array([[5, 6, 7]])).argmax(-1).tolist()
[[1, 2, 2]]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    import jax

__all__ = ["StepFeatures", "counting_features", "sequence_features"]


class StepFeatures(NamedTuple):
    """A feature automaton: ``size`` features per step, from ``init`` and ``update``.

    Attributes:
        size: the length of each step's feature vector.
        init: ``batch_size -> state`` (a pytree of arrays, batch first).
        update: ``(state, token: int32[batch]) -> (state, float32[batch, size])``;
            pure and jit-friendly.

    >>> counting_features(4).size
    4
    """

    size: int
    init: Callable[[int], Any]
    update: Callable[[Any, jax.Array], tuple[Any, jax.Array]]


def sequence_features(features: StepFeatures, tokens: jax.Array) -> jax.Array:
    """The features of every step of ``int32[batch, time]`` tokens: ``float32[batch, time, size]``.

    One ``lax.scan`` over time, vectorised over the batch; feature ``t``
    depends on tokens ``0..t`` only.

    >>> import jax.numpy as jnp
    >>> sequence_features(counting_features(2), jnp.zeros((2, 4), jnp.int32)).shape
    (2, 4, 2)
    """
    import jax
    import jax.numpy as jnp

    def step(state: Any, token: jax.Array) -> tuple[Any, jax.Array]:
        return features.update(state, token)

    _, out = jax.lax.scan(step, features.init(tokens.shape[0]), jnp.swapaxes(tokens, 0, 1))
    return jnp.swapaxes(out, 0, 1)


def counting_features(size: int) -> StepFeatures:
    """A toy automaton for tests and examples: the tokens read so far, one-hot, capped.

    >>> import jax.numpy as jnp
    >>> f = counting_features(2)
    >>> state, out = f.update(f.init(1), jnp.array([9]))
    >>> out.tolist()
    [[0.0, 1.0]]
    """
    import jax.numpy as jnp

    def init(batch: int) -> Any:
        return jnp.zeros((batch,), jnp.int32)

    def update(count: Any, token: Any) -> tuple[Any, Any]:
        count = jnp.minimum(count + 1, size - 1)
        return count, jnp.eye(size, dtype=jnp.float32)[count]

    return StepFeatures(size, init, update)
