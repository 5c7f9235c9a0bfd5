"""Reading speed: popgen's Corpus against music21.converter.parse, same files, same run.

Times, on the shared POP909 songs (``../shared/data/pop909``):

* music21 ``converter.parse`` (what the 2017 baseline uses) on the first
  ``--music21-songs`` files, one process;
* popgen, cold: every file parsed (worker processes over all cores, cache off);
* popgen, cold with the cache being written;
* popgen, warm: everything from the cache;

and reports songs/s, notes/s, the ratios, and the peak memory of the main
process and of the largest worker. Key agreement with POP909's
``key_audio.txt`` (the longest key segment of each song) is printed for the
three key rules.

Usage: ``python benchmarks/ingest.py [--data ../shared/data/pop909]``
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
import warnings
from pathlib import Path

import popgen
from popgen.music import parse_key


def _peak_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def _music21(files: list[Path]) -> tuple[float, int]:
    from music21 import converter

    t0 = time.perf_counter()
    notes = 0
    for f in files:
        score = converter.parse(f, forceSource=True)
        notes += len(score.stripTies().flatten().notes)
    return time.perf_counter() - t0, notes


def _key_agreement(corpus: popgen.Corpus) -> tuple[float, float]:
    exact = relative = 0
    for song in corpus:
        lines = (Path(song.source).parent / "key_audio.txt").read_text().splitlines()
        segments = [line.split() for line in lines if line.strip()]
        ref = parse_key(max(segments, key=lambda s: float(s[1]) - float(s[0]))[2])
        got = parse_key(song.key or "C")
        exact += ref == got
        shift = 3 if ref[1] == "minor" else 9
        relative += ref == got or ((ref[0] + shift) % 12 == got[0] and ref[1] != got[1])
    return exact / len(corpus), relative / len(corpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[2] / "shared" / "data" / "pop909"
    parser.add_argument("--data", type=Path, default=default)
    parser.add_argument("--music21-songs", type=int, default=20)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    files = sorted(args.data.glob("*/*.mid"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; {len(files)} POP909 files")

    m21_s, m21_notes = _music21(files[: args.music21_songs])
    m21_rate = args.music21_songs / m21_s
    print(
        f"music21 converter.parse: {m21_rate:6.2f} songs/s, {m21_notes / m21_s:9,.0f} notes/s "
        f"({args.music21_songs} songs)"
    )

    t0 = time.perf_counter()
    corpus = popgen.Corpus.from_paths([args.data], cache_dir=None)
    cold = time.perf_counter() - t0
    n = corpus.num_notes
    print(
        f"popgen cold, no cache:   {len(corpus) / cold:6.1f} songs/s, {n / cold:9,.0f} notes/s "
        f"-> {len(corpus) / cold / m21_rate:.0f}x music21"
    )

    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        popgen.Corpus.from_paths([args.data], cache_dir=cache)
        write = time.perf_counter() - t0
        print(f"popgen cold, cache write:{len(corpus) / write:6.1f} songs/s")
        t0 = time.perf_counter()
        warm_corpus = popgen.Corpus.from_paths([args.data], cache_dir=cache)
        warm = time.perf_counter() - t0
        print(
            f"popgen warm, from cache: {len(warm_corpus) / warm:6.0f} songs/s, "
            f"{warm_corpus.num_notes / warm:9,.0f} notes/s"
        )

    print(
        f"peak memory: main process {_peak_mb(resource.RUSAGE_SELF):.0f} MB, "
        f"largest worker {_peak_mb(resource.RUSAGE_CHILDREN):.0f} MB"
    )
    print(f"corpus: {corpus.describe()}")
    exact, relative = _key_agreement(corpus)
    print(f"keys (auto) vs key_audio.txt: {exact:.1%} exact, {relative:.1%} up to relative key")
    for rule in ("file", "analysis"):
        other = popgen.Corpus.from_paths([args.data], keys=rule, cache_dir=None)
        exact, relative = _key_agreement(other)
        print(f"keys ({rule}) vs key_audio.txt: {exact:.1%} exact, {relative:.1%} up to relative")


if __name__ == "__main__":
    main()
