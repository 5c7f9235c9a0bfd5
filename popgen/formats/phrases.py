r"""POP909's phrase labels (``phrases_1.txt``, ``phrases_2.txt``) as a song's sections.

A POP909 song folder holds two human labellings of the song's form, each a
form string such as ``i4A4B8A4o3`` (:func:`popgen.music.sections.parse_form`), and
``phrases_melody.txt``, the melody they were made on: one line per note or
rest, ``pitch length_in_16ths`` (pitch 0 is a rest), bar lines every 16.
Its first bar is the labels' bar 0, but the labellers removed wrong offsets
at the start of songs, so that bar is not always the first bar of the MIDI
file (in song 001 it is the song's bar 1). And the labels' melody counts
4-beat bars throughout: where the beat annotations hold a bar of 1, 2, 3 or
6 beats, it drops or pads beats, so that its bars drift against the song's.
:func:`align_phrases` places each of its bars:

1. Both melodies become grids of the pitch sounding at each 16th note (0 for
   none): the labels' from the file, the song's from its melody track
   (:func:`melody_track`), 4 steps a beat from beat 0.
2. Each bar of the labels' melody may lie at a shift of up to ``window``
   bars either way; a dynamic programme chooses the shifts that make the
   most 16ths agree, a change of shift between two bars costing
   :data:`SHIFT_PENALTY`.
3. The alignment is accepted when the agreement (the share of the 16ths
   where either melody sounds in which both sound the same pitch) is at
   least :data:`MIN_AGREEMENT` and :data:`MIN_MARGIN` above that of any one
   shift half a bar or more from those chosen.

:func:`with_phrase_sections` then moves each section's first and end bar
line to where the alignment puts it in the song and on to the nearest bar
line of the song (:meth:`popgen.music.song.Song.bar_lines`). It uses labelling
1 by default (the first labeller's; the second prefers other phrase splits,
and both are valid), and leaves the song as it is, with a warning naming the
folder, when the files are missing or damaged or the alignment is not
clear. The corpus does this for every annotated POP909 song
(``CorpusOptions.sections``).

>>> import tempfile
>>> from pathlib import Path
>>> from popgen.music.song import Song, Track, make_notes
>>> tune = [(60 + i * i % 17, 4 + i) for i in range(32)]  # from bar 1, a note a beat
>>> song = Song(make_notes(*zip(*tune), [1] * 32), tracks=(Track("MELODY", role="melody"),))
>>> with tempfile.TemporaryDirectory() as tmp:
...     lines = [f"{p} 4" for p, _ in tune]  # the labels' melody starts at the song's bar 1
...     _ = Path(tmp, "phrases_melody.txt").write_text("\n".join(lines))
...     _ = Path(tmp, "phrases_1.txt").write_text("A4B4")
...     found = with_phrase_sections(song, Path(tmp))
>>> format_form(found.sections)
'-1 A4 B4'
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from popgen.formats.phrase_alignment import (
    _PER_BEAT,
    MIN_AGREEMENT,
    MIN_MARGIN,
    SHIFT_PENALTY,
    Alignment,
    align_phrases,
    melody_grid,
)
from popgen.formats.phrase_alignment import _bar_counts as _bar_counts  # tests use it
from popgen.music.sections import (  # noqa: F401  (format_form: the examples)
    Section,
    format_form,
    infer_sections,
    moved_sections,
    parse_form,
)
from popgen.music.song import Song

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "LABEL_FILES",
    "MELODY_FILE",
    "MIN_AGREEMENT",
    "MIN_MARGIN",
    "SHIFT_PENALTY",
    "Alignment",
    "align_phrases",
    "melody_grid",
    "read_phrase_labels",
    "melody_track",
    "read_phrase_melody",
    "with_inferred_sections",
    "with_phrase_sections",
]

#: The two labellings of a POP909 song folder, labelling 1 first.
LABEL_FILES = ("phrases_1.txt", "phrases_2.txt")
#: The melody the labels were made on.
MELODY_FILE = "phrases_melody.txt"


def read_phrase_labels(path: Path) -> tuple[Section, ...]:
    r"""The sections of a ``phrases_1.txt``-style file, from the labels' bar 0.

    Raises:
        ValueError: the text is not a form string; the message starts with the path.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "phrases_1.txt").write_text("i4A8o2\n")
    ...     format_form(read_phrase_labels(Path(tmp, "phrases_1.txt")))
    'i4 A8 o2'
    """
    try:
        return parse_form(path.read_text(errors="replace").strip())
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def read_phrase_melody(path: Path) -> NDArray[np.int16]:
    r"""int16[steps]: the pitch sounding at each 16th of a ``phrases_melody.txt`` (0: none).

    Raises:
        ValueError: a line that is not ``pitch length`` with a pitch in
            0..127 and a length >= 0; the message names the file and line.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "m.txt").write_text("0 4\n60 8\n62 8\n")
    ...     read_phrase_melody(Path(tmp, "m.txt"))[::4].tolist()
    [0, 60, 60, 62, 62]
    """
    data = path.read_bytes()
    numbers = _number_pairs(data)
    if numbers is not None and (numbers[:, 0] <= 127).all() and (numbers[:, 1] <= 100_000).all():
        # the usual file, parsed in one pass; anything else goes line by line, with its errors
        fast: NDArray[np.int16] = np.repeat(numbers[:, 0].astype(np.int16), numbers[:, 1])
        return fast
    pitches: list[int] = []
    lengths: list[int] = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            pitch, length = int(parts[0]), int(parts[1])
        except (IndexError, ValueError):
            pitch, length = -1, -1
        if len(parts) != 2 or not 0 <= pitch <= 127 or not 0 <= length <= 100_000:
            raise ValueError(
                f"{path}, line {number}: {line.strip()[:40]!r} is not "
                "'pitch length_in_16ths' (pitch 0..127, 0 for a rest)"
            )
        pitches.append(pitch)
        lengths.append(length)
    out: NDArray[np.int16] = np.repeat(np.array(pitches, dtype=np.int16), lengths)
    return out


_DIGITS = 9  # the most digits of a number :func:`_number_pairs` reads (exact in float64)


def _number_pairs(data: bytes) -> NDArray[np.int64] | None:
    r"""int64[lines, 2]: the numbers of ``data`` when each line that is not blank is two of them.

    Numbers are plain decimal digits (at most 9); the only other bytes allowed
    are spaces, tabs and line ends. ``None`` for anything else, which
    :func:`read_phrase_melody` reads line by line (with ``int`` and its errors).

    >>> _number_pairs(b"60 4\r\n\n0 12\n").tolist(), _number_pairs(b"60 4 1\n")
    ([[60, 4], [0, 12]], None)
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    digit = (buf >= 0x30) & (buf <= 0x39)
    line_end = (buf == 0x0A) | (buf == 0x0D)
    if not (digit | line_end | (buf == 0x20) | (buf == 0x09)).all():
        return None
    first = digit.copy()
    first[1:] &= ~digit[:-1]  # the first digit of each number
    last = digit.copy()
    last[:-1] &= ~digit[1:]
    starts, ends = np.flatnonzero(first), np.flatnonzero(last) + 1
    if len(starts) % 2 or (len(starts) and (ends - starts).max() > _DIGITS):
        return None
    lines = np.cumsum(line_end)[starts]  # the line of each number: two a line
    if (lines[0::2] != lines[1::2]).any() or (lines[2::2] == lines[1:-1:2]).any():
        return None
    word = (np.cumsum(first) - 1)[digit]  # at each digit, its number
    places = ends[word] - 1 - np.flatnonzero(digit)  # 10**place of each digit
    values = np.bincount(word, weights=(buf[digit] - 0x30) * 10.0**places, minlength=len(starts))
    return np.rint(values).astype(np.int64).reshape(-1, 2)


def with_phrase_sections(song: Song, folder: Path, *, labelling: int = 1, window: int = 8) -> Song:
    """``song`` with the sections of the phrase labels in ``folder``, aligned to its bars.

    The labels are placed by :func:`align_phrases` (see the module docstring);
    sections before the song's bar 0 or past its last bar are cut there. The
    song is returned as it is when ``folder`` holds no labels; with a warning
    naming the folder when the labels or melody cannot be read, the song has
    no melody track (a track whose role is ``"melody"``, else one named
    ``MELODY``), or the alignment is not clear.

    Args:
        song: a POP909 song read with its beat annotations (its bars).
        folder: the song's folder, holding ``phrases_<labelling>.txt`` and
            ``phrases_melody.txt``.
        labelling: which labelling, 1 or 2 (:data:`LABEL_FILES`).
        window: the largest offset tried, in bars.

    ```python
    path = Path("pop909/001/001.mid")
    song = with_phrase_sections(read_file(path)[0], path.parent)
    format_form(song.sections)  # '-1 i4 A4 B8 A4 A4 b4 B8 ...'
    ```
    """
    if labelling not in (1, 2):
        raise ValueError(f"labelling must be 1 or 2, got {labelling!r}")
    label_file, melody_file = folder / LABEL_FILES[labelling - 1], folder / MELODY_FILE
    if not label_file.is_file():
        return song
    melody = melody_track(song)
    try:
        if not melody_file.is_file():
            raise ValueError(f"no {MELODY_FILE} to place the labels with")
        if melody is None:
            raise ValueError("no melody track (role 'melody' or named MELODY)")
        sections = read_phrase_labels(label_file)
        labels = read_phrase_melody(melody_file)
        found = align_phrases(labels, melody_grid(song, melody), window=window)
    except (OSError, ValueError) as exc:
        warnings.warn(f"{folder}: phrase labels not read ({exc})", stacklevel=2)
        return song
    if not found.accepted:
        warnings.warn(
            f"{folder}: phrase labels left out: their melody matches the song's at best "
            f"{found.agreement:.2f} (from beat {found.shifts[0] / _PER_BEAT:g}), "
            f"elsewhere {found.runner_up:.2f}; "
            f"expected >= {MIN_AGREEMENT} and {MIN_MARGIN} clear",
            stacklevel=2,
        )
        return song
    bars = max(sections[-1].end_bar if sections else 0, len(found.shifts))
    grid = np.arange(bars + 1, dtype=np.float64)
    lines = found.bar_lines(bars)  # where the labels' bar lines lie in the song

    def move(at: NDArray[np.float64]) -> NDArray[np.float64]:
        out: NDArray[np.float64] = lines[np.clip(np.round(at).astype(np.int64), 0, bars)]
        return out

    return song.replace(sections=moved_sections(sections, grid, song.bar_lines(), move))


def melody_track(song: Song) -> int | None:
    """The index of the song's melody: the one track whose role is ``"melody"``, else named MELODY.

    A song of one track is its own melody; otherwise ``None`` when no track (or
    several) qualifies.

    >>> from popgen.music.song import Track, make_notes
    >>> two = (Track("PIANO"), Track("Melody"))
    >>> melody_track(Song(make_notes([48, 72], [0, 0], [1, 1], track=[0, 1]), tracks=two))
    1
    """
    if len(song.tracks) == 1:
        return 0
    for found in (
        [i for i, t in enumerate(song.tracks) if t.role == "melody"],
        [i for i, t in enumerate(song.tracks) if t.name.strip().upper() == "MELODY"],
    ):
        if len(found) == 1:
            return found[0]
    return None


def with_inferred_sections(song: Song, *, phrase_bars: int = 8) -> Song:
    """``song`` with sections found from its melody's repeats (:func:`infer_sections`).

    The melody is :func:`melody_track`'s; a song without one is returned as it is.

    >>> from popgen.music.song import make_notes
    >>> phrase = [60, 62, 64, 65, 67, 65, 64, 62]  # two bars of quarter notes
    >>> song = Song(make_notes(phrase * 2 + phrase[::-1] * 2, range(32), [1] * 32))
    >>> format_form(with_inferred_sections(song, phrase_bars=2).sections)
    'A2 A2 B2 B2'
    """
    track = melody_track(song)
    if track is None:
        return song
    melody = song.notes[song.notes["track"] == track]
    found = infer_sections(song.bar_lines(), melody, phrase_bars=phrase_bars)
    return song.replace(sections=found)
