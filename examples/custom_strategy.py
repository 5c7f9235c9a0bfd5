"""A user-written sampling strategy: "avoid big leaps", registered by name and used in a spec.

Trains a tiny LSTM for two epochs on 16 folk songs bundled with music21, then
samples a melody in which no pitch is more than a fifth from the one before.

    python examples/custom_strategy.py [OUT_DIR]
"""

import sys
import tempfile
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import popgen
from popgen.sampling import History, Strategy, ban_tokens, parse_strategy, register_strategy


class LeapState(NamedTuple):
    last_pitch: jax.Array  # int32[batch]: the last pitch generated, -1 before the first


@register_strategy("avoid_leaps")
def avoid_leaps(max_leap: int, pitches: Any) -> Strategy:
    """Ban pitch tokens more than ``max_leap`` semitones away from the previous pitch.

    Pitches are compared in token order, so within a chord each note is
    compared with the one written before it.

    ``pitches`` (``int32[vocab]``, -1 for tokens that are not pitches) is filled
    in from the tokenizer when the strategy is used by name in a spec, because
    the parameter is called ``pitches`` (see ``popgen.sampling.VOCABULARY_ARGUMENTS``).
    """
    if not isinstance(max_leap, int) or max_leap < 0:
        raise ValueError(f"avoid_leaps needs max_leap >= 0 semitones, got {max_leap!r}")
    table = jnp.asarray(pitches, jnp.int32)

    def init(batch_size: int) -> LeapState:
        return LeapState(jnp.full((batch_size,), -1, jnp.int32))

    def apply(logits: jax.Array, state: LeapState, history: History) -> tuple[jax.Array, LeapState]:
        previous = history.tokens[:, jnp.maximum(history.position - 1, 0)]
        pitch = jnp.where(history.position > 0, table[previous], -1)
        last = jnp.where(pitch >= 0, pitch, state.last_pitch)  # remember the latest pitch
        leap = jnp.abs(table[None, :] - last[:, None])
        banned = (table[None, :] >= 0) & (last[:, None] >= 0) & (leap > max_leap)
        return ban_tokens(logits, banned), LeapState(last)  # ban_tokens never empties a row

    return Strategy(init, apply)


def largest_leap(ids: np.ndarray, tokenizer: popgen.Tokenizer) -> int:
    """The largest step between consecutive pitch tokens (the order the strategy sees)."""
    pitches = tokenizer.token_pitches()[ids]
    pitches = pitches[pitches >= 0]
    return int(np.abs(np.diff(pitches)).max()) if len(pitches) > 1 else 0


def main(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    corpus = popgen.Corpus.from_music21("essenFolksong/test0")
    tokenizer = popgen.get_tokenizer("note").fit(corpus)
    model = popgen.LSTMModel(
        vocab_size=tokenizer.vocab_size, embed_dim=32, hidden_size=64, num_layers=1
    )
    run = popgen.train(
        model, tokenizer, corpus, popgen.TrainConfig(seq_len=32, epochs=2), progress=False
    )
    # constraints first, so that top_p picks its nucleus among the allowed tokens
    strategy = parse_strategy("avoid_leaps=7,temperature=0.9,top_p=0.95", tokenizer)
    sampler = popgen.Sampler.from_run(run, strategy)
    song = sampler.generate(150, seed=0)[0]
    leap = largest_leap(sampler.generate_ids(150, seed=0)[0], tokenizer)  # the same draws
    path = out / "no_big_leaps.mid"
    song.write_midi(path)
    print(f"wrote {song.num_notes} notes to {path}; largest leap {leap} semitones")
    return path


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
