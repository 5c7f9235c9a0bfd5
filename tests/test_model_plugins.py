"""The model interface: a user's model (the GRU of examples/custom_model.py) through popgen."""

from __future__ import annotations

import json
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import popgen
from popgen.errors import RunError
from popgen.models import MODELS, SequenceModel, model_from_dict, model_to_dict, register_model
from popgen.music.song import Song, make_notes

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "custom_model.py"


@pytest.fixture
def gru() -> Iterator[Any]:
    """The example's GRU class, registered as "gru" for the test only."""
    with MODELS.scoped():
        yield runpy.run_path(str(EXAMPLE), run_name="custom_model")["GRUModel"]
    assert "gru" not in MODELS.names()


def songs() -> list[Song]:
    return [
        Song(make_notes([60 + (i + b) % 7 for b in range(24)], range(24), [1] * 24), source=f"{i}")
        for i in range(6)
    ]


def test_the_gru_implements_the_protocol_and_its_step_matches_the_sequence(gru: Any) -> None:
    model = gru(vocab_size=13, embed_dim=8, hidden_size=16)
    assert isinstance(model, SequenceModel)
    assert type(model).from_config(model.config()) == model
    params = model.init_params(key=jax.random.key(0))
    tokens = jnp.array([[1, 5, 6, 7, 9], [1, 4, 4, 2, 0]])
    full = model.logits(params, tokens)
    step, carry, outs = jax.jit(model.make_step(params)), model.init_carry(2), []
    for t in range(tokens.shape[1]):
        logits, carry = step(carry, tokens[:, t])
        outs.append(logits)
    np.testing.assert_allclose(np.stack(outs, 1), full, atol=1e-5)


def test_a_run_of_a_registered_model_saves_loads_and_samples(gru: Any, tmp_path: Path) -> None:
    tok = popgen.get_tokenizer("chord").fit(songs())
    model = gru(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16)
    config = popgen.TrainConfig(seq_len=8, batch_size=4, epochs=2)
    run = popgen.train(model, tok, songs(), config, out=tmp_path / "run", progress=False)
    meta = json.loads((tmp_path / "run" / "popgen.json").read_text())
    assert meta["model"] == {
        "class": "gru",
        "config": {"vocab_size": tok.vocab_size, "embed_dim": 8, "hidden_size": 16},
    }
    loaded = popgen.load_run(tmp_path / "run")
    assert loaded.model == model
    for a, b in zip(jax.tree.leaves(loaded.params), jax.tree.leaves(run.params), strict=True):
        np.testing.assert_array_equal(a, b)
    song = popgen.Sampler.from_run(loaded).generate(12, seed=0)[0]
    assert song.num_notes == 12  # the chord encoding: one token per note


def test_a_run_of_an_unregistered_model_names_the_model(tmp_path: Path) -> None:
    tok = popgen.get_tokenizer("chord").fit(songs())
    with MODELS.scoped():
        gru = runpy.run_path(str(EXAMPLE), run_name="custom_model")["GRUModel"]
        model = gru(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16)
        popgen.save_run(popgen.Run(model, tok, model.init_params(key=jax.random.key(0))), tmp_path)
    # as in a process that never imported the plugin
    with pytest.raises(RunError, match=r"popgen.json: unknown model 'gru'; known: lstm"):
        popgen.load_run(tmp_path)


def test_runs_of_popgen_0_1_still_load(tmp_path: Path) -> None:
    tok = popgen.get_tokenizer("chord")
    model = popgen.LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    popgen.save_run(popgen.Run(model, tok, model.init_params(key=jax.random.key(0))), tmp_path)
    meta = json.loads((tmp_path / "popgen.json").read_text())
    meta["model"]["class"] = "LSTMModel"  # as popgen 0.1 wrote it
    meta["state"] = {"step": 0, "songs": {"train": ["a.mid"], "valid": []}}
    (tmp_path / "popgen.json").write_text(json.dumps(meta))
    run = popgen.load_run(tmp_path)
    assert run.model == model and run.state.train_songs == ("a.mid",)


def test_model_descriptions_are_checked() -> None:
    with pytest.raises(RunError, match="x.json: model 'lstm' has no setting 'width'"):
        model_from_dict({"class": "lstm", "config": {"vocab_size": 4, "width": 3}}, source="x.json")
    with pytest.raises(RunError, match="x.json: no model description"):
        model_from_dict(["lstm"], source="x.json")
    with pytest.raises(RunError, match="num_layers must be >= 1"):
        model_from_dict({"class": "lstm", "config": {"vocab_size": 4, "num_layers": 0}})


def test_only_registered_classes_with_the_interface_are_saved(gru: Any) -> None:
    class Unregistered(gru):  # type: ignore[misc,valid-type]
        pass

    with pytest.raises(ValueError, match="not a registered model class"):
        model_to_dict(Unregistered(vocab_size=5))
    no_hooks = r"Broken has no from_config\(\); implement"
    with MODELS.scoped(), pytest.raises(TypeError, match=no_hooks):
        register_model("broken")(type("Broken", (), {"config_class": int}))
    with pytest.raises(ValueError, match="'gru' is already registered"):
        register_model("gru")(gru)
