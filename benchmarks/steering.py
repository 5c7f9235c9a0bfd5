"""Steering figures: songs over held-out progressions, arrangements of held-out melodies.

For each held-out POP909 song with at least ``--bars`` bars, its first
``--bars`` bars (an excerpt, like with like: same length, same meter, read as
the run's training songs were, moved to the same key family) give

* a progression: the run writes a song over the excerpt's annotated chords
  (``Controls.over_chords``), and the melody's chord-tone share against those
  chords and its notes per bar are compared with the real excerpts';
* a melody: the run arranges the excerpt's melody alone (chords inferred from
  the melody, as ``popgen arrange`` does for a plain MIDI melody), and the
  accompaniment's fit to the melody (``popgen.metrics.harmonisation``) is
  compared with the real excerpts'.

The reference ranges (5th-95th percentile) come from the first ``--bars``
bars of every song in the folder. Also: the share of generated melodies
inside the range on the repetition, pitch and structure metrics together,
and the classifier two-sample test of generated against held-out melodies.

    python benchmarks/steering.py --run runs/pop --data ../shared/data/pop909 \
        --held-out 701-800 --json steering.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from popgen import Corpus, load_run
from popgen.controls import Controls, melody_line
from popgen.metrics import (
    choose_track,
    chord_tone_share,
    harmonisation,
    metric_table,
    notes_per_bar,
    two_sample_test,
)
from popgen.music import Song, TimeSignature
from popgen.sampling import Sampler

#: The metrics the issue groups as repetition, pitch and structure.
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


def excerpt(song: Song, bars: int) -> Song | None:
    """``bars`` whole 4/4 bars from the bar of the melody's first note, or ``None``.

    POP909 songs often open with a piano intro; starting where the melody
    starts compares songs with songs, not intros.
    """
    edges = song.bar_lines()
    tune = melody(song)
    if not tune.num_notes:
        return None
    first = int(np.searchsorted(edges, tune.notes["start"][0], side="right")) - 1
    if len(edges) <= first + bars or song.end < edges[first + bars] - 1e-9:
        return None
    if not np.allclose(np.diff(edges[first : first + bars + 1]), 4.0):
        return None
    out = song.slice(float(edges[first]), float(edges[first + bars]))
    try:
        melody_line(melody(out))
    except ValueError:  # more than one line: not a melody to arrange
        return None
    return out


def melody(song: Song) -> Song:
    """The melody-role part, one track (chords and bars kept)."""
    keep = [i for i, t in enumerate(song.tracks) if t.role == "melody"]
    return song.select_tracks(keep)


def percentiles(values: list[float]) -> list[float]:
    """5th, 50th and 95th percentile of the finite values."""
    finite = np.array([v for v in values if math.isfinite(v)])
    return [float(x) for x in np.percentile(finite, [5, 50, 95])] if len(finite) else []


def inside(values: list[float], low_high: list[float]) -> float:
    """Share of finite values inside [5th, 95th]."""
    finite = np.array([v for v in values if math.isfinite(v)])
    low, high = low_high[0], low_high[2]
    return float(((finite >= low) & (finite <= high)).mean()) if len(finite) else math.nan


def main() -> None:
    """Generate, measure, print a table and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--data", default="../shared/data/pop909")
    parser.add_argument("--held-out", default="701-800", help="song folders, FIRST-LAST")
    parser.add_argument("--bars", type=int, default=16)
    parser.add_argument("--strategy", default=None, help="default: the run's recipe")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="at most this many held-out songs")
    parser.add_argument("--chunk", type=int, default=50, help="songs generated in one batch")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    run = load_run(args.run)
    corpus = Corpus.from_paths([args.data], run.usage.reading, workers=2)
    first, last = (int(x) for x in args.held_out.split("-"))
    real = [(s, e) for s in corpus.songs if (e := excerpt(s, args.bars)) is not None]
    held = [e for s, e in real if first <= int(Path(s.source).parent.name) <= last]
    held = held[: args.limit] if args.limit else held
    reference = [e for _, e in real]
    print(f"{len(reference)} excerpts of {args.bars} bars, {len(held)} held out")

    sampler = Sampler.from_run(run, args.strategy)
    over: list[Song] = []
    arranged: list[Song] = []
    started = time.perf_counter()
    for at in range(0, len(held), args.chunk):
        part = held[at : at + args.chunk]
        over += sampler.generate(
            controls=[Controls.over_chords(s.chords, bars=args.bars) for s in part],
            seed=args.seed + at,
        )
        four = (TimeSignature(0.0, 4, 4),)  # the excerpts are whole 4/4 bars
        tunes = [
            melody(s).replace(chords=np.zeros(0, s.chords.dtype), time_signatures=four)
            for s in part
        ]
        arranged += sampler.generate(
            controls=[Controls.for_melody(t) for t in tunes], seed=args.seed + at
        )
        print(f"{at + len(part)} songs, {time.perf_counter() - started:.0f} s")
    seconds = time.perf_counter() - started

    figures: dict[str, Any] = {"songs": len(held), "bars": args.bars, "seconds": seconds}
    real_share = [chord_tone_share(melody(s)) for s in reference]
    gen_share = [chord_tone_share(melody(s)) for s in over]
    real_npb = [notes_per_bar(melody(s)) for s in reference]
    gen_npb = [notes_per_bar(melody(s)) for s in over]
    real_fit = [harmonisation(s) for s in reference]
    held_fit = [harmonisation(s) for s in held]
    gen_fit = [harmonisation(s) for s in arranged]
    figures["chord_tone_share"] = {
        "reference": percentiles(real_share),
        "generated": percentiles(gen_share),
        "inside": inside(gen_share, percentiles(real_share)),
    }
    figures["melody_notes_per_bar"] = {
        "reference": percentiles(real_npb),
        "generated": percentiles(gen_npb),
        "inside": inside(gen_npb, percentiles(real_npb)),
    }
    figures["harmonisation"] = {
        "reference": percentiles(real_fit),
        "held_out": percentiles(held_fit),
        "arranged": percentiles(gen_fit),
        "inside": inside(gen_fit, percentiles(real_fit)),
    }
    melody_unchanged = all(
        np.array_equal(
            a.notes[a.notes["track"] == 0][["pitch", "start", "duration", "velocity"]],
            melody(h).notes[["pitch", "start", "duration", "velocity"]],
        )
        for a, h in zip(arranged, held, strict=True)
    )
    figures["arranged_melody_unchanged"] = melody_unchanged

    ref_table = metric_table([choose_track(s, "melody") for s in reference])
    gen_table = metric_table([choose_track(s, "melody") for s in over])
    held_table = metric_table([choose_track(s, "melody") for s in held])
    ok = np.ones(len(over), dtype=bool)
    per_metric = {}
    for name in GROUP:
        low, high = np.nanpercentile(ref_table[name], [5, 95])
        values = gen_table[name]
        hit = (values >= low) & (values <= high)
        per_metric[name] = float(hit.mean())
        ok &= hit
    figures["group_inside_each"] = per_metric
    figures["group_inside_all"] = float(ok.mean())
    test = two_sample_test(gen_table, held_table, seed=args.seed)
    figures["two_sample"] = test.to_dict()

    parts = {}
    for role in ("melody", "accompaniment"):
        gen = [notes_per_bar(_role(s, role)) for s in over]
        ref = [notes_per_bar(_role(s, role)) for s in held]
        parts[role] = {"generated": percentiles(gen), "held_out": percentiles(ref)}
    figures["notes_per_bar_by_part"] = parts

    print(json.dumps(figures, indent=1, default=float))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1, default=float))


def _role(song: Song, role: str) -> Song:
    keep = [i for i, t in enumerate(song.tracks) if t.role == role]
    return song.select_tracks(keep)


if __name__ == "__main__":
    main()
