"""A sampling strategy that favours the tones of the chord sounding now (bar encodings).

In the ``pop`` and ``lead`` encodings (:mod:`popgen.tokenizers.pop`) every bar
names its chords before its notes, so the chord under each note is known
while the note is drawn. :func:`chord_tones` reads the bar's chord tokens
and the position tokens as they come and adds a bonus to the pitch tokens
whose pitch class belongs to that chord. It is a sampling-time patch, off
unless asked for (``--strategy "chord_tones=1.0,..."``), and measured on its
own on the experiments page.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from popgen.music.chords import parse_chord
from popgen.sampling.strategies import History, Strategy
from popgen.tokenizers.base import Tokenizer
from popgen.tokenizers.steering import SteerableEncoding

__all__ = ["ChordToneState", "chord_tones"]

#: The most beats a bar may have for :func:`chord_tones` (longer bars keep their last chord).
_MAX_BEATS = 16


class ChordToneState(NamedTuple):
    """State of :func:`chord_tones`, per batch row.

    >>> from popgen.tokenizers import get_tokenizer
    >>> chord_tones(1.0, get_tokenizer("lead")).init(2).chords.shape  # rows, beats, pitch classes
    (2, 16, 12)
    """

    chords: jax.Array  # bool[batch, beats, 12]: the chord tones from each beat of this bar
    beat: jax.Array  # int32[batch]: the beat the next chord token starts at
    position: jax.Array  # int32[batch]: the position (grid steps) of the notes being written


def chord_tones(weight: float, tokenizer: Tokenizer) -> Strategy:
    """Add ``weight`` to the logits of pitches in the chord sounding at the current position.

    Args:
        weight: the bonus in nats (``e ** weight`` times more likely); 0 changes nothing.
        tokenizer: an encoding that writes ``BAR``, ``BEAT_k``, ``CHORD_x`` and
            ``POSITION_p`` tokens (``pop``, ``lead``).

    Raises:
        ValueError: a negative weight, or an encoding without chord tokens.

    >>> import jax.numpy as jnp
    >>> from popgen.tokenizers import get_tokenizer
    >>> tok = get_tokenizer("lead")
    >>> s = chord_tones(2.0, tok)
    >>> names = ["BOS", "BAR", "CHORD_A:min", "MELODY", "POSITION_0"]
    >>> history = History(jnp.array([[tok.token_id(n) for n in names] + [0]]), 5)
    >>> state, zeros = s.init(1), jnp.zeros((1, tok.vocab_size))
    >>> for i in range(1, 6):  # feed the tokens one by one, as the sampler does
    ...     logits, state = s.apply(zeros, state, history._replace(position=i))
    >>> [float(logits[0, tok.token_id(f"PITCH_{p}")]) for p in (69, 71, 72)]  # A, B, C
    [2.0, 0.0, 2.0]
    """
    if not weight >= 0:
        raise ValueError(f"chord_tones weight must be >= 0, got {weight}")
    vocab = tokenizer.vocab
    spb = int(getattr(tokenizer.config, "steps_per_beat", 0))
    steerable = isinstance(tokenizer, SteerableEncoding)
    if not steerable or spb < 1 or not any(n.startswith("CHORD_") for n in vocab):
        raise ValueError(
            f"chord_tones needs an encoding with chord tokens and positions (pop, lead), "
            f"not {tokenizer.name!r}"
        )
    size = len(vocab)
    chord = np.zeros((size, 12), dtype=bool)
    is_chord = np.zeros(size, dtype=bool)
    beat = np.full(size, -1, dtype=np.int32)
    position = np.full(size, -1, dtype=np.int32)
    for i, name in enumerate(vocab):
        family, _, value = name.partition("_")
        if family == "CHORD":
            is_chord[i] = True
            chord[i, list(parse_chord(value).pitch_classes)] = True
        elif family == "BEAT" and value.isdigit():
            beat[i] = int(value)
        elif family == "POSITION" and value.isdigit():
            position[i] = int(value)
    assert isinstance(tokenizer, SteerableEncoding)
    bar = tokenizer.token_id(tokenizer.bar_token)
    parts = [tokenizer.part_token(role) for role in tokenizer.part_roles]
    sections = np.isin(vocab, parts)  # the tokens that open a part
    pitches = tokenizer.token_pitches()
    pitch_class = np.where(pitches >= 0, pitches % 12, 0)
    tables = [jnp.asarray(a) for a in (chord, is_chord, beat, position, sections, pitch_class)]
    chord_t, is_chord_t, beat_t, position_t, sections_t, pc_t = tables
    is_pitch = jnp.asarray(pitches >= 0)
    beats = jnp.arange(_MAX_BEATS)

    def init(batch_size: int) -> ChordToneState:
        zeros = jnp.zeros((batch_size,), jnp.int32)
        return ChordToneState(jnp.zeros((batch_size, _MAX_BEATS, 12), bool), zeros, zeros)

    def apply(logits: jax.Array, state: ChordToneState, history: History) -> tuple[jax.Array, Any]:
        prev = history.previous()
        fresh = (prev == bar) | (history.position <= 1)
        table = jnp.where(fresh[:, None, None], False, state.chords)
        at = jnp.where(fresh, 0, jnp.where(beat_t[prev] >= 0, beat_t[prev], state.beat))
        from_here = (beats[None, :] >= at[:, None])[:, :, None]
        table = jnp.where(is_chord_t[prev][:, None, None] & from_here, chord_t[prev][:, None, :],
                          table)  # fmt: skip
        pos = jnp.where(fresh | sections_t[prev], 0, state.position)
        pos = jnp.where(position_t[prev] >= 0, position_t[prev], pos)
        now = table[jnp.arange(len(prev)), jnp.minimum(pos // spb, _MAX_BEATS - 1)]  # [batch, 12]
        bonus = jnp.where(is_pitch[None, :] & now[:, pc_t], weight, 0.0)
        return logits + bonus, ChordToneState(table, at, pos)

    return Strategy(init, apply)
