"""Peak memory of ``popgen train`` over POP909 with and without the crafted hostile files.

Issue #18's goal: mixing the crafted files of ``tests/test_limits.py`` (long
delta times, a note held for 2**32 ticks, absurd tempi, resolutions and time
signatures, ten thousand tracks) into a folder of real songs changes the peak
memory of training by at most 10 %. Both runs are the same command in fresh
processes, one after the other: the same songs (``--songs`` POP909 files),
the same tokenizer and model, ``--max-steps`` steps, no song cache. Peak
memory is the child's maximum resident set size (``getrusage``); the wall
time and what the corpus line says are printed too.

With ``--files-only`` it prints instead a table of the crafted files as
popgen reads them (notes, beats, bars, ``event`` tokens, seconds, warnings).

Usage: ``python benchmarks/hostile_train.py [--pop909 DIR] [--songs 909] [--max-steps 20]
[--files-only]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from _processes import run_popgen  # noqa: E402  (benchmarks/_processes.py, beside this script)
from test_limits import HOSTILE  # noqa: E402  (the crafted files, built in code)


def train(sources: list[str], out: Path, max_steps: int) -> tuple[float, float, str]:
    """Peak RSS (MiB), wall seconds and the corpus line of one ``popgen train`` process."""
    done = run_popgen(
        ["train", *sources, "--out", str(out), "--max-steps", str(max_steps), "--no-cache",
         "--quiet"]
    )  # fmt: skip
    lines = (done.stdout + done.stderr).splitlines()
    corpus = next((line for line in lines if "songs," in line), "")
    return done.peak_mib, done.wall_s, corpus.split("corpus: ")[-1]


def crafted_table(folder: Path) -> None:
    """A markdown row per crafted file: bytes, notes, beats, bars, tokens, what changed."""
    import warnings

    from popgen.corpus.corpus import Corpus
    from popgen.tokenizers import get_tokenizer

    print("| file | bytes | notes | beats | bars | `event` tokens | seconds | what popgen did |")
    print("|---|---|---|---|---|---|---|---|")
    for name in HOSTILE:
        path = folder / name
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            song = Corpus.from_paths([path], cache_dir=None, workers=1)[0]
            tokens = len(get_tokenizer("event").fit([song]).encode(song))
        seconds = time.perf_counter() - start
        said = "; ".join(str(w.message).split(": ", 1)[-1] for w in caught) or "nothing"
        print(
            f"| `{name}` | {path.stat().st_size} | {song.num_notes} | {song.end:.0f} | "
            f"{len(song.bar_lines()) - 1} | {tokens} | {seconds:.2f} | {said} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pop909", type=Path, default=ROOT.parent / "shared/data/pop909")
    parser.add_argument("--songs", type=int, default=909)
    parser.add_argument("--max-steps", type=int, default=20)
    parser.add_argument("--files-only", action="store_true", help="only the crafted files' table")
    args = parser.parse_args()
    if args.files_only:
        with tempfile.TemporaryDirectory() as tmp:
            for name, build in HOSTILE.items():
                build(Path(tmp) / name)
            crafted_table(Path(tmp))
        return
    songs = sorted(args.pop909.glob("*/*.mid"))[: args.songs]
    if not songs:
        raise SystemExit(f"{args.pop909}: no POP909 songs")
    print(f"machine: {os.cpu_count()} cores; peak memory: the train process's maximum RSS")
    with tempfile.TemporaryDirectory() as tmp:
        plain, mixed = Path(tmp) / "plain", Path(tmp) / "mixed"
        for folder in (plain, mixed):
            folder.mkdir()
            for song in songs:
                (folder / f"{song.parent.name}.mid").symlink_to(song)
        for name, build in HOSTILE.items():
            build(mixed / name)
        rows = []
        for label, folder in (("POP909", plain), ("POP909 + crafted files", mixed)):
            peak, wall, corpus = train(
                [str(folder)], Path(tmp) / f"run-{folder.name}", args.max_steps
            )
            rows.append((label, peak, wall))
            print(f"{label}: peak {peak:.0f} MiB, {wall:.0f} s; corpus: {corpus}", flush=True)
    change = rows[1][1] / rows[0][1] - 1
    print(f"peak memory with the crafted files: {change:+.1%} (goal: within 10 %)")


if __name__ == "__main__":
    main()
