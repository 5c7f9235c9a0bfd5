"""Chord progressions written as text: one chord per bar, bars split by |, one chord per beat."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from numpy.typing import NDArray

from popgen.music.chords import Chord, make_chords, parse_chord

__all__ = [
    "parse_progression",
    "read_chord_file",
    "read_progression",
]


def parse_progression(
    text: str, *, meter: tuple[int, int] = (4, 4), bars: int | None = None
) -> NDArray[Any]:
    """Chord segments (:data:`~popgen.music.chords.CHORD_DTYPE`, in beats) from text.

    Without ``|`` each chord fills a bar; with it, the chords between two
    ``|`` share their bar evenly (as many as the bar has beats: one per
    beat, ``.`` holding the chord before). ``bars`` repeats a shorter
    progression that divides it (a four-bar loop over 16 bars).

    Raises:
        ValueError: a chord that does not parse (named with its bar), a bar
            whose chords do not divide its beats, or a progression that cannot
            fill ``bars``.

    >>> from popgen.music.chords import chord_labels
    >>> chords = parse_progression("C . . G7 | Am F")
    >>> chord_labels(chords, style="symbol"), chords["start"].tolist(), chords["duration"].tolist()
    (['C', 'G7', 'Am', 'F'], [0.0, 3.0, 4.0, 6.0], [3.0, 1.0, 2.0, 2.0])
    >>> parse_progression("C G Am", bars=8)
    Traceback (most recent call last):
    ValueError: the progression has 3 bars, which do not fill 8 bars; give 8 bars of chords, ...
    """
    beats = 4 * meter[0] / meter[1]
    text = text.replace("\n", "|").strip()
    groups = [g.split() for g in text.split("|")] if "|" in text else [[c] for c in text.split()]
    groups = [g for g in groups if g]
    if not groups:
        raise ValueError("the chord progression is empty; give chords such as 'C G Am F'")
    if bars is not None:
        if bars < 1:
            raise ValueError(f"bars must be >= 1, got {bars}")
        if len(groups) > bars:
            raise ValueError(
                f"the progression has {len(groups)} bars, more than the {bars} bars asked; "
                "give fewer chords or more bars"
            )
        if bars % len(groups):
            raise ValueError(
                f"the progression has {len(groups)} bars, which do not fill {bars} bars; "
                f"give {bars} bars of chords, or a loop whose length divides {bars}"
            )
        groups = groups * (bars // len(groups))
    labels: list[Chord] = []
    starts: list[float] = []
    for bar, group in enumerate(groups):
        share = beats / len(group)
        if abs(share - round(share)) > 1e-9 or share < 1:
            raise ValueError(
                f"bar {bar + 1} has {len(group)} chords for its {beats:g} beats; each chord "
                "needs a whole number of beats (use '.' to hold a chord for a beat)"
            )
        for k, label in enumerate(group):
            if label in (".", "-", "%"):
                if not labels:
                    raise ValueError(f"bar {bar + 1}: {label!r} holds a chord, but none came yet")
                continue
            try:
                chord = parse_chord(label)
            except ValueError as error:
                raise ValueError(f"bar {bar + 1}: {error}") from None
            if labels and labels[-1] == chord and starts[-1] >= 0:
                continue  # the same chord again: one longer segment
            labels.append(chord)
            starts.append(bar * beats + k * share)
    ends = [*starts[1:], len(groups) * beats]
    return make_chords(labels, starts, [b - a for a, b in zip(starts, ends, strict=True)])


def read_progression(
    path: str | os.PathLike[str], *, meter: tuple[int, int] = (4, 4), bars: int | None = None
) -> NDArray[Any]:
    r""":func:`parse_progression` of a text file; each line is a bar (or more, split by ``|``).

    Lines starting with ``#`` are comments.

    >>> import tempfile
    >>> from popgen.music.chords import chord_labels
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "song.txt").write_text("# verse\nC G\nAm F\n")
    ...     chord_labels(read_progression(Path(tmp, "song.txt")), style="symbol")
    ['C', 'G', 'Am', 'F']
    """
    lines = read_chord_file(path).splitlines()
    text = " | ".join(line for line in lines if line.strip() and not line.lstrip().startswith("#"))
    try:
        return parse_progression(text, meter=meter, bars=bars)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def read_chord_file(path: str | os.PathLike[str]) -> str:
    """The text of a chord file; a ``ValueError`` naming the file when it cannot be read.

    >>> read_chord_file("no/such/chords.txt")
    Traceback (most recent call last):
    ValueError: no/such/chords.txt: cannot read the chord file ([Errno 2] No such file ...
    """
    try:
        return Path(path).read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the chord file ({error})") from None
