"""A song's form: sections (a label, a first bar, a number of bars) and the form string.

A :class:`Section` counts in the song's own bars, those of
:meth:`popgen.music.song.Song.bar_lines` (bar ``i`` spans ``edges[i]..edges[i + 1]``;
a first bar line after beat 0 makes bar 0 a pickup). Its label is one ASCII
letter, as in POP909's phrase labels: a capital for a section with melody
(``A``, ``B`` ...; one letter = the same material; ``X`` other melodic
material), lower case for one without (``i`` intro, ``o`` outro, ``b``/``x``
interludes).

* The **form string** writes sections end to end: ``"i4 A8 B8 A8 B8 o4"``
  (POP909's unspaced ``"i4A8B8x4A8B8o4"`` too); ``-4`` stands for four bars
  without a section. :func:`parse_form` and :func:`format_form` are the one
  place it is read and written.
* :func:`check_sections` is the one place sections are validated (in order,
  not overlapping, inside the song's bars); :class:`~popgen.music.song.Song` calls it.
* Sections travel through transforms as beats (:func:`moved_sections`) and
  through MIDI files as marker meta events, ``section:A8`` at the section's
  first bar (:func:`section_marker`, :func:`sections_from_markers`).
* :func:`infer_sections` finds sections from repeated melody when a song has
  no labels; :func:`section_per_bar` and :func:`bar_labels` read them bar by bar.

This module imports only numpy and the standard library: it sits below
:mod:`popgen.music.song`.

>>> sections = parse_form("i4A8B8x4A8B8o4")
>>> sections[1]
Section(label='A', first_bar=4, num_bars=8)
>>> format_form(sections)
'i4 A8 B8 x4 A8 B8 o4'
"""

from __future__ import annotations

import itertools
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from popgen.checks import is_whole

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "MARKER_PREFIX",
    "MAX_SECTION_BARS",
    "Section",
    "bar_labels",
    "check_sections",
    "format_form",
    "infer_sections",
    "moved_sections",
    "parse_form",
    "section_marker",
    "section_per_bar",
    "sections_from_markers",
]

#: The text before a section in a MIDI marker: ``section:A8``.
MARKER_PREFIX = "section:"
#: The most bars one section may have (a form string's number is read up to this).
MAX_SECTION_BARS = 100_000
_LABEL = re.compile(r"[A-Za-z]\Z")
_TOKEN = re.compile(r"([A-Za-z]|-)([0-9]+)")
_EXPECTED = "expected a letter and a number of bars, e.g. A8"


@dataclass(frozen=True)
class Section:
    """A run of bars that plays one section of a song's form.

    >>> Section("A", 4, 8).end_bar, Section("A", 4, 8).melodic, Section("i", 0, 4).melodic
    (12, True, False)
    >>> Section("A1", 0, 8)
    Traceback (most recent call last):
    ValueError: section label 'A1' is not one letter (expected e.g. 'A', 'B', 'i', 'o')
    """

    label: str  # one ASCII letter: capitals have melody (same letter, same material)
    first_bar: int  # index of its first bar in Song.bar_lines(), >= 0
    num_bars: int  # how many bars it spans, 1..MAX_SECTION_BARS

    def __post_init__(self) -> None:
        label, first, bars = self.label, self.first_bar, self.num_bars
        if (
            type(first) is int
            and type(bars) is int
            and type(label) is str
            and len(label) == 1
            and ("A" <= label <= "Z" or "a" <= label <= "z")
            and first >= 0
            and 1 <= bars <= MAX_SECTION_BARS
        ):
            return  # the usual section (what the checks below let through as it is)
        if not isinstance(self.label, str) or not _LABEL.match(self.label):
            raise ValueError(
                f"section label {self.label!r} is not one letter (expected e.g. 'A', 'B', 'i', 'o')"
            )
        for name in ("first_bar", "num_bars"):
            value = getattr(self, name)
            if not is_whole(value):
                raise TypeError(f"section {name} must be a whole number, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.first_bar < 0:
            raise ValueError(f"section {self.label} starts at bar {self.first_bar}, before bar 0")
        if not 1 <= self.num_bars <= MAX_SECTION_BARS:
            raise ValueError(
                f"section {self.label} at bar {self.first_bar} has {self.num_bars} bars "
                f"(expected 1..{MAX_SECTION_BARS})"
            )

    @property
    def end_bar(self) -> int:
        """The bar after its last one.

        >>> Section("B", 8, 4).end_bar
        12
        """
        return self.first_bar + self.num_bars

    @property
    def melodic(self) -> bool:
        """Whether its label is a capital (a section with melody).

        >>> Section("b", 0, 4).melodic
        False
        """
        return self.label.isupper()


# ------------------------------------------------------------------ form strings
def parse_form(text: str, *, first_bar: int = 0) -> tuple[Section, ...]:
    """Sections from a form string, end to end from ``first_bar``.

    Each part is a letter and a number of bars (``A8``); parts may be separated
    by spaces or not (POP909 writes ``i4A8B8o4``); ``-N`` is ``N`` bars without
    a section. An empty string has no sections.

    Raises:
        ValueError: a part that is not a section, or a number of bars out of
            range; the message quotes the part and its position in ``text``.

    >>> [(s.label, s.first_bar, s.num_bars) for s in parse_form("i4 A8 -2 B8")]
    [('i', 0, 4), ('A', 4, 8), ('B', 14, 8)]
    >>> parse_form("i4 Q A8")
    Traceback (most recent call last):
    ValueError: form: 'Q' at 3 is not a section (expected a letter and a number of bars, e.g. A8)
    """
    sections: list[Section] = []
    at, bar = 0, first_bar
    while at < len(text):
        if text[at].isspace():
            at += 1
            continue
        match = _TOKEN.match(text, at)
        if match is None:
            stop = at + 1
            while stop < len(text) and not text[stop].isspace() and not _TOKEN.match(text, stop):
                stop += 1
            raise ValueError(f"form: {text[at:stop]!r} at {at} is not a section ({_EXPECTED})")
        digits = match.group(2)
        count = int(digits) if len(digits) <= 6 else MAX_SECTION_BARS + 1
        if not 1 <= count <= MAX_SECTION_BARS:
            raise ValueError(
                f"form: {match.group(0)[:12]!r} at {at} has {digits[:8]} bars "
                f"(expected 1..{MAX_SECTION_BARS})"
            )
        if match.group(1) != "-":
            sections.append(Section(match.group(1), bar, count))
        bar += count
        at = match.end()
    return tuple(sections)


def format_form(sections: Sequence[Section], *, spaced: bool = True) -> str:
    """The form string of ``sections`` (in order, not overlapping), from bar 0.

    Bars without a section (before the first one or between two) are written
    ``-N``, so that ``parse_form(format_form(s)) == s``.

    >>> format_form(parse_form("A8 B8"), spaced=False)
    'A8B8'
    >>> format_form([Section("A", 2, 4), Section("B", 8, 4)])
    '-2 A4 -2 B4'
    """
    parts: list[str] = []
    bar = 0
    for section in check_sections(sections):
        if section.first_bar > bar:
            parts.append(f"-{section.first_bar - bar}")
        parts.append(f"{section.label}{section.num_bars}")
        bar = section.end_bar
    return (" " if spaced else "").join(parts)


def check_sections(sections: Sequence[Section], num_bars: int | None = None) -> tuple[Section, ...]:
    """``sections`` as a tuple, checked: in order, not overlapping, inside ``num_bars`` bars.

    Raises:
        TypeError: an item that is not a :class:`Section`.
        ValueError: sections out of order or overlapping, or one that ends
            after ``num_bars`` (when given); the message names the sections.

    >>> check_sections([Section("A", 0, 8), Section("B", 8, 8)], num_bars=16)[1].label
    'B'
    >>> check_sections([Section("A", 0, 8), Section("B", 4, 8)])
    Traceback (most recent call last):
    ValueError: sections must be in order and not overlap: B at bars 4..12 starts before A ...
    """
    out = tuple(sections)
    for section in out:
        if not isinstance(section, Section):
            raise TypeError(f"sections must be Section values (popgen.Section), got {section!r}")
    for before, after in itertools.pairwise(out):
        if after.first_bar < before.end_bar:
            raise ValueError(
                "sections must be in order and not overlap: "
                f"{_span(after)} starts before {_span(before)} ends"
            )
    if num_bars is not None and out and out[-1].end_bar > num_bars:
        raise ValueError(f"section {_span(out[-1])} ends after the song's {num_bars} bars")
    return out


def _span(section: Section) -> str:
    return f"{section.label} at bars {section.first_bar}..{section.end_bar}"


# ------------------------------------------------------------------ bar by bar
def section_per_bar(sections: Sequence[Section], num_bars: int) -> NDArray[np.int64]:
    """int64[num_bars]: the index in ``sections`` of each bar's section, -1 for none.

    >>> section_per_bar(parse_form("A2 -1 B1"), 5).tolist()
    [0, 0, -1, 1, -1]
    """
    out = np.full(num_bars, -1, dtype=np.int64)
    for index, section in enumerate(sections):
        out[section.first_bar : min(section.end_bar, num_bars)] = index
    return out


def bar_labels(sections: Sequence[Section], num_bars: int) -> list[str]:
    """Each bar's section label, ``""`` for a bar without a section.

    >>> bar_labels(parse_form("i1 A2"), 4)
    ['i', 'A', 'A', '']
    """
    index = section_per_bar(sections, num_bars)
    return [sections[i].label if i >= 0 else "" for i in index.tolist()]


# ------------------------------------------------------------------ beats and bars
def moved_sections(
    sections: Sequence[Section],
    old_edges: NDArray[np.float64],
    new_edges: NDArray[np.float64],
    move: Callable[[NDArray[np.float64]], NDArray[np.float64]] | None = None,
) -> tuple[Section, ...]:
    """``sections`` carried from one bar grid to another through a map of beats.

    Each section's first and end bar line (on ``old_edges``, continued at the
    last bar's length past them) go through ``move`` (none: as they are) and
    land on the nearest bar line of ``new_edges``; a section cut to no bars
    is dropped, and none ends after the new grid's last bar. Song transforms
    (slice, quantize, shortened silences) use it.

    >>> old = np.arange(0.0, 33.0, 4.0)  # 8 bars of 4 beats
    >>> moved_sections(parse_form("A4 B4"), old, old[:5], lambda beats: beats - 8.0)
    (Section(label='A', first_bar=0, num_bars=2), Section(label='B', first_bar=2, num_bars=2))
    """
    if not len(sections):
        return ()
    firsts = np.array([s.first_bar for s in sections], dtype=np.int64)
    ends = np.array([s.end_bar for s in sections], dtype=np.int64)
    beats = _beats_of_bars(np.concatenate([firsts, ends]), old_edges)
    if move is not None:
        beats = np.asarray(move(beats), dtype=np.float64)
    bars = _nearest_bar(beats, new_edges)
    return _fitted([s.label for s in sections], bars[: len(firsts)], bars[len(firsts) :])


def _beats_of_bars(bars: NDArray[np.int64], edges: NDArray[np.float64]) -> NDArray[np.float64]:
    """The beat of each bar line index, continuing the grid past its end at the last length."""
    edges = np.asarray(edges, dtype=np.float64)
    last = float(edges[-1] - edges[-2]) if len(edges) > 1 else 4.0
    inside = np.minimum(bars, len(edges) - 1)
    out: NDArray[np.float64] = edges[inside] + (bars - inside) * last
    return out


def _nearest_bar(beats: NDArray[np.float64], edges: NDArray[np.float64]) -> NDArray[np.int64]:
    """The index of the bar line nearest each beat (ties to the later)."""
    at = np.clip(np.searchsorted(edges, beats), 1, max(len(edges) - 1, 1))
    if len(edges) < 2:
        return np.zeros(len(beats), dtype=np.int64)
    earlier = beats - edges[at - 1] < edges[at] - beats
    return np.where(earlier, at - 1, at).astype(np.int64)


def _fitted(
    labels: Sequence[str], firsts: NDArray[np.int64], ends: NDArray[np.int64]
) -> tuple[Section, ...]:
    """Sections from bar ranges, in their order, made not to overlap.

    Each starts where the one before ends or later and is cut where the next
    begins; of two that begin at one bar the later is kept; empty ones are dropped.
    """
    out: list[Section] = []
    nexts = np.append(firsts[1:], np.iinfo(np.int64).max)
    for label, first, end, following in zip(
        labels, firsts.tolist(), ends.tolist(), nexts.tolist(), strict=True
    ):
        first = max(first, out[-1].end_bar if out else 0)
        if following >= first:
            end = min(end, following)
        if end > first:
            out.append(Section(label, first, end - first))
    return tuple(out)


# ------------------------------------------------------------------ MIDI markers
def section_marker(section: Section) -> str:
    """The MIDI marker text of a section, written at its first bar.

    >>> section_marker(Section("A", 4, 8))
    'section:A8'
    """
    return f"{MARKER_PREFIX}{section.label}{section.num_bars}"


def sections_from_markers(
    markers: Sequence[tuple[float, str]], edges: NDArray[np.float64], *, where: str = ""
) -> tuple[Section, ...]:
    """Sections from ``(beat, text)`` MIDI markers whose text is ``section:<label><bars>``.

    Other markers are ignored. A section marker that does not parse, or that
    lies off the bar lines ``edges`` (more than 1/100 beat), is left out; a
    section that overlaps the next is cut where it begins; one past the song's
    last bar (``len(edges) - 1``) is cut there. Each with a warning that
    starts with ``where``.

    >>> edges = np.arange(0.0, 41.0, 4.0)  # 10 bars of 4 beats
    >>> sections_from_markers([(0.0, "C:maj"), (8.0, "section:A4"), (24.0, "section:b2")], edges)
    (Section(label='A', first_bar=2, num_bars=4), Section(label='b', first_bar=6, num_bars=2))
    """
    found: list[tuple[int, Section]] = []
    bad: list[str] = []
    for beat, text in markers:
        if not text.startswith(MARKER_PREFIX):
            continue
        match = _TOKEN.fullmatch(text[len(MARKER_PREFIX) :].strip())
        bar = _nearest_bar(np.array([beat], dtype=np.float64), edges)[0]
        if (
            match is None
            or match.group(1) == "-"
            or len(match.group(2)) > 6
            or not 1 <= int(match.group(2)) <= MAX_SECTION_BARS
            or abs(float(_beats_of_bars(np.array([bar]), edges)[0]) - beat) > 0.01
        ):
            bad.append(f"{text!r} at beat {beat:g}")
            continue
        found.append((int(bar), Section(match.group(1), int(bar), int(match.group(2)))))
    prefix = f"{where}: " if where else ""
    if bad:
        warnings.warn(
            f"{prefix}left out {len(bad)} section markers that are not "
            f"'{MARKER_PREFIX}<letter><bars>' at a bar line: {', '.join(bad[:3])}",
            stacklevel=2,
        )
    found.sort(key=lambda item: item[0])  # stable: file order at one bar
    sections = [s for _, s in found]
    num_bars = len(edges) - 1
    firsts = np.array([s.first_bar for s in sections], dtype=np.int64)
    ends = np.minimum(np.array([s.end_bar for s in sections], dtype=np.int64), num_bars)
    out = _fitted([s.label for s in sections], firsts, ends)
    if out != tuple(sections):
        warnings.warn(
            f"{prefix}section markers overlap or run past the song's {num_bars} bars; "
            f"read them as {format_form(out)!r}",
            stacklevel=2,
        )
    return out


# ------------------------------------------------------------------ inference
def infer_sections(
    edges: NDArray[np.float64],
    melody: NDArray[Any],
    *,
    phrase_bars: int = 8,
    threshold: float = 0.3,
    min_gap: int = 2,
) -> tuple[Section, ...]:
    """Sections found from repeated melody, for songs without labels.

    The method, simple on purpose:

    1. Each bar's melody is the set of its notes' (onset on the 1/4-beat grid
       from the bar's start, pitch).
    2. The melody's *runs* are the stretches of bars with melody between
       silences of ``min_gap`` bars or more. A run whose first bar holds only
       onsets in its second half starts a bar later (that bar is a pickup).
    3. Each run is cut into phrases of ``phrase_bars`` bars (the last one
       shorter). The bars before the first run are an intro ``i``, those
       after the last an outro ``o``, those between runs an interlude ``x``.
    4. Each phrase is compared, bar by bar, with the first phrase of each
       label so far: bars match by the Jaccard index of their melody sets,
       averaged over the phrase's bars. It takes the label of the best match
       when that reaches ``threshold``, else the next capital letter (after
       ``W``, every new phrase is ``X``).

    On POP909's songs 1-700 (:mod:`popgen.formats.phrases`' labelling 1 as the
    truth) the defaults find section boundaries with an F1 of 0.72 (within
    one bar) and bars of one label with a pairwise F1 of 0.71; the second
    human labelling scores 0.90 and 0.91.

    Args:
        edges: the song's bar lines, ``Song.bar_lines()`` (at least one bar).
        melody: the melody's notes, a structured array with ``start`` (beats)
            and ``pitch`` fields (:data:`popgen.music.song.NOTE_DTYPE` rows).
        phrase_bars: bars per phrase, >= 1.
        threshold: the mean bar similarity, in [0, 1], at which a phrase repeats one before it.
        min_gap: silent bars, >= 1, that end a run of melody.

    Returns:
        Sections covering every bar of ``edges``; none when there is no melody.

    >>> notes = np.zeros(12, dtype=[("start", float), ("pitch", int)])
    >>> notes["start"] = [4, 5, 6, 8, 9, 10, 12, 13, 14, 16, 17, 18]
    >>> notes["pitch"] = [60, 62, 64, 67, 65, 64, 60, 62, 64, 67, 65, 64]
    >>> format_form(infer_sections(np.arange(0.0, 29.0, 4.0), notes, phrase_bars=2))
    'i1 A2 A2 o2'
    """
    if phrase_bars < 1:
        raise ValueError(f"phrase_bars must be >= 1, got {phrase_bars}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    if min_gap < 1:
        raise ValueError(f"min_gap must be >= 1, got {min_gap}")
    num_bars = len(edges) - 1
    if not len(melody) or num_bars < 1:
        return ()
    cells = _bar_cells(edges, melody)
    parts: list[tuple[str, int, int]] = []
    heads: dict[str, int] = {}  # label -> first bar of its first phrase
    done = 0
    for first, stop in _runs(edges, melody, cells, min_gap):
        if first > done:
            parts.append(("i" if done == 0 else "x", done, first))
        for start in range(first, stop, phrase_bars):
            end = min(start + phrase_bars, stop)
            scores = {
                label: _phrase_similarity(cells, head, start, end - start)
                for label, head in heads.items()
            }
            best = max(scores, key=lambda label: scores[label], default=None)
            if best is not None and scores[best] >= threshold:
                parts.append((best, start, end))
            else:
                label = chr(ord("A") + len(heads)) if len(heads) < 23 else "X"
                heads.setdefault(label, start)
                parts.append((label, start, end))
        done = stop
    if parts and done < num_bars:
        parts.append(("o", done, num_bars))
    return tuple(Section(label, start, stop - start) for label, start, stop in parts)


def _runs(
    edges: NDArray[np.float64], melody: NDArray[Any], cells: list[frozenset[int]], min_gap: int
) -> list[tuple[int, int]]:
    """``(first bar, stop bar)`` of each run of melody (see :func:`infer_sections`)."""
    sounding = [bar for bar, c in enumerate(cells) if c]
    runs: list[list[int]] = []
    for bar in sounding:
        if runs and bar - runs[-1][1] < min_gap:
            runs[-1][1] = bar + 1
        else:
            runs.append([bar, bar + 1])
    starts = np.asarray(melody["start"], dtype=np.float64)
    for run in runs:
        bar = run[0]
        inside = starts[(starts >= edges[bar] - 1e-9) & (starts < edges[bar + 1] - 1e-9)]
        late = len(inside) and inside.min() - edges[bar] >= (edges[bar + 1] - edges[bar]) / 2
        if late and run[1] - run[0] > 1:
            run[0] += 1
    return [(a, b) for a, b in runs]


def _bar_cells(edges: NDArray[np.float64], melody: NDArray[Any]) -> list[frozenset[int]]:
    """Each bar's melody as a set of ``position * 128 + pitch`` (1/4-beat positions)."""
    start = np.asarray(melody["start"], dtype=np.float64)
    bar = np.clip(np.searchsorted(edges, start + 1 / 8, side="right") - 1, 0, len(edges) - 2)
    position = np.maximum(np.round((start - edges[bar]) * 4), 0).astype(np.int64)
    keys = position * 128 + np.asarray(melody["pitch"], dtype=np.int64)
    cells: list[set[int]] = [set() for _ in range(len(edges) - 1)]
    for b, key in zip(bar.tolist(), keys.tolist(), strict=True):
        cells[b].add(key)
    return [frozenset(c) for c in cells]


def _phrase_similarity(cells: list[frozenset[int]], head: int, start: int, length: int) -> float:
    """Mean Jaccard index of the bars of the phrase at ``start`` and those from ``head``."""
    total = 0.0
    for offset in range(length):
        a, b = cells[head + offset] if head + offset < start else frozenset(), cells[start + offset]
        union = len(a | b)
        total += len(a & b) / union if union else 1.0
    return total / length
