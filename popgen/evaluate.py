"""Evaluate a run: does it make music like the corpus, without copying it.

:func:`evaluate` draws songs from a run and measures them against real songs
in three ways:

* **music**: every metric of :mod:`popgen.metrics.music` on the generated
  songs beside the reference songs' 5th-95th percentile range, the share of
  generated songs inside it, and Yang & Lerch's overlap area and KL
  divergence between the two sets;
* **likelihood**: held-out negative log-likelihood per token and per note
  under the run and under an interpolated Kneser-Ney n-gram model fitted on
  the run's own training songs;
* **copying**: the share of generated 8-grams (pitch + duration) found in the
  training songs and the longest copied passage, beside the same figures for
  held-out real songs, the level a model should not exceed;
* **two-sample test**: a cross-validated classifier on the song metrics
  telling generated songs from held-out real ones
  (:func:`popgen.metrics.two_sample.two_sample_test`); 0.50 means it cannot.

Bar-based metrics compare like with like only when both sets have bars of one
length: generated songs carry the meter their run recorded, and a warning
says when it differs from the reference songs'. A metric the generated songs
cannot have (the chord-tone share, for songs generated without chords) is
listed as not measured rather than scored as outside its range.

The reference songs are split into the run's training and held-out songs by
the song keys the run recorded (:func:`popgen.data.song_key`); songs the run
never saw count as held out.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from popgen.bars import common_meter, meter_counts
from popgen.data import song_key, split_by_song
from popgen.metrics.copying import CopyIndex, CopyReport
from popgen.metrics.likelihood import (
    EncodedSongs,
    Likelihood,
    encode_songs,
    ngram_likelihood,
    run_likelihood,
)
from popgen.metrics.music import Selection, choose_track
from popgen.metrics.ngram import KneserNey
from popgen.metrics.rhythm import notes_per_bar_by_role
from popgen.metrics.sets import SetComparison, compare_sets, inside_share, metric_table
from popgen.metrics.sets import reference_ranges as percentile_ranges
from popgen.metrics.two_sample import TwoSampleTest, two_sample_test

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from popgen.checkpoint import Run
    from popgen.music import Song

__all__ = ["GOAL_METRICS", "Evaluation", "EvaluationConfig", "evaluate", "split_reference"]

#: Share of the reference's bars in one meter above which a generated meter that
#: differs is warned about (a corpus of mixed meters has no one meter to match).
_ONE_METER = 0.8

#: The metrics of the musical goal: a good sample lies inside the reference range of each.
GOAL_METRICS = (
    "longest_pitch_run",
    "distinct_4gram_ratio",
    "pitch_class_entropy",
    "scale_consistency",
)


@dataclass(frozen=True)
class EvaluationConfig:
    """How :func:`evaluate` samples and measures.

    >>> EvaluationConfig(samples=8).ngram_order
    4

    """

    samples: int = 32  # generated songs
    tokens: int | None = None  # new tokens per song; None: the held-out songs' median length
    seed: int = 0  # sampling seed
    strategy: str | None = None  # sampling strategy spec ("": plain); None: the run's recipe
    ngram_order: int = 4  # order of the Kneser-Ney baseline
    copy_n: int = 8  # length of the (pitch, duration) n-grams of the copying check
    track: Selection = None  # which track of multitrack reference songs: index, name or "merge"

    def __post_init__(self) -> None:
        for name in ("samples", "tokens", "ngram_order", "copy_n"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")


@dataclass
class Evaluation:
    """What :func:`evaluate` measured; ``to_dict()`` for JSON, ``table()`` for people.

    Made by :func:`evaluate`; its properties summarise it:

    ```python
    report = evaluate(run, songs)
    print(report.table())                # the terminal report
    report.goal_share                    # 0.88: share of songs inside every goal range
    report.nll_gain                      # 0.24: NLL 24 % below the n-gram's
    report.write_json("evaluation.json")
    report.write_png("evaluation.png")
    ```

    Attributes:
        config: the settings used.
        ranges: each metric's 5th-95th percentile over the reference songs.
        generated: each metric's value per generated song.
        held_out: each metric's value per held-out real song.
        comparisons: overlap area and KL divergence, generated against reference.
        lstm: held-out likelihood under the run (``None`` without held-out songs).
        ngram: the same under the n-gram baseline fitted on the training songs.
        copying: ``"generated"`` and ``"held_out"`` copying reports.
        two_sample: the classifier two-sample test, generated against held-out
            songs (``None`` with too few of either).
        meters: the most common bar of the ``"generated"`` and ``"reference"`` songs.
        parts: median notes per bar of each part (track role, else name) of the
            ``"generated"`` and ``"held_out"`` songs
            (:func:`popgen.metrics.rhythm.notes_per_bar_by_role`).
        songs: the generated songs.
    """

    config: EvaluationConfig
    ranges: dict[str, tuple[float, float]]
    generated: dict[str, NDArray[np.float64]]
    held_out: dict[str, NDArray[np.float64]]
    reference: dict[str, NDArray[np.float64]]
    comparisons: dict[str, SetComparison]
    lstm: Likelihood | None
    ngram: Likelihood | None
    copying: dict[str, CopyReport | None]
    two_sample: TwoSampleTest | None = None
    meters: dict[str, tuple[int, int]] = field(default_factory=dict)
    parts: dict[str, dict[str, float]] = field(default_factory=dict)
    songs: list[Song] = field(default_factory=list, repr=False)

    @property
    def unmeasured(self) -> list[str]:
        """Metrics with no value on any generated song but values on the reference songs.

        ```python
        report.unmeasured  # ['chord_tone_share']: the songs were generated without chords
        ```
        """
        return [
            name
            for name, values in self.generated.items()
            if not _finite_values(values).size and _finite_values(self.reference[name]).size
        ]

    @property
    def inside(self) -> dict[str, float]:
        """Per metric, the share of generated songs inside the reference range.

        ```python
        report.inside["longest_pitch_run"]  # 0.97: 97 % of the songs lie in the range
        ```
        """
        return inside_share(self.generated, self.ranges)

    @property
    def goal_share(self) -> float:
        """Share of generated songs inside the reference range of every goal metric.

        The goal metrics are :data:`GOAL_METRICS`; a song counts when all four
        of its values lie in their ranges.

        ```python
        report.goal_share  # 0.88
        ```
        """
        ok = np.ones(len(self.songs), dtype=bool)
        for name in GOAL_METRICS:
            low, high = self.ranges[name]
            values = self.generated[name]
            ok &= (values >= low) & (values <= high)
        return float(ok.mean()) if len(ok) else math.nan

    @property
    def nll_gain(self) -> float:
        """How much lower the run's held-out NLL per token is than the n-gram's (0.2 = 20 %).

        ```python
        report.nll_gain  # 0.24; negative when the n-gram predicts better
        ```
        """
        if self.lstm is None or self.ngram is None:
            return math.nan
        return 1.0 - self.lstm.per_token / self.ngram.per_token

    def to_dict(self) -> dict[str, Any]:
        """Every figure as JSON-ready values (no song data).

        ```python
        report.to_dict()["likelihood"]["lstm"]["per_note"]  # 5.27 nats per note
        ```
        """
        inside = self.inside
        unmeasured = self.unmeasured
        return {
            "config": asdict(self.config),
            "metrics": {
                name: {
                    "generated_median": _median(values),
                    "held_out_median": _median(self.held_out.get(name)),
                    "reference_range": list(self.ranges[name]),
                    "inside": None if name in unmeasured else inside[name],
                    "overlap_area": self.comparisons[name].overlap_area
                    if name in self.comparisons
                    else None,
                    "kl_divergence": self.comparisons[name].kl_divergence
                    if name in self.comparisons
                    else None,
                }
                for name, values in self.generated.items()
            },
            "histograms": {
                name: asdict(c) for name, c in self.comparisons.items() if name not in self.ranges
            },
            "goal_share": self.goal_share,
            "likelihood": {
                "lstm": self.lstm.to_dict() if self.lstm else None,
                "ngram": self.ngram.to_dict() if self.ngram else None,
                "ngram_order": self.config.ngram_order,
                "gain": self.nll_gain,
            },
            "copying": {name: _copy_dict(report) for name, report in self.copying.items()},
            "two_sample": self.two_sample.to_dict() if self.two_sample else None,
            "meters": {name: list(meter) for name, meter in self.meters.items()},
            "notes_per_bar_by_part": self.parts,
            "unmeasured": self.unmeasured,
        }

    def write_json(self, path: str | os.PathLike[str]) -> None:
        """Write :meth:`to_dict` to ``path`` (non-finite numbers become ``null``).

        ```python
        report.write_json("evaluation.json")
        ```
        """
        Path(path).write_text(json.dumps(json_ready(self.to_dict()), indent=1))

    def table(self) -> str:
        """A plain-text report: metrics beside reference ranges, likelihood, copying.

        ```python
        print(report.table())  # what `popgen evaluate` prints
        ```
        """
        inside = self.inside
        unmeasured = self.unmeasured
        lines = [
            f"{'metric':<26}{'generated':>10}{'held-out':>10}{'reference 5-95%':>20}"
            f"{'inside':>8}{'overlap':>9}{'KL':>7}"
        ]
        for name, values in self.generated.items():
            if name in unmeasured:
                continue
            low, high = self.ranges[name]
            comp = self.comparisons.get(name)
            lines.append(
                f"{name:<26}{_median(values):>10.3g}{_median(self.held_out.get(name)):>10.3g}"
                f"{f'{low:.3g} .. {high:.3g}':>20}{inside[name]:>8.0%}"
                f"{comp.overlap_area if comp else math.nan:>9.2f}"
                f"{comp.kl_divergence if comp else math.nan:>7.2f}"
            )
        if unmeasured:
            lines.append(f"not measured on the generated songs: {', '.join(unmeasured)}")
        lines.append(
            f"samples inside the reference range of {', '.join(GOAL_METRICS)}: "
            f"{self.goal_share:.0%}"
        )
        if self.two_sample is not None:
            t = self.two_sample
            lines.append(
                f"two-sample test (classifier on the song metrics, generated against "
                f"held-out): accuracy {t.accuracy:.2f} (95 % {t.low:.2f}..{t.high:.2f}; "
                "0.50 = indistinguishable)"
            )
        if self.meters:
            lines.append("bars: " + ", ".join(f"{k} {n}/{d}" for k, (n, d) in self.meters.items()))
        for which, parts in self.parts.items():
            if parts:
                figures = ", ".join(f"{part} {value:.3g}" for part, value in parts.items())
                lines.append(f"notes per bar by part, {which.replace('_', '-')}: {figures}")
        if self.lstm is not None and self.ngram is not None:
            lines.append(
                f"held-out NLL per token: run {self.lstm.per_token:.3f}, "
                f"{self.config.ngram_order}-gram {self.ngram.per_token:.3f} "
                f"(the run's is {abs(self.nll_gain):.1%} "
                f"{'lower' if self.nll_gain >= 0 else 'higher'}); "
                f"per note: run {self.lstm.per_note:.3f}, "
                f"{self.config.ngram_order}-gram {self.ngram.per_note:.3f}"
            )
        for name, report in self.copying.items():
            if report is None:
                continue
            longest = report.longest
            where = f" from {longest.song!r}" if longest is not None else ""
            lines.append(
                f"copying, {name.replace('_', '-')} songs: {report.copied_share:.1%} of "
                f"{self.config.copy_n}-grams in the training songs, longest copied passage "
                f"{longest.length if longest else 0} notes{where}"
            )
        return "\n".join(lines)

    def write_png(self, path: str | os.PathLike[str]) -> None:
        """Histograms of each metric: generated songs against the reference songs.

        The dashed lines mark the reference range (5th and 95th percentile).

        ```python
        report.write_png("evaluation.png")
        ```
        """
        from matplotlib.figure import Figure  # no pyplot: the user's backend is left alone

        names = [n for n in self.generated if n not in self.unmeasured]
        cols = 4
        rows = math.ceil(len(names) / cols)
        fig = Figure(figsize=(3.2 * cols, 2.4 * rows))
        axes = fig.subplots(rows, cols, squeeze=False)
        for ax, name in zip(axes.flat, names, strict=False):
            ref = _finite_values(self.reference[name])
            gen = _finite_values(self.generated[name])
            both = np.concatenate([ref, gen])
            bins = np.histogram_bin_edges(both, bins=20) if len(both) else 10
            ax.hist(ref, bins=bins, density=True, alpha=0.5, label="reference")
            ax.hist(gen, bins=bins, density=True, alpha=0.5, label="generated")
            for edge in self.ranges[name]:
                ax.axvline(edge, color="k", lw=0.6, ls="--")
            ax.set_title(name, fontsize=8)
            ax.tick_params(labelsize=6)
        for ax in list(axes.flat)[len(names) :]:
            ax.axis("off")
        axes.flat[0].legend(fontsize=6)
        fig.tight_layout()
        fig.savefig(path, dpi=90)


def split_reference(run: Run, songs: Sequence[Song]) -> tuple[list[Song], list[Song]]:
    """Split reference songs into the run's training songs and held-out songs.

    Uses the song keys the run recorded while training; a run that recorded
    none (or matches no song) is split as :func:`popgen.train` splits a corpus
    itself: by its config's seed and validation fraction.

    Returns:
        ``(training songs, held-out songs)``; songs the run never saw are held out.

    >>> from popgen import Run, Song, get_tokenizer, make_notes
    >>> songs = [Song(make_notes([60 + i], [0], [1]), source=f"{i}.mid") for i in range(3)]
    >>> from popgen.training_state import TrainState
    >>> run = Run(None, get_tokenizer("chord"), None, state=TrainState(train_songs=("0.mid",)))
    >>> [[s.source for s in part] for part in split_reference(run, songs)]
    [['0.mid'], ['1.mid', '2.mid']]

    """
    trained = set(run.state.train_songs)
    if trained and any(song_key(s) in trained for s in songs):
        train = [s for s in songs if song_key(s) in trained]
        held = [s for s in songs if song_key(s) not in trained]
        return train, held
    if run.config is None:
        return [], list(songs)
    warnings.warn(
        "the run recorded none of these songs as training songs; splitting them by the "
        f"run's seed ({run.config.seed}) and validation fraction ({run.config.valid_fraction})",
        stacklevel=2,
    )
    train_idx, valid_idx = split_by_song(len(songs), run.config.valid_fraction, run.config.seed)
    return [songs[i] for i in train_idx], [songs[i] for i in valid_idx]


def evaluate(
    run: Run,
    reference: Sequence[Song],
    config: EvaluationConfig | None = None,
    *,
    train_songs: Sequence[Song] | None = None,
    held_out: Sequence[Song] | None = None,
) -> Evaluation:
    """Generate songs from ``run`` and measure them against ``reference`` songs.

    Args:
        run: a trained run.
        reference: real songs, read as the run's training songs were; their
            metrics give the reference ranges.
        config: sampling and measuring settings.
        train_songs: the run's training songs; by default found among
            ``reference`` with :func:`split_reference`.
        held_out: real songs the run never trained on; by default the rest of
            ``reference``.

    The likelihoods and the copying check read the songs with every part the
    run's encoding writes; the metrics measure ``config.track`` of the real
    songs and the same track of generated songs that have several.

    Returns:
        The :class:`Evaluation`.

    >>> import jax, jax.numpy as jnp
    >>> from popgen import LSTMModel, Run, Song, get_tokenizer, make_notes
    >>> songs = [Song(make_notes([60, 62, 64, 62] * 4, range(16), [1] * 16), title=t)
    ...          for t in ("a", "b", "c")]
    >>> tok = get_tokenizer("chord").fit(songs)
    >>> model = LSTMModel(vocab_size=tok.vocab_size, embed_dim=4, hidden_size=8, num_layers=1)
    >>> run = Run(model, tok, model.init(jax.random.key(0), jnp.zeros((1, 4), jnp.int32)))
    >>> report = evaluate(run, songs[:2], EvaluationConfig(samples=2, tokens=16),
    ...                   train_songs=songs[:2], held_out=songs[2:])
    >>> len(report.songs), report.ranges["pitch_range"], report.lstm.tokens
    (2, (4.0, 4.0), 17)

    """
    from popgen.sampling import Sampler

    config = config or EvaluationConfig()
    full = list(reference)  # every part, as the run read its songs
    reference = [choose_track(s, config.track) for s in full]
    if not reference:
        raise ValueError("evaluate needs at least one reference song")
    roleless = [s.source or s.title for s in reference if not any(t.role for t in s.tracks)]
    if roleless:
        warnings.warn(
            f"{len(roleless)} reference songs have no track roles (first: {roleless[0]}); "
            "their notes per bar are reported by track name",
            stacklevel=2,
        )
    if train_songs is None or held_out is None:
        found_train, found_held = split_reference(run, full)
        train_songs = found_train if train_songs is None else train_songs
        held_out = found_held if held_out is None else held_out
    # the likelihoods and the copying index read the songs as the run was trained on them
    # (every part a multi-part encoding writes); the metrics measure the chosen track
    seen_songs, unseen_songs = train_songs, held_out
    train_songs = [choose_track(s, config.track) for s in train_songs]
    held_out = [choose_track(s, config.track) for s in held_out]

    encoded = encode_songs(run.tokenizer, unseen_songs or reference)
    tokens = config.tokens or max(1, int(np.median([len(ids) - 2 for ids in encoded.ids])))
    sampler = Sampler.from_run(run, config.strategy)
    songs = sampler.generate(tokens, batch_size=config.samples, seed=config.seed)
    # the generated songs' part that the reference's chosen track is (a pop run writes
    # melody and accompaniment: measure its melody against reference melodies, not both)
    measured = [
        choose_track(s, config.track) if config.track is not None and len(s.tracks) > 1 else s
        for s in songs
    ]
    generated = metric_table(measured, "merge")
    ref_table = metric_table(reference)
    ref_meters = meter_counts([s.bar_lines() for s in reference])
    meters = {
        "generated": common_meter([s.bar_lines() for s in songs]),
        "reference": ref_meters.most_common(1)[0][0],
    }
    ref_share = ref_meters[meters["reference"]] / max(1, sum(ref_meters.values()))
    if meters["generated"] != meters["reference"] and ref_share >= _ONE_METER:
        warnings.warn(
            "the generated songs' bars are {}/{} and {:.0%} of the reference songs' bars "
            "{}/{}: bar-based metrics compare unlike bars; read the reference as the run's "
            "training songs were, or give the sampler the reference's meter".format(
                *meters["generated"], ref_share, *meters["reference"]
            ),
            stacklevel=2,
        )
    held_table = metric_table(held_out) if held_out else {k: np.array([]) for k in ref_table}
    lstm = ngram = None
    seen = encode_songs(run.tokenizer, seen_songs) if seen_songs else None
    if unseen_songs and seen is not None:
        lstm = run_likelihood(run, encoded)
        baseline = KneserNey(config.ngram_order, vocab_size=run.tokenizer.vocab_size)
        baseline.fit(seen.ids)
        ngram = ngram_likelihood(baseline, encoded)
    copying: dict[str, CopyReport | None] = {"generated": None, "held_out": None}
    if seen is not None:
        # compare songs as the model sees them: after the encoding's loss (grid, bins)
        index = CopyIndex(_as_encoded(run, seen), n=config.copy_n)
        copying["generated"] = index.report(songs)
        if unseen_songs:
            copying["held_out"] = index.report(_as_encoded(run, encoded))
    return Evaluation(
        config=config,
        ranges=percentile_ranges(ref_table),
        generated=generated,
        held_out=held_table,
        reference=ref_table,
        comparisons=compare_sets(measured, reference, "merge"),
        lstm=lstm,
        ngram=ngram,
        copying=copying,
        two_sample=_two_sample(generated, held_table, config.seed),
        meters=meters,
        parts={"generated": _parts(songs), "held_out": _parts(held_out)},
        songs=songs,
    )


def _parts(songs: Sequence[Song]) -> dict[str, float]:
    """Median notes per bar of each part (role, else track name) over the songs that have it."""
    values: dict[str, list[float]] = {}
    for song in songs:
        for part, value in notes_per_bar_by_role(song).items():
            values.setdefault(part, []).append(value)
    return {part: float(np.median(v)) for part, v in values.items()}


def _two_sample(
    generated: dict[str, NDArray[np.float64]], real: dict[str, NDArray[np.float64]], seed: int
) -> TwoSampleTest | None:
    """The two-sample test on the metrics both sets have values for; ``None`` when too few songs."""
    names = [
        n for n in generated if _finite_values(generated[n]).size and _finite_values(real[n]).size
    ]
    try:
        return two_sample_test(
            {n: generated[n] for n in names}, {n: real[n] for n in names}, seed=seed
        )
    except ValueError:
        return None


def _as_encoded(run: Run, encoded: EncodedSongs) -> list[Song]:
    """The encoded songs decoded again, titled as before (so that copies name them)."""
    names = encoded.names or ("",) * len(encoded.ids)
    return [
        run.tokenizer.decode(ids).replace(title=name)
        for ids, name in zip(encoded.ids, names, strict=True)
    ]


def _median(values: NDArray[np.float64] | None) -> float:
    finite = _finite_values(values) if values is not None else np.array([])
    return float(np.median(finite)) if len(finite) else math.nan


def _finite_values(values: NDArray[np.float64]) -> NDArray[np.float64]:
    values = np.asarray(values, dtype=np.float64)
    return values[np.isfinite(values)]


def _copy_dict(report: CopyReport | None) -> dict[str, Any] | None:
    if report is None:
        return None
    longest = report.longest
    return {
        "copied_share": report.copied_share,
        "longest_notes": longest.length if longest else 0,
        "longest_from": longest.song if longest else None,
    }


def json_ready(value: Any) -> Any:
    """``value`` with non-finite floats replaced by ``None`` (JSON has no NaN).

    >>> json_ready({"a": [1.0, float("nan")]})
    {'a': [1.0, None]}

    """
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value
