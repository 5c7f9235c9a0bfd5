import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from popgen.models import LSTMModel


def tiny(**kw: object) -> LSTMModel:
    args = {"vocab_size": 11, "embed_dim": 6, "hidden_size": 8, "num_layers": 2}
    args.update(kw)
    return LSTMModel(**args)  # type: ignore[arg-type]


def test_shapes_and_parameters() -> None:
    model = tiny()
    params = model.init(jax.random.key(0), jnp.zeros((1, 3), jnp.int32))
    p = params["params"]
    assert p["layers_0"]["w_in"].shape == (6, 32)  # input projection, 4 gates at once
    assert p["layers_1"]["w_in"].shape == (8, 32)
    assert p["layers_0"]["w_h"].shape == (8, 32)
    assert model.apply(params, jnp.zeros((2, 5), jnp.int32)).shape == (2, 5, 11)


def test_forget_gate_bias_starts_at_one() -> None:
    model = tiny()
    b = model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))["params"]["layers_0"]["b"]
    np.testing.assert_array_equal(np.asarray(b), np.r_[np.zeros(8), np.ones(8), np.zeros(16)])


def test_step_by_step_equals_whole_sequence() -> None:
    model = tiny(num_layers=3)
    tokens = jax.random.randint(jax.random.key(1), (4, 9), 0, 11)
    params = model.init(jax.random.key(0), tokens)
    full = model.apply(params, tokens)
    carry = model.init_carry(4)
    steps = []
    for t in range(9):
        logits, carry = model.apply(params, carry, tokens[:, t], method=LSTMModel.step)
        steps.append(logits)
    np.testing.assert_allclose(np.stack(steps, 1), full, atol=1e-5)


def test_run_continues_from_a_carry() -> None:
    model = tiny()
    tokens = jax.random.randint(jax.random.key(2), (2, 8), 0, 11)
    params = model.init(jax.random.key(0), tokens)
    first, carry = model.apply(params, tokens[:, :5], model.init_carry(2), method=LSTMModel.run)
    rest, _ = model.apply(params, tokens[:, 5:], carry, method=LSTMModel.run)
    np.testing.assert_allclose(
        np.concatenate([first, rest], 1), model.apply(params, tokens), atol=1e-5
    )


def test_dropout_only_when_not_deterministic() -> None:
    model = tiny(dropout=0.5)
    tokens = jnp.ones((2, 4), jnp.int32)
    params = model.init(jax.random.key(0), tokens)
    a = model.apply(params, tokens)
    b = model.apply(params, tokens)
    c = model.apply(params, tokens, deterministic=False, rngs={"dropout": jax.random.key(3)})
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("num_layers", 0, "num_layers"), ("dropout", 1.0, "dropout"), ("hidden_size", 0, "hidden")],
)
def test_bad_config_is_named(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        tiny(**{field: value}).init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))


def test_config_rebuilds_the_model() -> None:
    model = tiny(dropout=0.25)
    assert LSTMModel.from_config(model.config()) == model
    assert LSTMModel(**dataclasses.asdict(model.config())) == model


def test_make_step_equals_the_model_step() -> None:
    from popgen.models import make_step

    model = tiny(num_layers=3)
    params = model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))
    tokens = jax.random.randint(jax.random.key(4), (2, 6), 0, 11)
    fast = jax.jit(make_step(model, params))
    a = b = model.init_carry(2)
    for t in range(6):
        slow, a = model.apply(params, a, tokens[:, t], method=LSTMModel.step)
        quick, b = fast(b, tokens[:, t])
        np.testing.assert_allclose(quick, slow, atol=1e-5)


def test_every_input_projection_gives_the_same_logits_and_gradients(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Per step or all at once, first layer from a table or not: one function, one gradient."""
    import popgen.models.lstm as lstm

    model = LSTMModel(vocab_size=11, embed_dim=6, hidden_size=8, num_layers=2)
    tokens = jax.random.randint(jax.random.key(3), (3, 9), 0, 11)
    params = model.init(jax.random.key(0), tokens)

    def run() -> tuple[jax.Array, object]:
        logits = model.apply(params, tokens)

        def loss(p: dict) -> jax.Array:
            return (model.apply(p, tokens) * jnp.cos(p["params"]["head"]["bias"])).sum()

        grads = jax.grad(loss)(params)
        return logits, grads

    results = []
    for per_step in (True, False):
        for table in (True, False):
            monkeypatch.setattr(lstm, "project_per_step", lambda per_step=per_step: per_step)
            monkeypatch.setattr(
                LSTMModel, "_first_layer_from_table", lambda self, n, d, table=table: table
            )
            results.append(run())
    for logits, grads in results[1:]:
        np.testing.assert_allclose(logits, results[0][0], rtol=1e-5, atol=1e-6)
        for a, b in zip(jax.tree.leaves(grads), jax.tree.leaves(results[0][1]), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_first_layer_reads_a_table_only_when_exact_and_cheaper() -> None:
    model = LSTMModel(vocab_size=11, dropout=0.5)
    assert model._first_layer_from_table(100, deterministic=True)
    assert not model._first_layer_from_table(100, deterministic=False)  # dropout in between
    assert not model._first_layer_from_table(10, deterministic=True)  # vocabulary > positions
    assert LSTMModel(vocab_size=11, dropout=0.0)._first_layer_from_table(100, deterministic=False)
