r"""Beat and chord annotations beside a MIDI file (POP909's ``beat_midi.txt``, ``chord_midi.txt``).

A POP909 song folder holds ``NNN.mid`` and, beside it, ``beat_midi.txt`` (one
line per beat: time in seconds, then two 0/1 markers, the last 1 on each
bar's first beat) and ``chord_midi.txt`` (one line per chord segment: start
and end in seconds, then a Harte label such as ``C#:maj``, ``Bb:min7`` or
``N``). :func:`apply_annotations` puts them into the song read from the MIDI
file:

* **Bars.** The annotated beats fall one MIDI beat apart but off MIDI's beat
  grid (song 001's by 0.083 beats), so the whole song (notes, tempo changes,
  chords) is moved by less than one beat (earlier when no note would start
  before 0, else later; in MIDI beats) to put them on whole beats;
  the annotated downbeats become :attr:`Song.bars` and the time signatures
  are rewritten from them (POP909's files declare 1/4 or 2/4 while their bars
  are 4 beats long). Beats that do not lie one MIDI beat apart are taken as
  they are, without the move.
* **Chords.** Segments are converted from seconds to beats through the tempo
  map, parsed (:func:`popgen.music.chords.parse_chord`) and cut at the song's end
  (the last note's end; POP909's last chord usually rings on past it).

Anything that disagrees with the MIDI (beats out of order, chords that start
after the song's end or overlap, an unknown label, a file with no beats) is
repaired with a warning that names the file and what was done instead.

>>> import tempfile
>>> from pathlib import Path
>>> from popgen.music.song import Song, make_notes
>>> from popgen.music.time import TempoChange
>>> song = Song(make_notes([60, 64], [0.5, 4.5], [4, 4]), tempos=[TempoChange(0, 60)])
>>> with tempfile.TemporaryDirectory() as tmp:
...     beats = "".join(f"{0.5 + i} 0 {int(i % 4 == 0)}\n" for i in range(8))
...     _ = Path(tmp, "beat_midi.txt").write_text(beats)
...     _ = Path(tmp, "chord_midi.txt").write_text("0.5 4.5 C:maj\n4.5 8.5 A:min\n")
...     read = apply_annotations(song, Path(tmp, "beat_midi.txt"), Path(tmp, "chord_midi.txt"))
>>> read.notes["start"].tolist(), read.bars.tolist()
([0.0, 4.0], [0.0, 4.0])
>>> from popgen.music.chords import chord_labels
>>> chord_labels(read.chords), read.chords["start"].tolist()
(['C:maj', 'A:min'], [0.0, 4.0])
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from popgen.music.bars import signatures_from_bars
from popgen.music.chords import CHORD_DTYPE, NO_CHORD, Chord, parse_chord
from popgen.music.song import Song
from popgen.music.time import TempoChange, seconds_to_beats

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "BEAT_FILE",
    "CHORD_FILE",
    "annotation_files",
    "apply_annotations",
    "read_beat_file",
    "read_chord_file",
]

#: File names of the annotations read beside a MIDI file.
BEAT_FILE = "beat_midi.txt"
CHORD_FILE = "chord_midi.txt"
#: Grid chord boundaries are rounded to (steps per beat): they fall on annotated beats.
_GRID = 48


def annotation_files(midi_path: Path) -> tuple[Path | None, Path | None]:
    """The beat and chord files that annotate ``midi_path``, each ``None`` when absent.

    They are read only when the MIDI file is the one MIDI file of its folder
    (as in POP909's song folders), since they do not name the file they annotate.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("001.mid", "chord_midi.txt"):
    ...         _ = Path(tmp, name).write_text("")
    ...     [p and p.name for p in annotation_files(Path(tmp, "001.mid"))]
    [None, 'chord_midi.txt']
    """
    folder = midi_path.parent
    found = [folder / BEAT_FILE, folder / CHORD_FILE]
    if not any(p.is_file() for p in found):
        return None, None
    midis = [p for p in folder.iterdir() if p.suffix.lower() in (".mid", ".midi")]
    if len(midis) != 1:
        return None, None
    beat, chord = (p if p.is_file() else None for p in found)
    return beat, chord


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
        marks = {word: float(word) != 0 for word in dict.fromkeys(words[2::3])}
    except ValueError:
        return None, None
    if not (np.isfinite(times).all() and (times >= 0).all()):
        return None, None
    down = np.array([marks[word] for word in words[2::3]], dtype=bool)
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
    starts, ends, chords = _chord_segments(path, stacklevel=3)
    return list(zip(starts.tolist(), ends.tolist(), chords, strict=True))


def _chord_segments(
    path: Path, stacklevel: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], list[Chord]]:
    """:func:`read_chord_file`'s segments as columns: starts, ends (seconds), chords."""
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
                known[label] = parse_chord(label)
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
                chord = parse_chord(label)
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


def apply_annotations(song: Song, beat_file: Path | None, chord_file: Path | None) -> Song:
    """``song`` with the bars and chords of its annotation files (see the module docstring).

    Args:
        song: a song read from a MIDI file (times in MIDI beats).
        beat_file: its ``beat_midi.txt``, or ``None``.
        chord_file: its ``chord_midi.txt``, or ``None``.

    Returns:
        The song moved onto the annotated beats, with ``bars``, rewritten
        time signatures and ``chords``; unchanged parts where a file is absent.

    A POP909 song as the corpus reads it (``Corpus.from_paths`` does this for
    every MIDI file with annotations beside it):

    ```python
    path = Path("pop909/001/001.mid")
    song = apply_annotations(read_midi(path), *annotation_files(path))
    song.bars[:3], song.time_signatures[0]  # [0, 4, 8], TimeSignature(0.0, 4, 4)
    ```
    """
    shift = 0.0
    bars = np.zeros(0)
    if beat_file is not None:
        times, down = read_beat_file(beat_file)
        if not len(times):
            warnings.warn(
                f"{beat_file}: no beats; bars follow the MIDI file's time signatures",
                stacklevel=2,
            )
        else:
            beats = seconds_to_beats(times, song.tempos)
            steps = np.diff(beats)
            if len(steps) and np.abs(steps - 1.0).max() < 0.02:
                shift = _shift_onto_beats(beats, song)
            elif len(steps):
                warnings.warn(
                    f"{beat_file}: beats are not one MIDI beat apart; "
                    "bars kept where the annotation puts them, the notes not moved",
                    stacklevel=2,
                )
            bars = beats[down] + shift
            bars = np.unique(np.round(bars) if shift or _on_beats(beats) else bars) + 0.0
            if not len(bars):
                warnings.warn(
                    f"{beat_file}: no downbeats marked; bars follow the time signatures",
                    stacklevel=2,
                )
    out = _moved(song, shift) if shift else song
    if len(bars):
        bars = bars[bars >= 0]
        out = out.replace(bars=bars, time_signatures=signatures_from_bars(bars))
    if chord_file is not None:
        segments = _chord_segments(chord_file, stacklevel=2)
        out = out.replace(chords=_chord_array(segments, song, shift, chord_file))
    return out


def _on_beats(beats: NDArray[np.float64]) -> bool:
    return bool(np.abs(beats - np.round(beats)).max() < 1e-3)


def _shift_onto_beats(beats: NDArray[np.float64], song: Song) -> float:
    """The move that puts annotated ``beats`` on whole beats.

    Earlier when no note would start before beat 0, else later.
    """
    first_beat = float(beats[0])
    offset = (first_beat + float(np.median((beats - first_beat + 0.5) % 1.0 - 0.5))) % 1.0
    if min(offset, 1.0 - offset) < 1e-4:
        return 0.0
    first = float(song.notes["start"].min()) if song.num_notes else 0.0
    return -offset if first >= offset - 1e-9 else 1.0 - offset


def _moved(song: Song, shift: float) -> Song:
    """Every time of ``song`` moved by ``shift`` beats (the tempo sounding at the new 0 holds)."""
    notes = song.notes.copy()
    notes["start"] = np.maximum(notes["start"] + shift, 0.0)
    origin = max(-shift, 0.0)
    tempos = list(song.tempos) or [TempoChange(0.0, 120.0)]
    active = [t for t in tempos if t.beat <= origin + 1e-9][-1:] or tempos[:1]
    moved = [TempoChange(0.0, active[0].bpm)]
    for t in tempos:
        beat = t.beat + shift
        if t.beat > origin + 1e-9 and beat > 1e-9 and t.bpm != moved[-1].bpm:
            moved.append(TempoChange(beat, t.bpm))
    chords = song.chords.copy()  # e.g. read from the MIDI file's chord markers
    ends = chords["start"] + chords["duration"] + shift
    chords["start"] = np.maximum(chords["start"] + shift, 0.0)
    chords["duration"] = ends - chords["start"]
    chords = chords[chords["duration"] > 0]
    return song.replace(notes=notes, tempos=tuple(moved), chords=chords)


def _chord_array(
    segments: tuple[NDArray[np.float64], NDArray[np.float64], list[Chord]],
    song: Song,
    shift: float,
    path: Path,
) -> NDArray[Any]:
    """Chord segments in beats on the moved song, cut to the song and to each other."""
    seconds_start, seconds_end, labels = segments
    if not labels:
        return np.zeros(0, CHORD_DTYPE)
    order = np.argsort(seconds_start, kind="stable")
    rows = np.array(labels, dtype=np.int64)[order]  # (root, quality, bass) per segment
    starts = seconds_to_beats(seconds_start[order], song.tempos) + shift
    ends = seconds_to_beats(seconds_end[order], song.tempos) + shift
    starts, ends = np.round(starts * _GRID) / _GRID + 0.0, np.round(ends * _GRID) / _GRID + 0.0
    overlap = ends[:-1] > starts[1:]
    if overlap.any():
        warnings.warn(
            f"{path}: {int(overlap.sum())} chord segments overlap the next; cut them there",
            stacklevel=3,
        )
        ends[:-1] = np.where(overlap, starts[1:], ends[:-1])
    song_end = song.end + shift
    after = starts >= song_end - 1e-6
    named = after & (rows[:, 0] >= 0)
    if named.any():
        warnings.warn(
            f"{path}: {int(named.sum())} chords start at or after the song's end "
            f"(beat {song_end:g}); left them out",
            stacklevel=3,
        )
    ends = np.minimum(ends, max(song_end, 0.0))  # the last chord ends with the last note
    chords = np.zeros(len(rows), CHORD_DTYPE)
    chords["start"], chords["duration"] = starts, ends - starts
    chords["root"], chords["quality"], chords["bass"] = rows.T
    early = chords["start"] < 0  # before the first annotated beat, moved before 0
    chords["duration"][early] += chords["start"][early]
    chords["start"][early] = 0.0
    chords = chords[(chords["duration"] > 0) & ~after]
    return _merge_repeats(chords)


def _merge_repeats(chords: NDArray[Any]) -> NDArray[Any]:
    """Consecutive segments of one chord that touch become one (POP909 repeats ``N`` per beat)."""
    if len(chords) < 2:
        return chords
    same = (
        (chords["root"][1:] == chords["root"][:-1])
        & (chords["quality"][1:] == chords["quality"][:-1])
        & (chords["bass"][1:] == chords["bass"][:-1])
        & (np.abs(chords["start"][1:] - chords["start"][:-1] - chords["duration"][:-1]) < 1e-6)
    )
    head = np.concatenate([[True], ~same])
    group = np.cumsum(head) - 1
    out: NDArray[Any] = chords[head].copy()
    ends = chords["start"] + chords["duration"]
    last_end = np.zeros(len(out))
    np.maximum.at(last_end, group, ends)
    out["duration"] = last_end - out["start"]
    return out
