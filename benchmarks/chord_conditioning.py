"""Does seeing the chords help? Held-out melody NLL of a lead-sheet run with and without chords.

Two runs trained the same way on the same songs, ``--tokenizer lead`` with
``chords=True`` and ``chords=False``, read the same held-out songs. Their
token streams differ only by the chord tokens (``CHORD_x``, ``BEAT_k``), so
the negative log-likelihood summed over every other token (bars, positions,
pitches, velocities, durations, end of song) compares like with like; it is
reported per melody note.

    python benchmarks/chord_conditioning.py --with runs/lead-chords \
        --without runs/lead-plain --data ../shared/data/pop909 --held-out 701-800
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from popgen import Corpus, Run, load_run


def melody_nll(run: Run, songs: list[Any]) -> tuple[float, int, int]:
    """Summed NLL (nats) over the non-chord tokens of every song, their count, and the notes."""
    tok = run.tokenizer
    chordish = np.array([n.startswith(("CHORD_", "BEAT_")) for n in tok.vocab])
    logits_of = jax.jit(lambda params, ids: run.model.logits(params, ids))
    total, count, notes = 0.0, 0, 0
    for song in songs:
        ids = tok.encode(song)
        logits = logits_of(run.params, jnp.asarray(ids[None, :-1]))[0]
        logp = jax.nn.log_softmax(logits, axis=-1)
        target = ids[1:]
        nll = -np.asarray(logp)[np.arange(len(target)), target]
        keep = ~chordish[target]
        total += float(nll[keep].sum())
        count += int(keep.sum())
        notes += int(sum(tok.token_name(int(t)).startswith("PITCH_") for t in target))
    return total, count, notes


def main() -> None:
    """Read the held-out songs as the runs' training songs were, score them, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--with", dest="with_chords", required=True)
    parser.add_argument("--without", required=True)
    parser.add_argument("--data", default="../shared/data/pop909")
    parser.add_argument("--held-out", default="701-800")
    args = parser.parse_args()
    first, last = (int(x) for x in args.held_out.split("-"))
    runs = {"with chords": load_run(args.with_chords), "without chords": load_run(args.without)}
    reading = runs["with chords"].usage.reading
    files = [f for f in sorted(Path(args.data).glob("*/*.mid"))
             if first <= int(f.parent.name) <= last]  # fmt: skip
    songs = Corpus.from_paths(files, reading, workers=2).songs
    print(f"{len(songs)} held-out songs")
    rows = {}
    for name, run in runs.items():
        total, count, notes = melody_nll(run, songs)
        rows[name] = (total, count, notes)
        print(f"{name:15s} {total / notes:.4f} nats per note  {total / count:.4f} per token "
              f"({count} tokens, {notes} notes)")  # fmt: skip
    gain = 1 - rows["with chords"][0] / rows["without chords"][0]
    print(f"chords lower the held-out melody NLL by {gain:.1%}")


if __name__ == "__main__":
    main()
