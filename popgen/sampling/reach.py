"""Steer toward the nearest note when none has come for a while, through the grammar.

:func:`popgen.sampling.max_gap` bans every token but pitches once ``tokens``
have passed without one, which works where a pitch may come at any time (the
``note`` encoding). In an encoding with a grammar, a pitch may only come
after other tokens (in ``pop``: ``BAR``, a chord, ``MELODY``, a position), so
a beam search can cycle through empty bars forever, the likeliest path of all.
:func:`reach_pitch` knows the grammar: past the gap it keeps only the tokens
on a shortest way to a pitch, so the beam writes a note within a few tokens.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import NDArray

from popgen.checks import whole_number
from popgen.sampling.strategies import History, Strategy

__all__ = ["ReachState", "pitch_distances", "reach_pitch"]

_FAR = 1 << 20  # no pitch can be reached


def pitch_distances(table: NDArray[Any], is_pitch: NDArray[np.bool_]) -> NDArray[np.int32]:
    """``int32[states]``: the fewest tokens to take, in each grammar state, before a pitch may.

    0 where a pitch may come now; a large number where none ever can.

    >>> table = np.array([[1, -1, -1], [-1, 0, 1], [-1, -1, -1]])  # state 0 -a-> 1 -b-> 0
    >>> pitch_distances(table, np.array([False, True, False]))[:2].tolist()  # token 1: a pitch
    [1, 0]
    """
    table = np.asarray(table)
    states = table.shape[0]
    dist = np.full(states, _FAR, np.int64)
    allowed = table >= 0
    for _ in range(states + 1):
        via = np.where(allowed, dist[np.clip(table, 0, states - 1)] + 1, _FAR)
        cost = np.where(allowed & is_pitch[None, :], 0, via)
        new = np.minimum(cost.min(axis=1), _FAR)
        if np.array_equal(new, dist):
            break
        dist = new
    return dist.astype(np.int32)


class ReachState(NamedTuple):
    """The state of :func:`reach_pitch`: per row, tokens since the last pitch, grammar state.

    >>> table = jnp.array([[0, -1]])  # one state; token 1 never allowed
    >>> reach_pitch(4, np.array([-1, 60]), table, 0).init(2)
    ReachState(gap=Array([0, 0], dtype=int32), grammar=Array([0, 0], dtype=int32))
    """

    gap: jax.Array  # int32[batch]
    grammar: jax.Array  # int32[batch]


def reach_pitch(tokens: int, pitches: Any, table: Any, start: int) -> Strategy:
    """After ``tokens`` tokens without a pitch, keep only the ways to the nearest pitch.

    Args:
        tokens: ``>= 1``; the longest run of tokens without a pitch left alone.
        pitches: ``int[vocab]``, each token's MIDI pitch or -1 (``tokenizer.token_pitches()``).
        table: the grammar's ``int32[states, vocab]`` transitions.
        start: the grammar's start state.

    >>> table = jnp.array([[1, -1, -1], [-1, 0, 2], [0, -1, -1]])  # 0 -a-> 1 -p-> 0, 1 -c-> 2
    >>> s = reach_pitch(1, np.array([-1, 60, -1]), table, 0)
    >>> history = History(jnp.array([[0, 0, 0]]), jnp.asarray(2))  # "a" taken: in state 1
    >>> out, state = s.apply(jnp.zeros((1, 3)), ReachState(jnp.array([1]), jnp.array([0])), history)
    >>> [bool(x) for x in jnp.isfinite(out[0])]  # only the pitch, not the detour "c"
    [False, True, False]
    """
    whole_number(tokens, "reach_pitch: tokens")
    is_pitch_np = np.asarray(pitches) >= 0
    table_np = np.asarray(table, np.int32)
    dist = jnp.asarray(pitch_distances(table_np, is_pitch_np))
    is_pitch = jnp.asarray(is_pitch_np)
    grammar_table = jnp.asarray(table_np)
    states = table_np.shape[0]

    def init(batch_size: int) -> ReachState:
        zeros = jnp.zeros((batch_size,), jnp.int32)
        return ReachState(zeros, jnp.full((batch_size,), start, jnp.int32))

    def apply(logits: jax.Array, state: ReachState, history: History) -> tuple[jax.Array, Any]:
        prev = history.previous()
        moved = grammar_table[state.grammar, prev]
        grammar = jnp.where(history.position > 1, jnp.where(moved >= 0, moved, start), start)
        gap = jnp.where(history.position > 1, jnp.where(is_pitch[prev], 0, state.gap + 1), 0)
        nxt = grammar_table[grammar]  # [batch, vocab]
        cost = jnp.where(is_pitch[None, :], 0, dist[jnp.clip(nxt, 0, states - 1)] + 1)
        cost = jnp.where((nxt >= 0) & jnp.isfinite(logits), cost, _FAR)
        nearest = cost.min(axis=-1, keepdims=True)
        steer = (gap >= tokens)[:, None] & (nearest < _FAR)
        out = jnp.where(steer & (cost > nearest), -jnp.inf, logits)
        return out, ReachState(gap, grammar)

    return Strategy(init, apply)
