"""The 2017 baseline's encoding: one token per pitch or chord, one fixed step each.

The Keras script of 2017 read every note or chord of a piece in order, wrote
a single note as its name and a chord as its pitches, and played each token
back ``step`` beats after the previous one. Tokens::

    NOTE_60           a single pitch
    CHORD_60.64.67    several pitches sounding together (exact pitches, ascending)

With ``names="music21"`` the tokens are exactly the 2017 script's: a single
pitch is music21's name for it (``str(note.pitch)``: ``"C4"``, ``"F#5"``,
``"B-3"``, sharps ``#`` and flats ``-`` as music21 spells a MIDI number), and a
chord is the ``'.'``-joined pitch classes of music21's ``chord.normalOrder``
(``"4.7.11"``, octaves dropped). As in the baseline, a chord token decodes to
its pitch classes in octave 4 (``Note(int(pc))``, so ``"4.7.11"`` is E4 G4 B4)
and a chord whose pitches share one pitch class is written as that class
(``"0"``) and decodes to one note. One departure keeps names unique: MIDI
pitches 0..11 (octave -1, below the piano) are written ``MIDI_0``..``MIDI_11``,
because music21 cannot read its names for them back and two of them collide
with other pitches' names (``"E-1"`` is also E-flat 1).

The documented loss of ``decode(encode(song))``: drums dropped, tracks merged;
onsets are snapped to the ``step`` grid and notes sharing a snapped onset
become one chord; silences between onsets are removed (every token lasts one
step, as in the baseline); durations become ``step``; velocities become
``velocity``; tempo, meter and key are not encoded. With ``names="music21"``
the notes of a chord also lose their octaves, as above.
:meth:`ChordTokenizer.prepare` computes the result directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.music.song import Song, Track, make_notes
from popgen.tokenizers.base import Tokenizer, register_tokenizer

__all__ = ["ChordConfig", "ChordTokenizer"]

_NAMINGS = ("pitches", "music21")


@dataclass(frozen=True)
class ChordConfig:
    """Options of the ``chord`` encoding.

    >>> from popgen.music.song import make_notes
    >>> song = Song(make_notes([64, 67, 71, 62], [0, 0, 0, 1], [1, 1, 1, 1]))
    >>> ChordTokenizer(ChordConfig(names="music21")).song_to_names(song)  # the 2017 tokens
    ['4.7.11', 'D4']
    """

    step: float = 0.5  # beats between tokens; the baseline's offset increment
    velocity: int = 90  # velocity of every decoded note (the baseline has no dynamics)
    names: str = "pitches"  # "pitches": NOTE_60, CHORD_60.64.67; "music21": the 2017 script's

    def __post_init__(self) -> None:
        if self.step <= 0:
            raise ValueError(f"step must be > 0 beats, got {self.step}")
        if not 1 <= self.velocity <= 127:
            raise ValueError(f"velocity must be in 1..127, got {self.velocity}")
        if self.names not in _NAMINGS:
            raise ValueError(f"names must be one of {_NAMINGS}, got {self.names!r}")


@register_tokenizer("chord")
class ChordTokenizer(Tokenizer):
    """One token per pitch or chord on a fixed step (the 2017 baseline's encoding).

    >>> from popgen.music.song import make_notes
    >>> tok = ChordTokenizer()
    >>> tok.song_to_names(Song(make_notes([60, 64, 67, 72], [0, 0, 0, 1], [1, 1, 1, 1])))
    ['CHORD_60.64.67', 'NOTE_72']
    """

    config_class = ChordConfig
    config: ChordConfig

    def base_vocabulary(self) -> list[str]:
        """Every single pitch.

        Chords come from :meth:`fit`.

        >>> [ChordTokenizer(names=n).base_vocabulary()[60] for n in ("pitches", "music21")]
        ['NOTE_60', 'C4']
        """
        if self.config.names == "music21":
            return list(_music21_names())
        return [f"NOTE_{p}" for p in range(128)]

    def pitch_of(self, name: str) -> int | None:
        """``NOTE_60 -> 60`` (``C4 -> 60`` with music21 names); chords name several, so ``None``.

        >>> ChordTokenizer().pitch_of("NOTE_60"), ChordTokenizer().pitch_of("CHORD_60.64")
        (60, None)
        >>> ChordTokenizer(names="music21").pitch_of("B-3")
        58
        """
        if self.config.names == "music21":
            return _music21_pitch(name)
        return int(name[5:]) if name.startswith("NOTE_") else None

    def _groups(self, song: Song) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.intp]]:
        """Distinct ``(slot, pitch)`` pairs in time order, and where each slot's group begins."""
        notes = song.drop_drums().notes
        slots = np.round(notes["start"] / self.config.step).astype(np.int64)
        pairs = np.unique(slots * 128 + notes["pitch"])
        slot, pitch = pairs // 128, pairs % 128
        first = np.flatnonzero(np.diff(slot, prepend=-1))
        return slot, pitch, first

    def song_to_names(self, song: Song) -> list[str]:
        """Encode onset groups in time order.

        >>> from popgen.music.song import make_notes
        >>> song = Song(make_notes([60, 64, 67, 72], [0, 0, 0.1, 3], [1, 1, 1, 1]))
        >>> ChordTokenizer(step=0.5).song_to_names(song)  # onsets 0 and 0.1 share a step
        ['CHORD_60.64.67', 'NOTE_72']
        """
        _, pitch, first = self._groups(song)
        counts = np.diff(np.append(first, len(pitch))).tolist()
        if self.config.names == "music21":
            single = _music21_names()
            masks = np.bitwise_or.reduceat(1 << (pitch % 12), first) if len(pitch) else pitch
            return [
                single[p] if c == 1 else _normal_order(m)
                for p, c, m in zip(pitch[first].tolist(), counts, masks.tolist(), strict=True)
            ]
        pitches = pitch.tolist()
        return [
            f"NOTE_{pitches[i]}" if c == 1 else "CHORD_" + ".".join(map(str, pitches[i : i + c]))
            for i, c in zip(first.tolist(), counts, strict=True)
        ]

    def prepare(self, song: Song) -> Song:
        """The song ``decode(encode(song))`` gives, computed directly (the documented loss).

        >>> from popgen.music.song import make_notes
        >>> song = Song(make_notes([60, 64, 72], [0, 0, 3], [2, 2, 1]))
        >>> ChordTokenizer(step=0.5).prepare(song).notes[["pitch", "start", "duration"]].tolist()
        [(60, 0.0, 0.5), (64, 0.0, 0.5), (72, 0.5, 0.5)]
        """
        _, pitch, first = self._groups(song)
        group = np.cumsum(np.isin(np.arange(len(pitch)), first)) - 1
        if self.config.names == "music21":  # chords: pitch classes in octave 4
            count = np.diff(np.append(first, len(pitch)))[group]
            pitch = np.where(count > 1, 60 + pitch % 12, pitch)
            pairs = np.unique(group * 128 + pitch)
            group, pitch = pairs // 128, pairs % 128
        step = self.config.step
        notes = make_notes(pitch, group * step, np.full(len(pitch), step), self.config.velocity)
        return Song(notes, tracks=(Track(),), title=song.title, source=song.source)

    def names_to_song(self, names: Sequence[str]) -> Song:
        """Each token one step after the previous, lasting one step.

        >>> song = ChordTokenizer(step=0.5).names_to_song(["CHORD_60.64", "NOTE_67"])
        >>> song.notes[["pitch", "start", "duration", "velocity"]].tolist()
        [(60, 0.0, 0.5, 90), (64, 0.0, 0.5, 90), (67, 0.5, 0.5, 90)]
        """
        step = self.config.step
        music21 = self.config.names == "music21"
        pitches: list[int] = []
        starts: list[float] = []
        i = 0
        for name in names:
            chord = _music21_chord(name) if music21 else _chord(name)
            if not chord:
                continue
            pitches += chord
            starts += [i * step] * len(chord)
            i += 1
        notes = make_notes(pitches, starts, [step] * len(pitches), self.config.velocity)
        return Song(notes, tracks=(Track(),))


def _chord(name: str) -> list[int]:
    """The pitches of a ``NOTE_``/``CHORD_`` name; ``[]`` for anything else."""
    family, _, value = name.partition("_")
    try:
        if family == "NOTE":
            return [int(value)]
        if family == "CHORD":
            return [int(v) for v in value.split(".")]
    except ValueError:
        pass
    return []


@lru_cache(maxsize=1)
def _music21_names() -> tuple[str, ...]:
    """The token of each MIDI pitch: music21's name (``"C#4"``), ``MIDI_p`` below 12."""
    from music21 import pitch

    return tuple(f"MIDI_{p}" if p < 12 else str(pitch.Pitch(midi=p)) for p in range(128))


@cache
def _music21_pitch(name: str) -> int | None:
    """The MIDI pitch of a single-pitch token (any music21 spelling, ``"D-4"`` too)."""
    names = _music21_names()
    if name in names:
        return names.index(name)
    if not name or name[0] not in "ABCDEFG":
        return None
    from music21 import pitch

    try:
        midi = int(pitch.Pitch(name).midi)
    except Exception:  # music21 raises several types for a name it cannot read
        return None
    return midi if 0 <= midi <= 127 else None


@cache
def _normal_order(mask: int) -> str:
    """The baseline's chord token for a 12-bit pitch-class set: ``'.'``-joined normal order."""
    from music21 import chord

    pcs: Any = chord.Chord([pc for pc in range(12) if mask >> pc & 1]).normalOrder
    return ".".join(str(pc) for pc in pcs)


def _music21_chord(name: str) -> list[int]:
    """The pitches of a baseline token: a pitch name, or pitch classes put in octave 4."""
    if name and all(c.isdigit() or c == "." for c in name):
        try:
            pcs = sorted({int(v) for v in name.split(".")})
        except ValueError:
            return []
        return [60 + pc for pc in pcs if pc < 12]
    pitch = _music21_pitch(name)
    return [] if pitch is None else [pitch]
