"""Copy heads: the candidates the pop automaton names, and the models that point at them."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import step_automaton
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen import LSTMModel
from popgen.models.copying import copy_logits
from popgen.models.featured import with_step_features
from popgen.models.lstm import make_step
from popgen.music.chords import make_chords
from popgen.music.sections import parse_form
from popgen.music.song import Song, Track, make_notes
from popgen.tokenizers import get_tokenizer
from popgen.tokenizers.features import copy_candidates, counting_features, song_codes
from popgen.tokenizers.pop_features import COPIED, feature_layout


def _song(bars: list[list[int | None]], form: str = "") -> Song:
    """A melody of quarter notes (``None``: a rest) over C, and a bass note a bar."""
    pitches, starts, tracks = [], [], []
    for b, beats in enumerate(bars):
        for k, pitch in enumerate(beats):
            if pitch is not None:
                pitches += [pitch]
                starts += [4.0 * b + k]
                tracks += [0]
        pitches += [36]
        starts += [4.0 * b]
        tracks += [1]
    notes = make_notes(pitches, starts, [1.0] * len(pitches), track=tracks)
    roles = (Track("M", role="melody"), Track("P", role="accompaniment"))
    chords = make_chords(["C"] * len(bars), [4.0 * b for b in range(len(bars))], [4.0] * len(bars))
    return Song(notes, tracks=roles, chords=chords, sections=parse_form(form))


def _candidates(song: Song, **options: object) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The song's token names, its copy candidates and its "copying" codes, step by step."""
    tok = get_tokenizer("pop", copied=COPIED, **options).fit([song])
    names = tok.song_to_names(song)
    codes = step_automaton(tok, [tok.token_id(n) for n in names])
    layout = list(feature_layout(tok))
    copying = codes[:, [layout.index(f"copying_{k}") for k in ("1", "2", "section")]]
    cand = np.asarray(copy_candidates(tok.step_features(), codes))
    return names, np.vectorize(lambda i: tok.vocab[i] if i >= 0 else "-")(cand), copying


def _melody_of_bar(names: list[str], bar: int) -> range:
    """The steps from the bar's MELODY token to the last token of its melody."""
    bars = [i for i, n in enumerate(names) if n == "BAR"]
    start = names.index("MELODY", bars[bar])
    return range(start, names.index("ACCOMPANIMENT", start))


copiable = st.lists(st.one_of(st.none(), st.integers(60, 84)), min_size=4, max_size=4)


@settings(deadline=None, max_examples=15)
@given(bar=copiable, other=copiable)
def test_a_repeated_bar_is_named_token_for_token(
    bar: list[int | None], other: list[int | None]
) -> None:
    # bars: X, Y, X: in the third, the head two bars ago names every position, pitch and
    # the melody's end; the head one bar ago only while Y and X agree so far
    names, cand, copying = _candidates(_song([bar, other, bar]))
    for step in _melody_of_bar(names, 2):
        following = names[step + 1]
        if following.split("_")[0] in ("POSITION", "PITCH", "ACCOMPANIMENT"):
            assert cand[step, 1] == following, (step, names[step], cand[step])
        else:
            assert cand[step, 1] == "-"
        assert copying[step, 1] == 1
    assert (cand[:, 2] == "-").all()  # no sections, no section head


def test_the_section_head_names_the_same_bar_of_the_sections_last_time() -> None:
    verse = [[60, 62, 64, None], [67, None, 65, 64]]
    chorus = [[72, 72, 71, 69]]
    names, cand, copying = _candidates(_song(verse + chorus + verse, "A2B1A2"), sections=True)
    for bar in (3, 4):  # the second A: each bar named from the first A's same bar
        for step in _melody_of_bar(names, bar):
            following = names[step + 1]
            if following.split("_")[0] in ("POSITION", "PITCH", "ACCOMPANIMENT"):
                assert cand[step, 2] == following
            assert copying[step, 2] == 1
    # the first time through, nothing to copy from a section
    assert (cand[: names.index("SECTION_B"), 2] == "-").all()


def test_a_bar_that_leaves_its_model_stops_copying_and_only_the_melody_is_named() -> None:
    names, cand, copying = _candidates(_song([[60, 62, 64, 65], [60, 63, 64, 65]]))
    steps = list(_melody_of_bar(names, 1))
    wrong = next(s for s in steps if names[s] == "PITCH_63")
    assert copying[wrong - 1, 0] == 1 and copying[wrong, 0] == 0
    accompaniment = [i for i, n in enumerate(names) if n == "ACCOMPANIMENT"]
    assert all((cand[i] == "-").all() for i in accompaniment)
    assert (cand[: names.index("MELODY", names.index("BAR", 1) + 1), 0] == "-").all()  # bar 1


@settings(deadline=None, max_examples=25)
@given(
    vocab=st.integers(2, 9),
    heads=st.integers(1, 3),
    data=st.data(),
)
def test_copy_logits_add_each_heads_gate_at_its_token(vocab: int, heads: int, data) -> None:  # type: ignore[no-untyped-def]
    floats = st.floats(-5, 5, width=32)
    logits = np.array(data.draw(st.lists(floats, min_size=vocab, max_size=vocab)), np.float32)
    gates = np.array(data.draw(st.lists(floats, min_size=heads, max_size=heads)), np.float32)
    tokens = data.draw(st.lists(st.integers(-1, vocab - 1), min_size=heads, max_size=heads))
    want = logits.copy()
    for gate, token in zip(gates, tokens, strict=True):
        if token >= 0:
            want[token] += gate
    got = copy_logits(jnp.asarray(logits), jnp.asarray(gates), jnp.asarray(tokens))
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-5)


def _bound(heads: int) -> tuple[object, object]:
    model = LSTMModel(12, embed_dim=4, hidden_size=8, num_layers=2, dropout=0.0,
                      feature_dim=3, copy_heads=heads)  # fmt: skip
    from popgen.models.featured import FeaturedModel

    bound = FeaturedModel(model, counting_features(3, copies=2))
    return bound, bound.init_params(key=jax.random.key(0))


def test_generation_steps_equal_the_sequence_call_with_copy_heads() -> None:
    bound, params = _bound(2)
    tokens = jnp.array([[1, 4, 5, 4, 4], [2, 2, 3, 9, 1]])
    step, carry, rows = bound.make_step(params), bound.init_carry(2), []  # type: ignore[attr-defined]
    for t in range(tokens.shape[1]):
        logits, carry = step(carry, tokens[:, t])
        rows.append(logits)
    whole = bound.logits(params, tokens)  # type: ignore[attr-defined]
    np.testing.assert_allclose(np.asarray(jnp.stack(rows, 1)), np.asarray(whole), atol=1e-5)
    # the fast step and Flax's own step agree on the heads too
    model = bound.model  # type: ignore[attr-defined]
    features, copies = jnp.eye(3)[jnp.array([1, 2])], jnp.array([[4, -1], [3, 3]])
    carry = model.init_carry(2)
    fast, _ = make_step(model, params)(carry, tokens[:, 0], features, copies)
    slow, _ = model.apply(params, carry, tokens[:, 0], features, copies, method="step")
    np.testing.assert_allclose(np.asarray(fast), np.asarray(slow), atol=1e-5)


def test_the_heads_raise_their_candidates_and_nothing_else() -> None:
    bound, params = _bound(2)
    model = bound.model  # type: ignore[attr-defined]
    gate = params["params"]["copy_gate"]
    fixed = {"kernel": gate["kernel"] * 0, "bias": jnp.array([3.0, 1.0])}
    params = {"params": {**params["params"], "copy_gate": fixed}}
    features, tokens = jnp.zeros((1, 1, 3)), jnp.array([[5]])
    plain = model.apply(params, tokens, features=features, copies=jnp.array([[[-1, -1]]]))
    copied = model.apply(params, tokens, features=features, copies=jnp.array([[[7, 7]]]))
    diff = np.asarray(copied - plain)[0, 0]
    assert diff[7] == pytest.approx(4.0) and np.delete(diff, 7) == pytest.approx(0.0)


def test_bad_copy_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="needs step features"):
        LSTMModel(10, copy_heads=2).config()
    tok = get_tokenizer("lead")
    size = tok.step_features().size
    wrong = LSTMModel(tok.vocab_size, embed_dim=4, hidden_size=8, feature_dim=size, copy_heads=2)
    with pytest.raises(ValueError, match="2 copy heads.*1 copy candidates"):
        with_step_features(wrong, tok)
    model = LSTMModel(12, embed_dim=4, hidden_size=8, feature_dim=3, copy_heads=2)
    params = model.init_params(key=jax.random.key(0))
    with pytest.raises(ValueError, match="2 copy heads"):
        model.apply(params, jnp.ones((1, 2), jnp.int32), features=jnp.zeros((1, 2, 3)))


def test_a_model_without_copy_heads_reads_the_same_features() -> None:
    tok = get_tokenizer("lead")
    features = tok.step_features()
    assert features.copies == 1  # the section's bar, by default
    model = LSTMModel(tok.vocab_size, embed_dim=4, hidden_size=8, feature_dim=features.size)
    bound = with_step_features(model, tok)
    params = bound.init_params(key=jax.random.key(0))
    ids = jnp.array([[1, tok.token_id("BAR"), tok.token_id("MELODY")]])
    assert bound.logits(params, ids).shape == (1, 3, tok.vocab_size)


def test_the_copied_option_picks_the_heads() -> None:
    verse = [[60, 62, 64, None], [67, None, 65, 64]]
    song = _song([*verse, [72, 72, 71, 69], *verse], "A2B1A2")
    names, every, _ = _candidates(song, sections=True)
    tok = get_tokenizer("pop", sections=True, copied=("section",)).fit([song])
    features = tok.step_features()
    assert features.copies == 1
    assert [k for k in feature_layout(tok) if k.startswith("copying")] == ["copying_section"]
    ids = np.array([tok.token_id(n) for n in names])
    alone = np.asarray(copy_candidates(features, song_codes(features, [ids])[0]))[:, 0]
    assert [tok.vocab[i] if i >= 0 else "-" for i in alone] == every[:, 2].tolist()
    with pytest.raises(ValueError, match="copied must be"):
        get_tokenizer("pop", copied=("3",))
    with pytest.raises(ValueError, match="copied must be"):
        get_tokenizer("pop", copied=())
