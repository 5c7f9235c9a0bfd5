"""popgen.models.dropout: 16-bit dropout keeps the expectation and the rate."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.models.dropout import Dropout, keep_threshold


@settings(max_examples=15, deadline=None)
@given(
    rate=st.floats(0.05, 0.9),
    shape=st.lists(st.integers(1, 7), min_size=1, max_size=3),
    seed=st.integers(0, 1000),
)
def test_values_are_zero_or_scaled(rate: float, shape: list[int], seed: int) -> None:
    x = jnp.arange(1, np.prod(shape) + 1, dtype=jnp.float32).reshape(shape)

    @jax.jit  # one compilation per drawn shape, not one per operation run eagerly
    def drop(x: jax.Array, key: jax.Array) -> jax.Array:
        return Dropout(rate).apply({}, x, deterministic=False, rngs={"dropout": key})

    y = drop(x, jax.random.key(seed))
    assert y.shape == x.shape and y.dtype == x.dtype
    y, x = np.asarray(y), np.asarray(x)
    kept = y != 0
    scale = 65536 / keep_threshold(rate)
    np.testing.assert_allclose(y[kept], x[kept] * scale, rtol=1e-6)


@pytest.mark.parametrize("rate", [0.1, 0.2, 0.5, 0.8])
def test_drop_rate_and_mean(rate: float) -> None:
    x = jnp.ones((200, 501))  # an odd size: the last 32-bit word is half used
    y = Dropout(rate).apply({}, x, deterministic=False, rngs={"dropout": jax.random.key(1)})
    dropped = float((y == 0).mean())
    assert abs(dropped - rate) < 0.01
    assert abs(float(y.mean()) - 1.0) < 0.02


def test_deterministic_and_zero_rate_pass_through() -> None:
    x = jax.random.normal(jax.random.key(0), (3, 5))
    assert Dropout(0.3).apply({}, x, deterministic=True) is x
    assert Dropout(0.0).apply({}, x, deterministic=False) is x  # needs no rng


def test_different_keys_different_masks_same_key_same_mask() -> None:
    x = jnp.ones((64, 64))
    drop = Dropout(0.5)

    def masks(seed: int) -> jax.Array:
        return drop.apply({}, x, deterministic=False, rngs={"dropout": jax.random.key(seed)}) == 0

    assert bool((masks(0) == masks(0)).all())
    assert not bool((masks(0) == masks(1)).all())


@pytest.mark.parametrize("rate", [-0.1, 1.0, 1.5])
def test_impossible_rate_is_refused(rate: float) -> None:
    with pytest.raises(ValueError, match="dropout rate"):
        keep_threshold(rate)
