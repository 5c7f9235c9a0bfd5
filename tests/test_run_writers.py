"""One writer per run directory, and writes that fail (a full disk) without losing the run."""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest

import popgen
from popgen.cli import main
from popgen.errors import RunError
from popgen.locks import LOCK_NAME, RunLock
from popgen.runs.run_dir import save_run
from popgen.runs.train_config import TrainConfig
from popgen.runs.train_state import TrainState

SONGS = [popgen.Song(popgen.make_notes([60, 62, 64, 65] * 6, range(24), [1] * 24))] * 3
CONFIG = TrainConfig(seq_len=8, batch_size=2, epochs=2, valid_fraction=0.34, patience=None)


def fresh(config: TrainConfig = CONFIG) -> tuple[popgen.LSTMModel, popgen.Tokenizer]:
    tok = popgen.get_tokenizer("note").fit(SONGS)
    return popgen.LSTMModel(tok.vocab_size, embed_dim=4, hidden_size=8, num_layers=1), tok


def train(out: Path, **kwargs: Any) -> popgen.Run:
    model, tok = fresh()
    return popgen.train(
        model, tok, SONGS, kwargs.pop("config", CONFIG), out=out, progress=False, **kwargs
    )


def lock_of(out: Path, pid: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    owner = {"pid": pid, "host": os.uname().nodename, "since": "2026-12-01 10:00:00"}
    (out / LOCK_NAME).write_text(json.dumps(owner))


def dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_a_second_writer_is_refused_and_the_lock_goes_with_the_first(tmp_path: Path) -> None:
    out = tmp_path / "run"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        lock_of(out, sleeper.pid)
        with pytest.raises(RunError, match=rf"another popgen \(process {sleeper.pid} .*is writing"):
            train(out)
    finally:
        sleeper.kill()
        sleeper.wait()
    (out / LOCK_NAME).unlink()
    train(out)
    assert not (out / LOCK_NAME).exists()  # released when training ends
    assert popgen.load_run(out).state.step > 0


def test_the_command_line_refuses_a_held_run_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    lock_of(out, os.getpid())  # this very process: alive
    assert (
        main(["train", "music21:bach/bwv66.6", "--out", str(out), "--max-steps", "1", "--quiet"])
        == 1
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is writing this run" in err and "Traceback" not in err


def test_a_stale_lock_is_taken_over_by_resume_only(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(out)
    lock_of(out, dead_pid())
    with pytest.raises(RunError, match="which no longer runs; --resume continues the run"):
        train(out)
    longer = TrainConfig(**{**CONFIG.__dict__, "epochs": 3})
    taken_over = pytest.warns(UserWarning, match="taking over the lock of process")
    with taken_over, pytest.raises(RunError, match="another training config"):
        train(out, resume=True, config=longer)  # the resume checks still run
    assert not (out / LOCK_NAME).exists()
    lock_of(out, dead_pid())
    with pytest.warns(UserWarning, match="taking over the lock"):
        run = train(out, resume=True)
    assert run.state.step == popgen.load_run(out, which="last").state.step


def test_the_lock_is_released_when_training_fails(tmp_path: Path) -> None:
    out = tmp_path / "run"
    with pytest.raises(RunError, match="not a popgen run"):  # nothing there to resume
        train(out, resume=True)
    assert not (out / LOCK_NAME).exists()
    with RunLock(out):
        assert (out / LOCK_NAME).exists()
    assert not (out / LOCK_NAME).exists()


def disk_full(*args: Any, **kwargs: Any) -> None:
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("where", ["params", "opt_state", "popgen.json", "replace"])
def test_a_failed_write_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    import orbax.checkpoint as ocp

    out = tmp_path / "run"
    run = train(out)
    before = popgen.load_run(out)
    before_meta = (out / "popgen.json").read_text()
    original_save = ocp.StandardCheckpointer.save
    if where in ("params", "opt_state"):

        def failing_save(self: Any, folder: Path, *args: Any, **kwargs: Any) -> Any:
            if Path(folder).name == where:
                disk_full()
            return original_save(self, folder, *args, **kwargs)

        monkeypatch.setattr(ocp.StandardCheckpointer, "save", failing_save)
    elif where == "popgen.json":
        monkeypatch.setattr(Path, "write_text", disk_full)
    else:
        monkeypatch.setattr(os, "replace", disk_full)
    run.state = TrainState(step=999)
    with pytest.raises(RunError, match="No space left on device.*previous checkpoint"):
        save_run(run, out, opt_state=run.params, best=True)
    monkeypatch.undo()
    assert (out / "popgen.json").read_text() == before_meta
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == sorted(
        set(json.loads(before_meta)["checkpoints"].values())
    )
    after = popgen.load_run(out)
    for a, b in zip(jax.tree.leaves(before.params), jax.tree.leaves(after.params), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_training_stops_with_one_line_when_the_disk_fills(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import popgen.runs.run_dir as checkpoint

    out = tmp_path / "run"
    real = checkpoint.save_run
    calls = []

    def second_fails(run: popgen.Run, path: Any, **kwargs: Any) -> Path:
        calls.append(run.state.step)
        if len(calls) == 2:
            monkeypatch.setattr(Path, "write_text", disk_full)
        try:
            return real(run, path, **kwargs)
        finally:
            monkeypatch.setattr(Path, "write_text", ORIGINAL_WRITE_TEXT)

    monkeypatch.setattr("popgen.training.loop.save_run", second_fails)
    with pytest.raises(RunError, match="cannot write"):
        train(out)
    kept = popgen.load_run(out, which="last")
    assert kept.state.step == calls[0] and len(kept.history) == 1
    assert not (out / LOCK_NAME).exists()


ORIGINAL_WRITE_TEXT = Path.write_text
