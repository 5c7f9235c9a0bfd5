"""Strategies that look at the history or at what the tokens mean.

``repetition_penalty``, ``no_repeat_ngram`` and ``repeat_motifs`` read the
tokens generated so far (:class:`~popgen.sampling.strategies.History`);
``pitch_range``, ``in_key``, ``repeat_melody`` and ``max_gap`` need the
vocabulary's meaning, which they take at construction as an array, ``pitches =
tokenizer.token_pitches()`` (``int32[vocab]``, the MIDI pitch of each token, -1
for tokens that are not a pitch), never by parsing token names inside jit.
Tokens that are not pitches are never banned by them, except by ``max_gap``,
whose job that is.

Every ban here follows the shared fallback (:func:`ban_tokens`): a row in which
it would leave no token is returned unchanged. So put constraints *before*
truncations in a chain (``chain(in_key(...), top_p(0.9))``): then ``top_p``
picks its nucleus among the allowed tokens, whereas a constraint placed after
it may find the whole nucleus banned and fall back to leaving it alone.

>>> import jax.numpy as jnp
>>> from popgen.sampling import chain
>>> pitches = jnp.array([-1, 60, 61, 62])
>>> s = chain(pitch_range(60, 61, pitches), in_key("D major", pitches))
>>> out, _ = s.apply(jnp.zeros((1, 4)), s.init(1), History.empty(1, 2))
>>> [bool(x) for x in jnp.isfinite(out[0])]
[True, False, True, False]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from popgen.checks import is_whole
from popgen.music.keys import parse_key
from popgen.sampling.strategies import (
    History,
    Strategy,
    _integer,
    _number,
    _pitch_table,
    ban_tokens,
)

__all__ = [
    "SCALES",
    "in_key",
    "max_gap",
    "no_repeat_ngram",
    "pitch_range",
    "repeat_melody",
    "repeat_motifs",
    "repetition_penalty",
]

#: Pitch classes of each mode's scale, in semitones above the tonic (minor is natural minor).
SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
}


def _seen(tokens: jax.Array, valid: jax.Array, vocab: int) -> jax.Array:
    """``bool[batch, vocab]``: which tokens occur among ``tokens[b, j]`` where ``valid[b, j]``."""
    rows = jnp.arange(tokens.shape[0])[:, None]
    counts = jnp.zeros((tokens.shape[0], vocab), jnp.int32)
    counts = counts.at[rows, tokens].add(jnp.broadcast_to(valid, tokens.shape).astype(jnp.int32))
    return counts > 0


def _stateless_ban(banned: np.ndarray[Any, Any]) -> Strategy:
    """A strategy banning a fixed ``bool[vocab]`` set of tokens (with the fallback)."""
    mask = jnp.asarray(banned)

    def init(batch_size: int) -> tuple[()]:
        return ()

    def apply(logits: jax.Array, state: Any, history: History) -> tuple[jax.Array, Any]:
        if logits.shape[-1] != mask.shape[0]:
            raise ValueError(
                f"logits have {logits.shape[-1]} tokens but the pitch table {mask.shape[0]}; "
                "build the strategy from the same tokenizer as the model"
            )
        return ban_tokens(logits, mask), state

    return Strategy(init, apply)


def repetition_penalty(penalty: float, window: int = 64) -> Strategy:
    """Make tokens seen in the last ``window`` tokens less likely (CTRL, Keskar et al. 2019).

    A seen token's logit is divided by ``penalty`` when positive and
    multiplied by it when negative, so it always moves down for ``penalty >
    1`` (1 changes nothing; values below 1 favour repetition). The window
    includes the primer; every token counts, not only pitches.

    Args:
        penalty: ``> 0``; 1.1 to 1.3 is usual.
        window: how many of the most recent tokens count, ``>= 1``.

    >>> import jax.numpy as jnp
    >>> s = repetition_penalty(2.0, window=2)
    >>> hist = History(jnp.array([[0, 1, 2, 0]]), jnp.asarray(3))  # last two tokens: 1, 2
    >>> s.apply(jnp.array([[4.0, 4.0, -4.0, 4.0]]), (), hist)[0].tolist()
    [[4.0, 2.0, -8.0, 4.0]]

    """
    if not _number(penalty, "repetition_penalty") > 0:
        raise ValueError(f"repetition_penalty must be > 0 (1 = no penalty), got {penalty}")
    window = _integer(window, "repetition_penalty window", 1)

    def init(batch_size: int) -> tuple[()]:
        return ()

    def apply(logits: jax.Array, state: Any, history: History) -> tuple[jax.Array, Any]:
        index = history.position - 1 - jnp.arange(window)
        recent = history.tokens[:, jnp.maximum(index, 0)]
        seen = _seen(recent, (index >= 0)[None, :], logits.shape[-1])
        lowered = jnp.where(logits > 0, logits / penalty, logits * penalty)
        return jnp.where(seen, lowered, logits), state

    return Strategy(init, apply)


def no_repeat_ngram(n: int) -> Strategy:
    """Ban a token that would complete an ``n``-gram already in the history.

    The last ``n - 1`` tokens are looked up in the whole history (primer
    included); every token that followed them there is banned. ``n = 1`` bans
    every token already used. A token of the note encoding is a third of a
    note, so ``n = 9`` forbids repeating three notes exactly. The cost per
    step grows with the history's length.

    >>> import jax.numpy as jnp
    >>> s = no_repeat_ngram(2)
    >>> hist = History(jnp.array([[1, 2, 1, 0]]), jnp.asarray(3))  # "1 2" was seen; last is 1
    >>> out, _ = s.apply(jnp.zeros((1, 4)), (), hist)
    >>> [bool(x) for x in jnp.isfinite(out[0])]
    [True, True, False, True]

    """
    n = _integer(n, "no_repeat_ngram", 1)

    def init(batch_size: int) -> tuple[()]:
        return ()

    def apply(logits: jax.Array, state: Any, history: History) -> tuple[jax.Array, Any]:
        return ban_tokens(logits, _continuations(history, n, logits.shape[-1])), state

    return Strategy(init, apply)


def repeat_motifs(n: int, boost: float = 2.0) -> Strategy:
    """Favour tokens that continue an ``n``-gram as it went earlier in the song.

    The counterpart of :func:`no_repeat_ngram`: the last ``n - 1`` tokens are
    looked up in the whole history (primer included), and every token that
    followed them there gets ``boost`` added to its logit. Pop songs repeat
    their motifs, phrases and choruses; an LSTM sampled token by token rarely
    does, and this nudges it to (see ``docs/experiments.md``). With the
    ``note`` encoding, ``n = 7`` matches the last two notes (six tokens).
    Nothing is banned, so the grammar and other constraints still hold.

    Args:
        n: ``>= 2``; the context is the last ``n - 1`` tokens.
        boost: ``>= 0``, added to the logits (``log(boost)``-fold odds is
            ``exp(boost)``; 0 changes nothing).

    >>> import jax.numpy as jnp
    >>> s = repeat_motifs(2, boost=1.5)
    >>> hist = History(jnp.array([[1, 2, 1, 0]]), jnp.asarray(3))  # "1 2" was seen; last is 1
    >>> s.apply(jnp.zeros((1, 4)), (), hist)[0].tolist()
    [[0.0, 0.0, 1.5, 0.0]]

    """
    n = _integer(n, "repeat_motifs", 2)
    if not _number(boost, "repeat_motifs boost") >= 0:
        raise ValueError(f"repeat_motifs boost must be >= 0, got {boost}")

    def init(batch_size: int) -> tuple[()]:
        return ()

    def apply(logits: jax.Array, state: Any, history: History) -> tuple[jax.Array, Any]:
        seen = _continuations(history, n, logits.shape[-1])
        return jnp.where(seen, logits + boost, logits), state

    return Strategy(init, apply)


def repeat_melody(n: int, boost: float, pitches: Any) -> Strategy:
    """Favour the pitch that followed the last ``n - 1`` pitches earlier in the song.

    Like :func:`repeat_motifs`, but on the melody alone: the pitches of the
    history (durations, velocities and rests ignored) are searched for the
    last ``n - 1`` pitches, and each pitch that followed them there gets
    ``boost`` added to the logits of its pitch tokens. Songs then come back to
    their own phrases, as pop melodies do, while rhythm stays free. The search
    looks back over the last :data:`LOOKBACK` tokens, so that a step costs the
    same however long the song.

    Args:
        n: ``>= 2``; the context is the last ``n - 1`` pitches.
        boost: ``>= 0``, added to the logits of the continuing pitches' tokens.
        pitches: ``int[vocab]``, each token's MIDI pitch or -1
            (``tokenizer.token_pitches()``; filled in by ``parse_strategy``).

    >>> import jax.numpy as jnp
    >>> pitches = jnp.array([-1, -1, 60, 62, 64])  # tokens 2..4 are pitches
    >>> s = repeat_melody(2, 1.0, pitches)
    >>> hist = History(jnp.array([[2, 1, 3, 1, 2, 1]]), jnp.asarray(6))  # 60 62 60: 62 followed 60
    >>> s.apply(jnp.zeros((1, 5)), (), hist)[0].tolist()
    [[0.0, 0.0, 0.0, 1.0, 0.0]]

    """
    n = _integer(n, "repeat_melody", 2)
    if not _number(boost, "repeat_melody boost") >= 0:
        raise ValueError(f"repeat_melody boost must be >= 0, got {boost}")
    table = jnp.asarray(_pitch_table(pitches, "repeat_melody"))

    def init(batch_size: int) -> tuple[()]:
        return ()

    def apply(logits: jax.Array, state: Any, history: History) -> tuple[jax.Array, Any]:
        tokens, pos = _recent(history)
        batch, length = tokens.shape
        pitch = jnp.where(jnp.arange(length) < pos, table[tokens], -1)
        is_pitch = pitch >= 0
        count = is_pitch.sum(axis=1)  # pitches so far, per row
        slot = jnp.where(is_pitch, jnp.cumsum(is_pitch, axis=1) - 1, length)  # compact index
        melody = jnp.full((batch, length + 1), -1, jnp.int32)
        melody = melody.at[jnp.arange(batch)[:, None], slot].set(pitch)[:, :length]
        starts = length - n + 1
        if starts < 1:
            return logits, state
        last = jnp.clip(count[:, None] - (n - 1) + jnp.arange(n - 1), 0, length - 1)
        context = jnp.take_along_axis(melody, last, axis=1)
        match = (count >= n)[:, None] & (jnp.arange(starts)[None, :] + n - 1 < count[:, None])
        for k in range(n - 1):
            match &= melody[:, k : k + starts] == context[:, k : k + 1]
        following = jnp.where(match, melody[:, n - 1 :], -1)  # the pitch after each match
        rows = jnp.arange(batch)[:, None]
        slots = jnp.where(following >= 0, following, 128)  # 128 collects the misses
        hit = jnp.zeros((batch, 129), bool).at[rows, slots].set(True)[:, :128]
        favoured = jnp.where(table[None, :] >= 0, hit[:, jnp.clip(table, 0, 127)], False)
        return jnp.where(favoured, logits + boost, logits), state

    return Strategy(init, apply)


#: The tokens :func:`repeat_melody` searches back over: the cost of a step stays bounded,
#: and generation linear in the song's length (about 680 notes of ``note`` tokens).
LOOKBACK = 2048


def _recent(history: History) -> tuple[jax.Array, jax.Array]:
    """The last :data:`LOOKBACK` tokens before the position, and the position in them."""
    tokens, pos = history.tokens, jnp.asarray(history.position)
    length = tokens.shape[1]
    if length <= LOOKBACK:
        return tokens, pos
    start = jnp.clip(pos - LOOKBACK, 0, length - LOOKBACK)
    window = jax.lax.dynamic_slice_in_dim(tokens, start, LOOKBACK, axis=1)
    return window, pos - start


def _continuations(history: History, n: int, vocab: int) -> jax.Array:
    """``bool[batch, vocab]``: tokens that followed the last ``n - 1`` tokens earlier on."""
    tokens, pos = history.tokens, history.position
    length = tokens.shape[1]
    if length < n:
        return jnp.zeros((tokens.shape[0], vocab), bool)
    starts = length - n + 1  # n-grams tokens[s : s + n] that fit in the buffer
    prefix = tokens[:, jnp.clip(pos - (n - 1) + jnp.arange(n - 1), 0, length - 1)]
    match = jnp.ones((tokens.shape[0], starts), bool)
    for k in range(n - 1):
        match &= tokens[:, k : k + starts] == prefix[:, k : k + 1]
    done = (jnp.arange(starts) + n - 1 < pos) & (pos >= n - 1)  # n-gram wholly in the past
    return _seen(tokens[:, n - 1 :], match & done[None, :], vocab)


def pitch_range(low: int, high: int, pitches: Any) -> Strategy:
    """Ban pitch tokens below ``low`` or above ``high`` (MIDI numbers, inclusive).

    Args:
        low: the lowest allowed pitch, 0..127.
        high: the highest allowed pitch, ``low``..127.
        pitches: ``int[vocab]`` pitch of each token, -1 for non-pitch tokens.

    >>> import jax.numpy as jnp
    >>> s = pitch_range(60, 64, jnp.array([-1, 59, 60, 64, 65]))
    >>> out, _ = s.apply(jnp.zeros((1, 5)), (), History.empty(1, 1))
    >>> [bool(x) for x in jnp.isfinite(out[0])]
    [True, False, True, True, False]

    """
    low = _integer(low, "pitch_range low", 0)
    high = _integer(high, "pitch_range high", 0)
    if not low <= high <= 127:
        raise ValueError(f"pitch_range needs 0 <= low <= high <= 127, got low={low}, high={high}")
    table = _pitch_table(pitches, "pitch_range")
    return _stateless_ban((table >= 0) & ((table < low) | (table > high)))


def in_key(key: str, pitches: Any, *, extra: Iterable[int] = ()) -> Strategy:
    """Ban pitch tokens whose pitch class is outside the key's scale.

    Args:
        key: a key name :func:`popgen.music.keys.parse_key` reads: ``"C"``, ``"A minor"``,
            ``"F#m"``, ``"Bb:maj"``. Major keys use the major scale, minor keys
            the natural minor (:data:`SCALES`).
        pitches: ``int[vocab]`` pitch of each token, -1 for non-pitch tokens.
        extra: further pitch classes to allow, in semitones above the tonic
            (``extra=[11]`` adds the leading tone of harmonic minor).

    >>> import jax.numpy as jnp
    >>> s = in_key("A minor", jnp.arange(-1, 13))  # token t is pitch t - 1: C, C#, ..., C
    >>> out, _ = s.apply(jnp.zeros((1, 14)), (), History.empty(1, 1))
    >>> [i - 1 for i, ok in enumerate(jnp.isfinite(out[0]).tolist()) if ok and i]
    [0, 2, 4, 5, 7, 9, 11, 12]

    """
    if not isinstance(key, str):
        raise ValueError(f"in_key needs a key name such as 'C major' or 'A minor', got {key!r}")
    tonic, mode = parse_key(key)
    steps = list(extra)
    if not all(is_whole(e) for e in steps):
        raise ValueError(f"in_key extra must be semitones as integers, got {steps!r}")
    allowed = np.zeros(12, bool)
    allowed[[(tonic + s) % 12 for s in (*SCALES[mode], *steps)]] = True
    table = _pitch_table(pitches, "in_key")
    return _stateless_ban((table >= 0) & ~allowed[table % 12])


def max_gap(tokens: int, pitches: Any) -> Strategy:
    """Let at most ``tokens`` tokens in a row pass without a pitch token, then ask for one.

    The count is of the tokens since the last pitch token (primer included;
    the sequence's first token, ``BOS``, is not counted). Once it reaches
    ``tokens``, every token that is not a pitch is banned, but only in rows
    where the logits still allow some pitch token: where the grammar (or an
    earlier strategy) allows none, e.g. in the middle of a ``note``
    encoding's ``PITCH DUR VEL`` or right after ``remi``'s ``BAR``, the row is
    left alone and the pitch comes as soon as it may. So a song cannot be all
    rests, as the likeliest path of a melody model often is under beam search
    (``BOS REST_8 REST_8 ...``). Put it before truncations, like the other
    constraints. ``chord`` encoding's ``CHORD_...`` tokens name no single
    pitch, so they count as tokens without one.

    Args:
        tokens: ``>= 1``; the longest run of tokens without a pitch. Between
            the notes of a melody in the ``note`` encoding there are 2 (``DUR
            VEL``) plus any ``REST``/``AND``/``SHIFT``, so 16 bites only on
            long silences.
        pitches: ``int[vocab]``, each token's MIDI pitch or -1
            (``tokenizer.token_pitches()``; filled in by ``parse_strategy``).

    Returns:
        A strategy whose state is ``int32[batch]``, the tokens since the last pitch.

    >>> import jax.numpy as jnp
    >>> s = max_gap(2, jnp.array([-1, -1, 60]))  # token 1 is a rest, token 2 a pitch
    >>> tokens, state = jnp.array([[0, 1, 1, 0]]), s.init(1)  # BOS, two rests
    >>> for position in (1, 2, 3):
    ...     out, state = s.apply(jnp.zeros((1, 3)), state, History(tokens, jnp.asarray(position)))
    >>> [bool(x) for x in jnp.isfinite(out[0])], state.tolist()  # two rests: a pitch must come
    ([False, False, True], [2])

    """
    limit = _integer(tokens, "max_gap", 1)
    is_pitch = jnp.asarray(_pitch_table(pitches, "max_gap") >= 0)

    def init(batch_size: int) -> jax.Array:
        return jnp.zeros((batch_size,), jnp.int32)

    def apply(logits: jax.Array, gap: jax.Array, history: History) -> tuple[jax.Array, jax.Array]:
        if logits.shape[-1] != is_pitch.shape[0]:
            raise ValueError(
                f"logits have {logits.shape[-1]} tokens but the pitch table {is_pitch.shape[0]}; "
                "build the strategy from the same tokenizer as the model"
            )
        prev = history.previous()
        gap = jnp.where(history.position > 1, jnp.where(is_pitch[prev], 0, gap + 1), gap)
        pitch_allowed = (jnp.isfinite(logits) & is_pitch[None, :]).any(axis=-1)
        banned = ~is_pitch[None, :] & ((gap >= limit) & pitch_allowed)[:, None]
        return ban_tokens(logits, banned), gap

    return Strategy(init, apply)
