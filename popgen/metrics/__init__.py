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
  (:func:`two_sample_test`, :class:`TwoSampleTest`);
* :mod:`popgen.metrics.likelihood`: held-out negative log-likelihood per token
  and per note of a run (:func:`run_likelihood`) or of an n-gram model;
* :mod:`popgen.metrics.ngram`: the interpolated Kneser-Ney baseline
  (:class:`KneserNey`);
* :mod:`popgen.metrics.copying`: generated n-grams and passages found in the
  training songs (:class:`CopyIndex`).

:func:`popgen.evaluate.evaluate` puts them together. Importing this package
needs only numpy (JAX is loaded when a run is scored).

>>> from popgen.music import Song, make_notes
>>> song = Song(make_notes([60, 64, 67, 72], [0, 1, 2, 3], [1, 1, 1, 1]))
>>> song_metrics(song)["pitch_range"]
12.0
"""

from __future__ import annotations

from popgen.metrics.copying import Copy, CopyIndex, CopyReport, note_line
from popgen.metrics.harmony import harmonisation
from popgen.metrics.likelihood import (
    EncodedSongs,
    Likelihood,
    encode_songs,
    ngram_likelihood,
    run_likelihood,
)
from popgen.metrics.music import (
    DURATION_BINS,
    DURATION_EDGES,
    HISTOGRAMS,
    METRICS,
    ONSET_TOLERANCE,
    Selection,
    bar_features,
    bar_repetition,
    choose_track,
    chord_tone_share,
    distinct_4gram_ratio,
    distinct_ngram_ratio,
    empty_beat_rate,
    groove_consistency,
    inter_onset_histogram,
    longest_pitch_run,
    mean_interval,
    note_length_histogram,
    notes_per_bar,
    notes_per_bar_by_role,
    pitch_class_entropy,
    pitch_class_entropy_1bar,
    pitch_class_entropy_4bar,
    pitch_class_histogram,
    pitch_range,
    pitches_used,
    polyphony,
    polyphony_rate,
    repeated_note_ratio,
    scale_consistency,
    section_repetition,
    self_similarity,
    song_metrics,
    velocity_spread,
)
from popgen.metrics.ngram import KneserNey
from popgen.metrics.sets import (
    SetComparison,
    compare_sets,
    inside_share,
    metric_table,
    reference_ranges,
)
from popgen.metrics.two_sample import TwoSampleTest, two_sample_test

__all__ = [
    "Copy",
    "CopyIndex",
    "CopyReport",
    "EncodedSongs",
    "KneserNey",
    "Likelihood",
    "encode_songs",
    "ngram_likelihood",
    "note_line",
    "run_likelihood",
    "DURATION_BINS",
    "DURATION_EDGES",
    "HISTOGRAMS",
    "METRICS",
    "ONSET_TOLERANCE",
    "Selection",
    "SetComparison",
    "TwoSampleTest",
    "bar_features",
    "bar_repetition",
    "choose_track",
    "chord_tone_share",
    "compare_sets",
    "distinct_4gram_ratio",
    "distinct_ngram_ratio",
    "empty_beat_rate",
    "groove_consistency",
    "harmonisation",
    "inside_share",
    "inter_onset_histogram",
    "longest_pitch_run",
    "mean_interval",
    "metric_table",
    "note_length_histogram",
    "notes_per_bar",
    "notes_per_bar_by_role",
    "pitch_class_entropy",
    "pitch_class_entropy_1bar",
    "pitch_class_entropy_4bar",
    "pitch_class_histogram",
    "pitch_range",
    "pitches_used",
    "polyphony",
    "polyphony_rate",
    "reference_ranges",
    "repeated_note_ratio",
    "scale_consistency",
    "section_repetition",
    "self_similarity",
    "song_metrics",
    "two_sample_test",
    "velocity_spread",
]
