"""Measure steering: songs over real progressions, accompaniments for real melodies.

For each held-out song with enough bars, its first ``bars`` whole bars from
the bar of the melody's first note (:func:`excerpt`; like with like: the
same length and meter for every song, intros left out) give

* a progression: the run writes a song over the excerpt's chords, and the
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
held-out melodies. ``popgen evaluate RUN --reference SONGS --steer`` runs it.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from popgen.evaluation.goals import GOALS, goal_row, steering_table
from popgen.metrics import (
    ONSET_TOLERANCE,
    choose_track,
    harmonisation,
    metric_table,
    two_sample_test,
)
from popgen.metrics.harmony import chord_tone_share
from popgen.metrics.pitch import leap_share, mean_interval, pitch_range
from popgen.metrics.rhythm import median_duration, notes_per_bar, notes_per_onset
from popgen.metrics.structure import bar_repetition, rhythm_repetition, section_repetition
from popgen.music.melody import melody_line
from popgen.music.song import Song
from popgen.music.time import TimeSignature
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

#: How much a melody note may overlap the next onset and still be one line (beats), as in
#: :func:`popgen.music.melody.melody_line`: played legato.
_LEGATO = 0.25

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


def part(song: Song, role: str) -> Song:
    """The tracks of one role, chords and bars kept.

    >>> from popgen.music.song import Track, make_notes
    >>> song = Song(make_notes([72, 48], [0, 0], [1, 1], track=[0, 1]),
    ...             tracks=(Track("V", role="melody"), Track("P", role="accompaniment")))
    >>> part(song, "accompaniment").notes["pitch"].tolist()
    [48]
    """
    return song.select_tracks([i for i, t in enumerate(song.tracks) if t.role == role])


def excerpt(song: Song, bars: int) -> Song | None:
    """``bars`` whole bars of 4/4 from the bar of the melody's first note, or ``None``.

    When a bar of another length (a 2/4 or 6/4 bar, common in POP909) comes
    within those bars, the excerpt starts instead at the first bar after it
    in which a melody note starts, and so on: the first ``bars`` bars of 4/4
    in a row that open with melody. A melody with chords or long overlaps
    (more than one line, :func:`popgen.music.melody.melody_line`) is reduced
    to its top line (:func:`one_line`). ``None`` when the song has no melody
    or no such run of bars.

    >>> from popgen.music.song import Track, make_notes
    >>> tune = Song(make_notes(range(60, 72), range(2, 14), [1] * 12),
    ...             tracks=(Track("Vocal", role="melody"),))
    >>> excerpt(tune, 2).notes["start"].tolist()[:3], excerpt(tune, 4) is None
    ([2.0, 3.0, 4.0], True)
    >>> odd = tune.replace(bars=[4, 6, 10, 14])  # bar 1 is 2/4: the excerpt starts at bar 2
    >>> excerpt(odd, 2).notes["start"].tolist()[:2]
    [0.0, 1.0]
    """
    edges = np.asarray(song.bar_lines(), dtype=np.float64)
    tune = part(song, "melody")
    if not tune.num_notes or len(edges) <= bars:
        return None
    odd = ~np.isclose(np.diff(edges), 4.0)
    odd_before = np.concatenate([[0], np.cumsum(odd)])  # odd bars before each bar
    opens = np.zeros(len(edges) - 1, dtype=bool)
    opens[np.clip(np.searchsorted(edges, tune.notes["start"], side="right") - 1, 0, None)] = True
    for first in np.flatnonzero(opens[: len(edges) - bars]).tolist():
        if odd_before[first + bars] == odd_before[first] and song.end >= edges[first + bars] - 1e-9:
            return _melody_as_one_line(song.slice(float(edges[first]), float(edges[first + bars])))
    return None


def one_line(tune: Song) -> Song:
    """The top line of a melody: the highest note of each onset, cut at the next onset.

    Notes starting within :data:`popgen.metrics.ONSET_TOLERANCE` of one another
    are one onset; a note that overlaps the next onset by more than a quarter
    of a beat (more than a legato overlap, as :func:`popgen.music.melody.melody_line`
    allows) ends there. Tracks are kept.

    >>> from popgen.music.song import make_notes
    >>> chordal = Song(make_notes([60, 64, 67, 65], [0, 0, 0.01, 2], [4, 2, 3, 2]))
    >>> one_line(chordal).notes[["pitch", "start", "duration"]].tolist()
    [(67, 0.01, 1.99), (65, 2.0, 2.0)]
    """
    notes = np.sort(tune.notes, order="start")
    if not len(notes):
        return tune
    new = np.ones(len(notes), dtype=bool)
    new[1:] = np.diff(notes["start"]) >= ONSET_TOLERANCE
    group = np.cumsum(new) - 1
    order = np.lexsort((notes["pitch"], group))  # by onset, the highest last
    last = np.append(group[order][1:] != group[order][:-1], True)
    kept = notes[order[last]].copy()
    ends = kept["start"] + kept["duration"]
    nexts = np.append(kept["start"][1:], np.inf)
    cut = ends > nexts + _LEGATO
    kept["duration"][cut] = nexts[cut] - kept["start"][cut]
    return tune.replace(notes=kept)


def _melody_as_one_line(song: Song) -> Song:
    """``song`` with its melody reduced to its top line when it is more than one line."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a few stray overlaps are kept, as arrange keeps them
            melody_line(part(song, "melody"))
        return song
    except ValueError:  # more than one line: its top line
        pass
    melodic = np.array([t.role == "melody" for t in song.tracks], dtype=bool)
    is_tune = melodic[song.notes["track"]]
    tune = song.replace(notes=song.notes[is_tune])
    line = one_line(tune).notes.copy()
    line["track"] = int(np.flatnonzero(melodic)[0])  # the first melody track carries it
    return song.replace(notes=np.concatenate([song.notes[~is_tune], line]))


def melody_controls(song: Song) -> Controls:
    """The controls that arrange the melody of an :func:`excerpt`: its tune in 4/4, no chords.

    The excerpt's bars are whole 4/4 bars, so annotated bar lines a few
    millionths of a beat off 4 (POP909's songs 418 and 519) are dropped for
    4/4 from its start; kept, they would ask the encoding for a bar of one
    step at the end.

    >>> from popgen.music.song import Track, make_notes
    >>> tune = Song(make_notes([60, 62], [0, 4], [1, 1]), tracks=(Track("Vocal", role="melody"),),
    ...             bars=[3.999996, 7.999992])
    >>> melody_controls(tune).bars
    2
    """
    tune = part(song, "melody")
    four = (TimeSignature(0.0, 4, 4),)
    return Controls.for_melody(tune.replace(chords=tune.chords[:0], time_signatures=four, bars=[]))


@dataclass(frozen=True)
class SteeringSongs:
    """The real excerpts a steering evaluation measures against: made once, shared by runs.

    Attributes:
        bars: the length of :attr:`reference` and :attr:`held_out`'s excerpts.
        form_bars: the length of the form excerpts.
        reference: excerpts of every reference song: the reference ranges.
        held_out: excerpts of the held-out songs: the controls, and the real medians.
        training: the reference excerpts of songs not held out (the real-against-real test).
        form_reference: ``form_bars`` excerpts of reference songs with a repeated section.
        form_held_out: those of held-out songs: the forms and chords to write over.

    Build one with :func:`steering_songs`.
    """

    bars: int
    form_bars: int
    reference: list[Song]
    held_out: list[Song]
    training: list[Song]
    form_reference: list[Song]
    form_held_out: list[Song]


def steering_songs(
    reference: Sequence[Song], held_out: Sequence[Song], *, bars: int = 16, form_bars: int = 32
) -> SteeringSongs:
    """The excerpts (:func:`excerpt`) of the reference and held-out songs, for all runs alike.

    A form excerpt is kept when its melody repeats a section
    (:func:`popgen.metrics.section_repetition` is not ``nan``). Reference songs
    that are among ``held_out`` (the same objects) are left out of ``training``.

    Raises:
        ValueError: no held-out or reference song has an excerpt of ``bars`` bars.

    >>> from popgen.music.song import Track, make_notes
    >>> tune = Song(make_notes(range(60, 76), range(16), [1] * 16),
    ...             tracks=(Track("Vocal", role="melody"),))
    >>> songs = steering_songs([tune], [tune], bars=2, form_bars=4)
    >>> len(songs.held_out), len(songs.training), len(songs.form_held_out)
    (1, 0, 0)
    """
    ref = [e for s in reference if (e := excerpt(s, bars)) is not None]
    held = [e for s in held_out if (e := excerpt(s, bars)) is not None]
    if not held or not ref:
        raise ValueError(f"no held-out song has {bars} whole 4/4 bars of melody; give fewer bars")
    out = {id(s) for s in held_out}
    training = [e for s in reference if id(s) not in out and (e := excerpt(s, bars)) is not None]
    return SteeringSongs(
        bars,
        form_bars,
        ref,
        held,
        training,
        _with_form(reference, form_bars),
        _with_form(held_out, form_bars),
    )


def _with_form(songs: Sequence[Song], bars: int) -> list[Song]:
    found = (excerpt(s, bars) for s in songs if s.sections)
    return [e for e in found if e is not None and not math.isnan(_form_share(e))]


def _form_share(song: Song) -> float:
    return section_repetition(part(song, "melody"))


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
        interval = (
            f"{test['interval'][0]:.2f}-{test['interval'][1]:.2f}"
            if test and "interval" in test
            else "n/a"
        )
        rows.append(("two-sample 95 % interval", interval))
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
    over: list[Song] = []
    arranged: list[Song] = []
    formed: list[Song] = []
    started = time.perf_counter()
    for at in range(0, len(held), chunk):
        some = held[at : at + chunk]
        over += sampler.generate(
            controls=[Controls.over_chords(s.chords, bars=bars) for s in some], seed=seed + at
        )
        arranged += sampler.generate(controls=[melody_controls(s) for s in some], seed=seed + at)
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
    figures["arranged_melody_unchanged"] = all(
        a.notes[a.notes["track"] == 0].tolist() == melody_line(part(h, "melody")).notes.tolist()
        for a, h in zip(arranged, held, strict=True)
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
        [_form_share(s) for s in songs.form_reference],
        [_form_share(s) for s in songs.form_held_out],
        [_form_share(s) for s in formed],
    )
    return rows


def _real_two_sample(songs: SteeringSongs, *, seed: int) -> float:
    """The classifier's accuracy telling held-out melodies from the other reference songs'."""
    if min(len(songs.training), len(songs.held_out)) < _FOLDS:
        return math.nan
    tables = [
        metric_table([choose_track(s, "melody") for s in v])
        for v in (songs.held_out, songs.training)
    ]
    return two_sample_test(tables[0], tables[1], folds=_FOLDS, seed=seed).accuracy


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
