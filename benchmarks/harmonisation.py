"""How well POP909's accompaniments harmonise their melodies, against a shuffled control.

For every POP909 song of ``../shared/data/pop909`` (``NNN/NNN.mid`` with its
``beat_midi.txt``, read by :class:`popgen.Corpus` with the annotations
applied, so the bars are the annotated downbeats; roles from the track
names: ``MELODY`` melody, ``BRIDGE`` second, ``PIANO`` accompaniment) it
computes :func:`popgen.metrics.harmony.harmonisation` and prints its 5th,
50th and 95th percentiles over the songs, then the same for a control: each
song's measured notes keep their times but their pitches are permuted within
the song (seeded), which keeps the song's pitch classes and rhythm and
breaks only the melody's alignment with the chords.

Besides the definition (melody = the ``MELODY`` track, accompaniment = the
``PIANO`` track) it prints the variants that count ``BRIDGE`` in the melody,
in the accompaniment, or leave it out of both.

    python benchmarks/harmonisation.py [--data ../shared/data/pop909] [--limit N] [--seed 0]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from popgen import Corpus
from popgen.metrics.harmony import harmonisation
from popgen.music.song import Song

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pop909"

#: name -> (melody roles, accompaniment roles); the first is the metric's definition.
VARIANTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "melody vs piano": (("melody",), ("accompaniment",)),
    "melody+bridge vs piano": (("melody", "second"), ("accompaniment",)),
    "melody vs piano+bridge": (("melody",), ("accompaniment", "second")),
}


def shuffled(song: Song, roles: Sequence[str], rng: np.random.Generator) -> Song:
    """``song`` with the pitches of its notes of ``roles`` permuted among those notes."""
    notes = song.notes.copy()
    role = np.array([t.role for t in song.tracks])[notes["track"]]
    chosen = np.flatnonzero(np.isin(role, list(roles)))
    notes["pitch"][chosen] = rng.permutation(notes["pitch"][chosen])
    return song.replace(notes=notes)


def percentiles(values: Sequence[float]) -> str:
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    p5, p50, p95 = np.percentile(finite, [5, 50, 95])
    return f"{p5:.2f} / {p50:.2f} / {p95:.2f}  (mean {finite.mean():.2f}, {len(finite)} songs)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--limit", type=int, default=None, help="first N songs only")
    parser.add_argument("--seed", type=int, default=0, help="seed of the pitch shuffles")
    args = parser.parse_args()
    files = sorted(args.data.glob("*/*.mid"))[: args.limit]
    if not files:
        raise SystemExit(f"{args.data}: no POP909 songs (NNN/NNN.mid) found")

    began = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # repairs of a few files' annotations
        corpus = Corpus.from_paths(files, keys="file", chords="none", annotations=True)
    read = time.perf_counter() - began
    roles = sorted({(t.name, t.role) for song in corpus for t in song.tracks})
    print(
        f"{len(corpus)} songs read in {read:.1f} s ({len(corpus.skipped)} skipped); roles {roles}"
    )
    unbarred = sum(not len(song.bars) for song in corpus)
    print(f"songs without annotated bar lines: {unbarred}")

    print("5th / 50th / 95th percentile of the share of melody note-time on chord tones")
    for name, (melody, accompaniment) in VARIANTS.items():
        began = time.perf_counter()
        real = [harmonisation(s, melody=melody, accompaniment=accompaniment) for s in corpus]
        rng = np.random.default_rng(args.seed)
        control = [
            harmonisation(shuffled(s, melody, rng), melody=melody, accompaniment=accompaniment)
            for s in corpus
        ]
        took = (time.perf_counter() - began) / (2 * len(corpus)) * 1e3
        print(f"{name:>24}  real      {percentiles(real)}")
        print(f"{'':>24}  shuffled  {percentiles(control)}  [{took:.1f} ms/song]")


if __name__ == "__main__":
    main()
