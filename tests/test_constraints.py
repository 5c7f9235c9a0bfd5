"""``max_gap`` on hand-made logits: the count, its reset on a pitch, and rows it leaves alone."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import popgen
from popgen.music.song import Song, make_notes
from popgen.sampling import (
    History,
    chain,
    follow_grammar,
    generate_ids,
    greedy,
    max_gap,
    parse_strategy,
)

PITCHES = jnp.array([-1, -1, 60, 62])  # 0: BOS, 1: a rest, 2 and 3: pitches
BOS, REST, C, D = 0, 1, 2, 3
KEY = jax.random.key(0)


def replay(strategy, tokens, logits=None):  # type: ignore[no-untyped-def]
    """Apply ``strategy`` at every position of ``tokens`` (as the sampler does); finite masks."""
    tokens = jnp.asarray([tokens], jnp.int32)
    logits = jnp.zeros((1, 4)) if logits is None else logits
    state, masks = strategy.init(1), []
    for position in range(1, tokens.shape[1] + 1):
        buf = jnp.pad(tokens, ((0, 0), (0, 1)))
        out, state = strategy.apply(logits, state, History(buf, jnp.asarray(position)))
        masks.append(jnp.isfinite(out[0]).tolist())
    return masks, state


def test_counts_tokens_without_a_pitch_and_then_asks_for_one() -> None:
    masks, gap = replay(max_gap(2, PITCHES), [BOS, REST, REST, REST])
    everything, pitches_only = [True] * 4, [False, False, True, True]
    assert masks == [everything, everything, pitches_only, pitches_only]  # BOS is not counted
    assert gap.tolist() == [3]


def test_a_pitch_resets_the_count() -> None:
    masks, gap = replay(max_gap(2, PITCHES), [BOS, REST, REST, C, REST, REST])
    assert [m == [False, False, True, True] for m in masks] == [
        False, False, True, False, False, True,
    ]  # fmt: skip
    assert gap.tolist() == [2]


def test_rows_where_no_pitch_is_allowed_are_left_alone() -> None:
    no_pitch = jnp.array([[0.0, 1.0, -jnp.inf, -jnp.inf]])  # e.g. mid-note: only DUR may come
    masks, _ = replay(max_gap(1, PITCHES), [BOS, REST, REST], no_pitch)
    assert masks[-1] == [True, True, False, False]
    # rows are independent: one may be forced to a pitch while the other is left alone
    s = max_gap(1, PITCHES)
    hist = History(jnp.array([[BOS, REST, REST], [BOS, REST, REST]]), jnp.asarray(2))
    logits = jnp.array([[0.0, 1.0, 0.0, -jnp.inf], [0.0, 1.0, -jnp.inf, -jnp.inf]])
    out, _ = s.apply(logits, s.apply(logits, s.init(2), History(hist.tokens, 1))[1], hist)
    assert jnp.isfinite(out).tolist() == [[False, False, True, False], [True, True, False, False]]


def test_rest_loving_sampling_gets_notes_under_the_grammar() -> None:
    """A 'note'-like grammar: a pitch must be followed by a duration (token 1 here)."""
    table = jnp.array([[0, 0, 1, 1], [0, 0, -1, -1]])  # state 1 (after a pitch): only token 0/1
    step = lambda carry, token: (jnp.array([[0.0, 9.0, 0.0, 0.0]]), carry)  # noqa: E731
    grammar = follow_grammar(table, 0)
    plain = generate_ids(step, (), jnp.zeros((1, 1), jnp.int32), 12, chain(grammar, greedy()), KEY)
    assert not np.isin(np.asarray(plain), [C, D]).any()
    s = chain(grammar, max_gap(3, PITCHES), greedy())
    ids = np.asarray(generate_ids(step, (), jnp.zeros((1, 1), jnp.int32), 12, s, KEY))[0]
    assert ids.tolist() == [0, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1, 2]


def test_spec_fills_in_the_pitches() -> None:
    tok = popgen.get_tokenizer("note").fit([Song(make_notes([60, 62], [0, 2], [1, 1]))])
    s = parse_strategy("max_gap=1,top_k=3", tok)
    rest = tok.token_id("REST_1")
    hist = History(jnp.array([[1, rest, rest]]), jnp.asarray(1))
    logits = jnp.zeros((1, tok.vocab_size))
    _, state = s.apply(logits, s.init(1), hist)
    out, _ = s.apply(logits, state, History(hist.tokens, jnp.asarray(2)))
    kept = [tok.vocab[i] for i in np.flatnonzero(np.isfinite(np.asarray(out[0])))]
    assert kept and all(name.startswith("PITCH_") for name in kept)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: max_gap(0, PITCHES), "max_gap must be a whole number >= 1, got 0"),
        (lambda: max_gap(True, PITCHES), "max_gap must be a whole number >= 1, got True"),
        (lambda: max_gap(2, jnp.array([0.5])), "max_gap: pitches must be int"),
        (lambda: parse_strategy("max_gap=2"), "needs the tokenizer's pitches"),
    ],
)
def test_bad_settings(make, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        make()


def test_logits_of_another_vocabulary_are_refused() -> None:
    s = max_gap(2, PITCHES)
    with pytest.raises(ValueError, match="logits have 5 tokens but the pitch table 4"):
        s.apply(jnp.zeros((1, 5)), s.init(1), History.empty(1, 2))
