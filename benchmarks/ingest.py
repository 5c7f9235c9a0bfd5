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

``--readers`` times instead the two MIDI readers side by side, each through
``Corpus.from_paths`` as users call it (cache off, key analysis and Song
building included, worker processes over all cores), on the POP909 files and
the ff-piano files beside them; checks that both give the same songs on every
file (and how many files the symusic reader handed to mido); checks that the
numpy key finder gives music21's key for every song; and profiles the symusic
path in one process.

``--speed`` prints issue 30's table: in one process, cold (no cache), the
same POP909 files (with their beat and chord annotations, keys, roles and
chords) read by symusic alone (``symusic.Score(path)``: the parse, nothing
else), by ``Corpus.from_paths(reader="symusic")`` and ``reader="mido"``, and
music21's ``converter.parse(forceSource=True)`` (on the first
``--music21-songs``); then the warm read from the song cache (files/s and
notes/s, by the wall clock and by this process's CPU time), and the cold
read with 2 worker processes against 1 on the same files (wall, and the CPU
seconds of this process and of the workers). ``--parts`` picks some of
``cold,warm,pool,floor`` (``floor``: what a cold read cannot do without,
each step in compiled code, against the time 0.25 of the bare parse
leaves; not part of the default). ``--scale N`` measures only the pool, on a synthetic
corpus of N files as benchmarks/store_scale.py makes it (``--work`` keeps it
between runs). Rounds alternate the readers, so each round's ratios come
from one stretch of the machine; the medians are printed. The load average
(1, 5, 15 minutes) is printed before and after each part: on a shared
machine, compare CPU seconds and ratios, not files/s.

Usage: ``python benchmarks/ingest.py [--data ../shared/data/pop909] [--readers]
[--speed [--files N] [--rounds 3] [--parts cold,warm,pool,floor] [--scale 10000 --work DIR]]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import resource
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import popgen
from popgen.music.keys import parse_key


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
    parser.add_argument("--readers", action="store_true", help="mido vs symusic (see above)")
    parser.add_argument("--rounds", type=int, default=2, help="with --readers: best of")
    parser.add_argument("--speed", action="store_true", help="issue 30's table (see above)")
    parser.add_argument("--files", type=int, default=0, help="with --speed: the first N files")
    parser.add_argument("--scale", type=int, default=0, help="with --speed: N synthetic files")
    parser.add_argument("--work", type=Path, default=None, help="where --scale writes them")
    parser.add_argument("--parts", default="cold,warm,pool", help="with --speed: which parts")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.readers:
        _readers(args.data, args.rounds)
        return
    if args.speed:
        _speed(args)
        return
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


def _fields(song: popgen.Song) -> tuple[object, ...]:
    return (
        song.notes.tolist(),
        song.chords.tolist(),
        song.bars.tolist(),
        song.tracks,
        song.tempos,
        song.time_signatures,
        song.key,
        song.title,
        song.source,
        song.merged_notes,
    )


def _outcome(read: object, path: Path) -> tuple[object, list[str]]:
    """A reader's song (or error) and warnings, for comparing readers."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result: object = _fields(read(path))  # type: ignore[operator]
        except Exception as exc:
            result = f"{type(exc).__name__}: {exc}"
    return result, [str(w.message) for w in caught]


def _damaged(files: list[Path], *readers: object, copies: int = 300, seed: int = 18) -> None:
    """The readers on damaged copies (as benchmarks/salvage.py makes them): same results?"""
    import random
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from salvage import mutate

    rng = random.Random(seed)
    same = symusic_read = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(copies):
            source = rng.choice(files)
            data, _ = mutate(source.read_bytes(), rng, cut=i % 3 == 0)
            path = Path(tmp, f"{i:03d}-{source.name}")
            path.write_bytes(data)
            results = [_outcome(read, path) for read in readers]
            same += all(r == results[0] for r in results)
            from popgen.formats import midi_symusic

            score_class = midi_symusic._score_class()
            symusic_read += midi_symusic._read(score_class, data, str(path)) is not None
    print(
        f"damaged copies (seed {seed}): same song, warnings and errors from both readers "
        f"in {same} of {copies} ({symusic_read} read by symusic, the rest handed to mido)"
    )


def _readers(data: Path, rounds: int) -> None:
    """The mido and symusic readers side by side (see the module docstring)."""
    import cProfile
    import pstats

    import numpy as np

    from popgen.formats import midi_symusic
    from popgen.formats.midi_reading import read_midi
    from popgen.formats.score_reading import _music21_key
    from popgen.music.keys import profile_key

    sets = {
        "POP909": sorted(data.glob("*/*.mid")),
        "ff-piano": sorted((data.parent / "ff-piano").glob("*.mid")),
    }
    sets["all"] = sets["POP909"] + sets["ff-piano"]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    from unittest import mock

    configs = {  # (reader, key analysis)
        "mido, music21 keys (before)": ("mido", True),
        "mido": ("mido", False),
        "symusic": ("symusic", False),
    }
    for name in ("POP909", "ff-piano"):
        files = sets[name]
        best: dict[str, float] = {}
        for _ in range(rounds):  # alternating, best of each: the machine is shared
            for label, (reader, music21_keys) in configs.items():
                # worker processes are forked, so they inherit the patch
                no_fast_key = mock.patch("popgen.music.keys.profile_key", lambda _: None)
                with no_fast_key if music21_keys else contextlib.nullcontext():
                    t0 = time.perf_counter()
                    corpus = popgen.Corpus.from_paths(files, reader=reader, cache_dir=None)
                    seconds = time.perf_counter() - t0
                best[label] = max(best.get(label, 0.0), len(files) / seconds)
        for label, rate in best.items():
            print(
                f"{name:8} {label:28} {len(files):4} files {rate:8.1f} files/s "
                f"({corpus.num_notes:,} notes) {rate / best['mido, music21 keys (before)']:5.1f}x"
            )

    same = fell = 0
    fallback = midi_symusic._read
    score_class = midi_symusic._score_class()
    for path in sets["all"]:
        same += _fields(read_midi(path)) == _fields(midi_symusic.read_midi_symusic(path))
        fell += fallback(score_class, path.read_bytes(), str(path)) is None
    print(
        f"same songs from both readers: {same} of {len(sets['all'])} files "
        f"({fell} handed by the symusic reader to mido)"
    )

    keys_same = undecided = 0
    for path in sets["all"]:
        song = read_midi(path)
        drum = np.array([t.is_drum for t in song.tracks], dtype=bool)
        notes = song.notes[~drum[song.notes["track"]]]
        weights = np.bincount(notes["pitch"] % 12, weights=notes["duration"], minlength=12)
        fast = profile_key(weights)
        undecided += fast is None
        keys_same += (fast or _music21_key(weights)) == _music21_key(weights)
    print(
        f"numpy key finder = music21: {keys_same} of {len(sets['all'])} songs "
        f"({undecided} left to music21)"
    )

    _damaged(sets["all"], read_midi, midi_symusic.read_midi_symusic)

    profile = cProfile.Profile()
    profile.enable()
    popgen.Corpus.from_paths(sets["POP909"], reader="symusic", cache_dir=None, workers=1)
    profile.disable()
    pstats.Stats(profile).sort_stats("tottime").print_stats(15)


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _rate(read: object, files: list[Path]) -> float:
    t0 = time.perf_counter()
    read(files)  # type: ignore[operator]
    return len(files) / (time.perf_counter() - t0)


#: A reader timed on a list of files.
_Read = Callable[[list[Path]], object]


def _load() -> str:
    """The load average over 1, 5 and 15 minutes (``uptime``'s figures)."""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _speed(args: argparse.Namespace) -> None:
    """Issue 30's table (see the module docstring)."""
    import symusic

    parts = set(args.parts.split(","))
    if args.scale:  # only the synthetic corpus, 2 worker processes against 1
        sys.path.insert(0, str(Path(__file__).parent))
        from store_scale import make_corpus

        work = args.work or Path(tempfile.gettempdir()) / "popgen-ingest-scale"
        folder = make_corpus(args.data, work, args.scale)
        print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
        _parallel(f"{args.scale:,} synthetic files", sorted(folder.rglob("*.mid")), args.rounds)
        return
    files = sorted(args.data.glob("*/*.mid"))
    files = [f for f in files if (f.parent / "beat_midi.txt").is_file()]
    files = files[: args.files] if args.files else files
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"{len(files)} POP909 files with annotations; {time.strftime('%Y-%m-%d %H:%M')}"
    )

    def bare(paths: list[Path]) -> None:
        for path in paths:
            symusic.Score(path)

    def popgen_reader(reader: str, workers: int = 1, cache: str | None = None) -> _Read:
        return lambda paths: popgen.Corpus.from_paths(
            paths, reader=reader, cache_dir=cache, workers=workers
        )

    popgen_reader("symusic")(files[:2])  # imports, caches of labels
    if "cold" in parts:
        _cold(args, files, bare, popgen_reader)
    if "warm" in parts:
        corpus = popgen.Corpus.from_paths(files, reader="symusic", cache_dir=None, workers=1)
        print(f"\nwarm, from the song cache, one process ({_load()}):")
        with tempfile.TemporaryDirectory() as cache:
            popgen_reader("symusic", cache=cache)(files)  # written
            walls, cpus = [], []
            for _ in range(args.rounds):
                cpu0, t0 = time.process_time(), time.perf_counter()
                popgen_reader("symusic", cache=cache)(files)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - cpu0)
        wall, cpu = _median(walls), _median(cpus)
        print(
            f"{len(files) / wall:,.0f} files/s, {corpus.num_notes / wall:,.0f} notes/s by the "
            f"wall clock; {len(files) / cpu:,.0f} files/s, {corpus.num_notes / cpu:,.0f} notes/s "
            f"by CPU time ({cpu:.2f} CPU s for {corpus.num_notes:,} notes; {_load()})"
        )
    if "pool" in parts:
        _parallel(f"{len(files)} POP909 files", files, args.rounds)
    if "floor" in parts:
        _floor(files, bare, args.rounds)


def _cold(
    args: argparse.Namespace, files: list[Path], bare: _Read, popgen_reader: Callable[[str], _Read]
) -> None:
    """The cold table: bare parse, both readers, music21 (see the module docstring)."""
    readers = {
        "symusic.Score(path) alone": bare,
        "Corpus.from_paths(reader='symusic')": popgen_reader("symusic"),
        "Corpus.from_paths(reader='mido')": popgen_reader("mido"),
    }
    rates: dict[str, list[float]] = {name: [] for name in readers}
    shares: dict[str, list[float]] = {name: [] for name in readers}
    print(f"\ncold, one process ({_load()})")
    for _ in range(args.rounds):
        measured = {name: _rate(read, files) for name, read in readers.items()}
        for name, rate in measured.items():
            rates[name].append(rate)
            shares[name].append(rate / measured["symusic.Score(path) alone"])
    m21_files = files[: args.music21_songs]
    m21_s, _ = _music21(m21_files)
    print("(median of rounds; share: of the bare parse, in the same round)")
    print("| path | files/s | share of the limit |\n| --- | ---: | ---: |")
    for name in readers:
        print(f"| `{name}` | {_median(rates[name]):,.0f} | {_median(shares[name]):.3f} |")
    print(
        f"| music21 `converter.parse(forceSource=True)` ({len(m21_files)} files) "
        f"| {len(m21_files) / m21_s:.2f} | |"
    )
    print(f"({_load()})")


def _floor(files: list[Path], bare: _Read, rounds: int) -> None:
    """What the cold read cannot do without, each step in compiled code, against 0.25's budget.

    Per file, best of ``rounds``: the bare parse; a second parse of the same
    bytes (popgen's symusic reader parses a copy with note-offs appended, the
    one way to see the notes symusic drops and keep the songs exactly
    mido's); reading the bytes of the song's annotation files; and parsing
    the numbers of two of them (the beats and the phrase melody) with
    numpy's C parser. Their sum is a floor for any reader that keeps
    today's songs: the chord file's numbers, the key analysis, the phrase
    alignment and building the ``Song`` come on top.
    """
    import numpy as np
    import symusic

    def second_parse(paths: list[Path]) -> None:
        for path in paths:
            symusic.Score.from_midi(path.read_bytes())

    def annotation_bytes(paths: list[Path]) -> None:
        for path in paths:
            for text in path.parent.glob("*.txt"):
                text.read_bytes()

    texts = {
        path: [
            (path.parent / name).read_bytes()
            for name in ("beat_midi.txt", "phrases_melody.txt")
            if (path.parent / name).is_file()
        ]
        for path in files
    }

    def annotation_numbers(paths: list[Path]) -> None:
        for path in paths:
            for text in texts[path]:
                np.fromstring(text, sep=" ")  # C strtod, on bytes already read

    steps = {
        "bare parse (`symusic.Score(path)`)": bare,
        "second parse of the same bytes": second_parse,
        "reading the annotation files' bytes": annotation_bytes,
        "the beats' and phrase melody's numbers (numpy's C parser, bytes in memory)": (
            annotation_numbers
        ),
    }
    ms = {
        name: 1e3 / max(_rate(step, files) for _ in range(rounds)) for name, step in steps.items()
    }
    budget = ms["bare parse (`symusic.Score(path)`)"] / 0.25
    print(f"\nfloor of a cold read, one process, ms a file (best of {rounds}; {_load()}):")
    print("| step | ms a file |\n| --- | ---: |")
    for name, value in ms.items():
        print(f"| {name} | {value:.3f} |")
    print(f"| **sum: a floor for any reader of today's songs** | **{sum(ms.values()):.3f}** |")
    print(f"| all a read may take at 0.25 of the bare parse | {budget:.3f} |")


def _parallel(what: str, files: list[Path], rounds: int) -> None:
    """Cold reads with 2 worker processes and with 1, alternating; the median ratio.

    Also the CPU seconds each spends (this process, and the workers': what
    ``getrusage`` counts for children), and from them the speed-up two idle
    cores would give: the work split over two, but never less than this
    process's own part (a bound, not a measurement; printed because on a
    machine shared with other work the wall times cannot show it).
    """
    print(f"\ncold, {what}, 2 worker processes against 1 ({_load()}):")
    ratios, rows = [], []
    for _ in range(rounds):
        row = []
        for workers in (1, 2):
            cpu0 = time.process_time()
            child0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            popgen.Corpus.from_paths(files, reader="symusic", cache_dir=None, workers=workers)
            wall = time.perf_counter() - t0
            child1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            children = child1.ru_utime + child1.ru_stime - child0.ru_utime - child0.ru_stime
            row.append((len(files) / wall, time.process_time() - cpu0, children))
        ratios.append(row[1][0] / row[0][0])
        rows.append(row)
        print(
            f"  round: 1 process {row[0][0]:,.0f} files/s ({row[0][1]:.1f} CPU s), "
            f"2 workers {row[1][0]:,.0f} files/s ({row[1][1]:.1f} CPU s here + "
            f"{row[1][2]:.1f} in them): {ratios[-1]:.2f}x ({_load()})"
        )
    (one, one_cpu, _), (two, main_cpu, workers_cpu) = rows[ratios.index(_median(ratios))]
    bound = one_cpu / max(main_cpu, (main_cpu + workers_cpu) / 2)
    print(
        f"median: 1 process {one:,.0f} files/s, 2 worker processes {two:,.0f} files/s: "
        f"{_median(ratios):.2f}x (rounds: {', '.join(f'{r:.2f}' for r in ratios)}); "
        f"CPU s: 1 process {one_cpu:.1f}, with workers {main_cpu:.1f} here + "
        f"{workers_cpu:.1f} in them: {bound:.2f}x on two idle cores at best"
    )


if __name__ == "__main__":
    main()
