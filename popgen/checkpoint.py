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
import dataclasses
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax

from popgen.errors import PopgenError, RunError
from popgen.models.base import SequenceModel
from popgen.models.registry import model_from_dict, model_to_dict
from popgen.run_keys import check_known_keys, this_version
from popgen.tokenizers.base import Tokenizer
from popgen.training_config import TrainConfig
from popgen.training_state import TrainState
from popgen.usage import RunUsage

__all__ = [
    "RUN_FORMAT_VERSION",
    "Run",
    "describe_run",
    "load_run",
    "load_train_state",
    "read_run_meta",
    "run_from_description",
    "save_run",
]

#: Version of the run directory layout and ``popgen.json`` schema.
RUN_FORMAT_VERSION = 1
_META = "popgen.json"
_CHECKPOINTS = "checkpoints"


@dataclass
class Run:
    """A trained (or training) model with everything that describes it.

    Attributes:
        model: the model, any registered :class:`popgen.models.SequenceModel`.
        tokenizer: the fitted tokenizer the model's ids belong to.
        params: the parameters, a pytree as returned by ``model.init_params``.
        config: the training configuration, ``None`` for an untrained model.
        history: one dict of metrics per epoch (``epoch``, ``step``,
            ``train_loss``, ``valid_loss``, ``tokens_per_s``, ...).
        path: the run directory, once saved or loaded.
        state: where training stands (step, best validation loss, the songs
            trained on and held out), for resuming and evaluating.
        usage: how the training songs were read, their meter and the
            recommended sampling recipe (see :mod:`popgen.usage`).

    >>> import jax
    >>> from popgen import LSTMModel, get_tokenizer
    >>> tok = get_tokenizer("chord")
    >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    >>> params = model.init_params(key=jax.random.key(0))
    >>> run = Run(model, tok, params)  # an untrained model: no config, no history yet
    >>> run.config, run.history, run.path, run.state.step
    (None, [], None, 0)
    """

    model: SequenceModel
    tokenizer: Tokenizer
    params: Any
    config: TrainConfig | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None
    state: TrainState = field(default_factory=TrainState)
    usage: RunUsage = field(default_factory=RunUsage)


def describe_run(run: Run) -> dict[str, Any]:
    """Everything about ``run`` but its parameters, as JSON-ready values.

    This is what ``popgen.json`` holds beside the format and checkpoint
    names, and what a model file (:mod:`popgen.model_file`) holds in its header;
    :func:`run_from_description` reads it back.

    >>> import jax
    >>> from popgen import LSTMModel, get_tokenizer
    >>> tok = get_tokenizer("chord")
    >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    >>> sorted(describe_run(Run(model, tok, None)))
    ['history', 'model', 'popgen_version', 'state', 'tokenizer', 'train', 'usage']
    """
    return {
        "popgen_version": this_version(),
        "model": model_to_dict(run.model),
        "tokenizer": run.tokenizer.to_dict(),
        "train": dataclasses.asdict(run.config) if run.config is not None else None,
        "history": run.history,
        "state": run.state.to_dict(),
        "usage": run.usage.to_dict(),
    }


def run_from_description(
    meta: dict[str, Any], source: str, load_params: Callable[[Any], Any]
) -> Run:
    """Rebuild a run from :func:`describe_run`'s dictionary and a parameter loader.

    Every check happens before ``load_params`` is called: the model and
    tokenizer are rebuilt and must agree on the vocabulary size, and
    ``load_params`` gets the parameters' abstract structure (shapes and dtypes,
    nothing allocated) to check what it reads against.

    Args:
        meta: the description, as :func:`describe_run` makes it.
        source: the file it came from, named in errors.
        load_params: reads the parameters given their abstract structure.

    Raises:
        RunError: the description is damaged or its parts disagree.

    >>> import jax
    >>> from popgen import LSTMModel, get_tokenizer
    >>> tok = get_tokenizer("chord")
    >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    >>> meta = describe_run(Run(model, tok, None))
    >>> run = run_from_description(meta, "example", lambda abstract: None)
    >>> run.model == model, run.tokenizer.vocab_size
    (True, 132)
    """
    check_known_keys(meta, source)
    if not isinstance(meta.get("tokenizer"), dict):
        raise RunError(f"{source}: no tokenizer description")
    try:  # a damaged description fails in the configs' own checks: one RunError
        model = model_from_dict(meta.get("model"), source=source)
        tokenizer = Tokenizer.from_dict(meta["tokenizer"], source=source)
    except PopgenError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, IndexError) as exc:
        raise RunError(f"{source}: unreadable model or tokenizer description ({exc})") from None
    if tokenizer.vocab_size != model.vocab_size:
        raise RunError(
            f"{source}: tokenizer has {tokenizer.vocab_size} tokens but the model "
            f"was built for {model.vocab_size}"
        )
    train = meta.get("train")
    try:
        config = TrainConfig(**train) if train else None
        history = list(meta.get("history") or [])
        state = TrainState.from_dict(meta.get("state") or {})
    except (TypeError, ValueError, AttributeError) as exc:
        raise RunError(f"{source}: unreadable training record ({exc})") from None
    try:
        usage = RunUsage.from_dict(meta.get("usage"))
    except (TypeError, ValueError, IndexError) as exc:
        raise RunError(f"{source}: unreadable usage record ({exc})") from None
    params = load_params(_abstract_params(model))
    return Run(model, tokenizer, params, config, history, None, state, usage)


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
    >>> from popgen import LSTMModel, get_tokenizer
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
    >>> from popgen import LSTMModel, get_tokenizer
    >>> tok = get_tokenizer("chord")
    >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    >>> params = model.init_params(key=jax.random.key(0))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     meta = read_run_meta(save_run(Run(model, tok, params), f"{tmp}/run"))
    >>> meta["model"], meta["checkpoints"]
    ({'class': 'lstm', 'config': {'vocab_size': 132, 'embed_dim': 8, 'hidden_size': 16,
     'num_layers': 1, 'dropout': 0.2}}, {'last': 'step_00000000', 'best': 'step_00000000'})
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

    Training over several processes (:mod:`popgen.distributed`) saves from
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


def _abstract_params(model: SequenceModel) -> Any:
    return jax.eval_shape(lambda: model.init_params(key=jax.random.key(0)))


def load_run(path: str | os.PathLike[str], *, which: str = "best") -> Run:
    """Rebuild a run (model, tokenizer, parameters, config, history) from its directory.

    Args:
        path: the run directory; or a model file (``popgen export``'s
            ``.safetensors``), or the name of a pretrained model
            (:func:`popgen.pretrained.available`). A directory of that name wins.
        which: ``"best"`` (lowest validation loss) or ``"last"`` parameters; a
            model file holds only the ones it was exported with.

    Raises:
        RunError: the directory is missing, has no ``popgen.json``, is of
            another format version, or its parameters do not fit its model;
            or the name is no model file and no pretrained model.

    >>> import jax, tempfile
    >>> from popgen import LSTMModel, get_tokenizer
    >>> tok = get_tokenizer("chord")
    >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    >>> params = model.init_params(key=jax.random.key(0))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = save_run(Run(model, tok, params, history=[{"epoch": 1, "train_loss": 3.5}]), tmp)
    ...     run = load_run(tmp)  # needs nothing but the directory
    >>> run.model == model, run.tokenizer.name, run.history
    (True, 'chord', [{'epoch': 1, 'train_loss': 3.5}])
    """
    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    if not Path(path).is_dir():
        from popgen.pretrained import load_model  # names and model files

        return load_model(path, which=which)
    path = Path(path).absolute()
    meta = read_run_meta(path)
    folder = _checkpoint(path, meta, which)
    run = run_from_description(
        meta, str(path / _META), lambda abstract: _restore(folder / "params", abstract)
    )
    run.path = path
    return run


def load_train_state(path: str | os.PathLike[str], opt_abstract: Any) -> tuple[Run, Any]:
    """The last checkpoint of a run with its optimizer state, to resume training.

    Args:
        path: the run directory.
        opt_abstract: the optimizer state's structure (``jax.eval_shape`` of
            ``optimizer.init``), to restore into.

    >>> import jax, tempfile
    >>> from popgen import LSTMModel, get_tokenizer
    >>> tok = get_tokenizer("chord")
    >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    >>> params = model.init_params(key=jax.random.key(0))
    >>> import optax
    >>> optimizer = optax.adam(1e-3)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = save_run(Run(model, tok, params), tmp, opt_state=optimizer.init(params))
    ...     run, opt_state = load_train_state(tmp, jax.eval_shape(optimizer.init, params))
    >>> int(opt_state[0].count)  # adam's step count, restored
    0
    """
    run = load_run(path, which="last")
    folder = _checkpoint(Path(path).absolute(), read_run_meta(path), "last")
    opt_state = _restore(folder / "opt_state", opt_abstract)
    return run, opt_state
