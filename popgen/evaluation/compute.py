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
the song keys the run recorded (:func:`popgen.corpus.split.song_key`); songs the run
never saw count as held out.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from popgen.corpus.split import song_key, split_by_song
from popgen.evaluation.config import EvaluationConfig
from popgen.evaluation.report import Evaluation, _finite_values
from popgen.metrics.copying import CopyIndex, CopyReport
from popgen.metrics.likelihood import (
    EncodedSongs,
    encode_songs,
    ngram_likelihood,
    run_likelihood,
)
from popgen.metrics.music import choose_track
from popgen.metrics.ngram import KneserNey
from popgen.metrics.rhythm import notes_per_bar_by_role
from popgen.metrics.sets import compare_sets, metric_table
from popgen.metrics.sets import reference_ranges as percentile_ranges
from popgen.metrics.two_sample import TwoSampleTest, two_sample_test
from popgen.music.bars import common_meter, meter_counts

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from popgen.music.song import Song
    from popgen.runs.run import Run

__all__ = [
    "evaluate",
    "split_reference",
]

#: Share of the reference's bars in one meter above which a generated meter that
#: differs is warned about (a corpus of mixed meters has no one meter to match).
_ONE_METER = 0.8


def split_reference(run: Run, songs: Sequence[Song]) -> tuple[list[Song], list[Song]]:
    """Split reference songs into the run's training songs and held-out songs.

    Uses the song keys the run recorded while training; a run that recorded
    none (or matches no song) is split as :func:`popgen.train` splits a corpus
    itself: by its config's seed and validation fraction.

    Returns:
        ``(training songs, held-out songs)``; songs the run never saw are held out.

    >>> from popgen import Run
    >>> from popgen import Song
    >>> from popgen import get_tokenizer
    >>> from popgen import make_notes
    >>> songs = [Song(make_notes([60 + i], [0], [1]), source=f"{i}.mid") for i in range(3)]
    >>> from popgen.runs.train_state import TrainState
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
    >>> from popgen import LSTMModel
    >>> from popgen import Run
    >>> from popgen import Song
    >>> from popgen import get_tokenizer
    >>> from popgen import make_notes
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
