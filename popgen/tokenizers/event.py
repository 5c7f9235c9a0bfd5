"""MIDI-like performance events, as in Magenta's Performance RNN.

Tokens (times on a grid of ``1/steps_per_beat`` beats, written as exact
fractions of a beat)::

    NOTE-ON_60        pitch 60 starts sounding
    NOTE-OFF_60       pitch 60 stops
    TIME-SHIFT_1/4    the clock moves on a quarter of a beat (at most ``max_shift``;
                      a longer gap is several tokens)
    VELOCITY_84       the velocity of the following NOTE-ONs (written only when it changes)

At each grid time the NOTE-OFFs come first, then the NOTE-ONs, each group in
ascending pitch, and a ``VELOCITY`` token precedes a NOTE-ON whose velocity
differs from the previous NOTE-ON's (the first NOTE-ON always has one).
Performance RNN spells the event types ``NOTE_ON`` / ``TIME_SHIFT``; here the
type is one word (``NOTE-ON``), because popgen's token *family* is the part of
a name before the first ``_`` (see :mod:`popgen.tokenizers.grammar`), and the
grammar must tell a NOTE-ON from a NOTE-OFF.

The documented loss of ``decode(encode(song))`` (see :meth:`EventTokenizer.prepare`):
drum tracks are dropped and all tracks merged into one (overlapping notes of
one pitch are cut where the next one starts); onsets and durations are
snapped to the grid (:meth:`popgen.Song.quantize`; no note is shorter than
one step); velocities become the centre of their bin out of
``velocity_bins``; tempo, time signatures and key are not encoded (a decoded
song has 120 bpm and 4/4). Note lengths are not limited, but a stretch
longer than 256 beats in which no note starts or ends (a silence, or notes
held alone) is shortened by whole bars (:func:`popgen.music.limits.shorten_silences`),
so a song costs TIME-SHIFTs in proportion to its notes, not its silences.

Decoding is tolerant, so any token order gives a song: a NOTE-OFF for a
pitch that is not sounding (or that started at this very time) is skipped; a
NOTE-ON for a pitch already sounding ends that note first (or is skipped if
the sounding note started at this very time); notes still sounding after the
last token end at the last time (at least one step after their onset); a
NOTE-ON before any VELOCITY has velocity 64's bin centre.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.music.song import Song, Track, make_notes
from popgen.tokenizers._prepare import merge_for_encoding
from popgen.tokenizers.base import Tokenizer, register_tokenizer
from popgen.tokenizers.bins import bin_velocities, velocity_values
from popgen.tokenizers.grammar import GrammarRules

__all__ = ["EventConfig", "EventTokenizer"]

_ON, _OFF, _SHIFT, _VELOCITY = "NOTE-ON", "NOTE-OFF", "TIME-SHIFT", "VELOCITY"
_KINDS = {_ON: 0, _OFF: 1, _SHIFT: 2, _VELOCITY: 3}
_DEFAULT_VELOCITY = 64  # of a NOTE-ON that no VELOCITY token precedes (sampled output only)


@dataclass(frozen=True)
class EventConfig:
    """Options of the ``event`` encoding.

    >>> from popgen.music.song import make_notes
    >>> tok = EventTokenizer(EventConfig(steps_per_beat=4, max_shift=0.5, velocity_bins=1))
    >>> tok.song_to_names(Song(make_notes([60], [0], [1])))  # a beat is two shifts of 1/2
    ['VELOCITY_64', 'NOTE-ON_60', 'TIME-SHIFT_1/2', 'TIME-SHIFT_1/2', 'NOTE-OFF_60']
    """

    steps_per_beat: int = 12  # time grid: 12 holds sixteenths and triplets
    max_shift: float = 1.0  # longest TIME-SHIFT in beats; longer gaps take several tokens
    velocity_bins: int = 32  # velocities 1..127 in this many equal bins (Performance RNN: 32)

    def __post_init__(self) -> None:
        if self.steps_per_beat < 1:
            raise ValueError(f"steps_per_beat must be >= 1, got {self.steps_per_beat}")
        if self.max_shift * self.steps_per_beat < 1:
            raise ValueError(f"max_shift must be at least one grid step, got {self.max_shift}")
        if not 1 <= self.velocity_bins <= 127:
            raise ValueError(f"velocity_bins must be in 1..127, got {self.velocity_bins}")


@register_tokenizer("event")
class EventTokenizer(Tokenizer):
    """NOTE-ON, NOTE-OFF, TIME-SHIFT and VELOCITY events (Performance RNN's encoding).

    >>> from popgen.music.song import make_notes
    >>> tok = EventTokenizer(steps_per_beat=4, velocity_bins=8)
    >>> tok.song_to_names(Song(make_notes([60], [0.5], [1.5], 88)))
    ['TIME-SHIFT_1/2', 'VELOCITY_88', 'NOTE-ON_60', 'TIME-SHIFT_1', 'TIME-SHIFT_1/2', 'NOTE-OFF_60']
    """

    config_class = EventConfig
    config: EventConfig

    # ------------------------------------------------------------ vocabulary
    @cached_property
    def _max_steps(self) -> int:
        return int(self.config.max_shift * self.config.steps_per_beat)

    @cached_property
    def _velocities(self) -> NDArray[np.int64]:
        """The bin centres, ascending."""
        return velocity_values(self.config.velocity_bins)

    @cached_property
    def _table(self) -> NDArray[Any]:
        """Every name, indexed by its code: NOTE-ONs, NOTE-OFFs, TIME-SHIFTs, VELOCITYs."""
        spb = self.config.steps_per_beat
        names = [f"{_ON}_{p}" for p in range(128)] + [f"{_OFF}_{p}" for p in range(128)]
        names += [f"{_SHIFT}_{Fraction(k, spb)}" for k in range(1, self._max_steps + 1)]
        names += [f"{_VELOCITY}_{v}" for v in self._velocities.tolist()]
        return np.array(names, dtype=object)

    def base_vocabulary(self) -> list[str]:
        """Every event: the vocabulary is complete without fitting.

        >>> names = EventTokenizer(steps_per_beat=4, velocity_bins=8).base_vocabulary()
        >>> len(names), names[0], names[128], names[256], names[-1]
        (268, 'NOTE-ON_0', 'NOTE-OFF_0', 'TIME-SHIFT_1/4', 'VELOCITY_120')
        """
        return [str(n) for n in self._table.tolist()]

    def pitch_of(self, name: str) -> int | None:
        """``NOTE-ON_60 -> 60``; NOTE-OFFs and the other events start no pitch.

        >>> tok = EventTokenizer()
        >>> tok.pitch_of("NOTE-ON_60"), tok.pitch_of("NOTE-OFF_60")
        (60, None)
        """
        return int(name[8:]) if name.startswith(_ON + "_") else None

    def grammar_rules(self) -> tuple[str, GrammarRules]:
        """A VELOCITY is followed by a NOTE-ON; the first NOTE-ON has a VELOCITY.

        What a family automaton cannot say is which pitches are sounding, so
        a sampled NOTE-OFF may name a silent pitch; decoding skips it (see the
        module docstring). What the grammar guarantees: every VELOCITY token
        takes effect, no NOTE-OFF comes before the first NOTE-ON, and every
        NOTE-ON gives a note except a repeat of a pitch already started at
        the same time.

        >>> start, rules = EventTokenizer().grammar_rules()
        >>> start, rules["velocity"], sorted(rules["start"])
        ('start', {'NOTE-ON': 'playing'}, ['EOS', 'TIME-SHIFT', 'VELOCITY'])
        """
        playing = {_ON: "playing", _OFF: "playing", _SHIFT: "playing", _VELOCITY: "velocity"}
        return "start", {
            "start": {_SHIFT: "start", _VELOCITY: "velocity", "EOS": "start"},
            "velocity": {_ON: "playing"},
            "playing": {**playing, "EOS": "playing"},
        }

    # -------------------------------------------------------------- encoding
    def prepare(self, song: Song) -> Song:
        """The song as this encoding sees it: no drums, one track, on the grid, binned velocities.

        ``decode(encode(song))`` has exactly these notes.

        >>> from popgen.music.song import make_notes
        >>> tok = EventTokenizer(steps_per_beat=4, velocity_bins=8)
        >>> tok.prepare(Song(make_notes([60], [0.1], [0.3], 100))).notes.tolist()
        [(60, 0.0, 0.25, 104, 0)]
        """
        song = merge_for_encoding(song, self.config.steps_per_beat, self.config.velocity_bins)
        return Song(song.notes, tracks=song.tracks, title=song.title, source=song.source)

    def song_to_names(self, song: Song) -> list[str]:
        """Encode a song: one event per note start and end, time shifts between (vectorised).

        >>> from popgen.music.song import make_notes
        >>> song = Song(make_notes([60, 64], [0, 0.5], [1, 0.5], [88, 40]))
        >>> EventTokenizer(steps_per_beat=4, velocity_bins=8).song_to_names(song)
        ['VELOCITY_88', 'NOTE-ON_60', 'TIME-SHIFT_1/2', 'VELOCITY_40', 'NOTE-ON_64',
         'TIME-SHIFT_1/2', 'NOTE-OFF_60', 'NOTE-OFF_64']
        """
        spb = self.config.steps_per_beat
        notes = self.prepare(song).notes
        n = len(notes)
        if not n:
            return []
        on = np.round(notes["start"] * spb).astype(np.int64)
        off = on + np.round(notes["duration"] * spb).astype(np.int64)
        pitch = notes["pitch"].astype(np.int64)
        vel = np.searchsorted(self._velocities, notes["velocity"])
        # events sorted by time, NOTE-OFFs (kind 0) before NOTE-ONs (kind 1), then pitch
        time = np.concatenate([off, on])
        is_on = np.concatenate([np.zeros(n, bool), np.ones(n, bool)])
        order = np.lexsort((np.concatenate([pitch, pitch]), is_on, time))
        time, is_on = time[order], is_on[order]
        code = np.where(is_on, 0, 128) + np.concatenate([pitch, pitch])[order]
        ev_vel = np.concatenate([vel, vel])[order]
        on_vel = ev_vel[is_on]  # velocities of the NOTE-ONs in event order
        changed = np.ones(len(on_vel), bool)
        changed[1:] = on_vel[1:] != on_vel[:-1]
        with_vel = np.zeros(2 * n, bool)
        with_vel[is_on] = changed

        max_steps = self._max_steps
        gap = np.diff(time, prepend=0)
        shifts = -(-gap // max_steps)  # ceil: whole max shifts plus the remainder
        length = shifts + with_vel + 1
        end = np.cumsum(length)
        shift_code = 256 + max_steps - 1  # every shift slot is a longest shift ...
        codes = np.full(int(end[-1]), shift_code, dtype=np.int64)
        has = shifts > 0  # ... except the last of each gap, the remainder
        last_shift = end - length + shifts - 1
        codes[last_shift[has]] = 256 - 1 + (gap - (shifts - 1) * max_steps)[has]
        codes[end[with_vel] - 2] = 256 + max_steps + ev_vel[with_vel]
        codes[end - 1] = code
        return [str(s) for s in self._table[codes].tolist()]

    # -------------------------------------------------------------- decoding
    @cached_property
    def _parsed(self) -> dict[str, tuple[int, int]]:
        """Name -> (kind, value): pitch, steps of a shift, or velocity."""
        spb = self.config.steps_per_beat
        out: dict[str, tuple[int, int]] = {}
        for name in self._table.tolist():
            kind, _, value = str(name).partition("_")
            steps = Fraction(value) * spb
            out[str(name)] = (_KINDS[kind], round(steps) if kind == _SHIFT else int(value))
        return out

    def names_to_song(self, names: Sequence[str]) -> Song:
        """Decode events; tolerant of any order (see the module docstring).

        >>> names = ["VELOCITY_86", "NOTE-ON_60", "TIME-SHIFT_1/2", "NOTE-OFF_60", "NOTE-OFF_62"]
        >>> song = EventTokenizer().names_to_song(names)  # NOTE-OFF_62 ends nothing: skipped
        >>> song.notes[["pitch", "start", "duration", "velocity"]].tolist()
        [(60, 0.0, 0.5, 86)]
        """
        parsed = self._parsed
        now = 0  # grid steps
        velocity = int(bin_velocities([_DEFAULT_VELOCITY], self.config.velocity_bins)[0])
        sounding: dict[int, tuple[int, int]] = {}  # pitch -> (onset, velocity)
        rows: list[tuple[int, int, int, int]] = []  # pitch, onset, end, velocity
        for name in names:
            kind, value = parsed.get(name, (-1, 0))
            if kind == 0:  # NOTE-ON
                if value in sounding:
                    onset, vel = sounding[value]
                    if onset == now:
                        continue
                    rows.append((value, onset, now, vel))
                sounding[value] = (now, velocity)
            elif kind == 1:  # NOTE-OFF
                if value in sounding and sounding[value][0] < now:
                    onset, vel = sounding.pop(value)
                    rows.append((value, onset, now, vel))
            elif kind == 2:
                now += value
            elif kind == 3:
                velocity = value
        for pitch, (onset, vel) in sorted(sounding.items()):
            rows.append((pitch, onset, max(now, onset + 1), vel))
        spb = self.config.steps_per_beat
        arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
        notes = make_notes(
            arr[:, 0], arr[:, 1] / spb, (arr[:, 2] - arr[:, 1]) / spb, arr[:, 3].tolist()
        )
        return Song(notes, tracks=(Track(),))
