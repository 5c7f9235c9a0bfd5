"""One-file models: export, load, and every kind of damaged or foreign file."""

import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.numpy import load_file, save_file

import popgen
from popgen.cli import main
from popgen.errors import RunError, VocabularyError
from popgen.runs.model_file import MODEL_FILE_VERSION, export_run, load_model_file, read_model_card
from popgen.runs.run import describe_run
from popgen.runs.train_config import TrainConfig
from popgen.runs.train_state import TrainState


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved run with a config, history and usage, as training writes them."""
    song = popgen.Song(popgen.make_notes([60, 62, 64, 65, 67], [0, 1, 2, 3, 4], [1] * 5))
    tok = popgen.get_tokenizer("note").fit([song])
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=2)
    params = model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))
    run = popgen.Run(
        model,
        tok,
        params,
        config=TrainConfig(seq_len=16, epochs=2),
        history=[{"epoch": 1, "train_loss": 3.0, "valid_loss": 2.5}],
        state=TrainState(step=7),
    )
    return popgen.save_run(run, tmp_path_factory.mktemp("run") / "run")


@pytest.fixture(scope="module")
def model_file(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("file")
    card = {"name": "tiny", "description": "a test", "licence": "MIT"}
    return export_run(popgen.load_run(run_dir), folder / "tiny.safetensors", card=card)


def leaves(run: popgen.Run) -> list[np.ndarray]:
    return [np.asarray(leaf) for leaf in jax.tree.leaves(run.params)]


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_export_and_load_keep_everything(run_dir: Path, tmp_path: Path, dtype: str) -> None:
    original = popgen.load_run(run_dir)
    path = export_run(original, tmp_path / "m.safetensors", dtype=dtype)
    again = popgen.load_run(path)  # load_run takes a model file as well as a directory
    assert again.path == path.absolute()
    assert again.model == original.model
    assert again.tokenizer.to_dict() == original.tokenizer.to_dict()
    assert again.config == original.config
    assert again.history == original.history
    assert again.state == original.state
    assert again.usage == original.usage
    tolerance = 0 if dtype == "float32" else 2e-3
    for a, b in zip(leaves(original), leaves(again), strict=True):
        assert b.dtype == np.float32  # computed in float32 whatever the storage
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance)
    assert jax.tree.structure(original.params) == jax.tree.structure(again.params)


def test_float16_halves_the_file(run_dir: Path, tmp_path: Path) -> None:
    run = popgen.load_run(run_dir)
    full = export_run(run, tmp_path / "f32.safetensors", dtype="float32").stat().st_size
    half = export_run(run, tmp_path / "f16.safetensors", dtype="float16").stat().st_size
    tensor_bytes = sum(leaf.size * 4 for leaf in leaves(run))
    assert full - half == pytest.approx(tensor_bytes / 2, abs=64)


def test_card_is_read_from_the_header(model_file: Path) -> None:
    card = read_model_card(model_file)
    assert card["name"] == "tiny" and card["licence"] == "MIT" and card["encoding"] == "note"
    assert card["generates"] == "songs"
    assert card["storage_dtype"] == "float16" and card["valid_loss"] == 2.5
    assert card["size"] == model_file.stat().st_size
    run = load_model_file(model_file)
    assert card["parameters"] == sum(leaf.size for leaf in leaves(run))


def test_export_refuses_values_float16_cannot_hold(run_dir: Path, tmp_path: Path) -> None:
    run = popgen.load_run(run_dir)
    run.params = jax.tree.map(lambda leaf: leaf * 0 + 1e6, run.params)
    with pytest.raises(ValueError, match="float16's range; export as float32"):
        export_run(run, tmp_path / "big.safetensors")
    assert not (tmp_path / "big.safetensors").exists()
    export_run(run, tmp_path / "big.safetensors", dtype="float32")  # exact storage works


def rewrite(source: Path, out: Path, *, meta=None, tensors=None, metadata=None) -> Path:  # type: ignore[no-untyped-def]
    """A copy of ``source`` with its popgen header or tensors changed."""
    from safetensors import safe_open

    with safe_open(str(source), framework="numpy") as f:
        header = dict(f.metadata())
    arrays = load_file(str(source))
    description = json.loads(header["popgen"])
    if meta is not None:
        meta(description)
    if tensors is not None:
        tensors(arrays)
    header["popgen"] = json.dumps(description)
    save_file(arrays, str(out), metadata=metadata if metadata is not None else header)
    return out


def test_a_newer_file_says_to_upgrade(model_file: Path, tmp_path: Path) -> None:
    def newer(meta: dict) -> None:  # type: ignore[type-arg]
        meta["version"] = MODEL_FILE_VERSION + 1
        meta["popgen_version"] = "9.0"

    path = rewrite(model_file, tmp_path / "newer.safetensors", meta=newer)
    with pytest.raises(RunError, match=r"newer.safetensors: .*written by popgen 9.0.*upgrade"):
        popgen.load_run(path)


def test_a_safetensors_file_that_is_not_a_popgen_model(tmp_path: Path) -> None:
    path = tmp_path / "bert.safetensors"
    save_file({"weight": np.zeros((2, 2), np.float32)}, str(path), metadata={"format": "pt"})
    with pytest.raises(RunError, match="bert.safetensors: a safetensors file, but not a popgen"):
        popgen.load_run(path)


def test_a_tensor_whose_shape_disagrees_with_the_config(model_file: Path, tmp_path: Path) -> None:
    def wider(meta: dict) -> None:  # type: ignore[type-arg]
        meta["model"]["config"]["hidden_size"] = 32

    path = rewrite(model_file, tmp_path / "wide.safetensors", meta=wider)
    with pytest.raises(RunError, match=r"wide.safetensors: tensor .* has shape .* needs"):
        popgen.load_run(path)


def test_a_missing_tensor_and_a_wrong_vocabulary(model_file: Path, tmp_path: Path) -> None:
    def drop(arrays: dict) -> None:  # type: ignore[type-arg]
        arrays.pop(sorted(arrays)[0])

    path = rewrite(model_file, tmp_path / "short.safetensors", tensors=drop)
    with pytest.raises(RunError, match="short.safetensors: tensors do not match .*missing: "):
        popgen.load_run(path)

    def vocabulary(meta: dict) -> None:  # type: ignore[type-arg]
        meta["model"]["config"]["vocab_size"] += 1

    path = rewrite(model_file, tmp_path / "vocab.safetensors", meta=vocabulary)
    with pytest.raises(RunError, match="vocab.safetensors: tokenizer has .* tokens but the model"):
        popgen.load_run(path)


def test_a_tensor_of_another_dtype(model_file: Path, tmp_path: Path) -> None:
    def integers(arrays: dict) -> None:  # type: ignore[type-arg]
        name = sorted(arrays)[0]
        arrays[name] = arrays[name].astype(np.int32)

    path = rewrite(model_file, tmp_path / "int.safetensors", tensors=integers)
    with pytest.raises(RunError, match="int.safetensors: tensor .* is stored as I32"):
        popgen.load_run(path)


def test_a_damaged_header(model_file: Path, tmp_path: Path) -> None:
    path = rewrite(
        model_file, tmp_path / "bad.safetensors", metadata={"format": "popgen.model", "popgen": "{"}
    )
    with pytest.raises(RunError, match="bad.safetensors: damaged popgen header"):
        popgen.load_run(path)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_truncated_or_changed_bytes_give_a_clear_error_or_a_sound_model(
    model_file: Path, tmp_path: Path, data: st.DataObject
) -> None:
    raw = bytearray(model_file.read_bytes())
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[: data.draw(st.integers(0, len(raw) - 1), label="length")]
    else:
        for _ in range(data.draw(st.integers(1, 3), label="changes")):
            raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path / "damaged.safetensors"
    path.write_bytes(bytes(raw))
    try:
        run = popgen.load_run(path)
    except (RunError, VocabularyError) as exc:  # a changed byte in the vocabulary's header
        assert "damaged.safetensors" in str(exc)
    else:  # a change inside the tensors' bytes leaves a loadable model of the same shape
        assert run.model == load_model_file(model_file).model


def test_the_cli_reports_a_bad_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "junk.safetensors"
    path.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    for command in (
        ["generate", str(path), "--out", str(tmp_path / "a.mid")],
        ["export", str(path), "--out", str(tmp_path / "b.safetensors")],
    ):
        assert main(command) == 1
        err = capsys.readouterr().err
        assert err.startswith("popgen: error: ") and "junk.safetensors" in err
        assert "Traceback" not in err and err.count("\n") == 1
    assert not (tmp_path / "a.mid").exists() and not (tmp_path / "b.safetensors").exists()


def test_export_command_then_every_command_takes_the_file(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "shared.safetensors"
    assert main(["export", str(run_dir), "--out", str(out), "--licence", "CC0"]) == 0
    assert "wrote" in capsys.readouterr().out
    card = read_model_card(out)
    assert card["name"] == "shared" and card["licence"] == "CC0" and card["generates"] == "songs"
    assert main(["generate", str(out), "--out", str(tmp_path / "a.mid"), "--tokens", "30"]) == 0
    assert popgen.read_midi(tmp_path / "a.mid").num_notes > 0
    assert popgen.Sampler.from_run(str(out)).tokenizer.name == "note"
    with pytest.raises(RunError, match="one set of parameters"):
        popgen.load_run(out, which="last")


def test_describe_run_is_what_popgen_json_holds(run_dir: Path) -> None:
    on_disk = json.loads((run_dir / "popgen.json").read_text())
    described = describe_run(popgen.load_run(run_dir))
    assert {key: on_disk[key] for key in described} == described
