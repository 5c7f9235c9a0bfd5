"""popgen's ``read_midi`` against symusic and pretty_midi on damaged MIDI files (issue 29).

Two sets, each file read by the three readers in one run:

* crafted files, made here: a header declaring more tracks than the file holds
  (100, and 65 535, which mido reads as -1), fewer (1, and 0), notes with no
  note-off, a track cut short in the middle of a note;
* the damaged real-world copies of ``benchmarks/salvage.py`` (same ``--seed``,
  same damage: 1-3 random bytes changed, a third also cut short).

For each reader: files read (a song with at least one note), and notes read
(symusic and pretty_midi count every note they return, popgen the notes of its
song). Usage: ``python benchmarks/salvage_readers.py [--copies 300] [--seed 18]``.
"""

from __future__ import annotations

import io
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import mido

sys.path.insert(0, str(Path(__file__).resolve().parent))
from salvage import attempt, draw_sources, mutate, parse_args

from popgen.formats.midi_reading import read_midi


def _popgen(path: Path) -> int:
    return read_midi(path).num_notes


def _symusic(path: Path) -> int:
    import symusic

    return sum(len(t.notes) for t in symusic.Score(str(path)).tracks)


def _pretty_midi(path: Path) -> int:
    import pretty_midi

    return sum(len(i.notes) for i in pretty_midi.PrettyMIDI(str(path)).instruments)


READERS: dict[str, Callable[[Path], int]] = {
    "popgen read_midi": _popgen,
    "symusic 0.6": _symusic,
    "pretty_midi 0.2": _pretty_midi,
}


def crafted() -> dict[str, bytes]:
    """The crafted files: 32 one-note tracks with a header's count changed, and more."""

    def tracks(count: int, *, ended: bool = True) -> bytes:
        mid = mido.MidiFile(type=1, ticks_per_beat=96)
        for t in range(count):
            track = mido.MidiTrack()
            track.append(mido.Message("note_on", note=60 + t % 12, velocity=80, channel=t % 9))
            end = mido.Message("note_off", note=60 + t % 12, channel=t % 9, time=96)
            track.append(end if ended else mido.MetaMessage("text", text="-", time=96))
            mid.tracks.append(track)
        out = io.BytesIO()
        mid.save(file=out)
        return out.getvalue()

    def declares(data: bytes, count: int) -> bytes:
        return data[:10] + count.to_bytes(2, "big") + data[12:]

    good = tracks(32)
    return {
        "32 tracks, header says 100": declares(good, 100),
        "32 tracks, header says 65535": declares(good, 65535),
        "32 tracks, header says 1": declares(good, 1),
        "32 tracks, header says 0": declares(good, 0),
        "32 notes with no note-off": tracks(32, ended=False),
        "32 tracks, cut inside the last note": good[:-7],
        "32 tracks, intact": good,
    }


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    with tempfile.TemporaryDirectory() as tmp:
        print("| crafted file | " + " | ".join(READERS) + " |")
        print("|---" * (len(READERS) + 1) + "|")
        for name, data in crafted().items():
            path = Path(tmp, "crafted.mid")
            path.write_bytes(data)
            found = [attempt(read, path) for read in READERS.values()]
            cells = ["error" if n is None else f"{n} notes" for n in found]
            print(f"| {name} | " + " | ".join(cells) + " |")
        rng = random.Random(args.seed)  # the draws of benchmarks/salvage.py, in its order
        if not any(args.pop909.glob("*/*.mid")):
            print("no shared data: the damaged copies are left out")
            return
        sources = draw_sources(args, rng)
        originals = {p: p.read_bytes() for p in sources}
        files: Counter[str] = Counter()
        notes: Counter[str] = Counter()
        more: Counter[str] = Counter()  # copies where popgen reads more notes than this reader
        fewer: Counter[str] = Counter()
        started = time.perf_counter()
        for i in range(args.copies):
            source = rng.choice(sources)
            data, _ = mutate(originals[source], rng, cut=i % 3 == 0)
            path = Path(tmp, f"{i:03d}-{source.name}")
            path.write_bytes(data)
            found = {name: attempt(read, path) for name, read in READERS.items()}
            ours = found["popgen read_midi"] or 0
            for name, count in found.items():
                files[name] += bool(count)
                notes[name] += count or 0
                more[name] += ours > (count or 0)
                fewer[name] += ours < (count or 0)
            path.unlink()
        print(
            f"\n{args.copies} damaged copies (seed {args.seed}), "
            f"{time.perf_counter() - started:.0f} s\n"
        )
        print("| reader | files read | notes read | copies where popgen reads more | fewer |")
        print("|---|---|---|---|---|")
        for name in READERS:
            print(
                f"| {name} | {files[name]} / {args.copies} | {notes[name]} | "
                f"{more[name]} | {fewer[name]} |"
            )


if __name__ == "__main__":
    main()
