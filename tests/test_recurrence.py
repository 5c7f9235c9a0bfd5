"""The hand-written backward pass of popgen.models.recurrence.lstm_layer against autodiff."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.models.recurrence import gate_activations, lstm_layer, reference_lstm_layer


def random_inputs(seed: int, time: int, batch: int, inputs: int, hidden: int) -> tuple:
    k = jax.random.split(jax.random.key(seed), 6)
    x = jax.random.normal(k[0], (time, batch, inputs))
    w_in = jax.random.normal(k[1], (inputs, 4 * hidden)) * 0.5
    w_h = jax.random.normal(k[2], (hidden, 4 * hidden)) * 0.5
    b = jax.random.normal(k[3], (4 * hidden,)) * 0.1
    state = (jax.random.normal(k[4], (batch, hidden)), jax.random.normal(k[5], (batch, hidden)))
    return x, w_in, w_h, b, state


def loss_of(layer, per_step: bool | None = None):  # type: ignore[no-untyped-def]
    """A scalar that uses every output: all steps' h and the final (h, c)."""

    def loss(x, w_in, w_h, b, state):  # type: ignore[no-untyped-def]
        args = (x, w_in, w_h, b, state) + (() if per_step is None else (per_step,))
        hs, (h, c) = layer(*args)
        weights = jnp.cos(jnp.arange(hs.size, dtype=jnp.float32)).reshape(hs.shape)
        return (hs * weights).sum() + (h * 0.3).sum() + (c**2).sum()

    return loss


@settings(max_examples=6, deadline=None)  # each draws new shapes: a compilation each
@given(
    seed=st.integers(0, 2**16),
    time=st.integers(1, 7),
    batch=st.integers(1, 4),
    inputs=st.integers(1, 5),
    hidden=st.integers(1, 6),
    per_step=st.booleans(),
)
def test_gradients_equal_autodiff_of_the_plain_scan(
    seed: int, time: int, batch: int, inputs: int, hidden: int, per_step: bool
) -> None:
    args = random_inputs(seed, time, batch, inputs, hidden)
    # jitted: one compilation per function instead of one per operation run eagerly
    fast_out = jax.jit(lstm_layer, static_argnums=5)(*args, per_step)
    slow_out = jax.jit(reference_lstm_layer)(*args)
    for a, b in zip(jax.tree.leaves(fast_out), jax.tree.leaves(slow_out), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    argnums = (0, 1, 2, 3, 4)
    fast = jax.jit(jax.grad(loss_of(lstm_layer, per_step), argnums=argnums))(*args)
    slow = jax.jit(jax.grad(loss_of(reference_lstm_layer), argnums=argnums))(*args)
    for a, b in zip(jax.tree.leaves(fast), jax.tree.leaves(slow), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_works_under_jit_and_vmap() -> None:
    x, w_in, w_h, b, state = random_inputs(0, 4, 2, 3, 5)
    grad = jax.jit(jax.grad(loss_of(lstm_layer, True), argnums=1))
    batched = jax.vmap(grad, in_axes=(None, 0, None, None, None))
    w_stack = jnp.stack([w_in, 2 * w_in])
    out = batched(x, w_stack, w_h, b, state)
    np.testing.assert_allclose(out[1], grad(x, 2 * w_in, w_h, b, state), rtol=1e-5, atol=1e-6)


def test_gate_activations_order() -> None:
    z = jnp.array([[1.0, -1.0, 2.0, 0.5]])
    acts = gate_activations(z)
    sig = jax.nn.sigmoid
    expected = jnp.array([[sig(1.0), sig(-1.0), jnp.tanh(2.0), sig(0.5)]])
    np.testing.assert_allclose(acts, expected, rtol=1e-6)


@pytest.mark.parametrize("per_step", [True, False])
def test_zero_weights_give_zero_outputs(per_step: bool) -> None:
    """Zero state and weights: every gate is half open, c = 0.5 * 0 + 0.5 * tanh(0) stays 0."""
    x = jnp.ones((3, 2, 4))
    zeros = jnp.zeros((2, 5))
    weights = (jnp.zeros((4, 20)), jnp.zeros((5, 20)), jnp.zeros(20))
    hs, (_, c) = lstm_layer(x, *weights, (zeros, zeros), per_step)
    assert hs.shape == (3, 2, 5)
    np.testing.assert_array_equal(hs, 0.0)
    np.testing.assert_array_equal(c, 0.0)
