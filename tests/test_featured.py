"""Models that read step features: trained, saved, loaded, sampled and scored like any other."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import popgen
from popgen.models.featured import FeaturedModel, with_step_features
from popgen.music.chords import make_chords
from popgen.music.song import Song, Track, make_notes
from popgen.sampling import Controls
from popgen.tokenizers.features import sequence_features
from popgen.tokenizers.pop_features import FEATURE_GROUPS


def _songs() -> list[Song]:
    out = []
    for shift in range(4):
        pitches = [60 + shift, 62 + shift, 64 + shift, 65 + shift] * 4
        notes = make_notes(pitches + [36] * 4, [*range(16), 0, 4, 8, 12], [1] * 20,
                           track=[0] * 16 + [1] * 4)  # fmt: skip
        chords = make_chords(["C", "G", "Am", "F"], [0, 4, 8, 12], [4] * 4)
        tracks = (Track("M", role="melody"), Track("P", role="accompaniment"))
        out.append(Song(notes, tracks=tracks, chords=chords, source=f"song{shift}"))
    return out


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    songs = _songs()
    # every group, those the shipped models do not read included
    tok = popgen.get_tokenizer("pop", features=FEATURE_GROUPS).fit(songs)
    size = tok.step_features().size
    model = popgen.LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1,
                             feature_dim=size)  # fmt: skip
    config = popgen.TrainConfig(seq_len=32, batch_size=2, epochs=2, valid_fraction=0.25)
    out = tmp_path_factory.mktemp("runs") / "featured"
    popgen.train(model, tok, songs, config, out=out, progress=False)
    return out


def test_a_featured_run_trains_saves_and_loads(run_dir) -> None:  # type: ignore[no-untyped-def]
    run = popgen.load_run(run_dir)
    assert run.model.config().feature_dim == run.tokenizer.step_features().size > 0
    losses = [h["train_loss"] for h in run.history]
    assert losses[-1] < losses[0]  # it learns
    assert run.params["params"]["features_in"]["kernel"].shape[0] == run.model.config().feature_dim


def test_a_featured_run_samples_over_chords_and_scores(run_dir) -> None:  # type: ignore[no-untyped-def]
    sampler = popgen.Sampler.from_run(run_dir, popgen.sampling.temperature(1.0))
    (song,) = sampler.generate(controls=Controls.over_chords("C G", bars=4), seed=0)
    assert song.num_notes > 0 and len(song.bar_lines()) >= 5
    ids = sampler.generate_ids(20, batch_size=2, seed=1)
    assert ids.shape == (2, 21)
    from popgen.metrics.likelihood import run_likelihood

    assert np.isfinite(run_likelihood(popgen.load_run(run_dir), _songs()[:1]).per_token)


def test_the_sampler_sees_what_training_saw(run_dir) -> None:  # type: ignore[no-untyped-def]
    run = popgen.load_run(run_dir)
    bound = with_step_features(run.model, run.tokenizer)
    assert isinstance(bound, FeaturedModel)
    ids = jnp.asarray(
        [[run.tokenizer.token_id(n) for n in ["BOS", *run.tokenizer.song_to_names(_songs()[0])]]]
    )
    whole = bound.logits(run.params, ids)
    step, carry, rows = bound.make_step(run.params), bound.init_carry(1), []
    for t in range(ids.shape[1]):
        logits, carry = step(carry, ids[:, t])
        rows.append(logits)
    np.testing.assert_allclose(np.stack(rows, 1), whole, atol=1e-4)
    features = sequence_features(bound.features, ids)
    assert features.shape == (1, ids.shape[1], run.model.config().feature_dim)


def test_features_are_asked_for_and_checked() -> None:
    note = popgen.get_tokenizer("note")
    with pytest.raises(ValueError, match="computes none"):
        with_step_features(popgen.LSTMModel(10, feature_dim=4), note)
    pop = popgen.get_tokenizer("pop")
    with pytest.raises(ValueError, match="computes"):
        with_step_features(popgen.LSTMModel(pop.vocab_size, feature_dim=3), pop)
    model = popgen.LSTMModel(10, embed_dim=4, hidden_size=8, num_layers=1, feature_dim=2)
    params = model.init_params(key=jax.random.key(0))
    with pytest.raises(ValueError, match="reads 2 step features"):
        model.logits(params, jnp.ones((1, 3), jnp.int32))
    plain = popgen.LSTMModel(10)
    assert with_step_features(plain, pop) is plain  # a model that reads none is left alone


def test_train_command_with_step_features(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from popgen.cli import main

    songs = tmp_path / "songs"
    songs.mkdir()
    for i, song in enumerate(_songs()):
        song.write_midi(songs / f"{i}.mid")
    out = tmp_path / "run"
    args = ["train", str(songs), "--tokenizer", "lead", "--step-features", "--out", str(out),
            "--max-steps", "2", "--seq-len", "16", "--batch-size", "2", "--embed-dim", "8",
            "--hidden-size", "16", "--num-layers", "1"]  # fmt: skip
    assert main(args) == 0
    assert popgen.load_run(out).model.config().feature_dim > 0
    bad = ["train", str(songs), "--tokenizer", "note", "--step-features", "--out",
           str(tmp_path / "bad")]  # fmt: skip
    assert main(bad) == 1
    assert "computes none" in capsys.readouterr().err


def test_training_windows_carry_whole_song_codes() -> None:
    from popgen.corpus.split import split_by_song
    from popgen.data.windows import window_spans
    from popgen.models.loss import next_token_loss
    from popgen.tokenizers.features import sequence_codes
    from popgen.training.data import training_windows

    songs = _songs()
    tok = popgen.get_tokenizer("pop").fit(songs)
    config = popgen.TrainConfig(seq_len=16, valid_fraction=0.25)
    data = training_windows(tok, songs, None, config, features=True)
    features = tok.step_features()
    assert data.train.shape[1:] == (17, 1 + features.width)
    plain = training_windows(tok, songs, None, config, features=False).train
    np.testing.assert_array_equal(data.train[..., 0], plain)  # the same tokens, same order
    train, _ = split_by_song(len(songs), config.valid_fraction, config.seed)
    ids = [tok.encode(songs[i]) for i in train]
    codes = [np.asarray(sequence_codes(features, jnp.asarray(i)[None]))[0] for i in ids]
    spans = zip(*window_spans([len(i) for i in ids], 16), strict=True)
    late = 0
    for row, (song, start, length) in enumerate(spans):  # each window's codes: its song's
        np.testing.assert_array_equal(data.train[row, :length, 0], ids[song][start:][:length])
        np.testing.assert_array_equal(data.train[row, :length, 1:], codes[song][start:][:length])
        late = row if start > 0 else late
    window = jnp.asarray(data.train[late : late + 1])
    fresh = np.asarray(sequence_codes(features, window[..., 0]))
    assert not np.array_equal(fresh[0], window[0, :, 1:])  # what a fresh start would lose
    model = popgen.LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1,
                             feature_dim=features.size)  # fmt: skip
    bound = with_step_features(model, tok)
    params = bound.init_params(key=jax.random.key(0))
    with_codes = next_token_loss(bound, params, window)  # reads the carried codes
    by_window = next_token_loss(bound, params, window[..., 0])  # starts the automaton afresh
    assert with_codes[1] == by_window[1] and float(with_codes[0]) != float(by_window[0])


def test_a_token_store_warns_that_its_windows_start_the_features_afresh(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from popgen.data.store_build import build_store
    from popgen.training.data import training_windows

    paths = []
    for i, song in enumerate(_songs()):
        song.write_midi(tmp_path / f"{i}.mid")
        paths.append(tmp_path / f"{i}.mid")
    store = build_store(paths, tmp_path / "store", "pop", workers=1)
    config = popgen.TrainConfig(seq_len=16, valid_fraction=0.25)
    with pytest.warns(UserWarning, match="start afresh at each window"):
        data = training_windows(store.tokenizer, store, None, config, features=True)
    assert data.train.shape[1:] == (17,)  # tokens only
