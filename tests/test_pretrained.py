"""Pretrained models by name: the shipped ones, plugin packages, and where names are taken."""

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest
from conftest import write_distribution

import popgen
from popgen.cli import main
from popgen.errors import RunError
from popgen.music.chords import chord_labels
from popgen.runs.model_file import export_run
from popgen.runs.pretrained import available, builtin_folder, load

SHIPPED = ("pop909-melody", "pop909-songs")


def tiny_run() -> popgen.Run:
    song = popgen.Song(popgen.make_notes([60, 62, 64, 65], [0, 1, 2, 3], [1] * 4))
    tok = popgen.get_tokenizer("note").fit([song])
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    return popgen.Run(model, tok, model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32)))


PLUGIN = '''
"""A package that carries a model file beside its code."""
from pathlib import Path

HERE = Path(__file__).parent


def tiny():
    return HERE / "tiny-model.safetensors"


def gone():
    return HERE / "never-written.safetensors"
'''


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A site directory with one working, one missing-file and one broken plugin model."""
    folder = tmp_path / "site"
    folder.mkdir()
    export_run(tiny_run(), folder / "tiny-model.safetensors", card={"licence": "CC0"})
    write_distribution(
        folder,
        "popgen_tiny_models",
        "popgen_tiny_models",
        PLUGIN,
        "tiny = popgen_tiny_models:tiny\n"
        "gone = popgen_tiny_models:gone\n"
        "broken = popgen_no_such_module:tiny",
        group="popgen.pretrained",
    )
    monkeypatch.syspath_prepend(str(folder))
    monkeypatch.delitem(sys.modules, "popgen_tiny_models", raising=False)
    yield folder


def test_the_shipped_models_are_listed_and_small() -> None:
    models = {model.name: model for model in available()}
    assert set(SHIPPED) <= set(models)
    for name in SHIPPED:
        model = models[name]
        assert model.source == "popgen" and model.path.parent == builtin_folder()
        assert model.size <= 8 * 2**20 and model.licence and model.description
        assert model.parameters > 100_000
    assert models["pop909-melody"].generates == "melody"
    assert models["pop909-songs"].generates == "melody and accompaniment over chords"


def test_plugins_are_listed_beside_the_shipped_models(site: Path) -> None:
    with pytest.warns(UserWarning) as caught:
        models = {model.name: model for model in available()}
    assert set(SHIPPED) | {"tiny"} <= set(models)
    assert models["tiny"].source == "popgen_tiny_models" and models["tiny"].licence == "CC0"
    messages = " ".join(str(w.message) for w in caught)
    assert "'broken'" in messages and "popgen_no_such_module" in messages
    assert "'gone'" in messages and "never-written.safetensors" in messages
    assert "gone" not in models and "broken" not in models


def test_a_plugin_model_loads_by_name_wherever_a_run_does(
    site: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert popgen.load_run("tiny").path == site / "tiny-model.safetensors"
    assert popgen.Sampler.from_run("tiny").tokenizer.name == "note"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["generate", "tiny", "--out", str(tmp_path / "a.mid"), "--tokens", "30"]) == 0
        assert main(["models"]) == 0
    listing = capsys.readouterr().out
    assert "tiny" in listing and "popgen_tiny_models" in listing and "pop909-melody" in listing


def test_a_broken_plugin_fails_only_when_asked_for(site: Path) -> None:
    with pytest.raises(
        RunError, match="cannot load pretrained model plugin 'broken'.*popgen_no_such"
    ):
        load("broken")
    with pytest.raises(RunError, match="never-written.safetensors: no such model file"):
        popgen.load_run("gone")


def test_an_unknown_name_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RunError, match="no pretrained model 'pop-rock'; known: pop909-melody"):
        load("pop-rock")
    assert main(["generate", "pop-rock", "--out", "never.mid"]) == 1
    err = capsys.readouterr().err
    assert "pop-rock: no such run directory, model file or pretrained model; known: " in err
    assert "pop909-songs" in err and err.count("\n") == 1 and not Path("never.mid").exists()


def test_a_real_folder_of_that_name_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    popgen.save_run(tiny_run(), tmp_path / "pop909-melody")
    run = popgen.load_run("pop909-melody")
    assert run.path == tmp_path / "pop909-melody" and run.tokenizer.vocab_size < 200


def test_the_shipped_models_generate_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "a.mid"
    assert main(["generate", "pop909-melody", "--out", str(out), "--tokens", "60", "--png"]) == 0
    assert popgen.read_midi(out).num_notes > 0 and out.with_suffix(".png").stat().st_size > 0
    song = tmp_path / "song.mid"
    assert (
        main(
            ["generate", "pop909-songs", "--out", str(song), "--chords", "C G Am F", "--bars", "4"]
        )
        == 0
    )
    written = popgen.read_midi(song)  # roles are not in MIDI; the track names say them
    assert [track.name for track in written.tracks] == ["Melody", "Accompaniment"]
    assert chord_labels(written.chords)[:4] == ["C:maj", "G:maj", "A:min", "F:maj"]


def test_the_command_keeps_compiled_programs_between_runs(tmp_path: Path) -> None:
    import os
    import subprocess

    cache = tmp_path / "compiled"
    env = {**os.environ, "POPGEN_COMPILE_CACHE": str(cache)}
    command = [sys.executable, "-m", "popgen", "generate", "pop909-melody", "--tokens", "40"]
    command += ["--seed", "0"]  # without it, each run draws a fresh seed (issue 29)
    for name in ("first.mid", "second.mid"):
        done = subprocess.run(
            [*command, "--out", str(tmp_path / name)], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert any(cache.iterdir())  # the sampler's program was kept
    first, second = (popgen.read_midi(tmp_path / name) for name in ("first.mid", "second.mid"))
    assert (first.notes == second.notes).all()  # same seed, same song, cache or not


def test_fine_tuning_starts_from_a_shipped_model(tmp_path: Path) -> None:
    out = tmp_path / "tuned"
    argv = [
        "train",
        "music21:essenFolksong/test0",
        "--init-from",
        "pop909-melody",
        "--out",
        str(out),
    ]
    assert main([*argv, "--max-steps", "2", "--seq-len", "16", "--quiet"]) == 0
    tuned, shipped = popgen.load_run(out), popgen.load_run("pop909-melody")
    assert tuned.model == shipped.model and tuned.tokenizer.vocab == shipped.tokenizer.vocab
    assert tuned.state.step == 2
