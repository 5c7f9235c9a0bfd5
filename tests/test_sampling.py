import jax
import jax.numpy as jnp
import numpy as np
import pytest

from popgen.sampling import (
    History,
    chain,
    generate_ids,
    get_strategy,
    greedy,
    identity,
    list_strategies,
    max_same_pitch_run,
    temperature,
    top_k,
    top_p,
)

EMPTY = History.empty(1, 8)


def finite(logits: jax.Array) -> list[bool]:
    return [bool(x) for x in jnp.isfinite(logits[0])]


def test_temperature_scales() -> None:
    out, _ = temperature(0.5).apply(jnp.array([[1.0, -2.0]]), (), EMPTY)
    np.testing.assert_allclose(out, [[2.0, -4.0]])


def test_top_k_keeps_k_best() -> None:
    logits = jnp.array([[0.1, 3.0, 2.0, -1.0, 2.5]])
    assert finite(top_k(2).apply(logits, (), EMPTY)[0]) == [False, True, False, False, True]
    assert all(finite(top_k(99).apply(logits, (), EMPTY)[0]))  # k above the vocabulary


def test_top_p_keeps_the_nucleus() -> None:
    logits = jnp.log(jnp.array([[0.1, 0.6, 0.3]]))
    assert finite(top_p(0.5).apply(logits, (), EMPTY)[0]) == [False, True, False]
    assert finite(top_p(0.8).apply(logits, (), EMPTY)[0]) == [False, True, True]
    assert all(finite(top_p(1.0).apply(logits, (), EMPTY)[0]))


def test_greedy_keeps_the_argmax() -> None:
    logits = jnp.array([[0.0, 5.0, 1.0]])
    assert finite(greedy().apply(logits, (), EMPTY)[0]) == [False, True, False]


@pytest.mark.parametrize(
    ("factory", "arg", "message"),
    [
        (temperature, 0.0, "temperature"),
        (top_k, 0, "top_k"),
        (top_p, 1.5, "top_p"),
        (top_p, 0.0, "top_p"),
        (max_same_pitch_run, 0, "k >= 1"),
    ],
)
def test_impossible_settings_are_refused(factory, arg, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        factory(arg) if factory is not max_same_pitch_run else factory(arg, [0])


def test_chain_equals_applying_by_hand() -> None:
    logits = jax.random.normal(jax.random.key(0), (3, 17))
    hist = History.empty(3, 4)
    s = chain(temperature(0.7), top_k(5), top_p(0.9))
    out, state = s.apply(logits, s.init(3), hist)
    by_hand = logits
    for part in (temperature(0.7), top_k(5), top_p(0.9)):
        by_hand, _ = part.apply(by_hand, part.init(3), hist)
    np.testing.assert_array_equal(out, by_hand)
    assert len(state) == 3


def test_registry_of_strategies() -> None:
    assert {"temperature", "top_k", "top_p", "greedy"} <= set(list_strategies())
    out, _ = get_strategy("top_k", 1).apply(jnp.array([[0.0, 1.0]]), (), EMPTY)
    assert finite(out) == [False, True]


def test_max_same_pitch_run_bans_the_fifth_repeat() -> None:
    pitches = jnp.array([-1, 60, 62])  # token 1 is pitch 60
    s = max_same_pitch_run(4, pitches)
    tokens = jnp.array([[0, 1, 1, 1, 1, 0]])
    state = s.init(1)
    for pos in range(1, 6):  # tokens 1..4 are four 60s in a row: the fifth is banned
        out, state = s.apply(jnp.zeros((1, 3)), state, History(tokens, jnp.asarray(pos)))
        assert finite(out)[1] == (pos < 5)
    # a different pitch resets the run
    tokens = tokens.at[0, 4].set(2)
    state = s.init(1)
    for pos in range(1, 6):
        out, state = s.apply(jnp.zeros((1, 3)), state, History(tokens, jnp.asarray(pos)))
    assert all(finite(out))


def cycle_step(vocab: int):  # type: ignore[no-untyped-def]
    """A hand-made model: after token t it is certain the next is (t + 1) % vocab."""

    def step(carry, token):  # type: ignore[no-untyped-def]
        logits = jnp.where(
            jnp.arange(vocab)[None, :] == ((token + 1) % vocab)[:, None], 0.0, -jnp.inf
        )
        return logits, carry + 1

    return step


def test_generate_ids_follows_a_certain_model_and_forces_the_prompt() -> None:
    prompt = jnp.array([[1, 5, 2]])  # not what the model would say: it is forced
    out = generate_ids(cycle_step(7), jnp.zeros(()), prompt, 6, identity(), jax.random.key(0))
    assert out.tolist() == [[1, 5, 2, 3, 4, 5, 6, 0, 1]]


def test_generate_ids_banned_tokens_are_never_drawn() -> None:
    def uniform(carry, token):  # type: ignore[no-untyped-def]
        return jnp.zeros((token.shape[0], 5)), carry

    banned = jnp.array([True, True, False, True, False])
    out = generate_ids(
        uniform, (), jnp.ones((8, 1), jnp.int32), 50, identity(), jax.random.key(1), banned=banned
    )
    assert set(np.unique(out[:, 1:]).tolist()) == {2, 4}
    # batch members differ, and the same key gives the same draws
    assert len({tuple(r) for r in np.asarray(out).tolist()}) == 8
    again = generate_ids(
        uniform, (), jnp.ones((8, 1), jnp.int32), 50, identity(), jax.random.key(1), banned=banned
    )
    np.testing.assert_array_equal(out, again)


def test_greedy_generation_is_argmax() -> None:
    out = generate_ids(
        cycle_step(4), jnp.zeros(()), jnp.zeros((2, 1), jnp.int32), 5, greedy(), jax.random.key(0)
    )
    assert out.tolist() == [[0, 1, 2, 3, 0, 1]] * 2


def test_follow_grammar_walks_the_automaton() -> None:
    from popgen.sampling import follow_grammar

    table = jnp.array([[1, -1, -1], [-1, 2, -1], [0, -1, 0]])  # 0 -> 1 -> 2 -> 0
    s = follow_grammar(table, 0)
    tokens = jnp.array([[0, 1, 0, 0]])
    state = s.init(1)
    expected = [[False, True, False], [True, False, True], [True, False, False]]
    for pos, allowed in zip(range(1, 4), expected, strict=True):
        out, state = s.apply(jnp.zeros((1, 3)), state, History(tokens, jnp.asarray(pos)))
        assert finite(out) == allowed
