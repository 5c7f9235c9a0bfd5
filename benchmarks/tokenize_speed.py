"""Tokenizing POP909: tokens per song, vocabulary size and speed of each encoding.

Encodes every shared POP909 song (read once with ``popgen.read_midi``) with
each popgen encoding, and -- in the same run, on the same files -- with
MidiTok's REMI when ``miditok`` is installed (``pip install miditok``; it is
only a benchmark dependency). Times are the best of ``--repeat`` passes over
all songs, single-threaded, from songs already in memory (popgen ``Song`` /
MidiTok's ``symusic.Score``); reading the files is timed separately.

    python benchmarks/tokenize_speed.py [--data ../shared/data/pop909] [--limit N]

(Not ``tokenize.py``: a script's folder comes first on ``sys.path``, so a
``benchmarks/tokenize.py`` would shadow the standard library's ``tokenize``
module and break every script in this folder.)
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings
from collections.abc import Callable, Sequence
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from _encodings import ENCODINGS  # benchmarks/_encodings.py, beside this script

import popgen

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pop909"


def best_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs of ``fn`` in seconds, and its last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def popgen_rows(songs: Sequence[popgen.Song], repeat: int) -> list[tuple[str, ...]]:
    rows = []
    for label, options in ENCODINGS.items():
        options = dict(options)
        tok = popgen.get_tokenizer(options.pop("name"), **options).fit(songs)
        seconds, ids = best_time(lambda tok=tok: [tok.encode(s) for s in songs], repeat)
        tokens = np.mean([len(x) - 2 for x in ids])  # BOS/EOS not counted
        rows.append(_row(label, tokens, tok.vocab_size, seconds, len(songs)))
    return rows


def miditok_rows(paths: Sequence[Path], repeat: int) -> list[tuple[str, ...]]:
    try:
        import miditok
        from symusic import Score
    except ImportError:
        print("miditok is not installed (pip install miditok): no MidiTok comparison")
        return []
    seconds, scores = best_time(lambda: [Score(str(p)) for p in paths], 1)
    print(f"symusic read {len(paths)} files in {seconds:.2f} s")
    configs = {
        f"MidiTok {version('miditok')} REMI (default: one sequence per track)": {},
        "MidiTok REMI, programs in one stream": {
            "use_programs": True,
            "one_token_stream_for_programs": True,
        },
    }
    rows = []
    for label, options in configs.items():
        tok = miditok.REMI(miditok.TokenizerConfig(**options))
        seconds, out = best_time(lambda tok=tok: [tok.encode(s) for s in scores], repeat)
        tokens = np.mean([sum(len(t.ids) for t in _seqs(x)) for x in out])
        rows.append(_row(label, tokens, len(tok), seconds, len(scores)))
    return rows


def _machine() -> str:
    """CPU model and core count, as far as the platform tells."""
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        lines = [x for x in cpuinfo.read_text().splitlines() if x.startswith("model name")]
        model = lines[0].split(":", 1)[1].strip() if lines else model
    return f"{model}, {os.cpu_count()} cores"


def _seqs(out: Any) -> list[Any]:
    return out if isinstance(out, list) else [out]


def _row(label: str, tokens: float, vocab: int, seconds: float, n: int) -> tuple[str, ...]:
    return (label, f"{tokens:,.0f}", f"{vocab:,}", f"{seconds:.2f}", f"{1000 * seconds / n:.2f}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="folder of NNN/NNN.mid files")
    parser.add_argument("--limit", type=int, default=None, help="use the first N songs only")
    parser.add_argument("--repeat", type=int, default=3, help="passes; the fastest counts")
    args = parser.parse_args(argv)
    paths = sorted(args.data.glob("*/*.mid"))[: args.limit]
    if not paths:
        raise SystemExit(f"no MIDI files under {args.data}")
    warnings.simplefilter("ignore")  # music21 deprecations
    seconds, songs = best_time(lambda: [popgen.read_midi(p) for p in paths], 1)
    print(f"popgen.read_midi read {len(paths)} files in {seconds:.2f} s")
    rows = popgen_rows(songs, args.repeat) + miditok_rows(paths, args.repeat)
    print(f"\n{len(paths)} POP909 songs; {_machine()}, Python {platform.python_version()}, "
          f"numpy {np.__version__}\n")  # fmt: skip
    head = ("encoding", "tokens / song", "vocabulary", "encode all (s)", "ms / song")
    print("| " + " | ".join(head) + " |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
