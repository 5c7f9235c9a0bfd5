"""Training over several processes: the environment, batch placement, and real two-process runs.

The two-process runs start ``popgen train`` in subprocesses on localhost (CPU,
one device each, gloo between them) and compare them with one process that
forces two CPU devices: the same per-step losses, validation losses and
parameters. The two-process run loses process 1 in its second epoch: process
0 stops with a clear error and leaves a loadable checkpoint, from which the
same two processes resume to the end; its losses before and after are the
one-process run's. Process 0 alone writes the run; another process count is
refused on resume.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pytest
from jax.sharding import Mesh, NamedSharding, PartitionSpec

import popgen
from popgen.cli import main
from popgen.errors import RunError, TrainingError
from popgen.formats.midi_writing import write_midi
from popgen.music.song import Song, make_notes
from popgen.training import distributed

# ``popgen train`` with two hooks: each step's loss and each save_run call are
# recorded in the result file, and the process exits at step ``die_at``.
WORKER = textwrap.dedent(
    """
    import json, os, sys
    import popgen.training.loop as tr
    from popgen.cli import main

    result, die_at, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    record = {"losses": [], "saves": 0}
    report, save = tr._report, tr.save_run

    def recording_report(bar, losses, step, *rest):
        record["losses"].append(float(losses[-1]))
        if step == die_at:
            with open(result, "w") as handle:
                json.dump(record, handle)
            os._exit(3)   # a process that dies: no cleanup, no goodbye
        report(bar, losses, step, *rest)

    def counting_save(*args, **kwargs):
        record["saves"] += 1
        return save(*args, **kwargs)

    tr._report, tr.save_run = recording_report, counting_save
    code = main(argv)
    with open(result, "w") as handle:
        json.dump({**record, "code": code}, handle)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
    """
)

EPOCH = 5  # steps per epoch (the last batch padded)
STEPS = 2 * EPOCH
DIE_AT = 7  # process 1 dies in epoch 2; the last checkpoint is epoch 1's


def _songs(folder: Path) -> Path:
    """Six short songs as MIDI files: 5 to train on, 1 held out by the default split."""
    folder.mkdir()
    for i in range(6):
        pitches = [60 + (i * 5 + b * 7) % 12 for b in range(24)]
        song = Song(make_notes(pitches, [b * 0.5 for b in range(24)], [0.5] * 24))
        write_midi(song, folder / f"song{i}.mid")
    return folder


def _argv(songs: Path, out: Path, *extra: str) -> list[str]:
    return [
        "train", str(songs), "--out", str(out), "--tokenizer", "chord", "--quiet",
        "--workers", "1", "--no-cache", "--keys", "file", "--chords", "none",
        "--seq-len", "8", "--batch-size", "4", "--epochs", "2", "--lr", "0.01", "--seed", "3",
        "--embed-dim", "8", "--hidden-size", "16", "--num-layers", "1", *extra,
    ]  # fmt: skip


#: XLA's lowest backend optimisation level, as in the suite (tests/conftest.py): it halves
#: the compilations of these short runs, and every process of a comparison uses it
_FAST_COMPILE = "--xla_backend_optimization_level=0"


def _env(cache: Path, **extra: str) -> dict[str, str]:
    """The test's environment for a worker; the resumed pair reuses the first pair's programs."""
    ours = ("POPGEN_COORDINATOR", "POPGEN_NUM_PROCESSES", "POPGEN_PROCESS_ID", "POPGEN_DISTRIBUTED")
    env = {k: v for k, v in os.environ.items() if k not in ours}
    env.update(JAX_PLATFORMS="cpu", POPGEN_HEARTBEAT_SECONDS="5", POPGEN_COMPILE_CACHE=str(cache))
    # every process compiles alike (the suite's fast compilation), with the given extra flags
    flags = " ".join(filter(None, [_FAST_COMPILE, extra.pop("XLA_FLAGS", "")]))
    return {**env, "XLA_FLAGS": flags, **extra}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("localhost", 0))
        return int(sock.getsockname()[1])


def _start(
    worker: Path, result: Path, argv: list[str], env: dict[str, str], die_at: int = 0
) -> subprocess.Popen[str]:
    command = [sys.executable, str(worker), str(result), str(die_at), *argv]
    return subprocess.Popen(
        command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _two(worker: Path, folder: Path, argv: list[str], die_at: int = 0) -> list[Any]:
    """Start processes 0 and 1 of one run; ``die_at`` makes process 1 exit at that step."""
    port = _free_port()
    return [
        _start(
            worker,
            folder / f"result{pid}.json",
            argv,
            _env(
                folder.parent / "jax-cache",
                POPGEN_COORDINATOR=f"localhost:{port}",
                POPGEN_NUM_PROCESSES="2",
                POPGEN_PROCESS_ID=str(pid),
            ),
            die_at if pid == 1 else 0,
        )
        for pid in range(2)
    ]


def _finish(proc: subprocess.Popen[str], result: Path | None = None) -> dict[str, Any]:
    """Wait for a process; its recorded result, and its exit code and stderr."""
    try:
        _, err = proc.communicate(timeout=150)
    except subprocess.TimeoutExpired:  # hung: end it, and let the asserts show its stderr
        proc.kill()
        _, err = proc.communicate()
    record = json.loads(result.read_text()) if result is not None and result.exists() else {}
    return {**record, "rc": proc.returncode, "stderr": err}


def _params(run: popgen.Run) -> list[np.ndarray[Any, Any]]:
    return [np.asarray(x) for x in jax.tree.leaves(run.params)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One process with two devices; two processes, one dying; the two resumed."""
    tmp = tmp_path_factory.mktemp("distributed")
    songs = _songs(tmp / "songs")
    worker = tmp / "worker.py"
    worker.write_text(WORKER)
    for name in ("one", "dies", "resumed"):
        (tmp / name).mkdir()
    one = _start(
        worker,
        tmp / "one" / "result.json",
        _argv(songs, tmp / "one" / "run"),
        _env(tmp / "jax-cache", XLA_FLAGS="--xla_force_host_platform_device_count=2"),
    )
    run = tmp / "two" / "run"
    dies = _two(worker, tmp / "dies", _argv(songs, run), die_at=DIE_AT)
    out: dict[str, Any] = {"tmp": tmp, "songs": songs, "run": run}
    out["one"] = _finish(one, tmp / "one" / "result.json")
    out["dies"] = [_finish(p, tmp / "dies" / f"result{i}.json") for i, p in enumerate(dies)]
    out["dies_last"] = popgen.load_run(run, which="last")  # before resuming
    resumed = _two(worker, tmp / "resumed", _argv(songs, run, "--resume"))
    out["resumed"] = [
        _finish(p, tmp / "resumed" / f"result{i}.json") for i, p in enumerate(resumed)
    ]
    return out


def test_two_processes_match_one_process_with_two_devices(runs: dict[str, Any]) -> None:
    one, (zero, first) = runs["one"], runs["resumed"]
    assert one["code"] == 0, one["stderr"]
    assert [zero["code"], first["code"]] == [0, 0], zero["stderr"] + first["stderr"]
    assert len(one["losses"]) == STEPS
    for dies in runs["dies"]:  # both, until process 1 died
        np.testing.assert_allclose(dies["losses"], one["losses"][:DIE_AT], atol=1e-4)
    for resumed in (zero, first):  # both, from the checkpoint of epoch 1 on
        np.testing.assert_allclose(resumed["losses"], one["losses"][EPOCH:], atol=1e-4)
    single = popgen.load_run(runs["tmp"] / "one" / "run", which="last")
    double = popgen.load_run(runs["run"], which="last")
    valid = [h["valid_loss"] for h in double.history]  # the global mean over both processes
    np.testing.assert_allclose(valid, [h["valid_loss"] for h in single.history], atol=1e-4)
    for a, b in zip(_params(double), _params(single), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-4)
    assert (single.state.step, double.state.step) == (STEPS, STEPS)
    assert (single.state.processes, double.state.processes) == (1, 2)


def test_only_process_0_writes_the_run(runs: dict[str, Any]) -> None:
    assert [p["saves"] for p in runs["dies"]] == [1, 0]  # epoch 1 by process 0 alone
    assert [p["saves"] for p in runs["resumed"]] == [1, 0]  # epoch 2
    run = runs["run"]
    assert sorted(p.name for p in run.iterdir()) == ["checkpoints", "loss.png", "popgen.json"]
    assert json.loads((run / "popgen.json").read_text())["state"]["processes"] == 2


def test_a_dying_process_stops_the_other_and_keeps_the_checkpoint(runs: dict[str, Any]) -> None:
    zero, one = runs["dies"]
    assert one["rc"] == 3  # the one that died
    assert zero["code"] == 1, zero["stderr"]
    failed = DIE_AT + 1  # the first step process 1 did not take part in
    assert f"process 0 of 2: training stopped at step {failed}" in zero["stderr"]
    assert "another process stopped or cannot be reached" in zero["stderr"]
    assert "start all 2 processes again with --resume" in zero["stderr"]
    last = runs["dies_last"]
    assert last.state.step == EPOCH and len(last.history) == 1  # loadable, at its checkpoint


def test_resume_with_another_process_count_is_refused(
    runs: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    run = runs["tmp"] / "two" / "run"
    before = (run / "popgen.json").read_text()
    assert main(_argv(runs["songs"], run, "--resume")) == 1  # this process alone: 1 of 1
    err = capsys.readouterr().err
    assert "cannot resume: it was trained by 2 process(es), this run has 1" in err
    assert (run / "popgen.json").read_text() == before  # nothing written


def test_cluster_from_env_reads_and_checks_the_variables() -> None:
    env = {"POPGEN_COORDINATOR": "h:1", "POPGEN_NUM_PROCESSES": "3", "POPGEN_PROCESS_ID": "2"}
    assert distributed.cluster_from_env(env) == distributed.Cluster("h:1", 3, 2, 100)
    assert distributed.cluster_from_env({}) is None
    bad = [
        ({**env, "POPGEN_PROCESS_ID": "3"}, "POPGEN_PROCESS_ID=3: expected 0 to 2"),
        ({**env, "POPGEN_NUM_PROCESSES": "two"}, "POPGEN_NUM_PROCESSES='two': expected an int"),
        ({**env, "POPGEN_COORDINATOR": "h"}, "POPGEN_COORDINATOR='h': expected host:port"),
        ({"POPGEN_PROCESS_ID": "0"}, "POPGEN_PROCESS_ID set but not POPGEN_COORDINATOR"),
        ({"POPGEN_DISTRIBUTED": "yes"}, "POPGEN_DISTRIBUTED='yes': expected 'auto'"),
        ({**env, "POPGEN_HEARTBEAT_SECONDS": "0"}, "POPGEN_HEARTBEAT_SECONDS=0: expected"),
    ]
    for environ, message in bad:
        with pytest.raises(ValueError, match=message.replace("(", r"\(")):
            distributed.cluster_from_env(environ)


def test_one_process_helpers_change_nothing() -> None:
    assert distributed.initialize({}) == 1  # no variables: JAX is left alone
    assert (distributed.process_index(), distributed.process_count()) == (0, 1)
    assert distributed.is_main_process()
    mesh = Mesh(np.array(jax.devices()), ("data",))
    split = NamedSharding(mesh, PartitionSpec("data"))  # type: ignore[no-untyped-call]
    assert distributed.local_rows(split, 6) == slice(0, 6)
    batch = np.arange(12, dtype=np.int32).reshape(6, 2)
    placed = distributed.put_batch(batch, split)
    np.testing.assert_array_equal(np.asarray(placed), batch)
    tree = distributed.to_host({"a": placed, "b": 3})
    assert isinstance(tree["a"], np.ndarray) and tree["b"] == 3
    every = NamedSharding(mesh, PartitionSpec())  # type: ignore[no-untyped-call]
    assert distributed.replicate({"w": batch}, every)["w"].sharding == every


def test_peer_failure_leaves_single_process_errors_alone() -> None:
    error = ValueError("Gloo all-reduce failed")
    assert distributed.peer_failure(error, 3, "run") is error
    own = TrainingError("the loss became nan")
    assert distributed.peer_failure(own, 3, "run") is own
    assert isinstance(RunError("x"), ValueError)  # popgen's errors reach `popgen: error:`


def test_peer_failure_names_a_lost_peer_but_not_this_processs_own_errors(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(distributed, "process_count", lambda: 2)
    lost = RuntimeError("Gloo all-reduce failed: Connection closed by peer")
    stopped = distributed.peer_failure(lost, 7, "runs/a")
    assert isinstance(stopped, TrainingError)
    assert "step 7: another process stopped" in str(stopped) and "runs/a" in str(stopped)
    own = OSError("/data/store/shard-00003.npy: No such file or directory")
    assert distributed.peer_failure(own, 7, "runs/a") is own
    memory = RuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 4 GB")
    assert distributed.peer_failure(memory, 7, "runs/a") is memory


def test_initialize_after_jax_computed_says_to_call_it_first() -> None:
    script = (
        "import jax.numpy as jnp; jnp.ones(2) + 1\n"
        "from popgen.training.distributed import initialize\n"
        "initialize({'POPGEN_COORDINATOR': 'localhost:1', 'POPGEN_NUM_PROCESSES': '1',"
        " 'POPGEN_PROCESS_ID': '0'})\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        env=_env(Path("unused")),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    hint = "call popgen.training.distributed.initialize() before anything else uses JAX"
    assert hint in proc.stderr
