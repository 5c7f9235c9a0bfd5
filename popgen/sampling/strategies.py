"""Sampling strategies: small pure transforms of next-token logits, composed with ``chain``.

The shape is optax's: a :class:`Strategy` is a pair of pure functions,
``init(batch_size) -> state`` and ``apply(logits, state, history) -> (logits,
state)``. Strategies never share state, are jit-compatible, and ``chain`` is
the only combinator. The sampler applies the chain and then draws from the
resulting distribution (``greedy()`` leaves a single token to draw).

**No row is ever left without a token.** A strategy that bans tokens
(``follow_grammar``, ``max_same_pitch_run``, the constraints in
:mod:`popgen.sampling.constraints`) leaves a row's logits unchanged where its
ban would remove every token still allowed, rather than return a row of
``-inf`` (which would draw a meaningless token or a NaN). The truncations
(``top_k``, ``top_p``, ``min_p``, ``typical``, ``greedy``) always keep the most
likely token. The sampler adds a last guard of its own for user strategies.

>>> import jax.numpy as jnp
>>> s = chain(temperature(0.5), top_k(2))
>>> logits, _ = s.apply(jnp.array([[1.0, 3.0, 2.0]]), s.init(1), History.empty(1, 4))
>>> [bool(x) for x in jnp.isfinite(logits[0])]
[False, True, True]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from popgen.checks import is_real, whole_number

__all__ = [
    "History",
    "Strategy",
    "ban_tokens",
    "chain",
    "follow_grammar",
    "greedy",
    "identity",
    "max_same_pitch_run",
    "min_p",
    "temperature",
    "top_k",
    "top_p",
    "typical",
]

_NEG_INF = -jnp.inf


class History(NamedTuple):
    """What has been generated so far, for strategies that look back.

    Attributes:
        tokens: ``int32[batch, length]``: primer and generated tokens; positions
            at or after ``position`` hold ``PAD``.
        position: ``int32[]``: index of the token being chosen now.

    >>> import jax.numpy as jnp
    >>> history = History(jnp.array([[1, 7, 7, 0]]), jnp.asarray(3, jnp.int32))
    >>> history.tokens[:, history.position - 1].tolist()  # each row's last token
    [7]

    """

    tokens: jax.Array
    position: jax.Array
    # int32[batch]: the token before ``position``, when the sampler carries it: strategies
    # read it here, not from ``tokens`` (XLA then updates the buffer in place: linear cost)
    last: jax.Array | None = None

    def previous(self) -> jax.Array:
        """``int32[batch]``: each row's token before ``position`` (at position 0, the first).

        >>> import jax.numpy as jnp
        >>> History(jnp.array([[1, 7, 8, 0]]), jnp.asarray(3)).previous().tolist()
        [8]
        """
        if self.last is not None:
            return self.last
        return self.tokens[:, jnp.maximum(self.position - 1, 0)]

    @staticmethod
    def empty(batch_size: int, length: int) -> History:
        """A history with no tokens yet (for tests and direct use).

        >>> history = History.empty(2, 5)
        >>> history.tokens.shape, int(history.position)
        ((2, 5), 0)
        """
        return History(jnp.zeros((batch_size, length), jnp.int32), jnp.asarray(0, jnp.int32))


class Strategy(NamedTuple):
    """A logits transform: ``init(batch_size) -> state``, ``apply(logits, state, history)``.

    ``logits`` are ``float32[batch, vocab]``; ``apply`` returns the new logits
    (``-inf`` marks forbidden tokens) and the new state.

    A strategy that bans token 0 and counts the steps it has seen:

    >>> import jax.numpy as jnp
    >>> no_zero = Strategy(
    ...     init=lambda batch_size: jnp.zeros((), jnp.int32),
    ...     apply=lambda logits, steps, history: (logits.at[:, 0].set(-jnp.inf), steps + 1),
    ... )
    >>> logits, steps = no_zero.apply(jnp.zeros((1, 3)), no_zero.init(1), History.empty(1, 4))
    >>> logits.tolist(), int(steps)
    ([[-inf, 0.0, 0.0]], 1)
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


def ban_tokens(logits: jax.Array, banned: jax.Array) -> jax.Array:
    """Set ``banned`` tokens to ``-inf``, except in rows where nothing would be left.

    The fallback every banning strategy shares: a row in which the ban would
    leave no finite logit is returned unchanged.

    Args:
        logits: ``float32[batch, vocab]``.
        banned: ``bool[vocab]`` or ``bool[batch, vocab]``.

    Returns:
        ``float32[batch, vocab]``.

    >>> import jax.numpy as jnp
    >>> ban_tokens(jnp.array([[0.0, 1.0], [0.0, -jnp.inf]]), jnp.array([True, False])).tolist()
    [[-inf, 1.0], [0.0, -inf]]

    """
    out = jnp.where(banned, _NEG_INF, logits)
    left = jnp.isfinite(out).any(axis=-1, keepdims=True)
    return jnp.where(left, out, logits)


def _number(value: Any, what: str) -> float:
    """``value`` as a float, or a ValueError naming ``what`` (bools and strings refused)."""
    if not is_real(value):
        raise ValueError(f"{what} must be a number, got {value!r}")
    return float(value)


def _integer(value: Any, what: str, minimum: int) -> int:
    """``value`` as an int ``>= minimum``, or a ValueError naming ``what``."""
    return whole_number(value, what, minimum=minimum)


def _pitch_table(pitches: Any, what: str) -> np.ndarray[Any, np.dtype[np.int32]]:
    """Check a token -> pitch table: ``int[vocab]``, values -1 (no pitch) or 0..127."""
    table = np.asarray(pitches)
    if table.ndim != 1 or not len(table) or not np.issubdtype(table.dtype, np.integer):
        raise ValueError(
            f"{what}: pitches must be int[vocab] (tokenizer.token_pitches()), "
            f"got {table.dtype}{list(table.shape)}"
        )
    if table.min() < -1 or table.max() > 127:
        raise ValueError(
            f"{what}: pitches must be -1 (no pitch) or 0..127, got {table.min()}..{table.max()}"
        )
    return table.astype(np.int32)


def _keep_prefix(logits: jax.Array, sort_key: jax.Array, mass: float) -> jax.Array:
    """Keep the tokens that come first by ``sort_key`` until their probability reaches ``mass``.

    The token that crosses ``mass`` is kept, so at least one token always is.
    """
    order = jnp.argsort(sort_key, axis=-1)
    probs = jnp.take_along_axis(jax.nn.softmax(logits, axis=-1), order, axis=-1)
    before = jnp.cumsum(probs, axis=-1) - probs  # mass of the tokens sorted before
    keep_sorted = before < mass
    rows = jnp.arange(logits.shape[0])[:, None]
    keep = jnp.zeros_like(keep_sorted).at[rows, order].set(keep_sorted)
    return jnp.where(keep, logits, _NEG_INF)


def identity() -> Strategy:
    """Leave the logits alone: plain sampling from the model's distribution.

    >>> import jax.numpy as jnp
    >>> identity().apply(jnp.array([[0.5, 1.5]]), (), History.empty(1, 1))[0].tolist()
    [[0.5, 1.5]]
    """
    return _stateless(lambda logits: logits)


def temperature(t: float) -> Strategy:
    """Divide logits by ``t``: below 1 sharpens, above 1 flattens the distribution.

    >>> import jax.numpy as jnp
    >>> temperature(2.0).apply(jnp.array([[2.0, 4.0]]), (), History.empty(1, 1))[0].tolist()
    [[1.0, 2.0]]
    """
    if not _number(t, "temperature") > 0:
        raise ValueError(f"temperature must be > 0, got {t}; use greedy() for argmax decoding")
    return _stateless(lambda logits: logits / t)


def top_k(k: int) -> Strategy:
    """Keep the ``k`` most likely tokens (ties at the threshold are kept).

    >>> import jax.numpy as jnp
    >>> out, _ = top_k(1).apply(jnp.array([[0.1, 0.9, 0.5]]), (), History.empty(1, 1))
    >>> [bool(x) for x in jnp.isfinite(out[0])]
    [False, True, False]
    """
    k = _integer(k, "top_k", 1)

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
    if not 0 < _number(p, "top_p") <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {p}")
    return _stateless(lambda logits: _keep_prefix(logits, -logits, p))


def min_p(p: float) -> Strategy:
    """Keep the tokens at least ``p`` times as likely as the most likely one.

    Unlike ``top_p``, the cut follows the model's confidence: a sure model
    keeps few tokens, an unsure one many. ``p = 0`` keeps every token.

    >>> import jax.numpy as jnp
    >>> logits = jnp.log(jnp.array([[0.5, 0.3, 0.2]]))
    >>> out, _ = min_p(0.5).apply(logits, (), History.empty(1, 1))
    >>> [bool(x) for x in jnp.isfinite(out[0])]
    [True, True, False]
    """
    if not 0 <= _number(p, "min_p") <= 1:
        raise ValueError(f"min_p must be in [0, 1], got {p}")
    log_p = math.log(p) if p > 0 else -math.inf

    def fn(logits: jax.Array) -> jax.Array:
        threshold = logits.max(axis=-1, keepdims=True) + log_p
        return jnp.where(logits >= threshold, logits, _NEG_INF)

    return _stateless(fn)


def typical(mass: float) -> Strategy:
    """Locally typical sampling (Meister et al. 2022): keep the tokens whose surprise is typical.

    Tokens are ranked by how far their information ``-log p`` lies from the
    distribution's entropy; the closest are kept until their probability
    reaches ``mass`` (the token that crosses it is kept too).

    >>> import jax.numpy as jnp
    >>> logits = jnp.log(jnp.array([[0.5, 0.3, 0.2]]))  # entropy 1.03 nats
    >>> out, _ = typical(0.3).apply(logits, (), History.empty(1, 1))
    >>> [bool(x) for x in jnp.isfinite(out[0])]  # 0.3 has -log p = 1.20, the closest
    [False, True, False]
    """
    if not 0 < _number(mass, "typical") <= 1:
        raise ValueError(f"typical mass must be in (0, 1], got {mass}")

    def fn(logits: jax.Array) -> jax.Array:
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        probs = jnp.exp(log_probs)
        finite = jnp.isfinite(log_probs)
        safe = jnp.where(finite, log_probs, 0.0)
        entropy = -(probs * safe).sum(axis=-1, keepdims=True)
        distance = jnp.where(finite, jnp.abs(-safe - entropy), jnp.inf)
        return _keep_prefix(logits, distance, mass)

    return _stateless(fn)


def greedy() -> Strategy:
    """Keep only the most likely token, so drawing becomes argmax (the 2017 baseline).

    >>> import jax.numpy as jnp
    >>> out, _ = greedy().apply(jnp.array([[0.1, 0.9, 0.5]]), (), History.empty(1, 1))
    >>> [bool(x) for x in jnp.isfinite(out[0])]
    [False, True, False]
    """

    def fn(logits: jax.Array) -> jax.Array:
        best = jnp.argmax(logits, axis=-1)
        keep = jnp.arange(logits.shape[-1])[None, :] == best[:, None]
        return jnp.where(keep, logits, _NEG_INF)

    return _stateless(fn)


def follow_grammar(table: Any, start: int) -> Strategy:
    """Allow only the tokens a grammar accepts after the history (see ``Tokenizer.grammar``).

    The state is the automaton's state; a forced primer token the grammar
    does not accept sends it back to ``start`` rather than to a dead end.
    Where the grammar would leave no token, the logits are left alone
    (see :func:`ban_tokens`).

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
        prev = history.previous()
        moved = table[state, prev]
        moved = jnp.where(moved >= 0, moved, start)
        state = jnp.where(history.position > 0, moved, state)
        return ban_tokens(logits, table[state] < 0), state

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
    k = _integer(k, "max_same_pitch_run: k", 1)
    table = jnp.asarray(_pitch_table(pitches, "max_same_pitch_run"))

    def init(batch_size: int) -> PitchRunState:
        return PitchRunState(
            jnp.full((batch_size,), -1, jnp.int32), jnp.zeros((batch_size,), jnp.int32)
        )

    def apply(
        logits: jax.Array, state: PitchRunState, history: History
    ) -> tuple[jax.Array, PitchRunState]:
        prev = history.previous()
        pitch = jnp.where(history.position > 0, table[prev], -1)
        is_pitch = pitch >= 0
        same = is_pitch & (pitch == state.last_pitch)
        run = jnp.where(is_pitch, jnp.where(same, state.run + 1, 1), state.run)
        last = jnp.where(is_pitch, pitch, state.last_pitch)
        banned = (table[None, :] == last[:, None]) & (run[:, None] >= k)
        return ban_tokens(logits, banned), PitchRunState(last, run)

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
