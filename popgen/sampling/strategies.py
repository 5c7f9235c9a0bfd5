"""Sampling strategies: small pure transforms of next-token logits, composed with ``chain``.

The shape is optax's: a :class:`Strategy` is a pair of pure functions,
``init(batch_size) -> state`` and ``apply(logits, state, history) -> (logits,
state)``. Strategies never share state, are jit-compatible, and ``chain`` is
the only combinator. The sampler applies the chain and then draws from the
resulting distribution (``greedy()`` leaves a single token to draw).

>>> import jax.numpy as jnp
>>> s = chain(temperature(0.5), top_k(2))
>>> logits, _ = s.apply(jnp.array([[1.0, 3.0, 2.0]]), s.init(1), History.empty(1, 4))
>>> [bool(x) for x in jnp.isfinite(logits[0])]
[False, True, True]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from popgen.registry import Registry

__all__ = [
    "STRATEGIES",
    "History",
    "Strategy",
    "chain",
    "follow_grammar",
    "get_strategy",
    "greedy",
    "identity",
    "list_strategies",
    "max_same_pitch_run",
    "register_strategy",
    "temperature",
    "top_k",
    "top_p",
]

_NEG_INF = -jnp.inf


class History(NamedTuple):
    """What has been generated so far, for strategies that look back.

    Attributes:
        tokens: ``int32[batch, length]``: primer and generated tokens; positions
            at or after ``position`` hold ``PAD``.
        position: ``int32[]``: index of the token being chosen now.

    """

    tokens: jax.Array
    position: jax.Array

    @staticmethod
    def empty(batch_size: int, length: int) -> History:
        """A history with no tokens yet (for tests and direct use)."""
        return History(jnp.zeros((batch_size, length), jnp.int32), jnp.asarray(0, jnp.int32))


class Strategy(NamedTuple):
    """A logits transform: ``init(batch_size) -> state``, ``apply(logits, state, history)``.

    ``logits`` are ``float32[batch, vocab]``; ``apply`` returns the new logits
    (``-inf`` marks forbidden tokens) and the new state.
    """

    init: Callable[[int], Any]
    apply: Callable[[jax.Array, Any, History], tuple[jax.Array, Any]]


def _stateless(fn: Callable[[jax.Array], jax.Array]) -> Strategy:
    """A strategy whose transform needs neither state nor history."""

    def init(batch_size: int) -> tuple[()]:
        return ()

    def apply(logits: jax.Array, state: Any, history: History) -> tuple[jax.Array, Any]:
        return fn(logits), state

    return Strategy(init, apply)


def identity() -> Strategy:
    """Leave the logits alone: plain sampling from the model's distribution."""
    return _stateless(lambda logits: logits)


def temperature(t: float) -> Strategy:
    """Divide logits by ``t``: below 1 sharpens, above 1 flattens the distribution.

    >>> import jax.numpy as jnp
    >>> temperature(2.0).apply(jnp.array([[2.0, 4.0]]), (), History.empty(1, 1))[0].tolist()
    [[1.0, 2.0]]
    """
    if not t > 0:
        raise ValueError(f"temperature must be > 0, got {t}; use greedy() for argmax decoding")
    return _stateless(lambda logits: logits / t)


def top_k(k: int) -> Strategy:
    """Keep the ``k`` most likely tokens (ties at the threshold are kept).

    >>> import jax.numpy as jnp
    >>> out, _ = top_k(1).apply(jnp.array([[0.1, 0.9, 0.5]]), (), History.empty(1, 1))
    >>> [bool(x) for x in jnp.isfinite(out[0])]
    [False, True, False]
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"top_k must be an integer >= 1, got {k!r}")

    def fn(logits: jax.Array) -> jax.Array:
        kk = min(k, logits.shape[-1])
        threshold = jax.lax.top_k(logits, kk)[0][..., -1:]
        return jnp.where(logits < threshold, _NEG_INF, logits)

    return _stateless(fn)


def top_p(p: float) -> Strategy:
    """Nucleus sampling: keep the fewest most likely tokens whose probability reaches ``p``.

    >>> import jax.numpy as jnp
    >>> logits = jnp.log(jnp.array([[0.5, 0.3, 0.2]]))
    >>> out, _ = top_p(0.7).apply(logits, (), History.empty(1, 1))
    >>> [bool(x) for x in jnp.isfinite(out[0])]
    [True, True, False]
    """
    if not 0 < p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {p}")

    def fn(logits: jax.Array) -> jax.Array:
        order = jnp.argsort(-logits, axis=-1)
        sorted_logits = jnp.take_along_axis(logits, order, axis=-1)
        probs = jax.nn.softmax(sorted_logits, axis=-1)
        before = jnp.cumsum(probs, axis=-1) - probs  # mass of strictly more likely tokens
        keep_sorted = before < p
        keep = (
            jnp.zeros_like(keep_sorted)
            .at[jnp.arange(logits.shape[0])[:, None], order]
            .set(keep_sorted)
        )
        return jnp.where(keep, logits, _NEG_INF)

    return _stateless(fn)


def greedy() -> Strategy:
    """Keep only the most likely token, so drawing becomes argmax (the 2017 baseline)."""

    def fn(logits: jax.Array) -> jax.Array:
        best = jnp.argmax(logits, axis=-1)
        keep = jnp.arange(logits.shape[-1])[None, :] == best[:, None]
        return jnp.where(keep, logits, _NEG_INF)

    return _stateless(fn)


def follow_grammar(table: Any, start: int) -> Strategy:
    """Allow only the tokens a grammar accepts after the history (see ``Tokenizer.grammar``).

    The state is the automaton's state; a forced primer token the grammar
    does not accept sends it back to ``start`` rather than to a dead end.
    Where a state allows no token at all, the logits are left alone.

    Args:
        table: ``int32[states, vocab]``: next state, -1 for a forbidden token.
        start: the state after ``BOS``.

    >>> import jax.numpy as jnp
    >>> table = jnp.array([[1, -1, 0], [-1, 0, 0]])  # state 0 needs token 0, state 1 token 1
    >>> s = follow_grammar(table, 0)
    >>> out, state = s.apply(jnp.zeros((1, 3)), s.init(1), History(jnp.array([[2, 0]]), 1))
    >>> [bool(x) for x in jnp.isfinite(out[0])], state.tolist()
    ([True, False, True], [0])

    """
    table = jnp.asarray(table, jnp.int32)

    def init(batch_size: int) -> jax.Array:
        return jnp.full((batch_size,), start, jnp.int32)

    def apply(logits: jax.Array, state: jax.Array, history: History) -> tuple[jax.Array, jax.Array]:
        prev = history.tokens[:, jnp.maximum(history.position - 1, 0)]
        moved = table[state, prev]
        moved = jnp.where(moved >= 0, moved, start)
        state = jnp.where(history.position > 0, moved, state)
        allowed = table[state] >= 0
        allowed = allowed | ~allowed.any(axis=-1, keepdims=True)
        return jnp.where(allowed, logits, _NEG_INF), state

    return Strategy(init, apply)


class PitchRunState(NamedTuple):
    """State of :func:`max_same_pitch_run`: the last pitch and how often it came in a row."""

    last_pitch: jax.Array  # int32[batch], -1 before the first pitch
    run: jax.Array  # int32[batch]


def max_same_pitch_run(k: int, pitches: Any) -> Strategy:
    """Forbid a pitch token that would make more than ``k`` notes of one pitch in a row.

    The seed's complaint about earlier models is that they "keep repeating the
    same note"; this bounds it. Notes are counted in token order, so a chord's
    notes (all different pitches) break a run.

    Args:
        k: the longest allowed run of one pitch, >= 1.
        pitches: ``int32[vocab]`` pitch of each token, -1 for non-pitch tokens
            (:meth:`popgen.Tokenizer.token_pitches`).

    >>> import jax.numpy as jnp
    >>> s = max_same_pitch_run(1, jnp.array([-1, 60, 62]))
    >>> hist = History(jnp.array([[1, 0, 0]]), jnp.asarray(1))
    >>> _, state = s.apply(jnp.zeros((1, 3)), s.init(1), hist)
    >>> out, _ = s.apply(jnp.zeros((1, 3)), state, History(jnp.array([[1, 1, 0]]), jnp.asarray(2)))
    >>> [bool(x) for x in jnp.isfinite(out[0])]
    [True, False, True]

    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"max_same_pitch_run needs k >= 1, got {k!r}")
    table = jnp.asarray(pitches, jnp.int32)

    def init(batch_size: int) -> PitchRunState:
        return PitchRunState(
            jnp.full((batch_size,), -1, jnp.int32), jnp.zeros((batch_size,), jnp.int32)
        )

    def apply(
        logits: jax.Array, state: PitchRunState, history: History
    ) -> tuple[jax.Array, PitchRunState]:
        prev = history.tokens[:, jnp.maximum(history.position - 1, 0)]
        pitch = jnp.where(history.position > 0, table[prev], -1)
        is_pitch = pitch >= 0
        same = is_pitch & (pitch == state.last_pitch)
        run = jnp.where(is_pitch, jnp.where(same, state.run + 1, 1), state.run)
        last = jnp.where(is_pitch, pitch, state.last_pitch)
        banned = (table[None, :] == last[:, None]) & (run[:, None] >= k)
        return jnp.where(banned, _NEG_INF, logits), PitchRunState(last, run)

    return Strategy(init, apply)


def chain(*strategies: Strategy) -> Strategy:
    """Apply strategies in order; each keeps its own state.

    >>> s = chain(temperature(0.9), top_k(20), top_p(0.95))
    >>> len(s.init(4))
    3
    """

    def init(batch_size: int) -> tuple[Any, ...]:
        return tuple(s.init(batch_size) for s in strategies)

    def apply(
        logits: jax.Array, state: tuple[Any, ...], history: History
    ) -> tuple[jax.Array, tuple[Any, ...]]:
        new_state = []
        for s, st in zip(strategies, state, strict=True):
            logits, st = s.apply(logits, st, history)
            new_state.append(st)
        return logits, tuple(new_state)

    return Strategy(init, apply)


#: Strategy factories by name (entry-point group ``popgen.strategies``).
STRATEGIES: Registry[Callable[..., Strategy]] = Registry("strategy", group="popgen.strategies")
_BUILTINS: dict[str, Callable[..., Strategy]] = {
    "greedy": greedy,
    "identity": identity,
    "max_same_pitch_run": max_same_pitch_run,
    "temperature": temperature,
    "top_k": top_k,
    "top_p": top_p,
}
for _name, _factory in _BUILTINS.items():
    STRATEGIES.add(_name, _factory)


def register_strategy(name: str, *, replace: bool = False) -> Callable[[Any], Any]:
    """Decorator registering a strategy factory under ``name``."""
    return STRATEGIES.register(name, replace=replace)


def get_strategy(name: str, *args: Any, **kwargs: Any) -> Strategy:
    """Build the strategy registered as ``name``: ``get_strategy("top_k", 20)``."""
    return STRATEGIES.get(name)(*args, **kwargs)


def list_strategies() -> list[str]:
    """Names of every registered strategy factory, plugins included."""
    return STRATEGIES.names()
