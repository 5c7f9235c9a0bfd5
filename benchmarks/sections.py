"""Sections on POP909: labels aligned, sections inferred, repeated sections measured.

For every song of ``../shared/data/pop909`` it reads the MIDI file with its
annotations (``CorpusOptions(keys="file", sections="none")``) and reports:

* **Alignment** (:func:`popgen.formats.phrases.align_phrases`): how many songs'
  labels are accepted, where the labels' bar 0 lies (the song's bar, and
  whether on one of its bar lines), how many shift changes the labels'
  melody needs, the agreement distribution, and how many section boundaries
  of labelling 1 lie more than half a beat from a bar line of the song.
* **Inference** (:func:`popgen.music.sections.infer_sections`, its defaults) against
  labelling 1: boundary F1 within one bar and pairwise same-label F1 over the
  bars both cover; the same for labelling 2 (the human agreement) and for an
  8-bar grid with a new label per phrase (a baseline). Songs 001-700 were
  used to choose the inference's defaults; 701-800 are held out.
* **Repetition** (:func:`popgen.metrics.section_repetition`) of the melody
  track: with the aligned labels (both labellings), with the inferred
  sections, and on the labels' own melody and bars (``phrases_melody.txt``,
  where the labels cannot be misplaced).

    python benchmarks/sections.py [--data ../shared/data/pop909] [--limit N]
"""

from __future__ import annotations

import argparse
import collections
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from popgen.corpus.options import CorpusOptions
from popgen.corpus.reading import read_file
from popgen.formats.phrases import (
    align_phrases,
    melody_grid,
    melody_track,
    read_phrase_labels,
    read_phrase_melody,
    with_phrase_sections,
)
from popgen.metrics import section_repetition
from popgen.music.sections import Section, check_sections, infer_sections
from popgen.music.song import Song, make_notes

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pop909"
TUNED = 700  # songs 001..700 chose the inference's defaults; the rest is held out


def boundaries(sections: Sequence[Section]) -> list[int]:
    return sorted({s.first_bar for s in sections} | {s.end_bar for s in sections})


def boundary_f1(truth: Sequence[Section], found: Sequence[Section], tolerance: int = 1) -> float:
    """F1 of section boundaries, each true one matched at most once within ``tolerance`` bars."""
    ref, est = boundaries(truth), boundaries(found)
    if not ref or not est:
        return float("nan")
    used: set[int] = set()
    hits = 0
    for bar in est:
        near = [r for r in ref if abs(r - bar) <= tolerance and r not in used]
        if near:
            used.add(min(near, key=lambda r: abs(r - bar)))
            hits += 1
    precision, recall = hits / len(est), hits / len(ref)
    return 2 * precision * recall / (precision + recall) if hits else 0.0


def pairwise_f1(truth: Sequence[Section], found: Sequence[Section], bars: int) -> float:
    """F1 of the pairs of bars with one label, over the bars both cover."""
    a, b = np.full(bars, "", dtype=object), np.full(bars, "", dtype=object)
    for labels, sections in ((a, truth), (b, found)):
        for s in sections:
            labels[s.first_bar : min(s.end_bar, bars)] = s.label
    both = (a != "") & (b != "")

    def pairs(items: Sequence[object]) -> int:
        return sum(n * (n - 1) // 2 for n in collections.Counter(items).values())

    same_a, same_b = pairs(list(a[both])), pairs(list(b[both]))
    same = pairs(list(zip(a[both], b[both], strict=True)))
    if not same_a or not same_b:
        return float("nan")
    precision, recall = same / same_b, same / same_a
    return 2 * precision * recall / (precision + recall) if same else 0.0


def on_own_bars(folder: Path, labelling: int) -> float:
    """section_repetition of the labels' own melody, on its own 4-beat bars."""
    rows = [line.split() for line in (folder / "phrases_melody.txt").read_text().splitlines()]
    pitch = np.array([int(r[0]) for r in rows if r], dtype=np.int64)  # one line a note or rest
    length = np.array([int(r[1]) for r in rows if r], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(length)[:-1]])
    keep = (pitch > 0) & (length > 0)
    notes = make_notes(pitch[keep], start[keep] / 4, length[keep] / 4)
    steps = int(length.sum())
    sections = read_phrase_labels(folder / f"phrases_{labelling}.txt")
    bars = max(sections[-1].end_bar if sections else 1, -(-steps // 16))
    song = Song(notes, bars=np.arange(bars) * 4.0)
    count = len(song.bar_lines()) - 1
    fitted = [
        Section(s.label, s.first_bar, min(s.end_bar, count) - s.first_bar)
        for s in sections
        if s.first_bar < count
    ]
    return section_repetition(song.replace(sections=check_sections(fitted)))


def melodic(song: Song, sections: Sequence[Section], track: int) -> Song:
    """The melody track alone with ``sections`` (cut to its bars)."""
    return song.replace(sections=tuple(sections)).select_tracks([track])


def describe(values: Sequence[float]) -> str:
    v = np.array(values, dtype=float)
    v = v[~np.isnan(v)]
    if not len(v):
        return "no songs"
    p5, p25, p50, p75, p95 = np.percentile(v, [5, 25, 50, 75, 95])
    return (
        f"{len(v)} songs, mean {v.mean():.3f}, median {p50:.3f}, "
        f"25-75 % {p25:.3f}-{p75:.3f}, 5-95 % {p5:.3f}-{p95:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=None, help="read only the first N songs")
    args = parser.parse_args()
    folders = sorted(p for p in args.data.iterdir() if p.is_dir())[: args.limit]
    rows = []
    for folder in folders:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the files' own beat and chord warnings
            song = read_file(
                folder / f"{folder.name}.mid", CorpusOptions(keys="file", sections="none")
            )[0]
            track = melody_track(song)
            assert track is not None, folder
            found = align_phrases(
                read_phrase_melody(folder / "phrases_melody.txt"), melody_grid(song, track)
            )
            labelled = [with_phrase_sections(song, folder, labelling=k).sections for k in (1, 2)]
        edges = song.bar_lines()
        truth = read_phrase_labels(folder / "phrases_1.txt")
        lines = found.bar_lines(max(truth[-1].end_bar, len(found.shifts)))[boundaries(truth)]
        lines = lines[(lines >= 0) & (lines <= edges[-1])]
        melody = song.select_tracks([track])
        inferred = infer_sections(edges, melody.notes)  # on the song's bars, as the corpus does
        grid = tuple(
            Section(chr(ord("A") + min(i, 22)), bar, min(8, len(edges) - 1 - bar))
            for i, bar in enumerate(range(0, len(edges) - 1, 8))
        )
        rows.append(
            {
                "song": int(folder.name),
                "accepted": found.accepted,
                "agreement": found.agreement,
                "first_bar": int(np.argmin(np.abs(edges - found.bar_lines()[0]))),
                "on_line": bool(np.abs(edges - found.bar_lines()[0]).min() <= 0.5),
                "changes": int(np.count_nonzero(np.diff(found.shifts))),
                "boundaries": len(lines),
                "off_line": int((np.abs(lines[:, None] - edges[None, :]).min(axis=1) > 0.5).sum()),
                "labelled": labelled,
                "bars": len(edges) - 1,
                "inferred": inferred,
                "grid": grid,
                "repetition": [section_repetition(melodic(song, s, track)) for s in labelled],
                "inferred_repetition": section_repetition(melodic(song, inferred, track)),
                "own_bars": [on_own_bars(folder, k) for k in (1, 2)],
            }
        )
    accepted = [r for r in rows if r["accepted"]]
    print(f"songs: {len(rows)}; labels accepted: {len(accepted)}")
    held = [r for r in rows if r["song"] > TUNED]
    print(f"  held out (> {TUNED}): {sum(r['accepted'] for r in held)} of {len(held)}")
    print(
        "  rejected:",
        ", ".join(f"{r['song']:03d} ({r['agreement']:.2f})" for r in rows if not r["accepted"]),
    )
    print("  agreement, all songs:", describe([r["agreement"] for r in rows]))
    at = collections.Counter((r["first_bar"], r["on_line"]) for r in accepted)
    print(
        "  labels' bar 0 at song bar (on a bar line):",
        sorted(at.items(), key=lambda kv: -kv[1])[:10],
    )
    print(
        "  shift changes:",
        sorted(collections.Counter(min(r["changes"], 5) for r in accepted).items()),
    )
    total, off = sum(r["boundaries"] for r in accepted), sum(r["off_line"] for r in accepted)
    songs_off = sum(r["off_line"] > 0 for r in accepted)
    print(
        f"  boundaries of labelling 1: {total}, > 0.5 beat off a bar line: {off}, "
        f"in {songs_off} songs"
    )
    for name, keep in (
        ("001-700", lambda r: r["song"] <= TUNED),
        ("701-800", lambda r: r["song"] > TUNED),
    ):
        part = [r for r in accepted if keep(r) and r["labelled"][0]]
        for what, key in (("inferred", "inferred"), ("8-bar grid", "grid")):
            b = [boundary_f1(r["labelled"][0], r[key]) for r in part]
            p = [pairwise_f1(r["labelled"][0], r[key], r["bars"]) for r in part]
            print(
                f"{name} {what}: boundary F1 {np.nanmean(b):.3f}, pairwise F1 {np.nanmean(p):.3f}"
            )
        b = [boundary_f1(r["labelled"][0], r["labelled"][1]) for r in part]
        p = [pairwise_f1(r["labelled"][0], r["labelled"][1], r["bars"]) for r in part]
        print(
            f"{name} labelling 2: boundary F1 {np.nanmean(b):.3f}, pairwise F1 {np.nanmean(p):.3f}"
        )
    for k in (0, 1):
        print(
            f"section_repetition, labelling {k + 1}:",
            describe([r["repetition"][k] for r in accepted]),
        )
        print("  on the labels' own bars:", describe([r["own_bars"][k] for r in rows]))
    on = [r["repetition"][0] for r in accepted if not r["off_line"]]
    print("  labelling 1, songs with every boundary on a bar line:", describe(on))
    print("  inferred sections:", describe([r["inferred_repetition"] for r in rows]))


if __name__ == "__main__":
    main()
