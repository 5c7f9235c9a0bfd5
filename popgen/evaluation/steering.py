"""Measure steering: songs over real progressions, accompaniments for real melodies.

For each held-out song with enough bars, its first ``bars`` whole bars from
the bar of the melody's first note (:func:`excerpt`; like with like: the
same length and meter for every song, intros left out) give

* a progression: the run writes a song over the excerpt's chords, in its form
  (its labelled sections; else the default form of ``popgen generate``), and the
  melody's chord-tone share against them and its notes per bar are compared
  with the real excerpts';
* a melody: the run arranges the excerpt's melody alone (chords inferred
  from it, as ``popgen arrange`` does for a plain melody), and the
  accompaniment's fit to the melody (:func:`popgen.metrics.harmonisation`)
  is compared with the real excerpts'.

The reference ranges (5th-95th percentile) are those of the excerpts of all
reference songs. Also measured: the share of generated melodies inside the
range on the repetition, pitch and structure metrics together
(:data:`GROUP`), and the classifier two-sample test of generated against
held-out melodies, with the metrics that tell them apart one at a time
(:func:`popgen.metrics.separating_metrics`). The same test of the held-out
melodies written through the run's encoding (encoded and decoded: on its time
grid, its velocity steps) against themselves as played is the floor a
perfect model of that encoding would reach.

The goals of issue 28 (:data:`popgen.evaluation.goals.GOALS`) are measured
on the same excerpts: the melody's pitch range, intervals, leaps, notes per
bar, durations, repeated bars and polyphony, the accompaniment's repeated
rhythms and notes per bar (songs over the progressions), harmonisation
(arrangements), the classifier (also real against real), and the form: the
run writes a song over the sections and chords of each held-out
``form_bars`` excerpt with a repeated section (:mod:`popgen.evaluation.excerpts`),
measured with :func:`popgen.metrics.section_repetition`. ``popgen evaluate RUN
--reference SONGS --steer`` runs it and prints the goals table.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from popgen.evaluation.excerpts import (
    SteeringSongs,
    excerpt,
    form_share,
    melody_controls,
    one_line,
    part,
    steering_songs,
)
from popgen.evaluation.goals import GOALS, goal_row, steering_table
from popgen.metrics import (
    choose_track,
    harmonisation,
    metric_table,
    separating_metrics,
    two_sample_test,
)
from popgen.metrics.harmony import chord_tone_share
from popgen.metrics.pitch import leap_share, mean_interval, pitch_range
from popgen.metrics.rhythm import median_duration, notes_per_bar, notes_per_onset
from popgen.metrics.structure import bar_repetition, rhythm_repetition
from popgen.music.melody import melody_line
from popgen.music.song import Song
from popgen.sampling.controls import Controls
from popgen.sampling.recipe import run_recipe

if TYPE_CHECKING:
    from popgen.runs.run import Run

__all__ = [
    "GROUP",
    "SteeringReport",
    "SteeringSongs",
    "evaluate_steering",
    "excerpt",
    "melody_controls",
    "one_line",
    "part",
    "steering_songs",
]

#: Folds of the two-sample test (it needs at least this many songs in each set).
_FOLDS = 5

#: The melody metrics that must all lie in range together: repetition, pitch, structure.
GROUP = (
    "repeated_note_ratio",
    "longest_pitch_run",
    "distinct_4gram_ratio",
    "pitch_class_entropy",
    "pitch_range",
    "pitches_used",
    "mean_interval",
    "scale_consistency",
    "bar_repetition",
    "self_similarity",
)


@dataclass
class SteeringReport:
    """Figures of :func:`evaluate_steering` and the songs written.

    ``figures`` maps each measure to its percentiles (5th, 50th, 95th) for the
    reference, held-out and generated songs, and ``inside`` shares; its
    ``"goals"`` holds each goal's row (:func:`popgen.evaluation.goals.goal_row`).

    ```python
    report = evaluate_steering(run, reference, held_out)
    print(report.table())
    ```
    """

    figures: dict[str, Any]
    over_chords: list[Song] = field(default_factory=list)
    arranged: list[Song] = field(default_factory=list)
    over_form: list[Song] = field(default_factory=list)

    def table(self) -> str:
        """The goals table (:func:`popgen.evaluation.goals.steering_table`) of this run.

        ```python
        print(report.table())
        ```
        """
        return steering_table({"generated": self})

    def extra_rows(self) -> list[tuple[str, str]]:
        """The figures measured beside the goals, as (label, text) rows of the table.

        ```python
        dict(report.extra_rows())["arranged melody unchanged"]
        ```
        """
        f = self.figures
        rows = []
        for name in ("chord_tone_share", "melody_notes_per_bar", "harmonisation"):
            row = f[name]
            generated = "arranged" if name == "harmonisation" else "generated"
            median = row[generated][1] if row[generated] else math.nan
            rows.append((f"{name}: median (inside)", f"{median:.3g} ({row['inside']:.0%})"))
        rows.append(("arranged melody unchanged", str(f["arranged_melody_unchanged"])))
        rows.append(("inside on every GROUP metric", f"{f['group_inside_all']:.0%}"))
        low = min(f["group_inside_each"], key=f["group_inside_each"].get)
        rows.append(("GROUP metric least inside", f"{low} {f['group_inside_each'][low]:.0%}"))
        test = f["two_sample"]
        interval = f"{test['low']:.2f}-{test['high']:.2f}" if test else "n/a"
        rows.append(("two-sample 95 % interval", interval))
        floor = f.get("two_sample_encoded")
        rows.append(("classifier: held-out through the encoding", _accuracy(floor)))
        on_grid = f.get("two_sample_on_grid")
        rows.append(("classifier: generated against held-out on the grid", _accuracy(on_grid)))
        for label, key in (("", "separating"), (" on the grid", "separating_on_grid")):
            apart = ", ".join(f"{name} {auc:.2f}" for name, auc in f.get(key) or [])
            rows.append((f"telling metrics{label} (AUC, 0.5 = alike)", apart or "n/a"))
        return rows

    def write_json(self, path: str | os.PathLike[str]) -> None:
        """Write the figures as JSON.

        ```python
        report.write_json("steering.json")
        ```
        """
        with open(path, "w") as handle:
            json.dump(self.figures, handle, indent=1)


def evaluate_steering(
    run: Run,
    reference: Sequence[Song],
    held_out: Sequence[Song],
    *,
    bars: int = 16,
    strategy: str | None = None,
    seed: int = 0,
    chunk: int = 50,
    form_bars: int = 32,
    songs: SteeringSongs | None = None,
) -> SteeringReport:
    """Generate over the held-out songs' progressions, forms, and for their melodies; measure.

    Args:
        run: a run of a steerable encoding (``pop``).
        reference: real songs, read as the run's training songs were; their
            excerpts give the reference ranges.
        held_out: real songs the run never saw; their excerpts give the controls.
        bars: the excerpts' length.
        strategy: a strategy spec; ``None``: the run's recipe.
        seed: the sampling seed.
        chunk: songs generated in one batch.
        form_bars: the length of the excerpts whose sections and chords the
            run writes a song over (the form measure).
        songs: the excerpts, made once for several runs (:func:`steering_songs`);
            ``None``: made here from ``reference`` and ``held_out``.

    Raises:
        ValueError: no held-out song has an excerpt of ``bars`` bars.

    ```python
    report = evaluate_steering(run, corpus.songs, held_out, strategy="temperature=0.9")
    ```
    """
    from popgen.sampling import Sampler

    if songs is None:
        songs = steering_songs(reference, held_out, bars=bars, form_bars=form_bars)
    bars, ref, held = songs.bars, songs.reference, songs.held_out
    sampler = Sampler.from_run(run, strategy)
    arranges = _arranges(run)
    over: list[Song] = []
    arranged: list[Song] = []
    formed: list[Song] = []
    started = time.perf_counter()
    for at in range(0, len(held), chunk):
        some = held[at : at + chunk]
        over += sampler.generate(controls=[_over_chords(s, bars) for s in some], seed=seed + at)
        if arranges:
            arranged += sampler.generate(
                controls=[melody_controls(s) for s in some], seed=seed + at
            )
    for at in range(0, len(songs.form_held_out), chunk):
        some = songs.form_held_out[at : at + chunk]
        formed += sampler.generate(
            controls=[
                Controls.over_chords(s.chords, bars=songs.form_bars, form=s.sections) for s in some
            ],
            seed=seed + at,
        )
    figures: dict[str, Any] = {
        "songs": len(held),
        "bars": bars,
        "reference_songs": len(ref),
        "form_songs": len(songs.form_held_out),
        "form_bars": songs.form_bars,
        "strategy": strategy or f"the run's recipe, {run_recipe(run)}",
        "seconds": time.perf_counter() - started,
    }
    melodies = {"reference": ref, "held_out": held, "generated": over}
    share = {k: [chord_tone_share(part(s, "melody")) for s in v] for k, v in melodies.items()}
    busy = {k: [notes_per_bar(part(s, "melody")) for s in v] for k, v in melodies.items()}
    fit = {k: [harmonisation(s) for s in v] for k, v in (*melodies.items(), ("arranged", arranged))}
    del fit["generated"]
    figures["chord_tone_share"] = _row(share, "generated")
    figures["melody_notes_per_bar"] = _row(busy, "generated")
    figures["harmonisation"] = _row(fit, "arranged")
    figures["arranged_melody_unchanged"] = (
        all(
            a.notes[a.notes["track"] == 0].tolist()
            == melody_line(part(h, "melody")).notes.tolist()
            for a, h in zip(arranged, held, strict=True)
        )
        if arranges
        else None  # the encoding cannot arrange (the beat layout): no harmonisation figures
    )
    tables = {k: metric_table([choose_track(s, "melody") for s in v]) for k, v in melodies.items()}
    ok = np.ones(len(over), dtype=bool)
    each = {}
    for name in GROUP:
        low, high = np.nanpercentile(tables["reference"][name], [5, 95])
        hit = (tables["generated"][name] >= low) & (tables["generated"][name] <= high)
        each[name] = float(hit.mean())
        ok &= hit
    figures["group_inside_each"] = each
    figures["group_inside_all"] = float(ok.mean())
    few = min(len(over), len(held)) < _FOLDS  # too few songs for a cross-validated classifier
    figures["two_sample"] = (
        None
        if few
        else two_sample_test(
            tables["generated"], tables["held_out"], folds=_FOLDS, seed=seed
        ).to_dict()
    )
    figures["separating"] = separating_metrics(tables["generated"], tables["held_out"], top=4)
    floor, on_grid, apart = (
        (None, None, None) if few else _on_the_grid(run, held, tables, seed=seed)
    )
    figures["two_sample_encoded"], figures["two_sample_on_grid"] = floor, on_grid
    figures["separating_on_grid"] = apart
    figures["accompaniment_notes_per_bar"] = {
        "held_out": _percentiles([notes_per_bar(part(s, "accompaniment")) for s in held]),
        "generated": _percentiles([notes_per_bar(part(s, "accompaniment")) for s in over]),
    }
    figures["goals"] = _goals(songs, over, arranged, formed, figures, seed=seed)
    return SteeringReport(figures, over, arranged, formed)


#: The goal measures read from each excerpt: (goal name, part, metric).
_MEASURES = (
    ("pitch_range", "melody", pitch_range),
    ("mean_interval", "melody", mean_interval),
    ("leap_share", "melody", leap_share),
    ("notes_per_bar", "melody", notes_per_bar),
    ("median_duration", "melody", median_duration),
    ("bar_repetition", "melody", bar_repetition),
    ("accompaniment_rhythm_repetition", "accompaniment", rhythm_repetition),
    ("chord_tone_share", "melody", chord_tone_share),
    ("accompaniment_notes_per_bar", "accompaniment", notes_per_bar),
    ("notes_per_onset", "melody", notes_per_onset),
)


def _goals(
    songs: SteeringSongs,
    over: list[Song],
    arranged: list[Song],
    formed: list[Song],
    figures: dict[str, Any],
    *,
    seed: int,
) -> dict[str, dict[str, Any]]:
    """Each goal's row (:func:`goal_row`): the real excerpts against the songs written."""
    goals = {goal.name: goal for goal in GOALS}
    sets = {"reference": songs.reference, "held_out": songs.held_out, "generated": over}
    rows = {}
    for name, role, measure in _MEASURES:
        values = {k: [measure(part(s, role)) for s in v] for k, v in sets.items()}
        rows[name] = goal_row(
            goals[name], values["reference"], values["held_out"], values["generated"]
        )
    rows["harmonisation"] = goal_row(
        goals["harmonisation"],
        [harmonisation(s) for s in songs.reference],
        [harmonisation(s) for s in songs.held_out],
        [harmonisation(s) for s in arranged],
    )
    test = figures["two_sample"]
    rows["two_sample"] = goal_row(
        goals["two_sample"],
        [],
        [_real_two_sample(songs, seed=seed)],
        [test["accuracy"] if test else math.nan],
    )
    rows["section_repetition"] = goal_row(
        goals["section_repetition"],
        [form_share(s) for s in songs.form_reference],
        [form_share(s) for s in songs.form_held_out],
        [form_share(s) for s in formed],
    )
    return rows


def _arranges(run: Run) -> bool:
    """Whether the run can write an accompaniment for a given melody (the layout allows it)."""
    from popgen.music.song import Track, make_notes
    from popgen.sampling.follow import schedule

    tune = Song(make_notes([60], [0], [1]), tracks=(Track("Vocal", role="melody"),))
    try:
        schedule(run.tokenizer, melody_controls(tune))
    except ValueError:
        return False
    return True


def _on_the_grid(
    run: Run, held: Sequence[Song], tables: dict[str, Any], *, seed: int
) -> tuple[dict[str, Any], dict[str, Any], list[tuple[str, float]]]:
    """The classifier on the held-out melodies through the run's encoding: two tests.

    The first tells them from the same melodies as played: the encoding's
    floor (its grid and velocity steps alone give real melodies away this
    often). The second tells the generated melodies from them: like with
    like, both on the grid and the velocity steps the run can write; with
    it, the metrics that tell those two apart.
    """
    encoded = [run.tokenizer.decode(run.tokenizer.encode(s)) for s in held]
    table = metric_table([choose_track(s, "melody") for s in encoded])
    floor = two_sample_test(table, tables["held_out"], folds=_FOLDS, seed=seed)
    on_grid = two_sample_test(tables["generated"], table, folds=_FOLDS, seed=seed)
    return floor.to_dict(), on_grid.to_dict(), separating_metrics(tables["generated"], table, top=4)


def _real_two_sample(songs: SteeringSongs, *, seed: int) -> float:
    """The classifier's accuracy telling held-out melodies from the other reference songs'."""
    if min(len(songs.training), len(songs.held_out)) < _FOLDS:
        return math.nan
    tables = [
        metric_table([choose_track(s, "melody") for s in v])
        for v in (songs.held_out, songs.training)
    ]
    return two_sample_test(tables[0], tables[1], folds=_FOLDS, seed=seed).accuracy


def _over_chords(song: Song, bars: int) -> Controls:
    """The controls of an excerpt's progression in its own form.

    Its form is its labelled sections, else the default form ``popgen
    generate`` gives a number of bars.

    >>> from popgen.music.chords import make_chords
    >>> from popgen.music.song import make_notes
    >>> song = Song(make_notes([60], [0], [16]), chords=make_chords(["C"], [0], [16]))
    >>> [s.label for s in _over_chords(song, 4).form]
    ['A']
    """
    from popgen.music.form import default_form

    form = song.sections if song.sections else default_form(bars)
    return Controls.over_chords(song.chords, bars=bars, form=form)


def _accuracy(test: dict[str, Any] | None) -> str:
    """A two-sample test's accuracy and interval as the table shows it."""
    if not test:
        return "n/a"
    return f"{test['accuracy']:.2f} ({test['low']:.2f}-{test['high']:.2f})"


def _percentiles(values: list[float]) -> list[float]:
    finite = np.array([v for v in values if math.isfinite(v)])
    return [float(x) for x in np.percentile(finite, [5, 50, 95])] if len(finite) else []


def _row(values: dict[str, list[float]], generated: str) -> dict[str, Any]:
    """Percentiles of each set, and the share of the generated set inside the reference's."""
    out: dict[str, Any] = {k: _percentiles(v) for k, v in values.items()}
    finite = np.array([v for v in values[generated] if math.isfinite(v)])
    low, high = out["reference"][0], out["reference"][2]
    out["inside"] = float(((finite >= low) & (finite <= high)).mean()) if len(finite) else math.nan
    return out
