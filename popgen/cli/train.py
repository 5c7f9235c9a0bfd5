"""``popgen train``: train a model on MIDI files, folders or music21 corpus works.

Its training flags are :class:`popgen.TrainConfig`'s fields and its model flags
:class:`popgen.models.LSTMConfig`'s, made by :mod:`popgen.cli.config_flags`: a
flag left out takes the dataclass default, so ``popgen train`` and
``popgen.train(..., TrainConfig())`` train the same way.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from popgen.cli.config_flags import add_config_flags, given_values
from popgen.cli.options import add_corpus_arguments, add_sources, key_value, read_corpus
from popgen.models.lstm_config import LSTMConfig
from popgen.runs.train_config import OPTIMIZERS, SCHEDULES, TrainConfig

if TYPE_CHECKING:
    from popgen.cli.options import Subcommands
    from popgen.corpus.corpus import Corpus
    from popgen.data.store import TokenStore

__all__ = ["add_parser", "run"]

#: Set from the tokenizer, not a flag.
_MODEL_SKIP = ("vocab_size", "feature_dim", "copy_heads")


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    """Add the ``train`` command to ``popgen``'s subcommands.

    A flag not given is ``None`` in the namespace, and its field keeps the
    dataclass default:

    >>> from popgen.cli import build_parser
    >>> args = build_parser().parse_args(["train", "songs/", "--out", "run/", "--lr", "1e-3"])
    >>> args.learning_rate, args.seq_len, args.model
    (0.001, None, 'lstm')
    """
    parser = sub.add_parser(
        "train", help="train a model on MIDI files, folders, music21:NAME or a token store"
    )
    add_sources(parser)
    parser.add_argument("--out", type=Path, required=True, help="run directory to write")
    parser.add_argument(
        "--tokenizer", help="encoding name (default: note; a token store's is its own)"
    )
    parser.add_argument(
        "--tokenizer-option",
        type=key_value,
        action="append",
        metavar="KEY=VALUE",
        help="an option of the encoding's config, the value read as a Python literal, e.g. "
        "roles=('melody',) or chords=False; repeatable",
    )
    parser.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
    )
    parser.add_argument(
        "--init-from",
        type=Path,
        metavar="RUN",
        help="fine-tune: start from this run's parameters, tokenizer and model; "
        "a run directory, model file or pretrained model's name",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_corpus_arguments(parser)
    training = parser.add_argument_group("training (the fields of popgen.TrainConfig)")
    add_config_flags(
        training,
        TrainConfig,
        aliases={"learning_rate": ["--lr"]},
        choices={"optimizer": OPTIMIZERS, "lr_schedule": SCHEDULES},
    )
    model = parser.add_argument_group(
        "model",
        "The flags below are the fields of popgen.models.LSTMConfig, the default model's; "
        "other models take their settings as --model-option KEY=VALUE. With --resume or "
        "--init-from, the model is that run's.",
    )
    model.add_argument(
        "--model",
        default="lstm",
        metavar="NAME",
        help="registered model class (popgen.models.list_models()) (default: lstm)",
    )
    model.add_argument(
        "--model-option",
        type=key_value,
        action="append",
        metavar="KEY=VALUE",
        help="a setting of the model's config, the value read as a Python literal; repeatable",
    )
    add_config_flags(model, LSTMConfig, skip=_MODEL_SKIP)
    model.add_argument(
        "--step-features",
        action="store_true",
        help="the model also reads, at each step, the features its encoding computes from "
        "the tokens so far (pop, lead: position in the bar, part, chord now, what the melody "
        "played there one and two bars ago, bar in the phrase)",
    )
    return parser


def run(args: argparse.Namespace) -> None:
    """Read the corpus, fit the tokenizer, build the model, train, print the last epoch.

    ```text
    $ popgen train music21:essenFolksong/kinder0 --out runs/folk --epochs 5 --hidden-size 256
    ```
    """
    from popgen.locks import RunLock
    from popgen.models import build_model
    from popgen.runs.load import load_run
    from popgen.tokenizers.base import get_tokenizer
    from popgen.training.distributed import initialize, is_main_process
    from popgen.training.loop import check_process_count, train

    # before JAX computes anything (POPGEN_* may name several processes); one process
    # leaves JAX alone until training, so reading the songs may still fork workers
    main_process = initialize() == 1 or is_main_process()
    if args.resume:
        check_process_count(args.out)  # before the corpus is read
    config = TrainConfig(**given_values(args, TrainConfig))
    settings = _model_settings(args)
    base = args.out if args.resume else args.init_from
    options = dict(args.tokenizer_option or ())
    store = _store(args)
    if base is None:  # check the model, settings and encoding options before the slow part
        build_model(args.model, vocab_size=1, **settings)
        get_tokenizer(args.tokenizer or "note", **options)
    elif options:
        raise ValueError(
            "--tokenizer-option: with --resume or --init-from the encoding is the run's"
        )
    if main_process:  # the others never hold the lock
        RunLock(args.out, take_over_stale=args.resume).check()  # fail before the slow part
    songs: Corpus | TokenStore
    if store is not None:
        songs = store
        if main_process:
            print(f"token store: {store.describe()}")
    else:
        songs = corpus = read_corpus(args, args.sources)
        if main_process:
            print(f"corpus: {corpus.describe()}")
    if base is not None:  # the run's own tokenizer and model (and, to resume, config)
        previous = load_run(base)
        tokenizer, model = previous.tokenizer, previous.model
        if args.resume and previous.config is not None:
            config = previous.config
    else:
        if store is not None:
            tokenizer = store.tokenizer
        else:
            tokenizer = get_tokenizer(args.tokenizer or "note", **options).fit(corpus)
        if args.step_features:
            make = getattr(tokenizer, "step_features", None)
            if make is None:
                raise ValueError(
                    f"--step-features: the encoding {tokenizer.name!r} computes none; use "
                    "--tokenizer pop or lead"
                )
            features = make()
            settings["feature_dim"] = features.size
            if features.copies and _has_setting(args.model, "copy_heads"):  # e.g. the LSTM
                settings["copy_heads"] = features.copies
        model = build_model(args.model, vocab_size=tokenizer.vocab_size, **settings)
    run = train(
        model,
        tokenizer,
        songs,
        config,
        out=args.out,
        resume=args.resume,
        init_from=previous if args.init_from is not None else None,
        progress=not args.quiet,
    )
    if not main_process:  # process 0 wrote the run and says so
        return
    last = run.history[-1]
    stopped = " (stopped early)" if run.state.stopped_early else ""
    print(
        f"saved {args.out}{stopped}: train loss {last['train_loss']:.3f}, "
        f"valid loss {last.get('valid_loss', float('nan')):.3f}, "
        f"{last['tokens_per_s'] or 0:,.0f} tokens/s"
    )


def _store(args: argparse.Namespace) -> TokenStore | None:
    """The token store when the one source is a store's folder; its settings are its own."""
    from popgen.cli.options import corpus_options
    from popgen.corpus.options import CorpusOptions
    from popgen.data.store import is_store, open_store

    if not any(is_store(s) for s in args.sources):
        return None
    if len(args.sources) > 1:
        raise ValueError("a token store is trained on alone: give one store, or only files")
    if args.tokenizer is not None or args.tokenizer_option:
        raise ValueError(
            "--tokenizer/--tokenizer-option: a token store's encoding is the one it was built "
            "with; drop them (or build another store with popgen tokenize)"
        )
    if corpus_options(args) != CorpusOptions():
        raise ValueError(
            "reading flags (--tracks, --transpose-to, ...) do not apply to a token store: its "
            "songs were read when it was built; give them to popgen tokenize"
        )
    return open_store(args.sources[0])


def _has_setting(model: str, name: str) -> bool:
    """Whether the model registered as ``model`` has the config field ``name``.

    >>> _has_setting("lstm", "copy_heads"), _has_setting("lstm", "width")
    (True, False)
    """
    import dataclasses

    from popgen.models.registry import model_class

    config_class = getattr(model_class(model), "config_class", None)
    fields = dataclasses.fields(config_class) if dataclasses.is_dataclass(config_class) else ()
    return any(f.name == name for f in fields)


def _model_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The model flags given explicitly, and then each ``--model-option``."""
    settings = given_values(args, LSTMConfig, skip=_MODEL_SKIP)
    for key, value in args.model_option or ():
        if key in _MODEL_SKIP:
            raise ValueError(f"--model-option {key}: set from the tokenizer; drop it")
        if key in settings:
            raise ValueError(f"model setting {key!r} given twice; give it once")
        settings[key] = value
    return settings
