"""Chord inference against POP909's annotations: per-beat agreement on root and major/minor.

For every POP909 song of ``../shared/data/pop909`` (``NNN/NNN.mid`` with its
``beat_midi.txt`` and ``chord_midi.txt``) it reads the MIDI file with its
annotations (:func:`popgen.formats.annotations.apply_annotations`: the song moved so
the annotated beats are whole beats, its bars the annotated downbeats, its
chords the annotated segments), clears a copy's chords and runs
:func:`popgen.music.chord_inference.infer_chords` on it.

Each annotated beat is then one vote, read at the middle of the beat: the
inferred chord agrees when it has the annotated chord's root and its triad
(``Chord.triad``, major or minor; a seventh counts as its triad). Beats whose
annotated chord has no major or minor triad (``N``, sus, dim, aug, power
chords) are left out and counted; an inferred chord of another family or "no
chord" is a miss.

It reports the beat-weighted agreement and the per-song median, 5th and 95th
percentiles, for ``per="beat"`` and ``per="half_bar"``, on songs 001-700 (on
which the method and its defaults were tuned), 701-800 (held out) and all,
plus the inference time per song.

    python benchmarks/chord_agreement.py [--data ../shared/data/pop909] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from popgen.formats.annotations import annotation_files, apply_annotations, read_beat_file
from popgen.formats.midi_reading import read_midi
from popgen.music.chord_inference import infer_chords
from popgen.music.chords import CHORD_DTYPE, QUALITIES
from popgen.music.song import Song
from popgen.music.time import seconds_to_beats

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pop909"
TUNED = 700  # songs 001..700 were used to tune the method; the rest is held out
TRIAD_OF_QUALITY = np.array([{"maj": 0, "min": 1}.get(q.triad or "", -1) for q in QUALITIES])


@dataclass
class Annotated:
    """A POP909 song on its annotated beats, its chords cleared, and the annotations."""

    name: str
    song: Song  # bars = annotated downbeats, chords cleared
    beats: Any  # annotated beats, in the song's beats
    chords: Any  # annotated chord segments, CHORD_DTYPE


def load(folder: Path) -> Annotated:
    """Read one song folder: the MIDI file and its beat and chord annotations."""
    path = folder / f"{folder.name}.mid"
    read = read_midi(path)
    beat_file, chord_file = annotation_files(path)
    if beat_file is None or chord_file is None:
        raise SystemExit(f"{folder}: no beat_midi.txt or chord_midi.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # repairs of a few files' annotations
        song = apply_annotations(read, beat_file, chord_file)
        times, _ = read_beat_file(beat_file)
    shift = float(song.notes["start"].min() - read.notes["start"].min())  # the move onto beats
    return Annotated(
        name=folder.name,
        song=song.replace(chords=np.zeros(0, CHORD_DTYPE)),
        beats=seconds_to_beats(times, read.tempos) + shift,
        chords=song.chords,
    )


def _at(starts: Any, ends: Any, values: Any, points: Any, missing: int = -1) -> Any:
    """``values`` of the segment holding each point (``missing`` where none does)."""
    i = np.searchsorted(starts, points, side="right") - 1
    inside = (i >= 0) & (points < ends[np.maximum(i, 0)])
    return np.where(inside, values[np.maximum(i, 0)], missing)


def _triads(chords: Any) -> Any:
    quality = chords["quality"].astype(np.int64)
    return np.where(quality >= 0, TRIAD_OF_QUALITY[np.maximum(quality, 0)], -1)


def score(item: Annotated, inferred: Any) -> tuple[int, int, int]:
    """(agreeing beats, counted beats, excluded beats) of one song."""
    middles = item.beats[:-1] + 0.5 * np.diff(item.beats)
    truth = item.chords
    truth_end = truth["start"] + truth["duration"]
    root = _at(truth["start"], truth_end, truth["root"].astype(np.int64), middles)
    triad = _at(truth["start"], truth_end, _triads(truth), middles)
    annotated = _at(truth["start"], truth_end, np.ones(len(truth), np.int64), middles, 0) > 0
    counted = annotated & (triad >= 0)
    ends = inferred["start"] + inferred["duration"]
    got_root = _at(inferred["start"], ends, inferred["root"].astype(np.int64), middles)
    got_triad = _at(inferred["start"], ends, _triads(inferred), middles)
    agree = counted & (got_root == root) & (got_triad == triad)
    return int(agree.sum()), int(counted.sum()), int((annotated & ~counted).sum())


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the pop909 folder")
    parser.add_argument("--limit", type=int, default=None, help="only the first N songs")
    args = parser.parse_args()
    folders = sorted(p for p in args.data.iterdir() if p.is_dir() and p.name.isdigit())
    folders = folders[: args.limit]
    if not folders:
        raise SystemExit(f"no POP909 songs under {args.data}")
    items = [load(folder) for folder in folders]

    results: dict[str, list[tuple[int, int, int, float]]] = {}
    for per in ("beat", "half_bar"):
        infer_chords(items[0].song, per=per)  # warm up
        rows = []
        for item in items:
            start = time.perf_counter()
            inferred = infer_chords(item.song, per=per)
            seconds = time.perf_counter() - start
            rows.append((*score(item, inferred), seconds))
        results[per] = rows

    groups = {
        f"001-{TUNED:03d} (tuned)": [i for i, it in enumerate(items) if int(it.name) <= TUNED],
        f"{TUNED + 1:03d}- (held out)": [i for i, it in enumerate(items) if int(it.name) > TUNED],
        "all": list(range(len(items))),
    }
    print(f"{len(items)} POP909 songs; agreement per annotated beat on root + maj/min")
    print("| per | songs | n | beats | excluded | agreement | median | 5 % | 95 % | ms/song |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for per, rows in results.items():
        for group, index in groups.items():
            if not index:
                continue
            agree = np.array([rows[i][0] for i in index])
            counted = np.array([rows[i][1] for i in index])
            excluded = sum(rows[i][2] for i in index)
            ms = 1000 * np.array([rows[i][3] for i in index])
            per_song = agree[counted > 0] / counted[counted > 0]
            lo, mid, hi = np.percentile(per_song, [5, 50, 95])
            print(
                f"| {per} | {group} | {len(index)} | {counted.sum()} | {excluded} "
                f"| {100 * agree.sum() / counted.sum():.1f} % | {100 * mid:.1f} % "
                f"| {100 * lo:.1f} % | {100 * hi:.1f} % | {ms.mean():.2f} (max {ms.max():.1f}) |"
            )
    print(f"machine: {cpu_name()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")


if __name__ == "__main__":
    main()
