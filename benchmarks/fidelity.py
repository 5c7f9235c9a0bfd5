"""Reading fidelity: popgen and music21 against pretty_midi on the shared MIDI files.

For every POP909 and ff-piano file: the non-drum notes popgen reads against
pretty_midi's (the reader most MIR code uses), as (pitch, onset tick, offset
tick), equal to one tick. For a sample of files, the same for music21's
``converter.parse`` followed by ``stripTies()`` (music21 splits notes at bar
lines into ties and quantizes onsets on import), comparing in beats.

Usage: ``python benchmarks/fidelity.py [--music21-files 20]``
"""

from __future__ import annotations

import argparse
import collections
import warnings
from pathlib import Path

import numpy as np
import pretty_midi

from popgen.formats.midi_reading import read_midi

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def _reference(path: Path) -> tuple[pretty_midi.PrettyMIDI, list[tuple[int, int, int]]]:
    pm = pretty_midi.PrettyMIDI(str(path))
    notes = [
        (n.pitch, pm.time_to_tick(n.start), pm.time_to_tick(n.end))
        for inst in pm.instruments
        if not inst.is_drum
        for n in inst.notes
    ]
    return pm, sorted(notes)


def _matches(ref: list[tuple[int, int, int]], got: list[tuple[int, int, int]], tol: int) -> int:
    """Notes of ``got`` equal to a note of ``ref`` within ``tol`` ticks (multiset match)."""
    pool = collections.Counter(ref)
    hits = 0
    for p, on, off in got:
        for d_on in range(-tol, tol + 1):
            for d_off in range(-tol, tol + 1):
                key = (p, on + d_on, off + d_off)
                if pool[key]:
                    pool[key] -= 1
                    hits += 1
                    break
            else:
                continue
            break
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--music21-files", type=int, default=20)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    files = sorted(DATA.glob("pop909/*/*.mid")) + sorted(DATA.glob("ff-piano/*.mid"))
    total = equal = count_equal = 0
    for path in files:
        pm, ref = _reference(path)
        song = read_midi(path).drop_drums()
        on = np.round(song.notes["start"] * pm.resolution).astype(int)
        off = np.round((song.notes["start"] + song.notes["duration"]) * pm.resolution).astype(int)
        got = list(zip(song.notes["pitch"].tolist(), on.tolist(), off.tolist(), strict=True))
        total += len(ref)
        count_equal += len(ref) == len(got)
        equal += _matches(ref, got, tol=1)
    print(
        f"popgen vs pretty_midi: {len(files)} files, note count equal in {count_equal}; "
        f"{equal:,} of {total:,} notes equal to one tick ({equal / total:.4%})"
    )

    from music21 import converter

    sample = files[:: max(1, len(files) // args.music21_files)][: args.music21_files]
    total = equal = m21_total = onset_equal = 0
    for path in sample:
        pm, ref = _reference(path)
        score = converter.parse(path, forceSource=True).stripTies()
        tpb = pm.resolution
        got = [
            (
                p.midi,
                round(float(n.getOffsetInHierarchy(score)) * tpb),
                round(float(n.getOffsetInHierarchy(score) + n.quarterLength) * tpb),
            )
            for n in score.recurse().notes
            for p in n.pitches
        ]
        total += len(ref)
        m21_total += len(got)
        equal += _matches(ref, got, tol=1)
        grid = tpb / 12  # onsets compared on a 1/12-beat grid, durations ignored
        ref_on = collections.Counter((p, round(on / grid)) for p, on, _ in ref)
        got_on = collections.Counter((p, round(on / grid)) for p, on, _ in got)
        onset_equal += sum((ref_on & got_on).values())
    print(
        f"music21 (stripTies) vs pretty_midi: {len(sample)} files, {m21_total:,} notes read "
        f"for {total:,}; {equal:,} equal to one tick ({equal / total:.1%}); "
        f"{onset_equal / total:.1%} with the same pitch and onset on a 1/12-beat grid"
    )


if __name__ == "__main__":
    main()
