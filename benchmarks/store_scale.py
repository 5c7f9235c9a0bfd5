"""A token store at scale: build time, training memory and speed, and a Lakh projection.

Issue #19's figures, each measured in fresh processes with the ``popgen`` command:

1. **A synthetic corpus** of ``--songs`` files (default 100 000) from the shared
   POP909 songs: every song in its 12 transpositions (written once with mido,
   notes moved, drums left), then copies of those 9 600 files, named in a
   shuffled order (hard links, so the disk holds each variant once but the
   store reads every file).
2. **Store build**: ``popgen tokenize`` over it: wall time, songs/s, peak
   memory (``getrusage`` of the child) and the store's size on disk.
3. **Training from the store**: ``popgen train STORE`` for ``--steps`` steps:
   peak memory (goal <= 2 GB whatever the corpus size) and tokens/s.
4. **Store vs memory on POP909**: the same training (same songs, tokenizer,
   model, seed, steps) from a store of the 800 POP909 files and from the files
   themselves: tokens/s side by side (goal: within 10 %) and the same losses.
5. **A projection** for the Lakh MIDI Dataset (176 581 files) from the build
   rate and the bytes per song.

Both corpora are read with ``--no-annotations`` (chords inferred, keys
analysed), so the transposed copies are read alike.

Usage: ``python benchmarks/store_scale.py [--pop909 DIR] [--songs 100000] [--steps 200]
[--work DIR] [--tokenize-flag=--reader=symusic ...]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import mido
import numpy as np
from _processes import run_popgen  # benchmarks/_processes.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
LAKH_FILES = 176_581
#: a model small enough that the data path is a visible part of a step
MODEL = ["--embed-dim", "32", "--hidden-size", "128", "--num-layers", "1"]


def transpositions(source: Path, shifts: range, out: Path) -> list[Path]:
    """Write ``source`` once per shift with every non-drum note moved (kept in 0..127)."""
    midi = mido.MidiFile(source)
    notes = [
        (track, i, msg)
        for track in midi.tracks
        for i, msg in enumerate(track)
        if msg.type in ("note_on", "note_off") and msg.channel != 9
    ]
    paths = []
    for shift in shifts:
        for track, i, msg in notes:
            track[i] = msg.copy(note=min(127, max(0, msg.note + shift)))
        path = out / f"{source.stem}_{shift - shifts.start:02d}.mid"
        if not path.exists():
            midi.save(path)
        paths.append(path)
    return paths


def make_corpus(pop909: Path, work: Path, songs: int, seed: int = 0) -> Path:
    """``songs`` files in ``work/songs``: shuffled copies of every POP909 song in 12 keys."""
    variants = work / "variants"
    variants.mkdir(parents=True, exist_ok=True)
    sources = sorted(pop909.glob("*/*.mid"))
    made = [p for source in sources for p in transpositions(source, range(-5, 7), variants)]
    folder = work / "songs"
    if folder.exists() and sum(1 for _ in folder.rglob("*.mid")) == songs:
        return folder  # made by an earlier run with the same count
    if folder.exists():
        shutil.rmtree(folder)
    order = np.random.default_rng(seed).permutation(songs) % len(made)
    for i, which in enumerate(order.tolist()):
        sub = folder / f"{i // 1000:03d}"  # 1 000 files a folder, as large sets are kept
        sub.mkdir(parents=True, exist_ok=True)
        os.link(made[which], sub / f"{i:06d}.mid")
    return folder


def measured(command: list[str]) -> tuple[float, float, str]:
    """Peak RSS (MiB), wall seconds and the output of one ``popgen`` process."""
    done = run_popgen(command)
    return done.peak_mib, done.wall_s, done.stdout


def disk_mib(folder: Path) -> float:
    """Bytes of the files under ``folder``, in MiB."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def train(source: str, out: Path, steps: int) -> tuple[float, float, list[dict[str, float]]]:
    """Peak MiB, wall seconds and the history of a ``--steps`` training run on ``source``."""
    flags = ["--max-steps", str(steps), "--epochs", "1000", "--seq-len", "128",
             "--batch-size", "32", "--quiet", *MODEL]  # fmt: skip
    if not Path(source, "store.json").exists():
        flags += ["--no-annotations", "--no-cache"]
    peak, wall, _ = measured(["train", source, "--out", str(out), *flags])
    history = json.loads((out / "popgen.json").read_text())["history"]
    return peak, wall, history


def main() -> None:
    """Build the corpus and the stores, train, print the figures and the projection."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pop909", type=Path, default=ROOT.parent / "shared/data/pop909")
    parser.add_argument("--songs", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side (compare)")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument(
        "--tokenize-flag",
        action="append",
        default=[],
        help="a flag for popgen tokenize, e.g. --tokenize-flag=--reader=symusic",
    )
    parser.add_argument(
        "--only", choices=("compare", "scale"), help="only the POP909 comparison or the scale test"
    )
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="popgen-store-"))
    print(f"working in {work}; {os.cpu_count()} cores")
    tokenize = ["--tokenizer", "note", "--no-annotations", "--quiet", *args.tokenize_flag]

    if args.only != "scale":
        compare(args, work, tokenize)
    if args.only != "compare":
        scale(args, work, tokenize)


def compare(args: argparse.Namespace, work: Path, tokenize: list[str]) -> None:
    """Store vs memory on the 800 POP909 files: tokens/s and losses of the same training."""
    pop = work / "pop909-store"
    if pop.exists():
        shutil.rmtree(pop)
    measured(["tokenize", str(args.pop909), "--out", str(pop), *tokenize])
    runs: dict[str, list[tuple[float, float, list[dict[str, float]]]]] = {"memory": [], "store": []}
    for attempt in range(args.repeats):  # alternating, so that neither gets the quiet minutes
        for name, source in (("memory", str(args.pop909)), ("store", str(pop))):
            out = work / f"run-{name}-{attempt}"
            shutil.rmtree(out, ignore_errors=True)
            runs[name].append(train(source, out, args.steps))
    best = {}
    for name, results in runs.items():
        rates = [history[-1]["tokens_per_s"] for _, _, history in results]
        losses = {history[-1]["train_loss"] for _, _, history in results}
        best[name] = max(rates)
        print(f"POP909 from {name}: tokens/s {', '.join(f'{r:,.0f}' for r in rates)} "
              f"(best {best[name]:,.0f}); train loss {sorted(losses)}; peak "
              f"{max(p for p, _, _ in results):,.0f} MiB")  # fmt: skip
    print(f"store / memory tokens/s (best of {args.repeats}): {best['store'] / best['memory']:.3f}")


def scale(args: argparse.Namespace, work: Path, tokenize: list[str]) -> None:
    """The synthetic corpus, its store, training from it, the projection for Lakh."""
    start = time.perf_counter()
    folder = make_corpus(args.pop909, work, args.songs)
    print(f"synthetic corpus: {args.songs:,} files in {time.perf_counter() - start:.0f} s")
    store = work / "store"
    shutil.rmtree(store, ignore_errors=True)
    peak, wall, out = measured(["tokenize", str(folder), "--out", str(store), *tokenize])
    meta = json.loads((store / "store.json").read_text())
    size = disk_mib(store)
    rate = meta["songs"] / wall
    print(out.strip())
    print(f"store build: {meta['songs']:,} songs in {wall:,.0f} s = {rate:,.1f} songs/s; "
          f"peak {peak:,.0f} MiB; {size:,.0f} MiB on disk ({meta['tokens']:,} tokens)")  # fmt: skip
    peak, wall, history = train(str(store), work / "run-scale", args.steps)
    print(f"training from the {meta['songs']:,}-song store: peak {peak:,.0f} MiB, "
          f"{history[-1]['tokens_per_s']:,.0f} tokens/s, {wall:.0f} s")  # fmt: skip

    per_song = size / meta["songs"]
    print(f"projection for Lakh ({LAKH_FILES:,} files) on this machine: build "
          f"{LAKH_FILES / rate / 3600:.1f} h, store {per_song * LAKH_FILES / 1024:.1f} GiB "
          f"(at POP909's {meta['tokens'] / meta['songs']:,.0f} tokens a song)")  # fmt: skip


if __name__ == "__main__":
    main()
