"""Run directories: everything needed to rebuild a trained model, and nothing unsafe.

A run directory holds::

    popgen.json   format version, popgen version, model config, tokenizer
                  (config + vocabulary), training config, metrics history
    params/       the parameters, written by orbax (tensorstore arrays, no pickle)

:func:`load_run` rebuilds model, tokenizer and parameters from the directory
alone. Both parts are written atomically (orbax commits its directory by
rename; ``popgen.json`` is written to a temporary file and renamed).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp

from popgen.errors import RunError
from popgen.models.lstm import LSTMModel
from popgen.tokenizers.base import Tokenizer
from popgen.training_config import TrainConfig

__all__ = ["RUN_FORMAT_VERSION", "Run", "load_run", "save_run"]

#: Version of the run directory layout and ``popgen.json`` schema.
RUN_FORMAT_VERSION = 1
_META = "popgen.json"
_PARAMS = "params"


def _popgen_version() -> str:
    try:
        return version("popgen")
    except PackageNotFoundError:  # running from a source tree
        return "unknown"


@dataclass
class Run:
    """A trained (or training) model with everything that describes it.

    Attributes:
        model: the model; its fields are its configuration.
        tokenizer: the fitted tokenizer the model's ids belong to.
        params: the parameters, a pytree as returned by ``model.init``.
        config: the training configuration, ``None`` for an untrained model.
        history: one dict of metrics per epoch (``epoch``, ``step``,
            ``train_loss``, ``valid_loss``, ``tokens_per_s``, ...).
        path: the run directory, once saved or loaded.

    """

    model: LSTMModel
    tokenizer: Tokenizer
    params: Any
    config: TrainConfig | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    path: Path | None = None


def save_run(run: Run, path: str | os.PathLike[str]) -> Path:
    """Write ``run`` to the directory ``path`` (created if needed); returns the path."""
    import orbax.checkpoint as ocp

    path = Path(path).absolute()
    path.mkdir(parents=True, exist_ok=True)
    checkpointer = ocp.StandardCheckpointer()
    checkpointer.save(path / _PARAMS, run.params, force=True)
    checkpointer.wait_until_finished()
    meta = {
        "format": "popgen.run",
        "version": RUN_FORMAT_VERSION,
        "popgen_version": _popgen_version(),
        "model": {"class": "LSTMModel", "config": run.model.config()},
        "tokenizer": run.tokenizer.to_dict(),
        "train": dataclasses.asdict(run.config) if run.config is not None else None,
        "history": run.history,
    }
    tmp = path / (_META + ".tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, path / _META)
    run.path = path
    return path


def read_run_meta(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read and check a run directory's ``popgen.json``."""
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


def load_run(path: str | os.PathLike[str]) -> Run:
    """Rebuild a run (model, tokenizer, parameters, config, history) from its directory.

    Raises:
        RunError: the directory is missing, has no ``popgen.json``, is of
            another format version, or its parameters do not fit its model.

    """
    import orbax.checkpoint as ocp

    path = Path(path).absolute()
    meta = read_run_meta(path)
    model_meta = meta.get("model", {})
    if model_meta.get("class") != "LSTMModel":
        raise RunError(f"{path}: unknown model class {model_meta.get('class')!r}")
    model = LSTMModel(**model_meta["config"])
    tokenizer = Tokenizer.from_dict(meta["tokenizer"], source=str(path / _META))
    if tokenizer.vocab_size != model.vocab_size:
        raise RunError(
            f"{path}: tokenizer has {tokenizer.vocab_size} tokens but the model "
            f"was built for {model.vocab_size}"
        )
    abstract = jax.eval_shape(lambda: model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32)))
    if not (path / _PARAMS).is_dir():
        raise RunError(f"{path}: no parameters ({_PARAMS}/ is missing)")
    try:
        params = ocp.StandardCheckpointer().restore(path / _PARAMS, abstract)
    except Exception as exc:  # orbax raises many types for damaged or mismatched data
        raise RunError(f"{path / _PARAMS}: cannot restore parameters ({exc})") from None
    train = meta.get("train")
    config = TrainConfig(**train) if train else None
    return Run(model, tokenizer, params, config, list(meta.get("history", [])), path)
