"""follow_controls: the sampling strategy that forces each bar's control tokens."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import NDArray

from popgen.sampling.controls import Controls
from popgen.sampling.strategies import History, Strategy
from popgen.tokenizers.base import PAD, UNK, Tokenizer
from popgen.tokenizers.steering import SteerableEncoding

__all__ = [
    "ControlState",
    "Schedule",
    "follow_controls",
    "schedule",
]


class Schedule(NamedTuple):
    """What :func:`follow_controls` needs to steer one encoding through one set of controls.

    >>> from popgen.tokenizers import get_tokenizer
    >>> plan = schedule(get_tokenizer("pop"), Controls.over_chords("C G Am F"))
    >>> plan.prefixes.shape, plan.lengths.tolist()  # 4 bars of BAR CHORD MELODY
    ((4, 3), [3, 3, 3, 3])
    """

    prefixes: NDArray[np.int32]  # [bars, width]: each bar's forced token ids, PAD after
    lengths: NDArray[np.int32]  # [bars]: how many of each row are forced
    bar_token: int  # the token that opens a bar
    section_tokens: tuple[int, ...]  # the tokens that open a part of a bar


def schedule(tokenizer: Tokenizer, controls: Controls) -> Schedule:
    """The forced tokens of each bar, as ``int32[bars, width]`` ids (padded) and their lengths.

    Raises:
        ValueError: the encoding has no bars and chords to follow, was
            trained without chords while the controls have some, writes no part
            beside a given melody, or lacks a token the controls need.

    >>> from popgen.tokenizers import get_tokenizer
    >>> tok = get_tokenizer("lead")
    >>> prefixes, lengths, bar, sections = schedule(tok, Controls.over_chords("C G"))
    >>> [[tok.token_name(int(t)) for t in row[:n]] for row, n in zip(prefixes, lengths)]
    [['BAR', 'CHORD_C:maj', 'MELODY'], ['BAR', 'CHORD_G:maj', 'MELODY']]
    >>> schedule(get_tokenizer("note"), Controls.over_chords("C G"))
    Traceback (most recent call last):
    ValueError: the encoding 'note' has no bars and chords to follow; controls need a run ...
    """
    if not isinstance(tokenizer, SteerableEncoding) or tokenizer.grammar() is None:
        raise ValueError(
            f"the encoding {tokenizer.name!r} has no bars and chords to follow; controls need "
            "a run trained with --tokenizer pop (melody and accompaniment) or lead (melody)"
        )
    roles = tokenizer.part_roles
    if len(controls.chords) and not tokenizer.steers_chords:
        raise ValueError(
            "this run was trained without chords (its encoding has chords=False), so it "
            "cannot follow a chord progression; train with chords, or give no chords"
        )
    given = 0
    if controls.melody is not None:
        if roles[0] != "melody" or len(roles) < 2:
            raise ValueError(
                f"this run writes only {', '.join(roles)}: nothing to write beside a "
                "given melody; arrange with a run trained with --tokenizer pop"
            )
        given = 1
    names = tokenizer.bar_prefixes(controls.skeleton(), controls.bars, given)
    ids = [[tokenizer.token_id(n) for n in bar] for bar in names]
    missing = sorted({n for bar, row in zip(names, ids, strict=True)
                      for n, i in zip(bar, row, strict=True) if i == UNK})  # fmt: skip
    if missing:
        shown = ", ".join(missing[:6]) + (", ..." if len(missing) > 6 else "")
        raise ValueError(
            f"the run's vocabulary lacks {len(missing)} token(s) the controls need ({shown}): "
            "a meter, position or duration its training songs never had"
        )
    width = max(len(row) for row in ids)
    prefixes = np.full((len(ids), width), PAD, dtype=np.int32)
    for b, row in enumerate(ids):
        prefixes[b, : len(row)] = row
    lengths = np.array([len(row) for row in ids], dtype=np.int32)
    sections = tuple(tokenizer.token_id(tokenizer.part_token(r)) for r in roles)
    return Schedule(prefixes, lengths, tokenizer.token_id(tokenizer.bar_token), sections)


class ControlState(NamedTuple):
    """State of :func:`follow_controls`, per batch row.

    >>> import jax.numpy as jnp
    >>> s = follow_controls(jnp.array([[3]]), jnp.array([1]), bar_token=3, end_token=2,
    ...                     table=jnp.zeros((1, 4), jnp.int32), start=0, max_bar_tokens=8)
    >>> s.init(2).bar.tolist()  # every row starts in bar 0
    [0, 0]
    """

    bar: jax.Array  # int32: the bar being written (== bars once the song has ended)
    forced: jax.Array  # int32: how many of this bar's forced tokens are taken
    free: jax.Array  # int32: tokens the model wrote in this bar
    grammar: jax.Array  # int32: the grammar state after the last token


def follow_controls(
    prefixes: Any,
    lengths: Any,
    *,
    bar_token: int,
    end_token: int,
    table: Any,
    start: int,
    max_bar_tokens: int,
    section_tokens: Any = (),
) -> Strategy:
    """Force each bar's tokens, let the model write the rest, close the song after the last bar.

    Args:
        prefixes: ``int32[bars, width]``: each bar's forced tokens (padded);
            every bar's first forced token is ``bar_token``. Or
            ``int32[schedules, bars, width]``, one schedule per song: batch row
            ``r`` follows schedule ``r % schedules``.
        lengths: ``int32[bars]`` (or ``[schedules, bars]``): how many of each
            row are forced; bars of length 0 pad a shorter song's schedule.
        bar_token: the token that opens a bar. When the model draws it, the
            next bar's forced tokens follow; after the last bar it becomes
            ``end_token`` instead, and only ``end_token`` follows.
        end_token: the token that ends the song (``EOS``).
        table: the grammar's ``int32[states, vocab]`` transitions (see
            :class:`popgen.tokenizers.grammar.Grammar`), to know where a part may close.
        start: the grammar's start state.
        max_bar_tokens: after this many of the model's tokens in one part of
            a bar, the part closes as soon as the grammar allows (with the next
            part's token, or the next bar's).
        section_tokens: the tokens that open a part of a bar (``MELODY``, ...).

    Forced tokens replace the logits with a single token, whatever the
    strategies before did, so put this strategy last in a chain.

    >>> import jax.numpy as jnp
    >>> from popgen.sampling import History
    >>> table = jnp.zeros((1, 4), jnp.int32)  # one state, every token allowed
    >>> s = follow_controls(jnp.array([[3, 0], [3, 1]]), jnp.array([2, 2]), bar_token=3,
    ...                     end_token=2, table=table, start=0, max_bar_tokens=8)
    >>> tokens = jnp.array([[1, 3, 0, 0, 0]])  # BOS, then the first bar's forced BAR
    >>> logits, state = s.apply(jnp.zeros((1, 4)), s.init(1), History(tokens, 2))
    >>> logits.tolist(), state.forced.tolist()  # the bar's second forced token
    ([[0.0, -inf, -inf, -inf]], [1])
    """
    prefixes = jnp.asarray(prefixes, jnp.int32)
    lengths = jnp.asarray(lengths, jnp.int32)
    if prefixes.ndim == 2:  # one schedule for every row
        prefixes, lengths = prefixes[None], lengths[None]
    table = jnp.asarray(table, jnp.int32)
    closers = jnp.asarray([*np.asarray(section_tokens, dtype=np.int32).tolist(), bar_token])
    schedules, _, width = prefixes.shape
    song_bars = (lengths > 0).sum(-1)  # per schedule: bars padded on have nothing forced

    def init(batch_size: int) -> ControlState:
        zeros = jnp.zeros((batch_size,), jnp.int32)
        return ControlState(zeros, zeros, zeros, jnp.full((batch_size,), start, jnp.int32))

    def apply(logits: jax.Array, state: ControlState, history: History) -> tuple[jax.Array, Any]:
        which = jnp.arange(logits.shape[0]) % schedules  # row r follows schedule r % schedules
        n_bars = song_bars[which]
        prev = history.previous()
        moved = table[state.grammar, prev]
        grammar = jnp.where(history.position > 0, jnp.where(moved >= 0, moved, start), start)
        first = history.position <= 1  # after BOS: nothing taken yet
        forcing = state.forced < lengths[which, jnp.minimum(state.bar, n_bars - 1)]
        took_forced = ~first & forcing & (state.bar < n_bars)
        new_bar = ~first & ~forcing & (prev == bar_token) & (state.bar < n_bars)
        bar = jnp.where(new_bar, state.bar + 1, state.bar)
        bar = jnp.where(~first & (prev == end_token), n_bars, bar)
        forced = jnp.where(took_forced, state.forced + 1, jnp.where(new_bar, 1, state.forced))
        new_part = (prev[:, None] == closers[None, :]).any(-1)
        free = jnp.where(new_part | first, 0, jnp.where(took_forced, state.free, state.free + 1))

        row = jnp.minimum(bar, n_bars - 1)
        want = prefixes[which, row, jnp.minimum(forced, width - 1)]
        done = bar >= n_bars
        must = ~done & (forced < lengths[which, row])
        last = bar == n_bars - 1
        allowed = table[grammar][:, closers] >= 0  # [batch, closers]
        closer = closers[jnp.argmax(allowed, axis=-1)]
        closer = jnp.where(last & (closer == bar_token), end_token, closer)
        close = ~must & ~done & allowed.any(-1) & (free >= max_bar_tokens)
        target = jnp.where(done, end_token, jnp.where(must, want, closer))

        ids = jnp.arange(logits.shape[-1])[None, :]
        # in the last bar, drawing BAR ends the song instead
        bar_logit = jnp.where(table[grammar, bar_token] >= 0, logits[:, bar_token], -jnp.inf)
        free_logits = jnp.where(last[:, None] & (ids == end_token), bar_logit[:, None], logits)
        free_logits = jnp.where(last[:, None] & (ids == bar_token), -jnp.inf, free_logits)
        one = jnp.where(ids == target[:, None], 0.0, -jnp.inf)
        out = jnp.where((must | done | close)[:, None], one, free_logits)
        out = jnp.where(jnp.isfinite(out).any(-1, keepdims=True), out, logits)
        return out, ControlState(bar, forced, free, grammar)

    return Strategy(init, apply)
