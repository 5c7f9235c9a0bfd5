"""Exact round trips: how much of each shared song survives decode(encode(song)), per encoding.

For every file of ``../shared/data`` (POP909 and the ff-piano set) and each
encoding, fitted on that data set, it reports:

* **as documented** -- share of songs whose ``decode(encode(song))`` equals
  ``tokenizer.prepare(song)`` exactly (the song after the encoding's
  documented loss; notes, and for ``remi`` also time signatures and tempos).
  Anything below 100 % is a bug;
* **lossless songs** -- share of songs whose decoded notes equal the original
  notes exactly (pitch, onset, duration, velocity);
* **notes kept** -- decoded notes / original notes;
* **notes exact** -- share of original notes found unchanged (pitch, onset,
  duration and velocity) in the decoded song;
* **timing exact** -- the same, counting pitch, onset and duration;
* **pitch + onset exact** -- the same, counting pitch and onset only.

    python benchmarks/roundtrip.py [--data ../shared/data] [--limit N]
"""

from __future__ import annotations

import argparse
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from _encodings import ENCODINGS  # benchmarks/_encodings.py, beside this script

import popgen

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def note_keys(song: popgen.Song, fields: int) -> Counter[tuple[Any, ...]]:
    """Notes as hashable rows of their first ``fields`` of (pitch, onset, duration, velocity)."""
    n = song.notes
    columns = [
        n["pitch"].tolist(),
        np.round(n["start"] * 1e9).astype(np.int64).tolist(),  # exact to 1e-9 beats
        np.round(n["duration"] * 1e9).astype(np.int64).tolist(),
        n["velocity"].tolist(),
    ]
    return Counter(zip(*columns[:fields], strict=True))


def same(a: popgen.Song, b: popgen.Song, *, meta: bool) -> bool:
    fields = ["pitch", "start", "duration", "velocity"]
    if len(a.notes) != len(b.notes) or any(
        not np.array_equal(a.notes[f], b.notes[f]) for f in fields
    ):
        return False
    return not meta or (a.time_signatures, a.tempos) == (b.time_signatures, b.tempos)


def measure(tok: Any, songs: Sequence[popgen.Song]) -> list[float]:
    """The figures of the module docstring, in its order, as fractions."""
    documented = lossless = kept = total = 0
    found = [0, 0, 0]  # notes found with 4, 3 and 2 fields unchanged
    for song in songs:
        decoded = tok.decode(tok.encode(song))
        documented += same(decoded, tok.prepare(song), meta=tok.name == "remi")
        lossless += same(decoded, song, meta=False)
        kept += decoded.num_notes
        total += song.num_notes
        for i, fields in enumerate((4, 3, 2)):
            found[i] += sum((note_keys(song, fields) & note_keys(decoded, fields)).values())
    n = len(songs)
    return [documented / n, lossless / n, kept / total, *(f / total for f in found)]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    parser.add_argument("--limit", type=int, default=None, help="first N files of each set")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    sets = {
        "POP909": sorted(args.data.glob("pop909/*/*.mid"))[: args.limit],
        "ff-piano": sorted(args.data.glob("ff-piano/*.mid"))[: args.limit],
    }
    print("| data | encoding | as documented | lossless songs | notes kept | notes exact "
          "| timing exact | pitch + onset exact |\n"
          "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")  # fmt: skip
    for label, paths in sets.items():
        if not paths:
            print(f"no files for {label} under {args.data}")
            continue
        songs = []
        for p in paths:
            try:
                songs.append(popgen.read_midi(p))
            except popgen.PopgenError as exc:
                print(f"skipped {p.name}: {exc}")
        for name, options in ENCODINGS.items():
            options = dict(options)
            tok = popgen.get_tokenizer(options.pop("name"), **options).fit(songs)
            figures = " | ".join(f"{100 * x:.1f} %" for x in measure(tok, songs))
            print(f"| {label} ({len(songs)} songs) | {name} | {figures} |", flush=True)


if __name__ == "__main__":
    main()
