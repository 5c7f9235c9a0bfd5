"""Run: a trained model, its tokenizer, parameters and records; the value every loader returns."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jax

from popgen.data.usage import RunUsage
from popgen.errors import PopgenError, RunError
from popgen.models.base import SequenceModel
from popgen.models.registry import model_from_dict, model_to_dict
from popgen.runs.keys import check_known_keys
from popgen.runs.train_config import TrainConfig
from popgen.runs.train_state import TrainState
from popgen.tokenizers.base import Tokenizer
from popgen.versions import this_version

__all__ = [
    "RUN_FORMAT_VERSION",
    "Run",
    "describe_run",
    "run_from_description",
]


#: Version of the run directory layout and ``popgen.json`` schema.
RUN_FORMAT_VERSION = 1


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
            recommended sampling recipe (see :mod:`popgen.data.usage`).

    >>> import jax
    >>> from popgen import LSTMModel
    >>> from popgen import get_tokenizer
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
    names, and what a model file (:mod:`popgen.runs.model_file`) holds in its header;
    :func:`run_from_description` reads it back.

    >>> import jax
    >>> from popgen import LSTMModel
    >>> from popgen import get_tokenizer
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
    >>> from popgen import LSTMModel
    >>> from popgen import get_tokenizer
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


def _abstract_params(model: SequenceModel) -> Any:
    return jax.eval_shape(lambda: model.init_params(key=jax.random.key(0)))
