"""Caps on what one song may cost: every limit in one place, with its setting and its warning.

A valid MIDI file can describe a song no stage can hold. Twenty delta times of
``0x0FFFFFFF`` ticks at one tick per beat are five billion beats of silence,
over a billion bars: a 255-byte file whose encodings ask for tens of GiB. A
time signature of 1/2**40 makes bars too short to count. Every stage of popgen
costs memory and time in proportion to a song's notes and bars, so
:class:`Limits` bounds the bars a song can have:

- ``max_silence``: a stretch in which no note starts or ends (a silence, or
  notes held with nothing else happening) longer than this is shortened. The
  stretch loses whole bars of the meter sounding where it begins, so that
  later notes keep their place in the bar (when a bar is longer than half the
  cap, it is shortened to the cap exactly); every later note, chord, bar
  line, tempo and meter change moves earlier by as much, and changes that
  fell inside the part taken out happen where it begins.
- ``max_notes``, ``max_beats``: a longer song is cut: at the onset of the
  first note past ``max_notes`` (every note starting there or later is left
  out) or at ``max_beats``, whichever comes first; notes still sounding there
  end there. The song is kept, cut, rather than skipped: its start is music
  like any other, and one hostile file then costs a bounded share of the
  corpus instead of all of it.
- ``min_bar``: a time signature whose bars would be shorter (or that has no
  length: a numerator or denominator of 0) is dropped; the meter before it
  holds on.
- ``min_bpm``: a slower tempo becomes this one (tempo costs no memory, but
  audio lasts seconds, and MIDI cannot write a tempo below 3.58 bpm).
- ``max_file_bytes``: bigger files are not read at all (mido holds about 150
  bytes of memory per byte of a MIDI file); the corpus skips them, naming
  them. A compressed score (``.mxl``, any zip) is measured unpacked too: a
  member, or all of them, bigger than this is not read.
- ``max_compression_ratio``: a zip whose member unpacks to more than this
  many times its packed size is not read (a zip bomb).
- ``max_seconds_per_file``: music21 may parse one score file (MusicXML, ABC,
  ``**kern``, ...) this long; a slower one is refused.
- ``max_score_notes``: before music21 parses a score file, the notes its text
  holds are counted; a file with more is refused (music21 reads a score whole,
  about 2.5 KB a note, so it cannot be cut while read). See
  :mod:`popgen.formats.score_guard`.

Where they apply: :func:`popgen.corpus.reading.read_file` bounds every song it reads
with :attr:`popgen.corpus.options.CorpusOptions.limits` and warns, naming the
file, and :meth:`popgen.corpus.corpus.Corpus.describe` counts what was shortened,
cut and skipped. The encodings shorten silences longer than
:data:`DEFAULT_LIMITS`' ``max_silence`` as part of their documented loss (a
hand-made song with a billion-beat gap encodes to a few thousand tokens);
writing audio and MusicXML bound the song with :data:`DEFAULT_LIMITS` first.
Decoding needs no cap: each token moves time by a bounded amount.

>>> from popgen.music.song import Song, make_notes
>>> song = Song(make_notes([60, 62], [0, 5_000_000_002], [1, 1]))  # 4/4
>>> shorten_silences(song, 16)[0].notes["start"].tolist()  # whole bars out: still on beat 3
[0.0, 14.0]
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from popgen.checks import is_real, whole_number
from popgen.errors import CorpusError
from popgen.music.bars import SHORTEST_BAR, has_bar
from popgen.music.song import Song
from popgen.music.time import TempoChange, TimeSignature

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "DEFAULT_LIMITS",
    "MAX_AUDIO_SECONDS",
    "MAX_DISPLAY_SECONDS",
    "MAX_GENERATED_BARS",
    "MAX_GENERATED_TOKENS",
    "STUDIO_MAX_BARS",
    "STUDIO_MAX_CANDIDATES",
    "STUDIO_MAX_PRIMER_BYTES",
    "STUDIO_MAX_TOKENS",
    "Limits",
    "bound_song",
    "check_file_size",
    "clamp_tempos",
    "cut_song",
    "drop_short_bars",
    "shorten_silences",
]

#: Relative slack for times that floating point put just past a cap.
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Limits:
    """The caps on one song and one file; see the module docstring for what each does.

    The defaults never touch a song people play: the longest silences of
    real songs are a few bars (a hidden track after minutes of silence is the
    rare exception), the longest pieces a few hours and a few hundred
    thousand notes, and the largest MIDI files a few MiB. ``math.inf``
    turns ``max_silence`` or ``max_beats`` off.

    Raises:
        ValueError: a cap that is not positive (the message repeats it).

    >>> Limits().max_silence, Limits(max_silence=64).replace(max_notes=10_000).max_notes
    (256.0, 10000)
    >>> Limits(max_notes=0)
    Traceback (most recent call last):
    ValueError: max_notes must be a whole number >= 1, got 0
    """

    # beats in which no note starts or ends: 64 bars of 4/4, two minutes at 120 bpm
    max_silence: float = 256.0
    # beats in a song: almost 14 hours at 120 bpm; bounds bars when notes are dense
    max_beats: float = 100_000.0
    # notes in a song: ten times the longest symphony; about 22 MB of note table
    max_notes: int = 1_000_000
    # bytes in a file read: mido needs about 2.4 GB for a 16 MiB MIDI file
    max_file_bytes: int = 16 * 1024 * 1024
    # beats in the shortest bar a time signature may make: 1/64 time
    min_bar: float = SHORTEST_BAR
    # the slowest tempo, bpm: MIDI cannot write one below 3.58; 15 s a beat
    min_bpm: float = 4.0
    # seconds music21 may take on one score file: MusicXML costs it 2 to 9 ms a note
    max_seconds_per_file: float = 300.0
    # unpacked / packed size of a zip member; MusicXML packs 10 to 40 times, a bomb 1000
    max_compression_ratio: float = 200.0
    # notes in one score file music21 parses: about 8 s and 530 MB of music21 objects
    max_score_notes: int = 200_000

    def __post_init__(self) -> None:
        for name in ("max_silence", "max_beats", "max_seconds_per_file", "max_compression_ratio"):
            value = getattr(self, name)
            if not is_real(value) or not value > 0:
                unit = "of beats " if name in ("max_silence", "max_beats") else ""
                raise ValueError(f"{name} must be a number {unit}> 0 (inf: no cap), got {value!r}")
            object.__setattr__(self, name, float(value))
        for name in ("max_notes", "max_file_bytes", "max_score_notes"):
            value = getattr(self, name)
            whole_number(value, name)
        for name in ("min_bar", "min_bpm"):
            value = getattr(self, name)
            if not is_real(value):
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
            if not 0 <= value < math.inf:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
            object.__setattr__(self, name, float(value))

    def replace(self, **changes: Any) -> Limits:
        """A copy with the named caps changed (``dataclasses.replace``), checked anew.

        >>> Limits().replace(max_beats=math.inf).max_beats
        inf
        """
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Limits:
        """The limits a dict of their fields gives (a run's record); missing fields keep defaults.

        Raises:
            TypeError: a name that is not a cap; the message lists the caps.

        >>> Limits.from_dict({"max_silence": 64}).max_silence
        64.0
        >>> Limits.from_dict({"max_silences": 64})
        Traceback (most recent call last):
        TypeError: unknown limit 'max_silences'; the limits are: max_silence, max_beats,
            max_notes, max_file_bytes, min_bar, min_bpm, max_seconds_per_file,
            max_compression_ratio, max_score_notes
        """
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = [str(name) for name in data if name not in known]
        if unknown:
            raise TypeError(
                f"unknown limit {', '.join(map(repr, unknown))}; the limits are: {', '.join(known)}"
            )
        return cls(**dict(data))


#: The caps used where no :class:`Limits` is given: by the encodings, audio and MusicXML.
DEFAULT_LIMITS = Limits()

# The caps outside a file's song: what popgen makes, plays and shows (one place for all).
MAX_AUDIO_SECONDS = 3600.0
"""The longest audio rendered, in seconds (one hour); a longer song is cut there, with a warning.

Audio costs memory in proportion to its length (a float32 hour at 22 050 Hz is 318 MB)."""
MAX_DISPLAY_SECONDS = 600
"""A song shown in a notebook plays its first ten minutes at most (about 26 MB of page)."""
MAX_GENERATED_TOKENS = 200_000
"""The most tokens ``popgen generate --tokens`` makes for one song (minutes on a CPU).

Generation costs time in proportion to the tokens; above this, ``popgen generate`` stops
with one line and writes nothing. The Python API takes any count."""
MAX_GENERATED_BARS = 4096
"""The most bars ``popgen generate --bars`` (or a chord progression) asks for: 2.3 hours
of 4/4 at 120 bpm; above this, ``popgen generate`` stops with one line."""
STUDIO_MAX_CANDIDATES = 4
"""The most candidates one click of the studio writes (each is a row of the batch)."""
STUDIO_MAX_TOKENS = 4096
"""The most tokens one studio candidate may take: a page request must stay seconds."""
STUDIO_MAX_BARS = 128
"""The most bars a studio progression may ask for."""
STUDIO_MAX_PRIMER_BYTES = 4 * 2**20
"""The biggest primer file the studio reads, in bytes."""


def check_file_size(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise unless the file is at most ``limits.max_file_bytes`` long.

    Raises:
        CorpusError: the file is bigger; the message names it, its size and the cap.
        OSError: the file cannot be looked at.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(suffix=".mid") as file:
    ...     _ = file.write(bytes(100)); file.flush()
    ...     check_file_size(file.name, Limits(max_file_bytes=99))
    Traceback (most recent call last):
    popgen.errors.CorpusError: /tmp/....mid: 100 bytes, more than the largest file read
    (99 bytes); to read it, raise Limits.max_file_bytes
    """
    size = os.stat(path).st_size
    if size > limits.max_file_bytes:
        raise CorpusError(
            f"{os.fspath(path)}: {size} bytes, more than the largest file read "
            f"({limits.max_file_bytes} bytes); to read it, raise Limits.max_file_bytes"
        )


def drop_short_bars(song: Song, min_bar: float) -> tuple[Song, int]:
    """``song`` without the time signatures whose bars are shorter than ``min_bar`` beats.

    A signature with a numerator or denominator below 1 has no bar and is
    dropped too; the meter before a dropped one holds on (4/4 when none is
    left). Linear in the time signatures.

    Returns:
        ``(song, how many time signatures were dropped)``; ``song`` itself when none.

    >>> from popgen.music.song import make_notes
    >>> odd = (TimeSignature(0, 3, 4), TimeSignature(3, 1, 2**40), TimeSignature(6, 0, 4))
    >>> song = Song(make_notes([60], [0], [9]), time_signatures=odd)
    >>> song, dropped = drop_short_bars(song, 1 / 16)
    >>> song.time_signatures, dropped
    ((TimeSignature(beat=0.0, numerator=3, denominator=4),), 2)
    """
    sigs = song.time_signatures
    keep = [s for s in sigs if has_bar(s, min_bar)]
    if len(keep) == len(sigs):
        return song, 0
    kept = tuple(keep) or (TimeSignature(0.0, 4, 4),)
    return song.replace(time_signatures=kept), len(sigs) - len(keep)


def clamp_tempos(song: Song, min_bpm: float) -> tuple[Song, int]:
    """``song`` with every tempo slower than ``min_bpm`` made ``min_bpm``.

    Returns:
        ``(song, how many tempo changes were made faster)``; ``song`` itself when none.

    >>> from popgen.music.song import make_notes
    >>> slow = Song(make_notes([60], [0], [1]), tempos=[TempoChange(0, 0.6)])
    >>> song, changed = clamp_tempos(slow, 4.0)
    >>> song.tempos, changed
    ((TempoChange(beat=0.0, bpm=4.0),), 1)
    """
    slow = sum(t.bpm < min_bpm for t in song.tempos)
    if not slow:
        return song, 0
    tempos = tuple(TempoChange(t.beat, max(t.bpm, min_bpm)) for t in song.tempos)
    return song.replace(tempos=tempos), slow


def shorten_silences(song: Song, max_beats: float) -> tuple[Song, int]:
    """Shorten every stretch longer than ``max_beats`` in which no note starts or ends.

    A stretch runs from one note boundary (an onset or an end, or beat 0) to
    the next. One longer than ``max_beats`` loses whole bars of the meter
    sounding where it begins (given :attr:`~popgen.music.song.Song.bars` or the
    time signatures) until it is at most ``max_beats`` long, so that later
    notes keep their place in the bar; when that bar is longer than half of
    ``max_beats``, the stretch becomes exactly ``max_beats`` long. The part
    taken out is at the stretch's start: everything after it (notes, chords,
    given bar lines, tempo and meter changes) moves earlier, and what lay
    inside it moves to where it begins (chords left with no length are
    dropped, bar lines that meet are merged). Notes held across a stretch
    lose the same time. Vectorised; linear in the notes, chords, bar lines
    and changes (plus sorting).

    Args:
        song: any song; its note times must be finite.
        max_beats: the longest stretch kept, > 0 (``math.inf``: none is shortened).

    Returns:
        ``(song, how many stretches were shortened)``; ``song`` itself when none.

    Raises:
        ValueError: ``max_beats`` is not > 0, or a note time is not finite.

    >>> from popgen.music.song import make_notes
    >>> song = Song(make_notes([60, 62, 64], [0, 1001, 1002], [1, 1, 1]))  # 4/4
    >>> short, count = shorten_silences(song, 16)
    >>> short.notes["start"].tolist(), count  # 1000 silent beats lose 246 bars: 16 are left
    ([0.0, 17.0, 18.0], 1)
    >>> held = Song(make_notes([60], [0], [2.0**32]))  # a note held alone is a stretch too
    >>> shorten_silences(held, 16)[0].notes["duration"].tolist()
    [16.0]
    """
    if not max_beats > 0:
        raise ValueError(f"max_beats must be > 0 (inf: no cap), got {max_beats!r}")
    notes = song.notes
    if not len(notes) or max_beats == math.inf:
        return song, 0
    starts, ends = notes["start"], notes["start"] + notes["duration"]
    if not (np.isfinite(starts).all() and np.isfinite(ends).all()):
        raise ValueError(f"{song.source or song.title or 'song'}: note times must be finite")
    limit = max_beats * (1 + _TOLERANCE)
    # a Song's onsets are sorted: no stretch between events is longer than one between
    # onsets (from 0) or from the last onset to the last end, so where none of those is
    # too long, nothing is (without sorting the ends)
    if max(float(np.diff(starts, prepend=0.0).max()), float(ends.max() - starts[-1])) <= limit:
        return song, 0
    events = np.unique(np.concatenate([[0.0], starts, ends]))
    gaps = np.diff(events)
    long = np.flatnonzero(gaps > limit)
    if not len(long):
        return song, 0
    bar = _bar_length_at(song, events[long])
    bar = np.where(bar >= SHORTEST_BAR, bar, math.inf)  # no bar to count: to the cap exactly
    excess = gaps[long] - max_beats
    whole = bar <= max_beats / 2  # whole bars leave more than half the cap
    bars_out = np.ceil(excess / np.where(whole, bar, 1.0) - _TOLERANCE)
    removal = np.zeros(len(gaps))
    removal[long] = np.where(whole, bars_out * bar, excess)
    kept = gaps - removal  # each stretch's new length; where a huge gap lost its precision
    lost = np.zeros(len(gaps), bool)  # (beats of 1e40 from hostile delta times), the cap
    lost[long] = ~((kept[long] > 0) & (kept[long] <= max_beats * (1 + _TOLERANCE)))
    kept[lost] = max_beats
    removal[lost] = gaps[lost] - max_beats
    new_events = np.concatenate([[0.0], np.cumsum(kept)])  # the boundaries, moved

    def move(times: NDArray[np.float64]) -> NDArray[np.float64]:
        """Each time on the shortened clock; times in a part taken out go to its start.

        A time keeps its offset from the boundary before it, less the part taken
        out, and stays before the next boundary: the map never decreases.
        """
        times = np.asarray(times, dtype=np.float64)
        k = np.clip(np.searchsorted(events, times, side="right") - 1, 0, len(events) - 1)
        inside = k < len(gaps)
        g = np.minimum(k, len(gaps) - 1)
        offset = np.maximum(times - events[k] - np.where(inside, removal[g], 0.0), 0.0)
        upper = np.where(inside, new_events[np.minimum(k + 1, len(gaps))], np.inf)
        out: NDArray[np.float64] = np.minimum(new_events[k] + offset, upper)
        return out

    moved = notes.copy()
    moved["start"] = move(starts)
    duration = move(ends) - moved["start"]
    moved["duration"] = np.where(duration > 0, duration, notes["duration"])  # rounding only
    chords = song.chords.copy()
    chord_end = move(chords["start"] + chords["duration"])
    chords["start"] = move(chords["start"])
    chords["duration"] = chord_end - chords["start"]
    out = song.replace(
        notes=moved,
        chords=chords[chords["duration"] > _TOLERANCE],
        bars=np.unique(move(song.bars)),
        tempos=_moved_changes(song.tempos, move),
        time_signatures=_moved_changes(song.time_signatures, move),
        sections=(),
    )
    if song.sections:  # whole bars taken out: the sections lose them too
        edges = out.bar_lines()
        from popgen.music.sections import moved_sections

        out = out.replace(sections=moved_sections(song.sections, song.bar_lines(), edges, move))
    return out, len(long)


def cut_song(
    song: Song, *, max_beats: float = math.inf, max_notes: int | None = None
) -> tuple[Song, int]:
    """``song`` cut where it passes ``max_notes`` notes or ``max_beats`` beats.

    The cut falls at the onset of the first note past ``max_notes`` (in time
    order; every note starting there or later is left out) or at
    ``max_beats``, whichever is earlier. Notes, chords and given bar lines
    still sounding there end there; later ones, and later tempo and meter
    changes, are dropped. Linear in the notes and changes.

    Returns:
        ``(song, how many notes were left out)``; ``song`` itself when it fits.

    >>> from popgen.music.song import make_notes
    >>> song = Song(make_notes([60, 62, 64, 65], [0, 1, 2, 3], [8, 1, 1, 1]))
    >>> short, left_out = cut_song(song, max_notes=2)
    >>> short.notes[["pitch", "start", "duration"]].tolist(), left_out
    ([(60, 0.0, 2.0), (62, 1.0, 1.0)], 2)
    >>> cut_song(song, max_beats=2.5)[0].end
    2.5
    """
    at = _cut_point(song, max_beats, max_notes)
    if at is None:
        return song, 0
    notes = song.notes
    kept = notes[notes["start"] < at].copy()
    kept["duration"] = np.minimum(kept["duration"], at - kept["start"])
    from popgen.music.chords import chords_in

    song = song.replace(
        notes=kept,
        chords=chords_in(song.chords, 0.0, at),
        bars=song.bars[song.bars < at],
        tempos=_changes_before(song.tempos, at),
        time_signatures=_changes_before(song.time_signatures, at),
    )
    return song, len(notes) - len(kept)


def bound_song(song: Song, limits: Limits = DEFAULT_LIMITS) -> Song:
    """``song`` within ``limits``: bars and tempi made sane, long silences shortened, cut if long.

    Applies :func:`drop_short_bars`, :func:`clamp_tempos`,
    :func:`shorten_silences` and :func:`cut_song` in that order, adds what they did to the song's
    :attr:`~popgen.music.song.Song.shortened_silences` and
    :attr:`~popgen.music.song.Song.cut_notes`, and warns once, naming the song's
    source (or title), when anything changed. A song within the limits is
    returned as it is.

    >>> import warnings
    >>> from popgen.music.song import make_notes
    >>> song = Song(make_notes([60, 62, 64], [0, 10**9, 2 * 10**9], [1, 1, 1]), source="gaps.mid")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     bounded = bound_song(song, Limits(max_notes=2))
    >>> bounded.notes["start"].tolist(), bounded.shortened_silences, bounded.cut_notes
    ([0.0, 256.0], 2, 1)
    >>> print(caught[0].message)
    gaps.mid: 2 silences longer than 256 beats shortened to at most that (Limits.max_silence);
    cut at beat 512, the longest song kept (2 notes, 100000 beats; Limits.max_notes,
    Limits.max_beats): 1 notes left out
    """
    said: list[str] = []
    song, dropped = drop_short_bars(song, limits.min_bar)
    if dropped:
        said.append(
            f"{dropped} time signatures with bars shorter than {limits.min_bar:g} beats "
            "dropped (Limits.min_bar)"
        )
    song, slow = clamp_tempos(song, limits.min_bpm)
    if slow:
        said.append(f"{slow} tempos slower than {limits.min_bpm:g} bpm made that (Limits.min_bpm)")
    song, shortened = shorten_silences(song, limits.max_silence)
    if shortened:
        said.append(
            f"{shortened} silences longer than {limits.max_silence:g} beats shortened "
            "to at most that (Limits.max_silence)"
        )
    at = _cut_point(song, limits.max_beats, limits.max_notes)
    song, left_out = cut_song(song, max_beats=limits.max_beats, max_notes=limits.max_notes)
    if at is not None:
        said.append(
            f"cut at beat {at:g}, the longest song kept ({limits.max_notes} notes, "
            f"{limits.max_beats:g} beats; Limits.max_notes, Limits.max_beats): "
            f"{left_out} notes left out"
        )
    if not said:
        return song
    where = song.source or song.title or "a song"
    warnings.warn(f"{where}: {'; '.join(said)}", stacklevel=2)
    return song.replace(
        shortened_silences=song.shortened_silences + shortened,
        cut_notes=song.cut_notes + left_out,
    )


# ----------------------------------------------------------------- helpers
def _bar_length_at(song: Song, times: NDArray[np.float64]) -> NDArray[np.float64]:
    """The length of the bar sounding at each time, as :meth:`Song.bar_lines` would make it."""
    if len(song.bars):
        edges = np.concatenate([[0.0], song.bars[song.bars > 1e-6]])
        if len(edges) < 2:
            return np.full(len(times), 4.0)
        lengths = np.append(np.diff(edges), edges[-1] - edges[-2])  # on at the last length
        return lengths[np.searchsorted(edges, times, side="right") - 1]
    sigs = tuple(s for s in song.time_signatures if has_bar(s))
    if not sigs:
        return np.full(len(times), 4.0)
    beats = np.array([s.beat for s in sigs])
    lengths = np.array([s.numerator * 4 / s.denominator for s in sigs])  # has_bar: d >= 1
    return lengths[np.clip(np.searchsorted(beats, times, side="right") - 1, 0, len(sigs) - 1)]


def _moved_changes(changes: tuple[Any, ...], move: Any) -> tuple[Any, ...]:
    """Tempo or meter changes at their moved beats; of several that meet, the last holds."""
    if not changes:
        return changes
    kind = type(changes[0])
    # in order even where rounding at huge beats (1e40, from hostile delta times) is not
    beats = np.maximum.accumulate(move(np.array([c[0] for c in changes])))
    last = np.append(beats[1:] != beats[:-1], True)
    kept = zip(beats.tolist(), changes, last.tolist(), strict=True)
    return tuple(kind(b, *c[1:]) for b, c, keep in kept if keep)


def _changes_before(changes: tuple[Any, ...], at: float) -> tuple[Any, ...]:
    """The changes before beat ``at``, and the first one whatever its beat."""
    return changes[:1] + tuple(c for c in changes[1:] if c[0] < at)


def _cut_point(song: Song, max_beats: float, max_notes: int | None) -> float | None:
    """Where :func:`cut_song` cuts ``song``, or ``None`` when it fits."""
    at = max_beats
    if max_notes is not None and song.num_notes > max_notes:
        at = min(at, float(song.notes["start"][max_notes]))
    return at if at < song.end else None
