"""Run directories: everything needed to rebuild a trained model, and nothing unsafe.

A run directory holds::

    popgen.json                 format version, popgen version, model config,
                                tokenizer (config + vocabulary), training config,
                                metrics history, training state, usage (how songs
                                were read, meter, sampling recipe), checkpoint names
    checkpoints/step_00000120/  params/ (and opt_state/ for resuming), by orbax:
                                tensorstore arrays, no pickle
    loss.png                    the loss curves, when trained

Writes are ordered so that a run killed at any moment stays loadable: a new
checkpoint is written in full under a new name (orbax commits it by rename),
then ``popgen.json`` is replaced atomically to point at it, and only then are
checkpoints that nothing points at deleted. :func:`load_run` rebuilds model,
tokenizer and the ``best`` parameters (lowest validation loss; the last ones
when there was no validation) from the directory alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import jax

from popgen.errors import RunError
from popgen.runs.run import RUN_FORMAT_VERSION, Run, describe_run

__all__ = [
    "read_run_meta",
    "save_run",
]

_META = "popgen.json"
_CHECKPOINTS = "checkpoints"


def save_run(
    run: Run,
    path: str | os.PathLike[str],
    *,
    opt_state: Any = None,
    best: bool = True,
) -> Path:
    """Write ``run`` to the directory ``path`` as a new checkpoint; returns the path.

    Args:
        run: the run; ``run.state.step`` names the checkpoint.
        path: the run directory, created if needed.
        opt_state: the optimizer state, stored so that training can resume.
        best: whether these parameters become the ``best`` ones that
            :func:`load_run` returns (training passes ``False`` when the
            validation loss did not improve).

    Raises:
        RunError: a write failed (a full disk, a lost permission); what was
            written of the new checkpoint is removed, and the run's previous
            checkpoint and ``popgen.json`` are as they were.

    >>> import jax, tempfile
    >>> from popgen import LSTMModel
    >>> from popgen import get_tokenizer
    >>> from popgen.runs.train_state import TrainState
    >>> tok = get_tokenizer("chord")
    >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    >>> params = model.init_params(key=jax.random.key(0))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save_run(Run(model, tok, params, state=TrainState(step=120)), f"{tmp}/run")
    ...     sorted(p.name for p in path.iterdir()), [p.name for p in path.glob("checkpoints/*")]
    (['checkpoints', 'popgen.json'], ['step_00000120'])
    """
    path = Path(path).absolute()
    step = run.state.step
    name = f"step_{step:08d}"
    suffix = 0
    while (path / _CHECKPOINTS / name).exists():  # never overwrite: a kill must not lose it
        suffix += 1
        name = f"step_{step:08d}-{suffix}"
    folder = path / _CHECKPOINTS / name
    checkpointer = _checkpointer()
    try:
        checkpointer.save(folder / "params", run.params, force=True)
        if opt_state is not None:
            checkpointer.save(folder / "opt_state", opt_state, force=True)
        checkpointer.wait_until_finished()
    except Exception as exc:  # a full disk, a lost mount or permission, from orbax's threads
        with contextlib.suppress(Exception):  # let a write still under way end before removing
            checkpointer.wait_until_finished()
        shutil.rmtree(folder, ignore_errors=True)
        raise RunError(
            f"{folder}: cannot write the checkpoint ({exc}); the run's previous "
            f"checkpoint and {_META} are kept"
        ) from None
    old = _pointers(path)
    kept = old.get("best")
    usable = isinstance(kept, str) and _CHECKPOINT_NAME.fullmatch(kept)
    pointers = {"last": name, "best": name if best or not usable else str(kept)}
    meta = {"format": "popgen.run", "version": RUN_FORMAT_VERSION, **describe_run(run)}
    meta["checkpoints"] = pointers
    tmp = path / (_META + ".tmp")
    try:
        tmp.write_text(json.dumps(meta, indent=1))
        os.replace(tmp, path / _META)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(folder, ignore_errors=True)
        raise RunError(
            f"{path / _META}: cannot write ({exc}); the run's previous checkpoint is kept"
        ) from None
    for other in (path / _CHECKPOINTS).iterdir():
        if other.name not in pointers.values():
            shutil.rmtree(other, ignore_errors=True)
    run.path = path
    return path


def _pointers(path: Path) -> dict[str, str]:
    try:
        meta = json.loads((path / _META).read_text())
        return dict(meta.get("checkpoints", {}))
    except (OSError, ValueError, AttributeError):
        return {}


def read_run_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a run directory's ``popgen.json``.

    >>> import jax, tempfile
    >>> from popgen import LSTMModel
    >>> from popgen import get_tokenizer
    >>> tok = get_tokenizer("chord")
    >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    >>> params = model.init_params(key=jax.random.key(0))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     meta = read_run_meta(save_run(Run(model, tok, params), f"{tmp}/run"))
    >>> meta["model"], meta["checkpoints"]
    ({'class': 'lstm', 'config': {'vocab_size': 132, 'embed_dim': 8, 'hidden_size': 16,
     'num_layers': 1, 'dropout': 0.2, 'feature_dim': 0, 'copy_heads': 0}},
     {'last': 'step_00000000', 'best': 'step_00000000'})
    """
    path = Path(path)
    if not path.is_dir():
        raise RunError(f"{path}: no such run directory")
    meta_path = path / _META
    try:
        meta = json.loads(meta_path.read_text())
    except FileNotFoundError:
        raise RunError(f"{path}: not a popgen run (no {_META})") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"{meta_path}: unreadable ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != "popgen.run":
        raise RunError(f"{meta_path}: not a popgen run description")
    if meta.get("version") != RUN_FORMAT_VERSION:
        raise RunError(
            f"{meta_path}: run format version {meta.get('version')!r}; "
            f"this popgen reads version {RUN_FORMAT_VERSION}"
        )
    return meta


#: What ``save_run`` names checkpoints: ``step_00000120``, ``step_00000120-1``.
_CHECKPOINT_NAME = re.compile(r"step_\d{8}(-\d+)?")


def _checkpoint(path: Path, meta: dict[str, Any], which: str) -> Path:
    """The folder of the ``which`` checkpoint: a plain name inside the run's ``checkpoints/``."""
    pointers = meta.get("checkpoints")
    name = pointers.get(which) if isinstance(pointers, dict) else None
    if not name:
        raise RunError(f"{path}: no {which} checkpoint recorded in {_META}")
    if not isinstance(name, str) or not _CHECKPOINT_NAME.fullmatch(name):
        raise RunError(
            f"{path / _META}: {which} checkpoint {name!r} is not a checkpoint name "
            f"(step_NNNNNNNN inside {_CHECKPOINTS}/)"
        )
    root = (path / _CHECKPOINTS).resolve()
    folder = path / _CHECKPOINTS / name
    if folder.exists() and not folder.resolve().is_relative_to(root):
        raise RunError(f"{folder}: links outside the run directory; refusing to read it")
    return folder


def _checkpointer() -> Any:
    """An orbax checkpointer that reads or writes from this process alone.

    Training over several processes (:mod:`popgen.training.distributed`) saves from
    process 0 only, with host copies; orbax must not wait for the others.
    """
    import orbax.checkpoint as ocp

    me = jax.process_index()
    alone = ocp.options.MultiprocessingOptions(primary_host=me, active_processes={me})
    return ocp.StandardCheckpointer(multiprocessing_options=alone)


def _restore(folder: Path, abstract: Any) -> Any:
    if not folder.is_dir():
        raise RunError(f"{folder}: missing; the run directory is incomplete")
    here = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])

    def on_this_device(leaf: Any) -> Any:  # however many devices or processes saved it
        return jax.ShapeDtypeStruct(  # type: ignore[no-untyped-call]
            leaf.shape, leaf.dtype, sharding=here
        )

    abstract = jax.tree.map(on_this_device, abstract)
    try:
        return _checkpointer().restore(folder, abstract)
    except Exception as exc:  # orbax raises many types for damaged or mismatched data
        raise RunError(f"{folder}: cannot restore ({exc})") from None


