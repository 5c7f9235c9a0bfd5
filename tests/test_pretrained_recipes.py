"""The shipped models' recipes: what the cards say built them, and a short rebuild end to end.

Skipped without the shared POP909 songs beside the repository.
"""

import importlib.util
from dataclasses import replace
from pathlib import Path

import pytest

import popgen
from popgen.cli import build_parser, main
from popgen.cli.config_flags import given_values
from popgen.runs.train_config import TrainConfig

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "pretrained_recipes.py"
_spec = importlib.util.spec_from_file_location("pretrained_recipes", SCRIPT)
assert _spec is not None and _spec.loader is not None
recipes = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(recipes)

needs_data = pytest.mark.skipif(not recipes.DATA.is_dir(), reason="no shared POP909 songs")


@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_the_shipped_model_was_built_by_its_recipe(name: str, tmp_path: Path) -> None:
    args = build_parser().parse_args(recipes.train_command(name, tmp_path / "run")[3:])
    shipped = popgen.load_run(name)
    assert shipped.config == TrainConfig(**given_values(args, TrainConfig))
    assert shipped.tokenizer.name == (args.tokenizer or "note")
    for key, value in dict(args.tokenizer_option or ()).items():
        assert getattr(shipped.tokenizer.config, key) == value
    assert bool(getattr(shipped.model, "feature_dim", 0)) == args.step_features
    settings = {"hidden_size": args.hidden_size, "num_layers": args.num_layers}
    for key, value in settings.items():
        if value is not None:
            assert getattr(shipped.model, key) == value
    assert shipped.usage.reading is not None
    assert shipped.usage.reading.transpose_to == args.transpose_to
    assert shipped.usage.reading.tracks == (tuple(args.tracks) if args.tracks else None)
    assert shipped.state.best_valid_loss is not None


@needs_data
@pytest.mark.parametrize("name", sorted(recipes.RECIPES))
def test_a_short_rebuild_runs_end_to_end(name: str, tmp_path: Path) -> None:
    run, file = tmp_path / "run", tmp_path / f"{name}.safetensors"
    assert main(recipes.train_command(name, run, short=True)[3:]) == 0
    assert main(recipes.export_command(name, run, file)[3:]) == 0
    rebuilt = popgen.load_run(file)
    shipped = popgen.load_run(name)
    # the same architecture from the same flags; the vocabulary (and the step features'
    # positions per bar with it) is that of the 6 songs
    def same(model: popgen.LSTMModel) -> object:
        config = model.config()
        return replace(config, vocab_size=1, feature_dim=min(config.feature_dim, 1))

    assert same(rebuilt.model) == same(shipped.model)
    assert rebuilt.usage.reading == shipped.usage.reading
    assert rebuilt.usage.strategy == shipped.usage.strategy
    out = tmp_path / "a.mid"
    assert main(["generate", str(file), "--out", str(out), "--tokens", "40"]) == 0
    assert out.stat().st_size > 0
