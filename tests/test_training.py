import json

import jax
import numpy as np
import optax
import pytest

import popgen
from popgen.errors import RunError
from popgen.music.song import Song, make_notes
from popgen.training.step import make_optimizer


def scale_songs(n: int = 6) -> list[Song]:
    """Little repeated scales: easy to learn, so the loss must fall."""
    out = []
    for i in range(n):
        pitches = [60, 62, 64, 65, 67, 65, 64, 62] * 3
        out.append(Song(make_notes(pitches, [b * 0.5 for b in range(24)], [0.5] * 24, 80 + i)))
    return out


def tiny_setup(**config: object):  # type: ignore[no-untyped-def]
    songs = scale_songs()
    tok = popgen.get_tokenizer("note").fit(songs)
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    args = {"seq_len": 16, "batch_size": 4, "epochs": 1, "valid_fraction": 0.2}
    args.update(config)
    return songs, tok, model, popgen.TrainConfig(**args)  # type: ignore[arg-type]


def test_one_step_smoke() -> None:
    songs, tok, model, config = tiny_setup(max_steps=1)
    run = popgen.train(model, tok, songs, config, progress=False)
    assert run.history[-1]["step"] == 1
    assert np.isfinite(run.history[-1]["train_loss"])
    assert np.isfinite(run.history[-1]["valid_loss"])


def test_loss_falls_and_run_round_trips(tmp_path) -> None:  # type: ignore[no-untyped-def]
    songs, tok, model, config = tiny_setup(epochs=8, learning_rate=1e-2)
    run = popgen.train(model, tok, songs, config, out=tmp_path / "run", progress=False)
    losses = [h["train_loss"] for h in run.history]
    assert losses[-1] < losses[0] * 0.7
    meta = json.loads((tmp_path / "run" / "popgen.json").read_text())
    assert meta["format"] == "popgen.run" and meta["version"] == 1
    assert meta["train"]["seq_len"] == 16 and len(meta["history"]) == 8
    back = popgen.load_run(tmp_path / "run")
    assert back.model == model and back.tokenizer.vocab == tok.vocab
    assert back.config == config
    for a, b in zip(jax.tree.leaves(run.params), jax.tree.leaves(back.params), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_same_seed_same_parameters() -> None:
    songs, tok, model, config = tiny_setup(max_steps=3)
    a = popgen.train(model, tok, songs, config, progress=False)
    b = popgen.train(model, tok, songs, config, progress=False)
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_vocab_mismatch_is_refused() -> None:
    songs, tok, _, config = tiny_setup()
    with pytest.raises(ValueError, match="vocab_size"):
        popgen.train(popgen.LSTMModel(vocab_size=3), tok, songs, config, progress=False)


@pytest.mark.parametrize("schedule", ["constant", "exponential", "cosine"])
@pytest.mark.parametrize("optimizer", ["adam", "adamw", "rmsprop"])
def test_optimizers_and_schedules_build(schedule: str, optimizer: str) -> None:
    config = popgen.TrainConfig(
        lr_schedule=schedule, optimizer=optimizer, warmup_steps=2, learning_rate=0.05
    )
    opt = make_optimizer(config, total_steps=10)
    start = {"w": np.array([1.0, -2.0, 3.0])}
    state = opt.init(start)
    first, state = opt.update({"w": 2 * start["w"]}, state, start)  # the gradient of |w|^2
    assert np.allclose(first["w"], 0.0)  # the warm-up starts from a learning rate of 0
    params = start
    for _ in range(8):
        updates, state = opt.update({"w": 2 * params["w"]}, state, params)
        params = optax.apply_updates(params, updates)
    assert np.sum(np.square(params["w"])) < 0.9 * np.sum(np.square(start["w"]))  # it descends


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seq_len", 0),
        ("optimizer", "sgdx"),
        ("lr_schedule", "step"),
        ("learning_rate", 0.0),
        ("valid_fraction", 1.0),
        ("lr_decay", 0.0),
    ],
)
def test_bad_train_config_is_named(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        popgen.TrainConfig(**{field: value})  # type: ignore[arg-type]


def test_load_run_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RunError, match="no such run directory"):
        popgen.load_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="no popgen.json"):
        popgen.load_run(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    meta = {"format": "popgen.run", "version": 7}
    (tmp_path / "bad" / "popgen.json").write_text(json.dumps(meta))
    with pytest.raises(RunError, match="version 7"):
        popgen.load_run(tmp_path / "bad")
