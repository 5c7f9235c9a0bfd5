"""Chord labels: parse, print, pitch classes; chord segments as a numpy array.

A chord is a root pitch class, a quality (an index into :data:`QUALITIES`)
and a bass pitch class; "no chord" has all three at -1. A song's chords are a
structured array of :data:`CHORD_DTYPE`, one row per segment, times in beats
like the song's notes (see :attr:`popgen.music.song.Song.chords`).

Two spellings are read: the Harte syntax of chord annotations (POP909's
``chord_midi.txt``, MIREX): ``"C#:maj"``, ``"Bb:min7"``, ``"C:maj/3"``,
``"N"``; and the lead-sheet symbols people type: ``"C"``, ``"Am"``, ``"G7"``,
``"Fmaj7"``, ``"F/A"``, ``"Bdim"``, ``"Dsus4"``.

>>> chord = parse_chord("A:min7/b7")
>>> chord.label, chord.symbol, chord.pitch_classes
('A:min7/b7', 'Am7/G', (0, 4, 7, 9))
>>> parse_chord("F/A").label
'F:maj/3'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

from popgen.music.keys import spelled_names

__all__ = [
    "CHORD_DTYPE",
    "NO_CHORD",
    "QUALITIES",
    "Chord",
    "chord_labels",
    "chord_tone_mask",
    "chords_in",
    "make_chords",
    "parse_chord",
    "sorted_chords",
    "transpose_chords",
]

#: dtype of :attr:`popgen.music.song.Song.chords`: one row per chord segment, times in beats;
#: ``root``, ``quality`` and ``bass`` are -1 for "no chord".
CHORD_DTYPE = np.dtype(
    [
        ("start", np.float64),  # onset, beats from the song's start
        ("duration", np.float64),  # length in beats, > 0
        ("root", np.int8),  # pitch class 0..11, -1 = no chord
        ("quality", np.int8),  # index into QUALITIES, -1 = no chord
        ("bass", np.int8),  # pitch class of the lowest tone, -1 = no chord
    ]
)


class _Quality(NamedTuple):
    name: str  # Harte name, as in POP909's annotations
    intervals: tuple[int, ...]  # semitones above the root
    symbol: str  # lead-sheet suffix
    triad: str | None  # "maj" or "min" when the chord is a major or minor triad plus extensions


#: The chord qualities popgen knows, in a fixed order (their index is stored in files).
QUALITIES: tuple[_Quality, ...] = (
    _Quality("maj", (0, 4, 7), "", "maj"),
    _Quality("min", (0, 3, 7), "m", "min"),
    _Quality("dim", (0, 3, 6), "dim", None),
    _Quality("aug", (0, 4, 8), "aug", None),
    _Quality("sus2", (0, 2, 7), "sus2", None),
    _Quality("sus4", (0, 5, 7), "sus4", None),
    _Quality("7", (0, 4, 7, 10), "7", "maj"),
    _Quality("maj7", (0, 4, 7, 11), "maj7", "maj"),
    _Quality("min7", (0, 3, 7, 10), "m7", "min"),
    _Quality("hdim7", (0, 3, 6, 10), "m7b5", None),
    _Quality("dim7", (0, 3, 6, 9), "dim7", None),
    _Quality("maj6", (0, 4, 7, 9), "6", "maj"),
    _Quality("min6", (0, 3, 7, 9), "m6", "min"),
    _Quality("minmaj7", (0, 3, 7, 11), "m(maj7)", "min"),
    _Quality("sus4(b7)", (0, 5, 7, 10), "7sus4", None),
    _Quality("9", (0, 4, 7, 10, 2), "9", "maj"),
    _Quality("maj9", (0, 4, 7, 11, 2), "maj9", "maj"),
    _Quality("min9", (0, 3, 7, 10, 2), "m9", "min"),
    _Quality("5", (0, 7), "5", None),
)
_BY_NAME = {q.name: i for i, q in enumerate(QUALITIES)}
_BY_SYMBOL = {q.symbol: i for i, q in enumerate(QUALITIES)}
_SYMBOL_ALIASES = {
    "M": "",
    "maj": "",
    "min": "m",
    "o": "dim",
    "°": "dim",
    "+": "aug",
    "M7": "maj7",
    "Δ": "maj7",
    "Δ7": "maj7",
    "min7": "m7",
    "ø": "m7b5",
    "ø7": "m7b5",
    "o7": "dim7",
    "°7": "dim7",
    "sus": "sus4",
    "sus4(b7)": "7sus4",
    "mmaj7": "m(maj7)",
    "mM7": "m(maj7)",
    "maj6": "6",
    "min6": "m6",
    "min9": "m9",
    "M9": "maj9",
}
_NOTES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_DEGREES = {"1": 0, "2": 2, "3": 4, "4": 5, "5": 7, "6": 9, "7": 11, "9": 2, "11": 5, "13": 9}


class Chord(NamedTuple):
    """One chord: root and bass pitch classes and a quality index (all -1: no chord).

    >>> Chord(7, QUALITIES.index(next(q for q in QUALITIES if q.name == "7")), 11).symbol
    'G7/B'
    >>> NO_CHORD.label, NO_CHORD.pitch_classes
    ('N', ())
    """

    root: int
    quality: int
    bass: int

    @property
    def is_none(self) -> bool:
        """True for "no chord".

        >>> NO_CHORD.is_none, parse_chord("C").is_none
        (True, False)
        """
        return self.root < 0

    @property
    def pitch_classes(self) -> tuple[int, ...]:
        """The chord's tones as sorted pitch classes (the bass included).

        >>> parse_chord("G7").pitch_classes
        (2, 5, 7, 11)
        """
        if self.is_none:
            return ()
        tones = {(self.root + i) % 12 for i in QUALITIES[self.quality].intervals}
        return tuple(sorted(tones | {self.bass}))

    @property
    def triad(self) -> str | None:
        """``"maj"`` or ``"min"`` for chords built on a major or minor triad, else ``None``.

        >>> parse_chord("Am7").triad, parse_chord("Bdim").triad
        ('min', None)
        """
        return None if self.is_none else QUALITIES[self.quality].triad

    @property
    def label(self) -> str:
        """The Harte label, e.g. ``"C#:min7"``, ``"C:maj/3"``, ``"N"``.

        >>> parse_chord("Dbm7").label, parse_chord("C/G").label
        ('C#:min7', 'C:maj/5')
        """
        if self.is_none:
            return "N"
        text = f"{_sharp(self.root)}:{QUALITIES[self.quality].name}"
        if self.bass != self.root:
            text += "/" + _degree((self.bass - self.root) % 12)
        return text

    @property
    def symbol(self) -> str:
        """The lead-sheet symbol, e.g. ``"Am"``, ``"G7/B"``, ``"N.C."`` for no chord.

        >>> parse_chord("Bb:maj7/3").symbol
        'Bbmaj7/D'
        """
        if self.is_none:
            return "N.C."
        text = _NAMES[self.root] + QUALITIES[self.quality].symbol
        return text + (f"/{_NAMES[self.bass]}" if self.bass != self.root else "")

    def symbol_in(self, key: str | None) -> str:
        """The lead-sheet symbol with its root and bass spelled as ``key`` spells them.

        >>> chord = parse_chord("Ab:7")
        >>> chord.symbol_in("F# minor"), chord.symbol_in("C minor"), chord.symbol_in(None)
        ('G#7', 'Ab7', 'Ab7')
        """
        if self.is_none:
            return "N.C."
        names = spelled_names(key)
        text = names[self.root] + QUALITIES[self.quality].symbol
        return text + (f"/{names[self.bass]}" if self.bass != self.root else "")


#: "No chord" (Harte ``N``).
NO_CHORD = Chord(-1, -1, -1)


def parse_chord(text: str) -> Chord:
    """Read a chord label: Harte (``"Bb:min7/b3"``) or a lead-sheet symbol (``"Bbm7/Db"``).

    ``"N"``, ``"N.C."`` and ``"NC"`` mean no chord. Flats may be written
    ``b`` or ``-`` (as music21 does).

    Raises:
        ValueError: an unknown root, quality or bass, naming the label.

    >>> parse_chord("C#:maj").symbol, parse_chord("E-7").label, parse_chord("N") == NO_CHORD
    ('C#', 'D#:7', True)
    >>> parse_chord("H7")
    Traceback (most recent call last):
    ValueError: unknown chord 'H7': the root must be a note name A-G ...
    """
    return _parse_label(text)


@lru_cache(maxsize=4096)
def _parse_label(text: str) -> Chord:
    """:func:`parse_chord`, parsed once per label (a corpus uses few; chords are immutable)."""
    raw = text.strip()
    if raw in ("N", "N.C.", "NC", "X"):
        return NO_CHORD
    try:
        root, rest = _split_root(raw)
        if rest.startswith(":"):
            return _parse_harte(root, rest[1:])
        return _parse_symbol(root, rest)
    except ValueError as error:
        raise ValueError(f"unknown chord {text!r}: {error}") from None


def _split_root(text: str) -> tuple[int, str]:
    if not text or text[0].upper() not in _NOTES:
        raise ValueError("the root must be a note name A-G (e.g. 'C', 'F#', 'Bb', 'Am7', 'G:maj')")
    pc, i = _NOTES[text[0].upper()], 1
    while i < len(text) and text[i] in "#b-":
        pc += 1 if text[i] == "#" else -1
        i += 1
    return pc % 12, text[i:]


def _parse_harte(root: int, rest: str) -> Chord:
    name, _, bass_text = rest.partition("/")
    name = name or "maj"
    if name not in _BY_NAME:
        known = ", ".join(q.name for q in QUALITIES)
        raise ValueError(f"unknown quality {name!r}; known: {known}")
    bass = root
    if bass_text:
        flats = len(bass_text) - len(bass_text.lstrip("b#"))
        shift = bass_text[:flats].count("#") - bass_text[:flats].count("b")
        degree = bass_text[flats:]
        if degree not in _DEGREES:
            raise ValueError(f"unknown bass degree {bass_text!r}; expected e.g. '3', 'b7', '5'")
        bass = (root + _DEGREES[degree] + shift) % 12
    return Chord(root, _BY_NAME[name], bass)


def _parse_symbol(root: int, rest: str) -> Chord:
    suffix, _, bass_text = rest.partition("/")
    suffix = _SYMBOL_ALIASES.get(suffix, suffix)
    if suffix not in _BY_SYMBOL:
        known = ", ".join(repr(q.symbol) for q in QUALITIES)
        raise ValueError(f"unknown chord suffix {suffix!r}; known: {known}")
    bass = root
    if bass_text:
        bass, tail = _split_root(bass_text)
        if tail:
            raise ValueError(f"unknown bass note {bass_text!r}")
    return Chord(root, _BY_SYMBOL[suffix], bass)


def _sharp(pc: int) -> str:
    return ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")[pc]


def _degree(interval: int) -> str:
    return ("1", "b2", "2", "b3", "3", "4", "b5", "5", "b6", "6", "b7", "7")[interval]


def make_chords(
    labels: Iterable[str | Chord], start: Iterable[float], duration: Iterable[float]
) -> NDArray[Any]:
    """Build a :data:`CHORD_DTYPE` array from labels (or :class:`Chord` values) and times.

    >>> chords = make_chords(["C", "G", "Am", "F"], [0, 4, 8, 12], [4] * 4)
    >>> chord_labels(chords)
    ['C:maj', 'G:maj', 'A:min', 'F:maj']
    """
    parsed = [c if isinstance(c, Chord) else parse_chord(c) for c in labels]
    out = np.zeros(len(parsed), dtype=CHORD_DTYPE)
    out["start"] = np.asarray(list(start), dtype=np.float64)
    out["duration"] = np.asarray(list(duration), dtype=np.float64)
    out["root"] = [c.root for c in parsed]
    out["quality"] = [c.quality for c in parsed]
    out["bass"] = [c.bass for c in parsed]
    return out


def chord_labels(chords: NDArray[Any], style: str = "harte") -> list[str]:
    """The label of each row: ``style="harte"`` (``"A:min"``) or ``"symbol"`` (``"Am"``).

    >>> chord_labels(make_chords(["Am", "N"], [0, 4], [4, 4]), style="symbol")
    ['Am', 'N.C.']
    """
    if style not in ("harte", "symbol"):
        raise ValueError(f"unknown chord label style {style!r}; expected 'harte' or 'symbol'")
    rows = (Chord(int(r), int(q), int(b)) for r, q, b in chords[["root", "quality", "bass"]])
    return [c.label if style == "harte" else c.symbol for c in rows]


def chord_tone_mask(chords: NDArray[Any]) -> NDArray[np.bool_]:
    """``[n, 12]`` booleans: which pitch classes belong to each chord (none for "no chord").

    >>> chord_tone_mask(make_chords(["C"], [0], [4])).nonzero()[1].tolist()
    [0, 4, 7]
    """
    table = np.zeros((len(QUALITIES), 12), dtype=bool)
    for i, q in enumerate(QUALITIES):
        table[i, list(q.intervals)] = True
    roots = chords["root"].astype(np.int64)
    has = roots >= 0
    mask = np.zeros((len(chords), 12), dtype=bool)
    quality = chords["quality"][has].astype(np.int64)
    shift = (np.arange(12)[None, :] - roots[has][:, None]) % 12
    mask[has] = np.take_along_axis(table[quality], shift, axis=1)
    mask[np.flatnonzero(has), chords["bass"][has].astype(np.int64)] = True
    return mask


def transpose_chords(chords: NDArray[Any], semitones: int) -> NDArray[Any]:
    """The chords moved by ``semitones`` ("no chord" stays).

    >>> chord_labels(transpose_chords(make_chords(["C/E", "N"], [0, 4], [4, 4]), 2))
    ['D:maj/3', 'N']
    """
    out: NDArray[Any] = chords.copy()
    for name in ("root", "bass"):
        values = out[name].astype(np.int64)
        out[name] = np.where(values >= 0, (values + semitones) % 12, -1)
    return out


def chords_in(chords: NDArray[Any], start: float, stop: float) -> NDArray[Any]:
    """The segments overlapping ``[start, stop)``, clipped to it and moved so ``start`` is 0.

    >>> chords_in(make_chords(["C", "G"], [0, 4], [4, 4]), 2, 6)[["start", "duration"]].tolist()
    [(0.0, 2.0), (2.0, 2.0)]
    """
    ends = chords["start"] + chords["duration"]
    keep = (ends > start) & (chords["start"] < stop)
    out: NDArray[Any] = chords[keep].copy()
    new_start = np.maximum(out["start"], start)
    out["duration"] = np.minimum(ends[keep], stop) - new_start
    out["start"] = new_start - start
    return out[out["duration"] > 0]


def sorted_chords(chords: Sequence[Any] | NDArray[Any]) -> NDArray[Any]:
    """``chords`` as a read-only :data:`CHORD_DTYPE` array sorted by onset, checked.

    >>> sorted_chords(make_chords(["G", "C"], [4, 0], [4, 4]))["start"].tolist()
    [0.0, 4.0]
    """
    if not isinstance(chords, np.ndarray):
        chords = np.array([tuple(row) for row in chords], dtype=CHORD_DTYPE)
    elif chords.dtype != CHORD_DTYPE:
        chords = chords.astype(CHORD_DTYPE)
    if len(chords):
        start, duration = chords["start"], chords["duration"]
        if not (np.isfinite(start).all() and np.isfinite(duration).all()):
            raise ValueError("chord onsets and durations must be finite")
        if duration.min() <= 0 or start.min() < 0:
            raise ValueError("chord durations must be > 0 beats and onsets >= 0")
        root, quality, bass = (chords[k].astype(np.int64) for k in ("root", "quality", "bass"))
        none = root < 0
        if (
            root.min() < -1
            or root.max() > 11
            or bass.min() < -1
            or bass.max() > 11
            or quality.min() < -1
            or quality.max() >= len(QUALITIES)
            or not np.array_equal(none, quality < 0)
            or not np.array_equal(none, bass < 0)
        ):
            raise ValueError(
                "chord roots and basses must be pitch classes 0..11 and qualities indices "
                f"into QUALITIES (0..{len(QUALITIES) - 1}); 'no chord' has all three -1"
            )
    out: NDArray[Any] = chords[np.argsort(chords["start"], kind="stable")]
    out.flags.writeable = False
    return out
