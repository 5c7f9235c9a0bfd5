"""load_run: a run from a directory, a model file or a pretrained name."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from popgen.runs.run import Run, run_from_description
from popgen.runs.run_dir import _META, _checkpoint, _restore, read_run_meta

__all__ = ["load_run", "load_train_state"]


def load_run(path: str | os.PathLike[str], *, which: str = "best") -> Run:
    """Rebuild a run (model, tokenizer, parameters, config, history) from its directory.

    Args:
        path: the run directory; or a model file (``popgen export``'s
            ``.safetensors``), or the name of a pretrained model
            (:func:`popgen.runs.pretrained.available`). A directory of that name wins.
        which: ``"best"`` (lowest validation loss) or ``"last"`` parameters; a
            model file holds only the ones it was exported with.

    Raises:
        RunError: the directory is missing, has no ``popgen.json``, is of
            another format version, or its parameters do not fit its model;
            or the name is no model file and no pretrained model.

    >>> import jax, tempfile
    >>> from popgen import LSTMModel
    >>> from popgen import get_tokenizer
    >>> tok = get_tokenizer("chord")
    >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    >>> params = model.init_params(key=jax.random.key(0))
    >>> from popgen.runs.run_dir import save_run
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = save_run(Run(model, tok, params, history=[{"epoch": 1, "train_loss": 3.5}]), tmp)
    ...     run = load_run(tmp)  # needs nothing but the directory
    >>> run.model == model, run.tokenizer.name, run.history
    (True, 'chord', [{'epoch': 1, 'train_loss': 3.5}])
    """
    if which not in ("best", "last"):
        raise ValueError(f"which must be 'best' or 'last', got {which!r}")
    if not Path(path).is_dir():
        from popgen.runs.pretrained import load_model

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
    >>> from popgen import LSTMModel
    >>> from popgen import get_tokenizer
    >>> tok = get_tokenizer("chord")
    >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    >>> params = model.init_params(key=jax.random.key(0))
    >>> import optax
    >>> optimizer = optax.adam(1e-3)
    >>> from popgen.runs.run_dir import save_run
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
