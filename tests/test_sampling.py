import itertools

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
        (max_same_pitch_run, 0, "max_same_pitch_run: k must be a whole number >= 1"),
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


# ------------------------------------------------------------ drawing, scoring
def test_draws_follow_the_probabilities_and_never_take_impossible_tokens() -> None:
    probs = np.array([0.1, 0.2, 0.0, 0.3, 0.4])

    def step(carry, token):  # type: ignore[no-untyped-def]
        return jnp.log(
            jnp.broadcast_to(jnp.asarray(probs, jnp.float32), (token.shape[0], 5))
        ), carry

    out = generate_ids(step, (), jnp.ones((400, 1), jnp.int32), 10, identity(), jax.random.key(3))
    counts = np.bincount(np.asarray(out[:, 1:]).ravel(), minlength=5) / 4000
    assert counts[2] == 0
    np.testing.assert_allclose(counts, probs, atol=4 * np.sqrt(0.25 / 4000))


def test_scores_are_mean_log_probabilities_up_to_the_stop_token() -> None:
    from popgen.sampling import generate_scored

    table = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.6, 0.3], [0.2, 0.2, 0.6]]))

    def step(carry, token):  # type: ignore[no-untyped-def]
        return jnp.asarray(table, jnp.float32)[token], carry

    prompt = jnp.array([[0, 1]] * 16, jnp.int32)
    ids, scores = generate_scored(step, (), prompt, 6, identity(), jax.random.key(0), stop_token=2)
    for row, score in zip(np.asarray(ids), np.asarray(scores), strict=True):
        logps = []
        for prev, tok in itertools.pairwise(row[1:]):
            logps.append(table[prev, tok])
            if tok == 2:
                break
        np.testing.assert_allclose(score, np.mean(logps), rtol=1e-5)


@pytest.fixture(scope="module")
def tiny():  # type: ignore[no-untyped-def]
    import popgen
    from popgen.music.song import Song, make_notes

    primer = Song(
        make_notes(
            [60, 64, 67, 72, 60], [0, 0, 1.5, 3, 4], [1, 2, 0.5, 1, 1], [40, 80, 100, 60, 70]
        ),
        tracks=(popgen.Track("flute", program=73),),
        tempos=((0.0, 90.0),),
        time_signatures=((0.0, 3, 4),),
        key="D minor",
        source="primer.mid",
    )
    tok = popgen.get_tokenizer("note").fit([primer])
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    params = model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))
    sampler = popgen.Sampler(model, params, tok, temperature(3.0), min_duration=0.25)
    return sampler, primer


def test_same_seed_same_songs_and_batch_members_differ(tiny) -> None:  # type: ignore[no-untyped-def]
    sampler, _ = tiny
    a = sampler.generate(60, batch_size=3, seed=7)
    b = sampler.generate(60, batch_size=3, seed=7)
    c = sampler.generate(60, batch_size=3, seed=8)
    assert [s.notes.tolist() for s in a] == [s.notes.tolist() for s in b]
    assert len({tuple(s.notes.tolist()) for s in a}) == 3
    assert a[0].notes.tolist() != c[0].notes.tolist()


def test_best_of_keeps_the_most_likely_candidate(tiny) -> None:  # type: ignore[no-untyped-def]
    sampler, _ = tiny
    ids = sampler.generate_ids(40, batch_size=4, seed=3)  # the same draws best_of=4 makes
    logits = sampler.model.apply(sampler.params, jnp.asarray(ids[:, :-1]))
    logp = jax.nn.log_softmax(logits, -1)
    mean = np.take_along_axis(np.asarray(logp), ids[:, 1:, None], -1)[..., 0].mean(-1)
    best = sampler.generate(40, seed=3, best_of=4)[0]
    expected = sampler.tokenizer.decode(ids[int(np.argmax(mean))]).cleaned(0.25)
    assert best.notes.tolist() == expected.notes.tolist()
    with pytest.raises(ValueError, match="best_of must be a whole number >= 1, got 0"):
        sampler.generate(10, best_of=0)


def test_generated_midi_is_clean(tiny, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from popgen.formats.midi_reading import read_midi

    sampler, _ = tiny
    for i, song in enumerate(sampler.generate(300, batch_size=4, seed=1)):
        path = tmp_path / f"{i}.mid"
        song.write_midi(path)
        for s in (song, read_midi(path)):
            n = s.notes[np.lexsort((s.notes["start"], s.notes["pitch"], s.notes["track"]))]
            same = (n["pitch"][1:] == n["pitch"][:-1]) & (n["track"][1:] == n["track"][:-1])
            ends = n["start"][:-1] + n["duration"][:-1]
            assert (ends[same] <= n["start"][1:][same] + 1e-9).all()  # no overlaps of one pitch
            assert n["duration"].min() >= 0.25 - 1e-9  # the minimum length
        assert read_midi(path).num_notes == song.num_notes > 0


def test_song_cleaned_cuts_overlaps_and_lengthens_short_notes() -> None:
    from popgen.music.song import Song, make_notes

    song = Song(
        make_notes([60, 60, 60, 62, 64, 64], [0, 0, 0.5, 0, 1, 1.05], [2, 1, 1, 0.01, 1, 1])
    )
    rows = song.cleaned(0.1).notes[["pitch", "start", "duration"]].tolist()
    # 60: the longer of two at 0 kept, cut at 0.5; 62 lengthened; 64 at 1 cut to 0.05 < 0.1: dropped
    assert rows == [(60, 0.0, 0.5), (62, 0.0, 0.1), (60, 0.5, 1.0), (64, 1.05, 1.0)]
    with pytest.raises(ValueError, match="min_duration must be > 0"):
        song.cleaned(0)


# ---------------------------------------------------------------------- primers
def test_a_song_primer_keeps_tempo_key_and_instrument(tiny) -> None:  # type: ignore[no-untyped-def]
    sampler, primer = tiny
    full, cont = (
        sampler.generate(30, primer=primer)[0],
        sampler.generate(30, primer=primer, include_primer=False)[0],
    )
    for song in (full, cont):
        assert song.tempos[0].bpm == 90.0 and song.key == "D minor"
        assert song.time_signatures[0][1:] == (3, 4)
        assert song.tracks[0].program == 73 and song.tracks[0].name == "flute"
    cols = ["pitch", "start", "duration"]
    assert full.notes[cols][: primer.num_notes].tolist() == primer.notes[cols].tolist()
    assert cont.num_notes < full.num_notes


def test_primers_the_vocabulary_lacks_are_refused(tiny) -> None:  # type: ignore[no-untyped-def]
    from popgen.errors import VocabularyError
    from popgen.music.song import Song, make_notes

    sampler, _ = tiny
    odd = Song(make_notes([60], [0], [0.75]), source="odd.mid")  # DUR_3/4 was never seen
    with pytest.raises(VocabularyError, match=r"odd.mid: the primer has 1 token\(s\).*DUR_3/4"):
        sampler.generate(10, primer=odd)
    with pytest.raises(VocabularyError, match="primer token ids must be in 0.."):
        sampler.generate(10, primer=np.array([1, 5000]))


def test_primer_from_a_random_corpus_window(tiny) -> None:  # type: ignore[no-untyped-def]
    from popgen.sampling import primer_from_corpus

    sampler, primer = tiny
    tok = sampler.tokenizer
    a = primer_from_corpus([primer, primer.transpose(2)], tok, 6, seed=1)
    assert (
        a.notes.tolist()
        == primer_from_corpus([primer, primer.transpose(2)], tok, 6, seed=1).notes.tolist()
    )
    assert 1 <= a.num_notes <= 2 and a.key in ("D minor", "E minor")
    assert a.tempos[0].bpm == 90.0 and a.tracks[0].program == 73
    whole = primer_from_corpus([primer], tok, 10_000)  # too long: the whole song
    assert whole.num_notes == primer.num_notes
    assert sampler.generate(12, primer=a)[0].num_notes > a.num_notes
    with pytest.raises(ValueError, match="empty corpus"):
        primer_from_corpus([], tok, 4)
