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

import itertools
import os
import warnings
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

import numpy as np

from popgen.formats.annotation_text import read_beat_file, read_chord_file, read_chord_segments
from popgen.music.bars import signatures_from_bars
from popgen.music.chords import CHORD_DTYPE, Chord
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
    beat, chord = folder / BEAT_FILE, folder / CHORD_FILE
    is_beat, is_chord = beat.is_file(), chord.is_file()
    if not (is_beat or is_chord):
        return None, None
    midis = 0
    with os.scandir(folder) as entries:  # names only: no Path for each entry
        for entry in entries:
            midis += _is_midi_name(entry.name)
    if midis != 1:
        return None, None
    return (beat if is_beat else None), (chord if is_chord else None)


def _is_midi_name(name: str) -> bool:
    """Whether a file name's suffix is ``.mid`` or ``.midi`` (any case), as ``Path.suffix``."""
    return name.lower().endswith((".mid", ".midi")) and (
        PurePath(name).suffix.lower() in (".mid", ".midi")
    )


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
    # each part's changes, applied as one Song (or one after the other where the
    # song has sections: each carries them by beats, see Song.replace)
    parts = [_moved(song, shift)] if shift else []
    if len(bars):
        bars = bars[bars >= 0]
        parts.append({"bars": bars, "time_signatures": signatures_from_bars(bars)})
    if chord_file is not None:
        segments = read_chord_segments(chord_file, stacklevel=2)
        parts.append({"chords": _chord_array(segments, song, shift, chord_file)})
    if not parts:
        return song
    if song.sections:
        for changes in parts:
            song = song.replace(**changes)
        return song
    return song.replace(**{k: v for changes in parts for k, v in changes.items()})


def _on_beats(beats: NDArray[np.float64]) -> bool:
    return bool(np.abs(beats - np.round(beats)).max() < 1e-3)


def _shift_onto_beats(beats: NDArray[np.float64], song: Song) -> float:
    """The move that puts annotated ``beats`` on whole beats.

    Earlier when no note would start before beat 0, else later.
    """
    first_beat = float(beats[0])
    offset = (first_beat + _median((beats - first_beat + 0.5) % 1.0 - 0.5)) % 1.0
    if min(offset, 1.0 - offset) < 1e-4:
        return 0.0
    first = float(song.notes["start"].min()) if song.num_notes else 0.0
    return -offset if first >= offset - 1e-9 else 1.0 - offset


def _median(values: NDArray[np.float64]) -> float:
    """``np.median`` of finite values, without its checks: the middle value, or the two's mean.

    >>> _median(np.array([3.0, 1.0, 2.0, 10.0])), float(np.median([3.0, 1.0, 2.0, 10.0]))
    (2.5, 2.5)
    """
    half = len(values) // 2
    if len(values) % 2:
        return float(np.partition(values, half)[half])
    low, high = np.partition(values, [half - 1, half])[half - 1 : half + 1]
    return float((low + high) / 2.0)


def _moved(song: Song, shift: float) -> dict[str, Any]:
    """Every time of ``song`` moved by ``shift`` beats (the tempo sounding at the new 0 holds).

    The changes to make: new ``notes``, ``tempos`` and ``chords``.
    """
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
    return {"notes": notes, "tempos": tuple(moved), "chords": chords}


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
    rows = np.fromiter(itertools.chain.from_iterable(labels), np.int64, 3 * len(labels))
    rows = rows.reshape(-1, 3)[order]  # (root, quality, bass) per segment
    seconds = np.concatenate([seconds_start[order], seconds_end[order]])  # one tempo map lookup
    both = seconds_to_beats(seconds, song.tempos) + shift
    starts, ends = both[: len(order)], both[len(order) :]
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
