"""Sweeps: train a grid of runs on one split by song, evaluate each, write a report.

A sweep is a TOML file (see ``examples/sweep-pop909.toml``)::

    [data]                       # read once, split once by song, shared by every run
    sources = ["songs/"]
    tracks = ["MELODY"]
    transpose_to = "C"
    limit = 200                  # the first N songs
    valid_fraction = 0.1
    seed = 0

    [base]                       # the settings every run starts from
    tokenizer = "note"           # an encoding name
    hidden_size = 256            # LSTMConfig fields: embed_dim, hidden_size, num_layers, dropout
    epochs = 6                   # TrainConfig fields: seq_len, epochs, lr_schedule, ...

    [grid]                       # the values to try
    mode = "one-at-a-time"       # or "product": every combination
    seq_len = [32, 64, 128]
    num_layers = [1, 2, 3]

    [evaluate]                   # EvaluationConfig fields
    samples = 32

``one-at-a-time`` trains the base run plus one run per other value of each
setting (the seed's way of tuning, one knob at a time); ``product`` trains
every combination. Results are appended to ``results.json`` in the sweep's
folder after each run, so an interrupted sweep resumes where it stopped (a
run cut off mid-training resumes from its last checkpoint).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
import time
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from popgen.corpus.options import CorpusOptions
from popgen.evaluation.compute import evaluate
from popgen.evaluation.config import EvaluationConfig
from popgen.evaluation.report import json_ready
from popgen.models.lstm_config import LSTMConfig
from popgen.runs.train_config import TrainConfig

if TYPE_CHECKING:
    from popgen.music.song import Song

__all__ = ["MODEL_FIELDS", "SweepConfig", "plan", "run_sweep"]

#: Settings of a sweep that configure the model (the :class:`LSTMConfig` fields
#: but ``vocab_size``, which the tokenizer sets); ``tokenizer`` names the
#: encoding; every other setting is a :class:`TrainConfig` field.
MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(LSTMConfig) if f.name != "vocab_size")
_TRAIN_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))
_DATA_FIELDS = ("sources", "limit", *(f.name for f in dataclasses.fields(CorpusOptions)))
_MODES = ("one-at-a-time", "product")


@dataclass(frozen=True)
class SweepConfig:
    """A sweep: data, base settings, the grid and how to evaluate.

    >>> config = SweepConfig(sources=("songs/",), grid={"seq_len": [32, 64]})
    >>> [name for name, _ in plan(config)]
    ['base', 'seq_len=32', 'seq_len=64']

    """

    sources: tuple[str, ...]  # MIDI/score files, folders, globs, music21:NAME
    # how the songs are read (Corpus.from_sources); a dict of its fields is converted
    corpus: CorpusOptions = field(default_factory=CorpusOptions)
    limit: int | None = None  # keep the first N songs
    valid_fraction: float = 0.1  # share of songs held out, split once by song
    seed: int = 0  # the split's seed
    base: dict[str, Any] = field(default_factory=dict)  # settings every run starts from
    grid: dict[str, list[Any]] = field(default_factory=dict)  # setting -> values to try
    mode: str = "one-at-a-time"  # or "product"
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)

    def __post_init__(self) -> None:
        if isinstance(self.corpus, Mapping):  # CorpusOptions checks every field
            object.__setattr__(self, "corpus", CorpusOptions(**self.corpus))
        if self.mode not in _MODES:
            raise ValueError(f"grid mode must be one of {_MODES}, got {self.mode!r}")
        known = {"tokenizer", *MODEL_FIELDS, *_TRAIN_FIELDS}
        for name in [*self.base, *self.grid]:
            if name not in known:
                raise ValueError(
                    f"unknown sweep setting {name!r}; known: {', '.join(sorted(known))}"
                )
        for name, values in self.grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"grid setting {name!r} needs a non-empty list of values")
        for _, settings in plan(self):
            _train_config(settings)  # an impossible value fails now, not hours later

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str]) -> SweepConfig:
        r"""Read a sweep file; relative ``sources`` are relative to the file.

        Raises:
            ValueError: an unknown section or setting, or an impossible value
                (the message names the file).

        >>> import tempfile
        >>> from pathlib import Path
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     path = Path(folder) / "sweep.toml"
        ...     _ = path.write_text('[data]\nsources = ["songs"]\n[grid]\nseq_len = [32]\n')
        ...     config = SweepConfig.from_toml(path)
        ...     config.sources[0] == str(Path(folder) / "songs"), config.mode
        (True, 'one-at-a-time')

        """
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None
        try:
            return cls._from_dict(data, path.parent)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{path}: {exc}") from None

    @classmethod
    def _from_dict(cls, data: dict[str, Any], root: Path) -> SweepConfig:
        unknown = set(data) - {"data", "base", "grid", "evaluate"}
        if unknown:
            raise ValueError(f"unknown sections {sorted(unknown)}; use data, base, grid, evaluate")
        spec = dict(data.get("data", {}))
        bad = set(spec) - {*_DATA_FIELDS, "valid_fraction", "seed"}
        if bad:
            raise ValueError(f"unknown [data] settings {sorted(bad)}")
        sources = spec.pop("sources", None)
        if not sources:
            raise ValueError("[data] needs sources = [...]")
        resolved = tuple(
            s if s.startswith("music21:") or Path(s).is_absolute() else str(root / s)
            for s in sources
        )
        grid = dict(data.get("grid", {}))
        return cls(
            sources=resolved,
            limit=spec.pop("limit", None),
            valid_fraction=spec.pop("valid_fraction", 0.1),
            seed=spec.pop("seed", 0),
            corpus=CorpusOptions(**spec),
            base=dict(data.get("base", {})),
            mode=grid.pop("mode", "one-at-a-time"),
            grid=grid,
            evaluation=EvaluationConfig(**data.get("evaluate", {})),
        )


def plan(config: SweepConfig) -> list[tuple[str, dict[str, Any]]]:
    """The runs of a sweep: ``(name, settings)``, base settings overridden per run.

    >>> config = SweepConfig(("x",), grid={"dropout": [0.0, 0.2], "num_layers": [1, 2]},
    ...                      mode="product")
    >>> [name for name, _ in plan(config)]
    ['dropout=0.0,num_layers=1', 'dropout=0.0,num_layers=2', 'dropout=0.2,num_layers=1', \
'dropout=0.2,num_layers=2']

    """
    runs: list[tuple[str, dict[str, Any]]] = []
    if config.mode == "product":
        keys = list(config.grid)
        for combination in itertools.product(*(config.grid[k] for k in keys)):
            change = dict(zip(keys, combination, strict=True))
            runs.append((_name(change), {**config.base, **change}))
        return runs or [("base", dict(config.base))]
    runs.append(("base", dict(config.base)))
    for name, values in config.grid.items():
        for value in values:
            if name in config.base and config.base[name] == value:
                continue  # that is the base run
            runs.append((_name({name: value}), {**config.base, name: value}))
    return runs


def run_sweep(
    config: SweepConfig,
    out: str | os.PathLike[str],
    *,
    progress: bool = True,
    reevaluate: bool = False,
) -> list[dict[str, Any]]:
    """Train and evaluate every run of ``config`` in ``out``; resumes an interrupted sweep.

    Args:
        config: the sweep.
        out: its folder: ``runs/NAME/`` for each run and ``results.json``.
        progress: show progress bars while training.
        reevaluate: evaluate the finished runs again (after a change of the
            ``[evaluate]`` settings) instead of skipping them.

    ```python
    config = SweepConfig.from_toml("examples/sweep-pop909.toml")
    results = run_sweep(config, "sweeps/pop909")  # kill it and call again: it goes on
    best = min(results, key=lambda r: r["evaluation"]["likelihood"]["lstm"]["per_note"])
    ```

    Returns:
        One result per run (its settings, training figures and evaluation),
        also kept in ``out/results.json``.
    """
    from popgen.corpus.corpus import Corpus
    from popgen.corpus.split import split_by_song
    from popgen.runs.load import load_run

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results: list[dict[str, Any]] = []
    if results_path.exists():
        results = json.loads(results_path.read_text())["runs"]
    done = {r["name"] for r in results}
    options = config.corpus
    songs: list[Song] = list(Corpus.from_sources(list(config.sources), options))
    songs = songs[: config.limit] if config.limit else songs
    train_idx, valid_idx = split_by_song(len(songs), config.valid_fraction, config.seed)
    train_songs = [songs[i] for i in train_idx]
    valid_songs = [songs[i] for i in valid_idx]
    for name, settings in plan(config):
        folder = out / "runs" / _folder(name)
        if name in done and not reevaluate:
            continue
        if name in done:
            entry = next(r for r in results if r["name"] == name)
            report = evaluate(
                load_run(folder),
                songs,
                config.evaluation,
                train_songs=train_songs,
                held_out=valid_songs,
            )
            entry["evaluation"] = report.to_dict()
            _write_results(results_path, results)
            continue
        started = time.perf_counter()
        run = _train_one(settings, train_songs, valid_songs, folder, progress)
        trained = time.perf_counter() - started
        report = evaluate(
            run, songs, config.evaluation, train_songs=train_songs, held_out=valid_songs
        )
        results.append(
            {
                "name": name,
                "settings": settings,
                "train_seconds": trained,
                "epochs": len(run.history),
                "best_valid_loss": run.state.best_valid_loss,
                "tokens_per_s": run.history[-1].get("tokens_per_s") if run.history else None,
                "params": sum(x.size for x in _leaves(run.params)),
                "evaluation": report.to_dict(),
            }
        )
        _write_results(results_path, results)
    return results


def _write_results(path: Path, results: list[dict[str, Any]]) -> None:
    """Replace ``results.json`` atomically: a kill never leaves half a file."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(json_ready({"runs": results}), indent=1))
    os.replace(tmp, path)


def _train_one(
    settings: dict[str, Any],
    train_songs: list[Song],
    valid_songs: list[Song],
    folder: Path,
    progress: bool,
) -> Any:
    """Train (or resume, or load a finished) run with these settings."""
    from popgen.models.registry import build_model
    from popgen.runs.load import load_run
    from popgen.tokenizers.base import get_tokenizer
    from popgen.training.loop import train

    tokenizer = get_tokenizer(settings.get("tokenizer", "note")).fit(train_songs)
    model_options = {k: settings[k] for k in MODEL_FIELDS if k in settings}
    model = build_model("lstm", vocab_size=tokenizer.vocab_size, **model_options)
    config = _train_config(settings)
    resume = (folder / "popgen.json").exists()
    if resume and _stopped_early(folder, config):
        return load_run(folder)
    return train(
        model,
        tokenizer,
        train_songs,
        config,
        out=folder,
        valid=valid_songs,
        resume=resume,
        progress=progress,
    )


def _stopped_early(folder: Path, config: TrainConfig) -> bool:
    """Whether the run in ``folder`` ran out of patience (resuming would train on)."""
    from popgen.runs.run_dir import read_run_meta

    waited = read_run_meta(folder).get("state", {}).get("epochs_without_improvement", 0)
    return config.patience is not None and waited >= config.patience


def _train_config(settings: dict[str, Any]) -> TrainConfig:
    return TrainConfig(**{k: v for k, v in settings.items() if k in _TRAIN_FIELDS})


def _name(change: dict[str, Any]) -> str:
    return ",".join(f"{k}={v}" for k, v in change.items())


def _folder(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=,-]", "_", name)


def _leaves(tree: Any) -> list[Any]:
    import jax

    return list(jax.tree.leaves(tree))
