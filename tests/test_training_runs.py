"""Checkpoints, resuming after SIGKILL, NaN handling, early stopping, fine-tuning, 2 devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest

import popgen
from popgen.errors import RunError, TrainingError
from popgen.music.song import Song, make_notes

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, warnings
    warnings.simplefilter("ignore")
    import popgen, popgen.runs.run_dir as ck, popgen.training.loop as tr
    from popgen.music.song import Song, make_notes

    mode, out, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    songs = [Song(make_notes([60 + (i * 7 + b * 3) % 12 for b in range(24)],
                             [b * 0.5 for b in range(24)], [0.5] * 24, 60 + 5 * i))
             for i in range(8)]
    tok = popgen.get_tokenizer("note").fit(songs)
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16,
                             num_layers=1, dropout=0.1)
    config = popgen.TrainConfig(seq_len=16, batch_size=4, epochs=3, checkpoint_every=2,
                                valid_fraction=0.25, learning_rate=5e-3)

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if mode == "kill-after-checkpoint":   # killed in the middle of training
        real = tr.save_run
        def save_then_die(run, *a, **k):
            real(run, *a, **k)
            if run.state.step >= kill_at:
                die()
        tr.save_run = save_then_die
    elif mode == "kill-in-write":         # killed while a checkpoint is being written
        import orbax.checkpoint as ocp
        real_save = ocp.StandardCheckpointer.save
        def save(self, path, item, *a, **k):
            real_save(self, path, item, *a, **k)
            self.wait_until_finished()
            if str(path).endswith("params") and f"step_{kill_at:08d}" in str(path):
                die()             # params written, optimizer state and popgen.json not yet
        ocp.StandardCheckpointer.save = save
    popgen.train(model, tok, songs, config, out=out, resume=(mode == "resume"), progress=False)
    """
)


def _run(tmp_path: Path, mode: str, out: Path, kill_at: int = 0, env: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
    script = tmp_path / "train_script.py"
    script.write_text(SCRIPT)
    return subprocess.run(
        [sys.executable, str(script), mode, str(out), str(kill_at)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=300,
    )


def _leaves(run: popgen.Run) -> list[np.ndarray]:
    return [np.asarray(x) for x in jax.tree.leaves(run.params)]


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run trained without a kill, once for the module."""
    folder = tmp_path_factory.mktemp("uninterrupted")
    full = _run(folder, "full", folder / "full")
    assert full.returncode == 0, full.stderr
    return folder / "full"


@pytest.mark.parametrize(("mode", "kill_at"), [("kill-after-checkpoint", 4), ("kill-in-write", 6)])
def test_killed_run_resumes_to_the_same_parameters(
    tmp_path: Path, full_run: Path, mode: str, kill_at: int
) -> None:
    killed = _run(tmp_path, mode, tmp_path / "killed", kill_at)
    assert killed.returncode == -9, killed.stderr  # really killed by SIGKILL
    state = json.loads((tmp_path / "killed" / "popgen.json").read_text())["state"]
    assert 0 < state["step"] < popgen.load_run(full_run).state.step
    resumed = _run(tmp_path, "resume", tmp_path / "killed")
    assert resumed.returncode == 0, resumed.stderr
    for which in ("last", "best"):
        a = popgen.load_run(full_run, which=which)
        b = popgen.load_run(tmp_path / "killed", which=which)
        for x, y in zip(_leaves(a), _leaves(b), strict=True):
            np.testing.assert_array_equal(x, y)
    assert [h["valid_loss"] for h in a.history] == [h["valid_loss"] for h in b.history]


def scale_songs(n: int = 8) -> list[Song]:
    return [
        Song(
            make_notes(
                [60, 62, 64, 65, 67, 65, 64, 62] * 3,
                [b * 0.5 for b in range(24)],
                [0.5] * 24,
                70 + i,
            )
        )
        for i in range(n)
    ]


def tiny(songs: list[Song]) -> tuple[popgen.Tokenizer, popgen.LSTMModel]:
    tok = popgen.get_tokenizer("note").fit(songs)
    return tok, popgen.LSTMModel(
        vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1
    )


def test_nan_loss_stops_with_the_step_and_keeps_the_checkpoint(tmp_path: Path) -> None:
    songs = scale_songs()
    tok, model = tiny(songs)
    good = popgen.TrainConfig(seq_len=16, batch_size=4, epochs=1)
    popgen.train(model, tok, songs, good, out=tmp_path / "run", progress=False)
    before = (tmp_path / "run" / "popgen.json").read_text()
    bad = popgen.TrainConfig(
        seq_len=16,
        batch_size=4,
        epochs=3,
        learning_rate=1e39,
        clip_norm=0.0,
        lr_schedule="constant",
    )
    with pytest.raises(TrainingError, match=r"at step \d+.*last good checkpoint"):
        popgen.train(
            model, tok, songs, bad, out=tmp_path / "run", progress=False, init_from=tmp_path / "run"
        )
    assert (tmp_path / "run" / "popgen.json").read_text() == before
    assert popgen.load_run(tmp_path / "run").model == model


def test_early_stopping_and_best_checkpoint(tmp_path: Path) -> None:
    train_songs = scale_songs()
    odd = [Song(make_notes([61, 70, 63, 75] * 6, [b * 0.75 for b in range(24)], [0.25] * 24, 30))]
    tok, model = tiny(train_songs + odd)
    config = popgen.TrainConfig(
        seq_len=16, batch_size=4, epochs=40, learning_rate=2e-2, patience=2, lr_schedule="constant"
    )
    run = popgen.train(
        model, tok, train_songs, config, valid=odd, out=tmp_path / "r", progress=False
    )
    assert run.state.stopped_early and len(run.history) < 40
    losses = [h["valid_loss"] for h in run.history]
    assert run.state.best_valid_loss == min(losses)
    assert run.state.best_epoch == losses.index(min(losses)) + 1
    assert len(run.history) == run.state.best_epoch + 2  # patience 2
    best = popgen.load_run(tmp_path / "r")
    for x, y in zip(_leaves(best), _leaves(run), strict=True):
        np.testing.assert_array_equal(x, y)  # the returned params are the best ones
    assert (tmp_path / "r" / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_the_loss_curve_is_redrawn_at_most_every_few_seconds_and_at_the_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import popgen.training.loop as loop

    drawn: list[int] = []
    real = loop.plot_history
    monkeypatch.setattr(loop, "plot_history", lambda h, path: (drawn.append(len(h)), real(h, path)))
    songs = scale_songs()
    tok, model = tiny(songs)
    config = popgen.TrainConfig(seq_len=16, batch_size=4, epochs=3, valid_fraction=0.0)
    popgen.train(model, tok, songs, config, out=tmp_path / "quick", progress=False)
    assert drawn == [3]  # three quick epochs: drawn once, when training ended
    assert (tmp_path / "quick" / "loss.png").read_bytes()[:4] == b"\x89PNG"
    drawn.clear()
    monkeypatch.setattr(loop, "PLOT_EVERY_S", 0.0)
    popgen.train(model, tok, songs, config, out=tmp_path / "slow", progress=False)
    assert drawn == [1, 2, 3]  # due after every epoch: nothing left to draw at the end


def test_fine_tuning_checks_model_and_vocabulary(tmp_path: Path) -> None:
    songs = scale_songs()
    tok, model = tiny(songs)
    config = popgen.TrainConfig(seq_len=16, batch_size=4, epochs=1)
    popgen.train(model, tok, songs, config, out=tmp_path / "base", progress=False)
    new_songs = [Song(make_notes([60, 62], [0, 3], [3, 3])), *songs]  # DUR_3 is new
    with pytest.warns(UserWarning, match="songs have tokens outside the vocabulary"):
        run = popgen.train(
            model, tok, new_songs, config, init_from=tmp_path / "base", progress=False
        )
    assert run.history
    wider = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=32, num_layers=1)
    with pytest.raises(RunError, match="does not match"):
        popgen.train(wider, tok, songs, config, init_from=tmp_path / "base", progress=False)


def test_resume_refuses_another_config(tmp_path: Path) -> None:
    songs = scale_songs()
    tok, model = tiny(songs)
    config = popgen.TrainConfig(seq_len=16, batch_size=4, epochs=1)
    popgen.train(model, tok, songs, config, out=tmp_path / "r", progress=False)
    other = popgen.TrainConfig(seq_len=16, batch_size=4, epochs=2, learning_rate=1e-2)
    with pytest.raises(RunError, match="another training config"):
        popgen.train(model, tok, songs, other, out=tmp_path / "r", resume=True, progress=False)


TWO_DEVICES = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("ignore")
    import jax, popgen
    from popgen.music.song import Song, make_notes
    songs = [Song(make_notes([60 + (i + b) % 7 for b in range(32)], [b * 0.5 for b in range(32)],
                             [0.5] * 32, 80)) for i in range(6)]
    tok = popgen.get_tokenizer("note").fit(songs)
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16,
                             num_layers=2)
    config = popgen.TrainConfig(seq_len=16, batch_size=8, epochs=3)
    run = popgen.train(model, tok, songs, config, progress=False)
    print(json.dumps({"devices": jax.device_count(),
                      "losses": [[h["train_loss"], h["valid_loss"]] for h in run.history]}))
    """
)


def test_two_devices_train_like_one(tmp_path: Path) -> None:
    script = tmp_path / "devices.py"
    script.write_text(TWO_DEVICES)
    results = []
    for count in (1, 2):
        env = {
            **os.environ,
            "XLA_FLAGS": f"--xla_force_host_platform_device_count={count}",
            "JAX_PLATFORMS": "cpu",
        }
        proc = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            check=False,
            env=env,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert [r["devices"] for r in results] == [1, 2]
    np.testing.assert_allclose(results[0]["losses"], results[1]["losses"], rtol=1e-4)
