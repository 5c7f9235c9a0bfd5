r"""POP909's annotation text: ``beat_midi.txt`` and ``chord_midi.txt`` read into numbers and chords.

The usual file (three columns of plain words) is read in one pass, numbers
through numpy and each distinct chord label parsed once; any other file goes
line by line, with the warnings of :func:`read_beat_file` and
:func:`read_chord_file`. :mod:`popgen.formats.annotations` applies them to a song.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from popgen.music.chords import NO_CHORD, Chord, parse_chord

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["read_beat_file", "read_chord_file", "read_chord_segments"]


def read_beat_file(path: Path) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    r"""Beat times in seconds and downbeat flags from a ``beat_midi.txt``-style file.

    Lines that are not numbers are skipped with a warning; beats out of order
    are sorted, with a warning.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "b.txt").write_text("0.0 1 1\n0.5 0 0\n1.0 1 0\n1.5 0 0\n")
    ...     times, down = read_beat_file(Path(tmp, "b.txt"))
    >>> times.tolist(), down.tolist()
    ([0.0, 0.5, 1.0, 1.5], [True, False, False, False])
    """
    columns = _columns(path.read_bytes())
    if columns is not None:  # the usual file: numbers in three columns, parsed in one pass
        times, down = _beat_columns(columns)
        if times is not None and down is not None:
            return _sorted_beats(path, times, down)
    rows: list[tuple[float, bool]] = []
    bad = 0
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        try:
            time = float(parts[0])
            is_down = bool(float(parts[-1])) if len(parts) > 1 else False
        except (IndexError, ValueError):
            bad += bool(line.strip())
            continue
        if np.isfinite(time) and time >= 0:
            rows.append((time, is_down))
        else:
            bad += 1
    if bad:
        warnings.warn(f"{path}: skipped {bad} unreadable beat lines", stacklevel=2)
    times = np.array([t for t, _ in rows], dtype=np.float64)
    down = np.array([d for _, d in rows], dtype=bool)
    return _sorted_beats(path, times, down)


def _sorted_beats(
    path: Path, times: NDArray[np.float64], down: NDArray[np.bool_]
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    if len(times) > 1 and np.diff(times).min() <= 0:
        warnings.warn(f"{path}: beats out of order or repeated; sorted them", stacklevel=3)
        times, first = np.unique(times, return_index=True)
        down = down[first]
    return times, down


def _columns(data: bytes) -> list[bytes] | None:
    """The words of ``data`` when every line that is not blank holds exactly three.

    ``None`` for anything else (other counts, bytes that are not ASCII, control
    characters other than tab and line ends), which the line-by-line readers
    take, with their warnings. On these bytes ``bytes.split`` and the line
    readers' ``str.split`` agree.
    """
    buf = np.frombuffer(data, dtype=np.uint8)
    if not len(buf):
        return []
    counts = np.bincount(buf, minlength=256)
    if counts[128:].any() or counts[:32].sum() != counts[9] + counts[10] + counts[13]:
        return None
    line_end = (buf == 10) | (buf == 13)
    blank = line_end | (buf == 32) | (buf == 9)
    first = ~blank
    first[1:] &= blank[:-1]  # the first byte of each word
    lines = np.cumsum(line_end, dtype=np.int32 if len(buf) < 2**31 else np.int64)
    words = np.bincount(lines[first])
    if not ((words == 0) | (words == 3)).all():
        return None
    return data.split()


def _beat_columns(
    words: list[bytes],
) -> tuple[NDArray[np.float64] | None, NDArray[np.bool_] | None]:
    """Times and downbeat flags of three-column beat lines; ``None`` where a line is bad."""
    try:
        times = np.array(words[0::3], dtype=np.float64)  # float() of each word
        down: NDArray[np.bool_] = np.array(words[2::3], dtype=np.float64) != 0
    except ValueError:
        return None, None
    if not (np.isfinite(times).all() and (times >= 0).all()):
        return None, None
    return times, down


def read_chord_file(path: Path) -> list[tuple[float, float, Chord]]:
    r"""``(start s, end s, chord)`` segments from a ``chord_midi.txt``-style file.

    An unknown label becomes "no chord" and a line that is not ``start end
    label`` is skipped, each with a warning naming the file.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "c.txt").write_text("0 2 C:maj\n2 4 Bb:min7\n")
    ...     [(a, b, c.symbol) for a, b, c in read_chord_file(Path(tmp, "c.txt"))]
    [(0.0, 2.0, 'C'), (2.0, 4.0, 'Bbm7')]
    """
    starts, ends, chords = read_chord_segments(path, stacklevel=3)
    return list(zip(starts.tolist(), ends.tolist(), chords, strict=True))


def read_chord_segments(
    path: Path, stacklevel: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], list[Chord]]:
    r""":func:`read_chord_file`'s segments as columns: starts, ends (seconds), chords.

    Args:
        path: a ``chord_midi.txt``-style file.
        stacklevel: of the warnings (as :func:`warnings.warn`'s), counted from here.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "c.txt").write_text("0 2 C:maj\n2 4 N\n")
    ...     starts, ends, chords = read_chord_segments(Path(tmp, "c.txt"), stacklevel=2)
    >>> starts.tolist(), ends.tolist(), [c.label for c in chords]
    ([0.0, 2.0], [2.0, 4.0], ['C:maj', 'N'])
    """
    words = _columns(path.read_bytes())
    if words is not None:  # the usual file: three columns, each label parsed once
        try:
            starts = np.array(words[0::3], dtype=np.float64)  # float() of each word
            ends = np.array(words[1::3], dtype=np.float64)
        except ValueError:
            words = None
    if words is not None:
        labels = [word.decode() for word in words[2::3]]
        known: dict[str, Chord] = {}
        unknown = []
        for label in dict.fromkeys(labels):
            try:
                known[label] = _parsed(label)
            except ValueError:
                unknown.append(label)
                known[label] = NO_CHORD
        chords = [known[label] for label in labels]
        kept = np.isfinite(starts) & np.isfinite(ends) & (ends > starts)
        bad = len(kept) - int(kept.sum())
        if bad:
            chords = [c for c, k in zip(chords, kept.tolist(), strict=True) if k]
            starts, ends = starts[kept], ends[kept]
    else:
        segments: list[tuple[float, float, Chord]] = []
        unknown = []
        bad = 0
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split()
            if not parts:
                continue
            try:
                start, end = float(parts[0]), float(parts[1])
                label = parts[2]
            except (IndexError, ValueError):
                bad += 1
                continue
            try:
                chord = _parsed(label)
            except ValueError:
                unknown.append(label)
                chord = NO_CHORD
            if np.isfinite(start) and np.isfinite(end) and end > start:
                segments.append((start, end, chord))
            else:
                bad += 1
        starts = np.array([s[0] for s in segments], dtype=np.float64)
        ends = np.array([s[1] for s in segments], dtype=np.float64)
        chords = [s[2] for s in segments]
    if bad:
        warnings.warn(
            f"{path}: skipped {bad} unreadable or empty chord lines", stacklevel=stacklevel
        )
    if unknown:
        labels_text = ", ".join(sorted(set(unknown))[:5])
        warnings.warn(
            f"{path}: unknown chord labels ({labels_text}); read as no chord",
            stacklevel=stacklevel,
        )
    return starts, ends, chords


@lru_cache(maxsize=4096)
def _parsed(label: str) -> Chord:
    """:func:`~popgen.music.chords.parse_chord`, once per distinct label (a ``Chord`` is a tuple).

    Raises:
        ValueError: as ``parse_chord`` (errors are not kept: an unknown label is parsed again).
    """
    return parse_chord(label)
