"""Beam search on hand-made step functions with known answers, and through the Sampler."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import popgen
from popgen.music.song import Song, make_notes
from popgen.sampling import (
    History,
    Sampler,
    Strategy,
    beam_search,
    generate_ids,
    greedy,
    max_gap,
    no_repeat_ngram,
)


def markov(probs: list[list[float]]):  # type: ignore[no-untyped-def]
    """A step function whose next-token distribution depends only on the last token."""
    table = jnp.log(jnp.asarray(probs, jnp.float32))

    def step(carry, token):  # type: ignore[no-untyped-def]
        return table[token], carry + 1  # the carry counts steps, to check it is threaded

    return step, np.asarray(probs)


# 0 is the start token. Greedy takes 0 -> 1 (.5) and then at best .4; 0 -> 2 (.4) -> 1 (.9) wins.
TRAP = [
    [0.1, 0.5, 0.4, 0.0],
    [0.4, 0.3, 0.3, 0.0],
    [0.05, 0.9, 0.05, 0.0],
    [0.25, 0.25, 0.25, 0.25],
]


def run(step, num, k, prompt=((0,),), **kw):  # type: ignore[no-untyped-def]
    return beam_search(
        step, jnp.zeros((len(prompt),)), jnp.asarray(prompt, jnp.int32), num, beam_size=k, **kw
    )


def test_beam_finds_what_greedy_misses() -> None:
    step, _ = markov(TRAP)
    out = run(step, 2, 2)
    assert out.tokens[0, 0].tolist() == [0, 2, 1]
    np.testing.assert_allclose(out.scores[0, 0], (np.log(0.4) + np.log(0.9)) / 2, rtol=1e-6)
    assert out.tokens[0, 1].tolist() == [0, 1, 0]  # the runner-up: .5 * .4
    greedy_ids = generate_ids(step, 0, jnp.zeros((1, 1), jnp.int32), 2, greedy(), jax.random.key(0))
    assert greedy_ids.tolist() == [[0, 1, 0]]
    assert run(step, 2, 1).tokens[0, 0].tolist() == [0, 1, 0]  # one beam is greedy


def test_a_wide_beam_finds_the_exhaustive_optimum() -> None:
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4) * 0.5, size=4)
    step, p = markov(probs.tolist())
    length = 4
    best = max(
        itertools.product(range(4), repeat=length),
        key=lambda seq: sum(np.log(p[a, b]) for a, b in zip((0, *seq), seq, strict=False)),
    )
    out = run(step, length, 4**3)
    assert tuple(out.tokens[0, 0, 1:].tolist()) == best
    assert np.all(np.diff(np.asarray(out.scores[0])) <= 0)  # best first


def test_beams_respect_banned_tokens_and_the_strategy() -> None:
    step, _ = markov(TRAP)
    banned = jnp.array([False, False, True, False])
    assert run(step, 2, 3, banned=banned).tokens[0, 0].tolist() == [0, 1, 0]
    step, _ = markov(
        [[0.1, 0.5, 0.39, 0.01], [0.4, 0.3, 0.29, 0.01], [0.05, 0.9, 0.04, 0.01], [0.25] * 4]
    )
    out = run(step, 3, 3, strategy=no_repeat_ngram(1))  # every token at most once
    assert out.tokens[0, 0].tolist() == [0, 2, 1, 3]
    for beam in out.tokens[0].tolist():
        assert sorted(beam[1:]) == [1, 2, 3]


def test_prompt_is_forced_and_batch_rows_are_independent() -> None:
    step, _ = markov(TRAP)
    out = run(step, 1, 2, prompt=((0, 3, 2), (0, 0, 0)))
    assert out.tokens[0, 0].tolist() == [0, 3, 2, 1]
    assert out.tokens[1, 0].tolist() == [0, 0, 0, 1]


def test_length_penalty_decides_between_short_and_long_endings() -> None:
    # token 3 ends a beam. From 0: end at once (.5) or go on with 1 (.5), then 1 stays 1 (.9)
    probs = [
        [0.0, 0.5, 0.0, 0.5],
        [0.0, 0.9, 0.0, 0.1],
        [0.25, 0.25, 0.25, 0.25],
        [0.25, 0.25, 0.25, 0.25],
    ]
    step, _ = markov(probs)
    mean = run(step, 4, 2, stop_token=3, length_penalty=1.0)
    assert mean.tokens[0, 0].tolist() == [0, 1, 1, 1, 1]  # mean log p: (ln .5 + 3 ln .9) / 4
    total = run(step, 4, 2, stop_token=3, length_penalty=0.0)
    assert total.tokens[0, 0].tolist() == [0, 3, 0, 0, 0]  # ln .5 beats ln .5 + 3 ln .9; PAD after
    np.testing.assert_allclose(total.scores[0, 0], np.log(0.5), rtol=1e-6)


def test_strategy_state_follows_its_beam() -> None:
    """A stateful strategy (count of token 1 so far) must be reordered with the beams."""

    def at_most_one_1() -> Strategy:
        def apply(logits, count, history):  # type: ignore[no-untyped-def]
            prev = history.tokens[:, history.position - 1]
            count = count + (prev == 1)
            banned = (jnp.arange(logits.shape[-1]) == 1)[None, :] & (count >= 1)[:, None]
            return jnp.where(banned, -jnp.inf, logits), count

        return Strategy(lambda b: jnp.zeros((b,), jnp.int32), apply)

    step, _ = markov(TRAP)
    out = run(step, 5, 3, strategy=at_most_one_1())
    for beam in out.tokens[0].tolist():
        assert beam[1:].count(1) <= 1
    assert isinstance(History.empty(1, 1), History)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"num": 0}, "num_tokens must be a whole number >= 1"),
        ({"k": 0}, "beam_size must be a whole number >= 1"),
        ({"length_penalty": -1.0}, "length_penalty must be >= 0"),
    ],
)
def test_bad_beam_settings(kw, message) -> None:  # type: ignore[no-untyped-def]
    step, _ = markov(TRAP)
    args = {"num": 2, "k": 2} | {k: v for k, v in kw.items() if k in ("num", "k")}
    extra = {k: v for k, v in kw.items() if k not in ("num", "k")}
    with pytest.raises(ValueError, match=message):
        run(step, args["num"], args["k"], **extra)


def test_sampler_beam_search_gives_grammatical_songs_best_first() -> None:
    song = Song(make_notes([60, 64, 67, 72], [0, 0, 1.5, 3], [1, 2, 0.5, 1], [40, 80, 100, 60]))
    tok = popgen.get_tokenizer("note").fit([song])
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    params = model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))
    sampler = Sampler(model, params, tok)
    songs = sampler.beam_search(30, beam_size=3, primer=song, include_primer=False)
    assert len(songs) == 3
    assert all(s.num_notes >= 9 for s in songs)  # 30 tokens of PITCH DUR VEL (and AND/REST)
    assert songs[0].key == song.key and songs[0].tempos == song.tempos
    with pytest.raises(ValueError, match="beam_size must be a whole number >= 1"):
        sampler.beam_search(10, beam_size=0)


def rest_loving_model(tok: popgen.Tokenizer, rest: str) -> tuple[popgen.LSTMModel, object]:
    """An LSTM whose every prediction is ``rest``, by far (output weights 0, bias on it)."""
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    params = model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))
    head = params["params"]["head"]
    head["kernel"] = jnp.zeros_like(head["kernel"])
    head["bias"] = jnp.zeros_like(head["bias"]).at[tok.token_id(rest)].set(20.0)
    return model, params


def test_max_gap_keeps_a_rest_loving_beam_from_going_silent() -> None:
    """The tracker's empty beam: BOS then REST forever, unless the beam must take a pitch."""
    pitches = jnp.array([-1, -1, 60, 62])  # 1 is a rest, 2 and 3 are pitches
    step, _ = markov([[0.0, 0.9, 0.05, 0.05]] * 4)
    assert run(step, 8, 3).tokens[0, 0].tolist() == [0] + [1] * 8
    out = run(step, 8, 3, strategy=max_gap(2, pitches))
    for beam in out.tokens[0].tolist():
        gaps = "".join("p" if t in (2, 3) else "." for t in beam[1:]).split("p")
        assert max(len(g) for g in gaps) <= 2, beam

    song = Song(make_notes([60, 62], [0, 10], [1, 1]))  # a long rest: REST_8 REST_1
    tok = popgen.get_tokenizer("note").fit([song])
    model, params = rest_loving_model(tok, "REST_8")
    silent = Sampler(model, params, tok).beam_search(60, beam_size=4)
    assert [s.num_notes for s in silent] == [0, 0, 0, 0]
    pitches = jnp.asarray(tok.token_pitches())
    songs = Sampler(model, params, tok, max_gap(16, pitches)).beam_search(60, beam_size=4)
    assert all(s.num_notes >= 3 for s in songs)  # a note within every 16 + 3 tokens
