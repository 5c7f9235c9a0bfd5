"""A song's form as chords: a progression for each section, looped over its bars.

``popgen generate MODEL --form "i4 A8 B8 A8 B8 o4" --chords "C G Am F"`` writes
a song of that form (:func:`popgen.parse_form`): one progression loops over
every section, restarting at each section's first bar. A chords file may give
a progression per section label instead, one per line::

    A: C G Am F
    B: F G Em Am
    *: C          # every other section (here i and o)

:func:`form_chords` builds the chord segments of the whole song;
:func:`default_form` is the form of a plain ``--bars N``.

>>> from popgen.music.chords import chord_labels
>>> from popgen.music.sections import parse_form
>>> chords = form_chords(parse_form("A2 B2 A2"), {"A": "C G", "B": "Am F"})
>>> chord_labels(chords, style="symbol")
['C', 'G', 'Am', 'F', 'C', 'G']
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.music.chords import CHORD_DTYPE
from popgen.music.progression import parse_progression, read_chord_file
from popgen.music.sections import Section, parse_form

__all__ = ["ANY_SECTION", "default_form", "form_chords", "parse_progressions", "read_progressions"]

#: The label of a progression for every section that has none of its own.
ANY_SECTION = "*"
#: A line that starts a section's progression: ``A: C G Am F``.
_LABELLED = re.compile(r"^\s*([A-Za-z]|\*)\s*:(.*)$")


def parse_progressions(text: str) -> dict[str, str]:
    r"""Progressions by section label from text; unlabelled text is for every section.

    Lines ``X: chords`` start the progression of section ``X`` (``*``: every
    section without its own); a line without a label continues the one
    before, as another bar. Text with no label at all is one progression for
    every section. ``#`` starts a comment line.

    Raises:
        ValueError: a label given twice, or text with no chords.

    >>> parse_progressions("A: C G Am F\nB: F G\n   Em Am")
    {'A': 'C G Am F', 'B': 'F G | Em Am'}
    >>> parse_progressions("C G | Am F")
    {'*': 'C G | Am F'}
    """
    lines = [line for line in text.splitlines() if line.strip() and line.lstrip()[0] != "#"]
    if not any(_LABELLED.match(line) for line in lines):
        joined = " | ".join(line.strip() for line in lines)
        if not joined.strip(" |"):
            raise ValueError("the chord progression is empty; give chords such as 'C G Am F'")
        return {ANY_SECTION: joined}
    out: dict[str, list[str]] = {}
    label: str | None = None
    for line in lines:
        found = _LABELLED.match(line)
        if found:
            label = found[1]
            if label in out:
                raise ValueError(f"section {label!r} has two progressions; give it one line")
            out[label] = [found[2].strip()] if found[2].strip() else []
        elif label is None:
            raise ValueError(
                f"chords {line.strip()!r} before any section label; start with a line such "
                "as 'A: C G Am F'"
            )
        else:
            out[label].append(line.strip())
    return {key: " | ".join(bars) for key, bars in out.items()}


def read_progressions(path: str | os.PathLike[str]) -> dict[str, str]:
    r""":func:`parse_progressions` of a text file; errors name the file.

    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "form.txt").write_text("A: C G\nB: F\n")
    ...     read_progressions(Path(tmp, "form.txt"))
    {'A': 'C G', 'B': 'F'}
    """
    text = read_chord_file(path)
    try:
        return parse_progressions(text)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def form_chords(
    form: Sequence[Section],
    progressions: str | Mapping[str, str],
    *,
    meter: tuple[int, int] = (4, 4),
) -> NDArray[Any]:
    """The chord segments of a song of ``form``, each section over its progression.

    Each section loops its progression (its label's, else :data:`ANY_SECTION`'s;
    a plain string is every section's) from its first bar, cut at its last.

    Raises:
        ValueError: a section with no progression, or a progression that
            does not parse (named with the section).

    >>> from popgen.music.chords import chord_labels
    >>> from popgen.music.sections import parse_form
    >>> chords = form_chords(parse_form("i1 A3"), "C G")  # the loop restarts with A
    >>> chord_labels(chords, style="symbol"), chords["start"].tolist()
    (['C', 'C', 'G', 'C'], [0.0, 4.0, 8.0, 12.0])
    """
    table = {ANY_SECTION: progressions} if isinstance(progressions, str) else dict(progressions)
    beats = 4 * meter[0] / meter[1]
    parts: list[NDArray[Any]] = []
    for section in form:
        text = table.get(section.label, table.get(ANY_SECTION))
        where = f"section {section.label} (bars {section.first_bar + 1}-{section.end_bar})"
        if text is None:
            given = ", ".join(sorted(table))
            raise ValueError(
                f"{where} has no chords: give a progression for {section.label!r} or one for "
                f"every section ('*: ...'); given: {given}"
            )
        try:
            loop = parse_progression(text, meter=meter)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None
        length = float((loop["start"] + loop["duration"]).max())
        span = section.num_bars * beats
        copies = int(np.ceil(span / length - 1e-9))
        for k in range(copies):
            chunk = loop.copy()
            chunk["start"] += k * length
            chunk = chunk[chunk["start"] < span - 1e-9]
            ends = np.minimum(chunk["start"] + chunk["duration"], span)
            chunk["duration"] = ends - chunk["start"]
            chunk["start"] += section.first_bar * beats
            parts.append(chunk)
    return np.concatenate(parts) if parts else np.zeros(0, CHORD_DTYPE)


def default_form(bars: int) -> tuple[Section, ...]:
    """The form of a song of ``bars`` bars given without one: 8-bar sections A B A B ...

    Up to 8 bars the song is one section ``A``; a last section shorter than
    8 bars takes the bars that are left.

    >>> from popgen.music.sections import format_form
    >>> format_form(default_form(20)), format_form(default_form(6))
    ('A8 B8 A4', 'A6')
    """
    if bars < 1:
        raise ValueError(f"bars must be >= 1, got {bars}")
    lengths = [8] * (bars // 8) + ([bars % 8] if bars % 8 else [])
    return parse_form(" ".join(f"{'AB'[i % 2]}{n}" for i, n in enumerate(lengths)))
