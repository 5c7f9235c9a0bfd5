"""Damaged MIDI files: popgen's salvage against mido's ``clip=True``, same copies, same run.

Makes ``--copies`` damaged copies of real MIDI files (``--songs`` POP909 songs
drawn with ``--seed``, plus every ff-piano file): in each, 1-3 random bytes are
changed, and every third copy is also cut short at a random byte, as in issue
#18. Then reports, side by side:

* how many copies each reader reads: popgen before salvage (strict
  ``mido.MidiFile``, then the song), mido with ``clip=True`` (a parse; and a
  song from that parse), popgen's ``read_midi`` now;
* the share of the originals' notes each one gets back;
* whether popgen invents notes. Each MIDI track of a copy is read as popgen
  reads it and compared with the same track of the original: notes that end
  before the track's last event wholly before the first damaged byte (every
  later event is at that tick or later, whatever the damage) must be exactly
  the original's: none new, none lost. Notes that merely *start* before the
  damage, and notes anywhere, are counted too (a byte changed inside a track
  can shift or end a note after it; those are not claimed).

Usage: ``python benchmarks/salvage.py [--pop909 DIR] [--ff-piano DIR] [--songs 100]
[--copies 300] [--seed 18]``
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mido

from popgen.errors import MidiError
from popgen.formats.midi_reading import read_midi, song_from_midifile
from popgen.formats.midi_salvage import salvage_midi
from popgen.music.song import Song

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
Note = tuple[int, int, int, int]  # pitch, start tick, end tick, velocity


def mutate(data: bytes, rng: random.Random, cut: bool) -> tuple[bytes, int]:
    """1-3 bytes changed (each to another value), maybe cut short; and the first damaged byte."""
    raw = bytearray(data)
    where = rng.sample(range(len(raw)), rng.randint(1, 3))
    for i in where:
        raw[i] = (raw[i] + rng.randrange(1, 256)) % 256
    first = min(where)
    if cut:
        end = rng.randrange(len(raw))
        raw, first = raw[:end], min(first, end)
    return bytes(raw), first


def song_notes(song: Song, tpb: int) -> Counter[Note]:
    n = song.notes
    rows = zip(n["pitch"], n["start"], n["start"] + n["duration"], n["velocity"], strict=True)
    return Counter((int(p), round(s * tpb), round(e * tpb), int(v)) for p, s, e, v in rows)


def track_notes(mid: mido.MidiFile) -> list[Counter[Note]]:
    """Each MIDI track's notes as popgen reads them (notes never mix between tracks)."""
    out = []
    for track in mid.tracks:
        try:
            song = song_from_midifile(
                mido.MidiFile(ticks_per_beat=mid.ticks_per_beat, tracks=[track])
            )
            out.append(song_notes(song, mid.ticks_per_beat))
        except MidiError:
            out.append(Counter())
    return out


def intact_ticks(data: bytes, first: int) -> list[int | None]:
    """Per track of an intact file: the tick of its last event wholly before byte ``first``.

    The events are read again with mido's own readers, noting where each ends.
    """
    files = mido.midifiles.midifiles
    infile = io.BytesIO(data)
    ticks: list[int | None] = []
    for _ in range(files.read_file_header(infile)[1]):
        _, size = files.read_chunk_header(infile)
        start, tick, last, running = infile.tell(), 0, None, None
        while infile.tell() - start < size:
            delta = files.read_variable_int(infile)
            status, peek = files.read_byte(infile), []
            if status < 0x80:
                status, peek = running, [status]
            elif status != 0xFF:
                running = status
            if status == 0xFF:
                files.read_meta_message(infile, delta)
            elif status in (0xF0, 0xF7):
                files.read_sysex(infile, delta)
            else:
                files.read_message(infile, status, peek, delta)
            tick += delta
            if infile.tell() <= first:
                last = tick
        ticks.append(last)
    return ticks


def attempt(read: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``read(*args, **kwargs)``, or None where it raises (mido raises many kinds)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return read(*args, **kwargs)
    except Exception:
        return None


def parse_args(description: str) -> argparse.Namespace:
    """The flags of the salvage benchmarks: where the shared files are, how many copies."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--pop909", type=Path, default=DATA / "pop909")
    parser.add_argument("--ff-piano", type=Path, default=DATA / "ff-piano")
    parser.add_argument("--songs", type=int, default=100, help="POP909 songs to draw")
    parser.add_argument("--copies", type=int, default=300)
    parser.add_argument("--seed", type=int, default=18)
    return parser.parse_args()


def draw_sources(args: argparse.Namespace, rng: random.Random) -> list[Path]:
    """The files the damaged copies are made of: ``--songs`` POP909 songs, every ff-piano file."""
    pop = sorted(args.pop909.glob("*/*.mid"))
    return sorted(rng.sample(pop, min(args.songs, len(pop)))) + sorted(
        args.ff_piano.glob("*.mid")
    )


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    rng = random.Random(args.seed)
    pop = sorted(args.pop909.glob("*/*.mid"))
    sources = draw_sources(args, rng)
    originals = {p: p.read_bytes() for p in sources}
    print(
        f"{len(sources)} source files ({min(args.songs, len(pop))} POP909, "
        f"{len(sources) - min(args.songs, len(pop))} ff-piano); {args.copies} damaged copies, "
        f"seed {args.seed}, a third also cut short"
    )
    reads: Counter[str] = Counter()
    kept: Counter[str] = Counter()  # notes equal to one of the original's
    foreign: Counter[str] = Counter()  # songs with a note not in the original
    invented: Counter[str] = Counter()
    total = 0
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.copies):
            source = rng.choice(sources)
            data, first = mutate(originals[source], rng, cut=i % 3 == 0)
            path = Path(tmp, f"{i:03d}-{source.name}")
            path.write_bytes(data)
            original = read_midi(source)
            tpb = mido.MidiFile(source).ticks_per_beat
            total += original.num_notes
            strict = attempt(mido.MidiFile, file=io.BytesIO(data))
            clipped = attempt(mido.MidiFile, file=io.BytesIO(data), clip=True)
            songs = {
                "popgen before (strict mido)": strict and attempt(song_from_midifile, strict),
                "mido clip=True, then popgen's song": clipped
                and attempt(song_from_midifile, clipped),
                "popgen now (read_midi)": attempt(read_midi, path),
            }
            reads["mido clip=True parses"] += clipped is not None
            everything = song_notes(original, tpb)
            for name, song in songs.items():
                reads[name] += song is not None
                if song is not None:
                    kept[name] += sum((song_notes(song, tpb) & everything).values())
                    foreign[name] += bool(song_notes(song, tpb) - everything)
            song = songs["popgen now (read_midi)"]
            if song is None:
                continue
            damaged = strict or salvage_midi(data).midi  # what read_midi read
            was = track_notes(mido.MidiFile(source))
            now = track_notes(damaged)
            assert sum(sum(c.values()) for c in now) == song.num_notes
            bad_end = bad_start = lost = False
            for k, last in enumerate(intact_ticks(originals[source], first)):
                if last is None or first < 14 or k >= len(now):
                    continue  # nothing of this track is known to be intact
                before = Counter({n: c for n, c in now[k].items() if n[2] < last})
                truth = Counter({n: c for n, c in was[k].items() if n[2] < last})
                bad_end |= bool(before - truth)
                lost |= bool(truth - before)
                started = Counter({n: c for n, c in now[k].items() if n[1] < last})
                bad_start |= bool(started - was[k])
            invented["a new note ending before the first damaged byte (must be 0)"] += bad_end
            invented["an original note ending before it lost (must be 0)"] += lost
            invented["a changed note starting before it (not claimed)"] += bad_start
    print(f"{'reader':<36}{'reads':>9}{'notes kept':>12}  songs with a note not in the original")
    for name in reads:
        share = f"{kept[name] / total:.1%}" if "parses" not in name else ""
        odd = str(foreign[name]) if "parses" not in name else ""
        print(f"{name:<36}{reads[name]:>5}/{args.copies}{share:>12}  {odd}")
    print("popgen's songs now, each MIDI track against the original's, with:")
    for what, count in invented.items():
        print(f"  {what}: {count}")
    print(f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
