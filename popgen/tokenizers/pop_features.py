"""The step features of ``pop`` and ``lead``: where the model is, and what came before.

After each token the model is told, as one vector (:func:`pop_features`):

- **position**: the grid step in the bar (``POSITION_n``; 0 at a bar's head
  and at the start of each part), one-hot;
- **part**: the bar's head (bar line, meter, chords) or the part being
  written (``melody``, ``accompaniment`` ...), one-hot;
- **chord now**: the pitch classes of the chord sounding at that position
  (the bar's head names its chords and the beats they start on), multi-hot;
- **lookback**: the pitch class of the melody note that started at the same
  position one bar ago and two bars ago (Magenta's Lookback RNN), one-hot
  with a slot for "no note";
- **bar in the phrase**: the bar's index modulo 8, one-hot (the phrase of an
  8-bar form; a song's sections will refine it).

Every table is built once from the vocabulary, as arrays indexed by token id,
so the automaton runs inside jit with no name parsing.

>>> from popgen.tokenizers import get_tokenizer
>>> from popgen.tokenizers.features import sequence_features
>>> tok = get_tokenizer("lead")
>>> features = pop_features(tok)
>>> names = ["BAR", "CHORD_C:maj", "MELODY", "POSITION_0", "PITCH_72", "BAR", "CHORD_G:maj",
...          "MELODY", "POSITION_0"]
>>> ids = [[tok.token_id(n) for n in names]]
>>> out = sequence_features(features, __import__("jax.numpy").numpy.array(ids))
>>> layout = feature_layout(tok)
>>> lookback = out[0, -1, layout["lookback_1"]]  # at POSITION_0 of bar 2: bar 1's C (72)
>>> int(lookback.argmax()), [int(i) for i in out[0, -1, layout["chord"]].nonzero()[0]]
(0, [2, 7, 11])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from popgen.music.chords import parse_chord
from popgen.tokenizers.features import StepFeatures

if TYPE_CHECKING:
    from popgen.tokenizers.pop import PopTokenizer

__all__ = ["PHRASE_BARS", "feature_layout", "pop_features"]

#: Bars of the phrase whose bar index the features give (``bar % PHRASE_BARS``).
PHRASE_BARS = 8
#: Beats of the longest bar whose chords are followed beat by beat.
_MAX_BEATS = 16
#: Slots of a lookback: the 12 pitch classes, then "no note started here".
_LOOK = 13


class _Tables(NamedTuple):
    """Per token id: what it means to the automaton (-1: nothing)."""

    is_bar: Any  # bool[vocab]
    position: Any  # int32[vocab]: POSITION_n -> n
    part: Any  # int32[vocab]: the part a role token opens
    beat: Any  # int32[vocab]: BEAT_n -> n
    is_chord: Any  # bool[vocab]
    chord: Any  # bool[vocab, 12]
    pitch: Any  # int32[vocab]: PITCH_n -> n


def _sizes(tokenizer: PopTokenizer) -> tuple[int, int]:
    """Positions per bar (the largest ``POSITION_n`` + 1) and parts."""
    positions = [int(n.split("_", 1)[1]) for n in tokenizer.vocab if n.startswith("POSITION_")]
    return (max(positions) + 1 if positions else 1), len(tokenizer.part_roles)


def feature_layout(tokenizer: PopTokenizer) -> dict[str, slice]:
    """Where each feature sits in the vector of :func:`pop_features`.

    >>> from popgen.tokenizers import get_tokenizer
    >>> sorted(feature_layout(get_tokenizer("pop")))
    ['bar_in_phrase', 'chord', 'lookback_1', 'lookback_2', 'part', 'position']
    """
    positions, parts = _sizes(tokenizer)
    sizes = {
        "position": positions,
        "part": parts + 1,
        "chord": 12,
        "lookback_1": _LOOK,
        "lookback_2": _LOOK,
        "bar_in_phrase": PHRASE_BARS,
    }
    out, start = {}, 0
    for name, size in sizes.items():
        out[name] = slice(start, start + size)
        start += size
    return out


def _tables(tokenizer: PopTokenizer) -> _Tables:
    vocab = tokenizer.vocab
    size = len(vocab)
    tables = _Tables(
        np.zeros(size, bool), np.full(size, -1, np.int32), np.full(size, -1, np.int32),
        np.full(size, -1, np.int32), np.zeros(size, bool), np.zeros((size, 12), bool),
        np.full(size, -1, np.int32),
    )  # fmt: skip
    parts = {tokenizer.part_token(role): i for i, role in enumerate(tokenizer.part_roles)}
    for i, name in enumerate(vocab):
        family, _, value = name.partition("_")
        if name == tokenizer.bar_token:
            tables.is_bar[i] = True
        elif name in parts:
            tables.part[i] = parts[name]
        elif family == "POSITION" and value.isdigit():
            tables.position[i] = int(value)
        elif family == "BEAT" and value.isdigit():
            tables.beat[i] = int(value)
        elif family == "PITCH" and value.isdigit():
            tables.pitch[i] = int(value)
        elif family == "CHORD":
            tables.is_chord[i] = True
            tables.chord[i, list(parse_chord(value).pitch_classes)] = True
    return tables


def pop_features(tokenizer: PopTokenizer) -> StepFeatures:
    """The feature automaton of a fitted ``pop`` or ``lead`` tokenizer (see the module).

    >>> from popgen.tokenizers import get_tokenizer
    >>> tok = get_tokenizer("pop")
    >>> pop_features(tok).size == feature_layout(tok).popitem()[1].stop
    True
    """
    import jax.numpy as jnp

    positions, parts = _sizes(tokenizer)
    melody = tokenizer.part_roles.index("melody") if "melody" in tokenizer.part_roles else -1
    spb = int(tokenizer.config.steps_per_beat)
    t = _Tables(*(jnp.asarray(a) for a in _tables(tokenizer)))
    size = feature_layout(tokenizer)["bar_in_phrase"].stop
    beats = jnp.arange(_MAX_BEATS)
    eye_pos, eye_part = jnp.eye(positions, dtype=jnp.float32), jnp.eye(parts + 1, dtype=jnp.float32)
    eye_look, eye_bar = jnp.eye(_LOOK, dtype=jnp.float32), jnp.eye(PHRASE_BARS, dtype=jnp.float32)

    def init(batch: int) -> Any:
        zeros = jnp.zeros((batch,), jnp.int32)
        grid = jnp.full((batch, positions), -1, jnp.int32)
        chords = jnp.zeros((batch, _MAX_BEATS, 12), bool)
        return (zeros, zeros - 1, zeros, zeros, chords, grid, grid, grid)  # pos, part, bar ...

    def update(state: Any, token: Any) -> tuple[Any, Any]:
        pos, part, bar, head_beat, chords, cur, prev1, prev2 = state
        rows = jnp.arange(token.shape[0])
        is_bar = t.is_bar[token]
        prev2 = jnp.where(is_bar[:, None], prev1, prev2)
        prev1 = jnp.where(is_bar[:, None], cur, prev1)
        cur = jnp.where(is_bar[:, None], -1, cur)
        bar = bar + is_bar
        opens = t.part[token] >= 0
        part = jnp.where(is_bar, -1, jnp.where(opens, t.part[token], part))
        moved = jnp.where(t.position[token] >= 0, t.position[token], pos)
        pos = jnp.where(is_bar | opens, 0, moved)
        pos = jnp.clip(pos, 0, positions - 1)
        head_beat = jnp.where(is_bar, 0, jnp.where(t.beat[token] >= 0, t.beat[token], head_beat))
        from_here = (beats[None, :] >= head_beat[:, None])[:, :, None]
        chords = jnp.where(t.is_chord[token][:, None, None] & from_here,
                           t.chord[token][:, None, :], chords)  # fmt: skip
        played = (t.pitch[token] >= 0) & (part == melody) & (cur[rows, pos] < 0)
        cur = cur.at[rows, pos].set(jnp.where(played, t.pitch[token], cur[rows, pos]))
        now = chords[rows, jnp.minimum(pos // spb, _MAX_BEATS - 1)].astype(jnp.float32)

        def look(grid: Any) -> Any:
            pitch = grid[rows, pos]
            return eye_look[jnp.where(pitch >= 0, pitch % 12, 12)]

        out = jnp.concatenate(
            [eye_pos[pos], eye_part[part + 1], now, look(prev1), look(prev2),
             eye_bar[jnp.maximum(bar - 1, 0) % PHRASE_BARS]],
            axis=-1,
        )  # fmt: skip
        return (pos, part, bar, head_beat, chords, cur, prev1, prev2), out

    return StepFeatures(size, init, update)
