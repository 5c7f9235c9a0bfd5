"""Measure music: metrics of songs and comparisons of song sets.

* :mod:`popgen.metrics.music`: one song's pitch, rhythm, texture, dynamics,
  harmony and structure metrics (:data:`METRICS`, :func:`song_metrics`) and
  histogram features (:data:`HISTOGRAMS`), on a track chosen with
  :func:`choose_track`; they live in :mod:`popgen.metrics.pitch`,
  :mod:`popgen.metrics.rhythm` (with :func:`notes_per_bar_by_role`),
  :mod:`popgen.metrics.harmony` (:func:`chord_tone_share`, and
  :func:`harmonisation`, which reads track roles and so the whole song) and
  :mod:`popgen.metrics.structure` (:func:`bar_repetition`,
  :func:`self_similarity`, :func:`bar_features`, :func:`section_repetition`);
* :mod:`popgen.metrics.sets`: metric tables over sets, reference ranges
  (5th-95th percentile), and Yang & Lerch's overlap area and KL divergence
  between a generated and a reference set (:func:`compare_sets`);
* :mod:`popgen.metrics.two_sample`: a cross-validated classifier telling
  generated songs from real ones by their metrics
  (:func:`two_sample_test`, :class:`TwoSampleTest`), and the metrics that
  tell them apart one at a time (:func:`separating_metrics`);
* :mod:`popgen.metrics.likelihood`: held-out negative log-likelihood per token
  and per note of a run (:func:`run_likelihood`) or of an n-gram model;
* :mod:`popgen.metrics.ngram`: the interpolated Kneser-Ney baseline
  (:class:`KneserNey`);
* :mod:`popgen.metrics.copying`: generated n-grams and passages found in the
  training songs (:class:`CopyIndex`).

:func:`popgen.evaluation.compute.evaluate` puts them together. Importing this package
needs only numpy (JAX is loaded when a run is scored).

>>> from popgen.music.song import Song, make_notes
>>> song = Song(make_notes([60, 64, 67, 72], [0, 1, 2, 3], [1, 1, 1, 1]))
>>> song_metrics(song)["pitch_range"]
12.0
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from popgen.metrics._notes import ONSET_TOLERANCE
from popgen.metrics.copying import Copy, CopyIndex, CopyReport, note_line
from popgen.metrics.harmony import harmonisation
from popgen.metrics.likelihood import (
    EncodedSongs,
    Likelihood,
    encode_songs,
    ngram_likelihood,
    run_likelihood,
)
from popgen.metrics.music import HISTOGRAMS, METRICS, Selection, choose_track, song_metrics
from popgen.metrics.ngram import KneserNey
from popgen.metrics.pitch import distinct_ngram_ratio
from popgen.metrics.rhythm import DURATION_BINS, DURATION_EDGES, notes_per_bar_by_role
from popgen.metrics.sets import (
    SetComparison,
    compare_sets,
    inside_share,
    metric_table,
    reference_ranges,
)
from popgen.metrics.structure import bar_features
from popgen.metrics.two_sample import TwoSampleTest, separating_metrics, two_sample_test


def __getattr__(name: str) -> Callable[[Any], Any]:
    """Each metric and histogram by name (``popgen.metrics.pitch_range``), from the registry."""
    found = METRICS.get(name) or HISTOGRAMS.get(name)
    if found is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return found


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "Copy",
    "CopyIndex",
    "CopyReport",
    "DURATION_BINS",
    "DURATION_EDGES",
    "EncodedSongs",
    "HISTOGRAMS",
    "KneserNey",
    "Likelihood",
    "METRICS",
    "ONSET_TOLERANCE",
    "Selection",
    "SetComparison",
    "TwoSampleTest",
    "bar_features",
    "choose_track",
    "compare_sets",
    "distinct_ngram_ratio",
    "encode_songs",
    "harmonisation",
    "inside_share",
    "metric_table",
    "ngram_likelihood",
    "note_line",
    "notes_per_bar_by_role",
    "reference_ranges",
    "run_likelihood",
    "separating_metrics",
    "song_metrics",
    "two_sample_test",
]
# and every registered metric and histogram (popgen.metrics.registry)
__all__ += [*METRICS, *HISTOGRAMS]
