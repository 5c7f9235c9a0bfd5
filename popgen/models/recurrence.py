"""One LSTM layer over a whole sequence, with a hand-written backward pass.

Automatic differentiation of a ``jax.lax.scan`` adds every step's share of
the weight gradients inside the backward loop: a ``[hidden, batch] @ [batch,
4*hidden]`` product per step that reads and writes the whole weight-sized
accumulator. :func:`lstm_layer` instead runs only what must be sequential
inside its two loops (one ``h @ W_h`` forward and one ``dz @ W_h.T`` backward
per step, plus the gate arithmetic) and keeps every step's gate gradient
``dz``; the weight and input gradients are then a few large matrix
products over all time steps at once, as cuDNN and oneDNN do. On the issue-6
model this made a CPU train step 10 % faster than autodiff of the same scan,
and a first layer that reads a per-token table (:func:`lstm_table_layer`)
another 10 % (``benchmarks/train_ablation.py``, ``docs/benchmarks.md``).

Sequences are time-major here: ``x`` is ``float32[time, batch, input]``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

__all__ = [
    "gate_activations",
    "lstm_layer",
    "lstm_recurrence",
    "lstm_table_layer",
    "lstm_update",
    "reference_lstm_layer",
]

State = tuple[jax.Array, jax.Array]


def gate_activations(z: jax.Array) -> jax.Array:
    """The four gates' activations from their pre-activations, in one array.

    Args:
        z: ``float32[..., 4*hidden]``, pre-activations in the order input,
            forget, cell, output.

    Returns:
        ``[sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)]`` concatenated on the
        last axis, the same shape as ``z``.

    >>> import jax.numpy as jnp
    >>> print(gate_activations(jnp.zeros((1, 4))))
    [[0.5 0.5 0.  0.5]]
    """
    i, f, g, o = jnp.split(z, 4, axis=-1)
    sig = jax.nn.sigmoid
    return jnp.concatenate([sig(i), sig(f), jnp.tanh(g), sig(o)], axis=-1)


def lstm_update(gates: jax.Array, c: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The gate arithmetic of one LSTM step, shared by every way of running the model.

    Args:
        gates: ``float32[batch, 4*hidden]``, ``x @ W_in + h @ W_h + b``, in the
            order input, forget, cell, output.
        c: ``float32[batch, hidden]``, the previous cell state.

    Returns:
        The new ``(h, c)``.

    With all gates at 0 every gate is half open, so ``c`` halves:

    >>> import jax.numpy as jnp
    >>> h, c = lstm_update(jnp.zeros((1, 8)), jnp.ones((1, 2)))
    >>> print(c, h)
    [[0.5 0.5]] [[0.231... 0.231...]]
    """
    return _next_state(gate_activations(gates), c)


def _next_state(acts: jax.Array, c_prev: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The new ``(h, c)`` from the gates' activations and the previous cell state."""
    i, f, g, o = jnp.split(acts, 4, axis=-1)
    c = f * c_prev + i * g
    return o * jnp.tanh(c), c


def _forward(
    xs: jax.Array,
    project: Callable[[jax.Array, jax.Array], jax.Array],
    state: State,
) -> tuple[jax.Array, State, jax.Array, jax.Array]:
    """Run the recurrence; also return every step's previous cell state and gate activations.

    ``project(x_t, h)`` gives the step's gate pre-activations.
    """

    def body(carry: State, x_t: jax.Array) -> tuple[State, tuple[jax.Array, ...]]:
        h, c_prev = carry
        acts = gate_activations(project(x_t, h))
        h, c = _next_state(acts, c_prev)
        return (h, c), (h, c_prev, acts)

    final, (hs, c_prevs, acts) = jax.lax.scan(body, state, xs)
    return hs, final, c_prevs, acts


def _backward(
    d_hs: jax.Array,
    d_final: State,
    acts: jax.Array,
    c_prevs: jax.Array,
    w_h: jax.Array,
) -> tuple[jax.Array, State]:
    """The sequential part of the backward pass: every step's gate gradient ``dz``.

    Returns ``dz: float32[time, batch, 4*hidden]`` and the initial state's gradient.
    """
    w_h_t = w_h.T

    def body(carry: State, step: tuple[jax.Array, ...]) -> tuple[State, jax.Array]:
        dh, dc = carry
        dh_t, a, c_prev = step
        i, f, g, o = jnp.split(a, 4, axis=-1)
        tanh_c = jnp.tanh(f * c_prev + i * g)
        dh = dh + dh_t
        dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
        dz = jnp.concatenate(
            [
                dc * g * i * (1.0 - i),
                dc * c_prev * f * (1.0 - f),
                dc * i * (1.0 - g * g),
                dh * tanh_c * o * (1.0 - o),
            ],
            axis=-1,
        )
        return (dz @ w_h_t, dc * f), dz

    d_state, dz = jax.lax.scan(body, d_final, (d_hs, acts, c_prevs), reverse=True)
    return dz, d_state


def _recurrent_weight_gradient(h0: jax.Array, hs: jax.Array, dz: jax.Array) -> jax.Array:
    """``sum_t h_{t-1}.T @ dz_t`` as one product over all steps.

    (Slicing ``dz[1:]`` instead of shifting ``hs`` made XLA copy ``dz``, four
    times the bytes.)
    """
    h_prev = jnp.concatenate([h0[None], hs[:-1]])
    return jnp.einsum("tbh,tbg->hg", h_prev, dz)


@jax.custom_vjp
def lstm_recurrence(xp: jax.Array, w_h: jax.Array, state: State) -> tuple[jax.Array, State]:
    """The recurrence of an LSTM layer whose input is already projected.

    Args:
        xp: ``float32[time, batch, 4*hidden]``, ``x @ W_in + b`` for every step
            (gate order input, forget, cell, output).
        w_h: ``float32[hidden, 4*hidden]``, the recurrent weights.
        state: the initial ``(h, c)``, each ``float32[batch, hidden]``.

    Returns:
        ``(hs, (h, c))``: every step's output ``float32[time, batch, hidden]``
        and the final state. The gradient of ``xp`` is every step's gate
        gradient, so whatever produced ``xp`` (one large product, a table
        lookup) gets its gradients from JAX as large operations too.

    >>> import jax.numpy as jnp
    >>> zeros = jnp.zeros((2, 3))
    >>> hs, (h, c) = lstm_recurrence(jnp.zeros((4, 2, 12)), jnp.zeros((3, 12)), (zeros, zeros))
    >>> hs.shape, h.shape
    ((4, 2, 3), (2, 3))
    """
    hs, final, _, _ = _forward(xp, _add_recurrent(w_h), state)
    return hs, final


def _add_recurrent(w_h: jax.Array) -> Callable[[jax.Array, jax.Array], jax.Array]:
    def project(xp_t: jax.Array, h: jax.Array) -> jax.Array:
        return xp_t + h @ w_h

    return project


RecurrenceResiduals = tuple[jax.Array, State, jax.Array, jax.Array, jax.Array]


def _lstm_recurrence_fwd(
    xp: jax.Array, w_h: jax.Array, state: State
) -> tuple[tuple[jax.Array, State], RecurrenceResiduals]:
    hs, final, c_prevs, acts = _forward(xp, _add_recurrent(w_h), state)
    return (hs, final), (w_h, state, hs, c_prevs, acts)


def _lstm_recurrence_bwd(
    residuals: RecurrenceResiduals, cotangents: tuple[jax.Array, State]
) -> tuple[jax.Array, jax.Array, State]:
    w_h, (h0, _), hs, c_prevs, acts = residuals
    dz, d_state = _backward(*cotangents, acts, c_prevs, w_h)
    return dz, _recurrent_weight_gradient(h0, hs, dz), d_state


lstm_recurrence.defvjp(_lstm_recurrence_fwd, _lstm_recurrence_bwd)


def lstm_layer(
    x: jax.Array,
    w_in: jax.Array,
    w_h: jax.Array,
    b: jax.Array,
    state: State,
    per_step: bool = True,
) -> tuple[jax.Array, State]:
    """One LSTM layer over a time-major sequence.

    Args:
        x: ``float32[time, batch, input]``.
        w_in: ``float32[input, 4*hidden]``, the input weights.
        w_h: ``float32[hidden, 4*hidden]``, the recurrent weights.
        b: ``float32[4*hidden]``, the bias. Gate order is input, forget, cell,
            output, as in :func:`lstm_update`.
        state: the initial ``(h, c)``, each ``float32[batch, hidden]``.
        per_step: project each step's input inside the loop (``True``,
            measured faster on CPU) or all steps at once before it
            (:func:`lstm_recurrence`).

    Returns:
        ``(hs, (h, c))``: every step's output ``float32[time, batch, hidden]``
        and the final state. Gradients flow to every argument but
        ``per_step`` through a hand-written backward pass.

    It is :func:`popgen.models.lstm_cell` applied step by step:

    >>> import jax, jax.numpy as jnp
    >>> from popgen.models import lstm_cell
    >>> k = jax.random.split(jax.random.key(0), 3)
    >>> x = jax.random.normal(k[0], (5, 2, 3))  # time 5, batch 2, input 3
    >>> w_in, w_h = jax.random.normal(k[1], (3, 16)), jax.random.normal(k[2], (4, 16))
    >>> b, zeros = jnp.zeros(16), jnp.zeros((2, 4))
    >>> hs, (h, c) = lstm_layer(x, w_in, w_h, b, (zeros, zeros))
    >>> state = (zeros, zeros)
    >>> for t in range(5):
    ...     state = lstm_cell(x[t] @ w_in + b, state, w_h)
    >>> hs.shape, bool(jnp.allclose(h, state[0], atol=1e-6)), bool(jnp.allclose(hs[-1], h))
    ((5, 2, 4), True, True)
    """
    if per_step:
        return _lstm_layer_per_step(x, w_in, w_h, b, state)
    return lstm_recurrence(jnp.einsum("tbi,ig->tbg", x, w_in) + b, w_h, state)


def _project_per_step(
    w_in: jax.Array, w_h: jax.Array, b: jax.Array
) -> Callable[[jax.Array, jax.Array], jax.Array]:
    def project(x_t: jax.Array, h: jax.Array) -> jax.Array:
        return x_t @ w_in + h @ w_h + b

    return project


@jax.custom_vjp
def _lstm_layer_per_step(
    x: jax.Array, w_in: jax.Array, w_h: jax.Array, b: jax.Array, state: State
) -> tuple[jax.Array, State]:
    """:func:`lstm_layer` with each step's input projected inside the loop."""
    hs, final, _, _ = _forward(x, _project_per_step(w_in, w_h, b), state)
    return hs, final


LayerResiduals = tuple[jax.Array, jax.Array, jax.Array, State, jax.Array, jax.Array, jax.Array]


def _lstm_layer_per_step_fwd(
    x: jax.Array, w_in: jax.Array, w_h: jax.Array, b: jax.Array, state: State
) -> tuple[tuple[jax.Array, State], LayerResiduals]:
    hs, final, c_prevs, acts = _forward(x, _project_per_step(w_in, w_h, b), state)
    return (hs, final), (x, w_in, w_h, state, hs, c_prevs, acts)


def _lstm_layer_per_step_bwd(
    residuals: LayerResiduals, cotangents: tuple[jax.Array, State]
) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array, State]:
    x, w_in, w_h, (h0, _), hs, c_prevs, acts = residuals
    dz, d_state = _backward(*cotangents, acts, c_prevs, w_h)
    # The sequential part is done; the rest is large products over all steps.
    d_w_in = jnp.einsum("tbi,tbg->ig", x, dz)
    d_x = jnp.einsum("tbg,ig->tbi", dz, w_in)
    d_w_h = _recurrent_weight_gradient(h0, hs, dz)
    return d_x, d_w_in, d_w_h, dz.sum(axis=(0, 1)), d_state


_lstm_layer_per_step.defvjp(_lstm_layer_per_step_fwd, _lstm_layer_per_step_bwd)


def _look_up(table: jax.Array, w_h: jax.Array) -> Callable[[jax.Array, jax.Array], jax.Array]:
    def project(tokens_t: jax.Array, h: jax.Array) -> jax.Array:
        return table[tokens_t] + h @ w_h

    return project


@jax.custom_vjp
def lstm_table_layer(
    table: jax.Array, tokens: jax.Array, w_h: jax.Array, state: State
) -> tuple[jax.Array, State]:
    """A first LSTM layer whose input projection is a per-token table.

    With no dropout between the embedding and the first layer, ``embedding
    @ W_in + b`` gives every token's gate input as one row of a
    ``[vocab, 4*hidden]`` table; each step looks its tokens' rows up inside
    the loop. The ``[time * batch, input] @ [input, 4*hidden]`` product and
    its two backward products become the small table product and one
    scatter-add of the gate gradients into the table's rows.

    Args:
        table: ``float32[vocab, 4*hidden]``, ``embedding @ W_in + b``.
        tokens: ``int32[time, batch]``.
        w_h: ``float32[hidden, 4*hidden]``, the recurrent weights.
        state: the initial ``(h, c)``, each ``float32[batch, hidden]``.

    Returns:
        ``(hs, (h, c))`` as :func:`lstm_recurrence` gives for ``table[tokens]``.

    >>> import jax, jax.numpy as jnp
    >>> k = jax.random.split(jax.random.key(0), 2)
    >>> table, w_h = jax.random.normal(k[0], (7, 12)), jax.random.normal(k[1], (3, 12))
    >>> tokens, zeros = jnp.array([[1, 2], [6, 0]]), jnp.zeros((2, 3))
    >>> hs, _ = lstm_table_layer(table, tokens, w_h, (zeros, zeros))
    >>> same, _ = lstm_recurrence(table[tokens], w_h, (zeros, zeros))
    >>> hs.shape, bool(jnp.allclose(hs, same))
    ((2, 2, 3), True)
    """
    hs, final, _, _ = _forward(tokens, _look_up(table, w_h), state)
    return hs, final


TableResiduals = tuple[jax.Array, jax.Array, jax.Array, State, jax.Array, jax.Array, jax.Array]


def _lstm_table_layer_fwd(
    table: jax.Array, tokens: jax.Array, w_h: jax.Array, state: State
) -> tuple[tuple[jax.Array, State], TableResiduals]:
    hs, final, c_prevs, acts = _forward(tokens, _look_up(table, w_h), state)
    return (hs, final), (table, tokens, w_h, state, hs, c_prevs, acts)


def _lstm_table_layer_bwd(
    residuals: TableResiduals, cotangents: tuple[jax.Array, State]
) -> tuple[jax.Array, None, jax.Array, State]:
    table, tokens, w_h, (h0, _), hs, c_prevs, acts = residuals
    dz, d_state = _backward(*cotangents, acts, c_prevs, w_h)
    d_table = jnp.zeros_like(table).at[tokens].add(dz)
    return d_table, None, _recurrent_weight_gradient(h0, hs, dz), d_state


lstm_table_layer.defvjp(_lstm_table_layer_fwd, _lstm_table_layer_bwd)


def reference_lstm_layer(
    x: jax.Array,
    w_in: jax.Array,
    w_h: jax.Array,
    b: jax.Array,
    state: State,
    per_step: bool = True,
) -> tuple[jax.Array, State]:
    """:func:`lstm_layer` as a plain scan of :func:`popgen.models.lstm_cell`, left to autodiff.

    The same function with JAX's own backward pass: the reference the tests
    check :func:`lstm_layer` against, and the "previous build" of
    ``benchmarks/train_ablation.py``. ``per_step`` is accepted and ignored.

    >>> import jax, jax.numpy as jnp
    >>> k = jax.random.split(jax.random.key(0), 3)
    >>> x, zeros = jax.random.normal(k[0], (5, 2, 3)), jnp.zeros((2, 4))
    >>> w_in, w_h = jax.random.normal(k[1], (3, 16)), jax.random.normal(k[2], (4, 16))
    >>> def loss(layer, w_h):
    ...     return layer(x, w_in, w_h, jnp.zeros(16), (zeros, zeros))[0].sum()
    >>> bool(jnp.allclose(jax.grad(loss, 1)(lstm_layer, w_h),
    ...                   jax.grad(loss, 1)(reference_lstm_layer, w_h), atol=1e-5))
    True
    """
    del per_step
    from popgen.models.lstm import lstm_cell  # lstm.py imports this module

    def body(carry: State, x_t: jax.Array) -> tuple[State, jax.Array]:
        carry = lstm_cell(x_t @ w_in + b, carry, w_h)
        return carry, carry[0]

    final, hs = jax.lax.scan(body, state, x)
    return hs, final
