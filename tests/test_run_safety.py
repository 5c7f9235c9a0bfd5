"""Run directories from strangers: no path leads outside, unknown settings are refused."""

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import pytest

import popgen
from popgen.cli import main
from popgen.errors import RunError
from popgen.runs.train_config import TrainConfig


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    song = popgen.Song(popgen.make_notes([60, 62, 64], [0, 1, 2], [1, 1, 1]))
    tok = popgen.get_tokenizer("note").fit([song])
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    params = model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))
    return popgen.save_run(popgen.Run(model, tok, params, config=TrainConfig()), tmp_path / "run")


def edit(run_dir: Path, change: Callable[[dict[str, Any]], None]) -> None:
    meta = json.loads((run_dir / "popgen.json").read_text())
    change(meta)
    (run_dir / "popgen.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("name", ["../../../../../etc", "/etc", "step_00000000/../../x", "..", 7])
def test_a_checkpoint_name_must_be_a_plain_name(run_dir: Path, name: object) -> None:
    edit(run_dir, lambda meta: meta["checkpoints"].update(best=name))
    with pytest.raises(RunError, match="is not a checkpoint name"):
        popgen.load_run(run_dir)


def test_a_checkpoint_linked_outside_the_run_is_refused(run_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    (run_dir / "checkpoints" / "step_00000000").rename(outside)
    os.symlink(outside, run_dir / "checkpoints" / "step_00000000")
    with pytest.raises(RunError, match="links outside the run directory"):
        popgen.load_run(run_dir)


def test_saving_does_not_keep_a_hostile_pointer(run_dir: Path) -> None:
    edit(run_dir, lambda meta: meta["checkpoints"].update(best="../../x"))
    run = popgen.load_run(run_dir, which="last")
    run.state = popgen.runs.train_state.TrainState(step=5)
    popgen.save_run(run, run_dir, best=False)
    assert json.loads((run_dir / "popgen.json").read_text())["checkpoints"]["best"] == (
        "step_00000005"
    )


@pytest.mark.parametrize(
    ("section", "change"),
    [
        ("the training config", lambda m: m["train"].update(mixup=0.1)),
        ("model 'lstm'", lambda m: m["model"]["config"].update(attention=True)),
        ("encoding 'note'", lambda m: m["tokenizer"]["config"].update(swing=0.6)),
        ("the usage record", lambda m: m["usage"].update(style="ballad")),
        ("the description", lambda m: m.update(lyrics=[])),
    ],
)
def test_settings_from_a_newer_popgen_say_to_upgrade(
    run_dir: Path, section: str, change: Callable[[dict[str, Any]], None]
) -> None:
    def newer(meta: dict[str, Any]) -> None:
        change(meta)
        meta["popgen_version"] = "0.3.0"

    edit(run_dir, newer)
    with pytest.raises(
        RunError,
        match=f"{section} has settings this popgen does not know.*"
        r"written by popgen 0.3.0, newer than this .*; upgrade popgen",
    ):
        popgen.load_run(run_dir)


def test_the_command_line_gives_one_line_for_a_newer_run(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit(run_dir, lambda meta: meta["train"].update(mixup=0.1))
    assert main(["generate", str(run_dir), "--out", str(tmp_path / "a.mid")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "mixup" in err and "Traceback" not in err
    assert not (tmp_path / "a.mid").exists()
