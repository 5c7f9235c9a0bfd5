"""The 2017 baseline's encoding: one token per pitch or chord, one fixed step each.

The Keras script of 2017 read every note or chord of a piece in order, wrote
a single note as its name and a chord as its pitches, and played each token
back ``step`` beats after the previous one. Tokens::

    NOTE_60           a single pitch
    CHORD_60.64.67    several pitches sounding together (exact pitches, ascending)

The documented loss of ``decode(encode(song))``: drums dropped, tracks merged;
onsets are snapped to the ``step`` grid and notes sharing a snapped onset
become one chord; silences between onsets are removed (every token lasts one
step, as in the baseline); durations become ``step``; velocities become
``velocity``; tempo, meter and key are not encoded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from popgen.music import Song, Track, make_notes
from popgen.tokenizers.base import Tokenizer, register_tokenizer

__all__ = ["ChordConfig", "ChordTokenizer"]


@dataclass(frozen=True)
class ChordConfig:
    """Options of the ``chord`` encoding."""

    step: float = 0.5  # beats between tokens; the baseline's offset increment
    velocity: int = 90  # velocity of every decoded note (the baseline has no dynamics)

    def __post_init__(self) -> None:
        if self.step <= 0:
            raise ValueError(f"step must be > 0 beats, got {self.step}")
        if not 1 <= self.velocity <= 127:
            raise ValueError(f"velocity must be in 1..127, got {self.velocity}")


@register_tokenizer("chord")
class ChordTokenizer(Tokenizer):
    """One token per pitch or chord on a fixed step (the 2017 baseline's encoding).

    >>> from popgen.music import make_notes
    >>> tok = ChordTokenizer()
    >>> tok.song_to_names(Song(make_notes([60, 64, 67, 72], [0, 0, 0, 1], [1, 1, 1, 1])))
    ['CHORD_60.64.67', 'NOTE_72']
    """

    config_class = ChordConfig
    config: ChordConfig

    def base_vocabulary(self) -> list[str]:
        """Every single pitch."""
        return [f"NOTE_{p}" for p in range(128)]

    def pitch_of(self, name: str) -> int | None:
        """``NOTE_60 -> 60``; chords name several pitches, so ``None``."""
        return int(name[5:]) if name.startswith("NOTE_") else None

    def song_to_names(self, song: Song) -> list[str]:
        """Encode onset groups in time order."""
        notes = song.drop_drums().notes
        if not len(notes):
            return []
        slots = np.round(notes["start"] / self.config.step).astype(np.int64)
        names = []
        for slot in np.unique(slots):
            pitches = sorted({int(p) for p in notes["pitch"][slots == slot]})
            if len(pitches) == 1:
                names.append(f"NOTE_{pitches[0]}")
            else:
                names.append("CHORD_" + ".".join(map(str, pitches)))
        return names

    def names_to_song(self, names: Sequence[str]) -> Song:
        """Each token one step after the previous, lasting one step."""
        step = self.config.step
        pitches: list[int] = []
        starts: list[float] = []
        i = 0
        for name in names:
            family, _, value = name.partition("_")
            if family == "NOTE":
                chord = [int(value)]
            elif family == "CHORD":
                chord = [int(v) for v in value.split(".")]
            else:
                continue
            pitches += chord
            starts += [i * step] * len(chord)
            i += 1
        notes = make_notes(pitches, starts, [step] * len(pitches), self.config.velocity)
        return Song(notes, tracks=(Track(),))
