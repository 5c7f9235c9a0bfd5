"""Every generated sequence decodes: the sampler enforces the tokenizer's grammar."""

import jax
import jax.numpy as jnp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import popgen
from popgen.music.song import Song, make_notes
from popgen.sampling import Sampler, chain, temperature, top_k, top_p


@pytest.fixture(scope="module")
def untrained() -> tuple[popgen.LSTMModel, object, popgen.Tokenizer]:
    song = Song(make_notes([60, 64, 67, 72], [0, 0, 1.5, 3], [1, 2, 0.5, 1], [40, 80, 100, 60]))
    tok = popgen.get_tokenizer("note").fit([song])
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    params = model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))
    return model, params, tok


STRATEGIES = [
    None,
    chain(temperature(2.0)),
    chain(temperature(0.7), top_k(5)),
    chain(top_p(0.9)),
]


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), which=st.integers(0, len(STRATEGIES) - 1))
def test_untrained_model_output_always_follows_the_grammar(untrained, seed, which) -> None:  # type: ignore[no-untyped-def]
    model, params, tok = untrained
    sampler = Sampler(model, params, tok, STRATEGIES[which])
    ids = sampler.generate_ids(60, batch_size=3, seed=seed)
    grammar = tok.grammar()
    assert grammar is not None
    for row in ids:
        assert grammar.accepts(row[1:].tolist())
        names = [tok.token_name(int(t)) for t in row[1:]]
        complete_notes = sum(n.startswith("VEL_") for n in names)
        assert tok.decode(row).num_notes == complete_notes


def test_grammar_can_be_switched_off(untrained) -> None:  # type: ignore[no-untyped-def]
    model, params, tok = untrained
    ids = Sampler(model, params, tok, temperature(3.0), enforce_grammar=False).generate_ids(
        200, batch_size=4, seed=0
    )
    grammar = tok.grammar()
    assert grammar is not None
    assert not all(grammar.accepts(row[1:].tolist()) for row in ids)
