"""REMI: bars and positions, then pitch, velocity and duration per note (Huang & Yang, 2020).

Tokens (positions count grid steps of ``1/steps_per_beat`` beats from the bar
line; durations are exact fractions of a beat)::

    BAR               a bar line; the first token of every bar, empty bars included
    TIMESIG_3/4       the meter from this bar on, right after BAR where it changes
    POSITION_18       the onset of the notes that follow, in steps from the bar line
    TEMPO_120         the tempo from this position on (option ``tempos``)
    CHORD_A:min       the notes starting here form this chord (option ``chords``)
    PITCH_60 VELOCITY_84 DURATION_1/2     one note

Bars follow the song's time signatures (from 4/4; a bar of ``n/d`` is
``4 n / d`` beats). Notes sharing an onset follow one POSITION in ascending
pitch. A chord is named when the pitch classes starting together are exactly
a major, minor, diminished or augmented triad, a suspended fourth, or a
dominant, major or minor seventh chord.

The documented loss of ``decode(encode(song))`` (see :meth:`RemiTokenizer.prepare`):
drum tracks are dropped and all tracks merged into one; onsets and durations
are snapped to the grid (:meth:`popgen.Song.quantize`) and durations clipped
to ``max_duration``; velocities become the centre of their bin out of
``velocity_bins``; a time-signature change that falls inside a bar takes
effect at the next bar line, and changes after the last onset are dropped
(all bars are 4/4 when ``time_signatures`` is off; the notes are kept exactly
either way); tempo is not encoded (120 bpm) unless ``tempos`` is on, then each
change is snapped to the grid and to the nearest of ``tempo_bins`` tempos
spaced evenly in log-tempo, and changes after the last onset are dropped;
key is not encoded; a stretch longer than 256 beats in which no note starts
or ends is shortened by whole bars (:func:`popgen.music.limits.shorten_silences`),
so a silence costs at most 256 beats of empty bars (64 BAR tokens in 4/4).
Chord tokens add information and lose none.

Decoding is tolerant: notes missing their velocity or duration are skipped;
a note before any POSITION starts at its bar line; a POSITION past the end of
its bar is read as it stands (the onset lands in a later bar).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from popgen.music.bars import has_bar
from popgen.music.keys import PITCH_CLASSES
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TempoChange, TimeSignature
from popgen.tokenizers._prepare import merge_for_encoding
from popgen.tokenizers.base import Tokenizer, register_tokenizer
from popgen.tokenizers.bins import velocity_values
from popgen.tokenizers.grammar import GrammarRules

__all__ = ["RemiConfig", "RemiTokenizer"]


@dataclass(frozen=True)
class RemiConfig:
    """Options of the ``remi`` encoding.

    >>> from popgen.music.song import make_notes
    >>> tok = RemiTokenizer(RemiConfig(steps_per_beat=4, velocity_bins=8, chords=True))
    >>> tok.song_to_names(Song(make_notes([60, 64, 67], [0, 0, 0], [1, 1, 1])))[:4]
    ['BAR', 'POSITION_0', 'CHORD_C:maj', 'PITCH_60']
    """

    steps_per_beat: int = 12  # positions per beat: 12 holds sixteenths and triplets
    max_duration: float = 8.0  # beats; longer notes are clipped
    velocity_bins: int = 32  # velocities 1..127 in this many equal bins (MidiTok's default)
    time_signatures: bool = True  # TIMESIG tokens where the meter changes; off: every bar 4/4
    tempos: bool = False  # TEMPO tokens where the (binned) tempo changes
    tempo_bins: int = 32  # tempos from tempo_min to tempo_max, evenly spaced in log-tempo
    tempo_min: float = 40.0  # bpm of the slowest tempo token
    tempo_max: float = 250.0  # bpm of the fastest tempo token
    chords: bool = False  # CHORD tokens where the notes starting together form a known chord

    def __post_init__(self) -> None:
        if self.steps_per_beat < 1 or self.max_duration * self.steps_per_beat < 1:
            raise ValueError(
                "steps_per_beat must be >= 1 and max_duration at least one step, got "
                f"{self.steps_per_beat} and {self.max_duration}"
            )
        if not 1 <= self.velocity_bins <= 127:
            raise ValueError(f"velocity_bins must be in 1..127, got {self.velocity_bins}")
        if self.tempo_bins < 1 or not 0 < self.tempo_min <= self.tempo_max:
            raise ValueError(
                "need tempo_bins >= 1 and 0 < tempo_min <= tempo_max, got "
                f"{self.tempo_bins}, {self.tempo_min}, {self.tempo_max}"
            )


def _chord_table() -> tuple[tuple[str, ...], NDArray[np.int64]]:
    """Chord names, and for each 12-bit pitch-class set the index of its name (-1: none)."""
    qualities = {
        "maj": (0, 4, 7), "min": (0, 3, 7), "dim": (0, 3, 6), "aug": (0, 4, 8),
        "sus4": (0, 5, 7), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11), "min7": (0, 3, 7, 10),
    }  # fmt: skip
    names: list[str] = []
    table = np.full(4096, -1, dtype=np.int64)
    for root in range(12):  # symmetric chords (aug) take their lowest root
        for quality, steps in qualities.items():
            mask = sum(1 << ((root + s) % 12) for s in steps)
            if table[mask] < 0:
                table[mask] = len(names)
                names.append(f"CHORD_{PITCH_CLASSES[root]}:{quality}")
    return tuple(names), table


_CHORD_NAMES, _CHORD_OF_MASK = _chord_table()
_BAR, _TIMESIG, _POSITION, _TEMPO, _CHORD, _PITCH, _VELOCITY, _DURATION = range(8)
_KINDS = {"BAR": _BAR, "TIMESIG": _TIMESIG, "POSITION": _POSITION, "TEMPO": _TEMPO}
_KINDS |= {"CHORD": _CHORD, "PITCH": _PITCH, "VELOCITY": _VELOCITY, "DURATION": _DURATION}
_RANGES = {_POSITION: (0, 1 << 40), _TEMPO: (1, 1 << 40), _PITCH: (0, 127), _VELOCITY: (1, 127)}
_RANGES[_DURATION] = (1, 1 << 40)


class _Layout(NamedTuple):
    """A song as the encoding sees it, as arrays on the grid (times in steps)."""

    song: Song  # as merge_for_encoding leaves it; notes sorted by (onset, pitch)
    onset: NDArray[np.int64]  # per note
    duration: NDArray[np.int64]  # per note, clipped
    velocity: NDArray[np.int64]  # per note, index of its velocity bin
    segments: list[tuple[int, int, int, int]]  # (first bar line, numerator, denominator, bar)
    tempo_at: NDArray[np.int64]  # steps of each tempo change kept
    tempo: NDArray[np.int64]  # index of each change's tempo bin


@register_tokenizer("remi")
class RemiTokenizer(Tokenizer):
    """BAR, POSITION, PITCH, VELOCITY, DURATION (and optional TEMPO, CHORD) tokens.

    >>> from popgen.music.song import make_notes
    >>> tok = RemiTokenizer(steps_per_beat=4, velocity_bins=8)
    >>> " ".join(tok.song_to_names(Song(make_notes([60], [4.5], [0.5], 88))))
    'BAR BAR POSITION_2 PITCH_60 VELOCITY_88 DURATION_1/2'
    """

    config_class = RemiConfig
    config: RemiConfig

    # ------------------------------------------------------------ vocabulary
    @cached_property
    def _velocities(self) -> NDArray[np.int64]:
        return velocity_values(self.config.velocity_bins)

    @cached_property
    def _tempos(self) -> NDArray[np.int64]:
        cfg = self.config
        bpm = np.geomspace(cfg.tempo_min, cfg.tempo_max, cfg.tempo_bins)
        return np.unique(np.round(bpm).astype(np.int64))

    @cached_property
    def _max_steps(self) -> int:
        return int(self.config.max_duration * self.config.steps_per_beat)

    @cached_property
    def _static_names(self) -> list[str]:
        """Names whose codes are fixed: BAR, PITCH, VELOCITY, DURATION, TEMPO, CHORD."""
        spb = self.config.steps_per_beat
        return [
            "BAR",
            *(f"PITCH_{p}" for p in range(128)),
            *(f"VELOCITY_{v}" for v in self._velocities.tolist()),
            *(f"DURATION_{Fraction(k, spb)}" for k in range(1, self._max_steps + 1)),
            *(f"TEMPO_{t}" for t in self._tempos.tolist()),
            *_CHORD_NAMES,
        ]

    def base_vocabulary(self) -> list[str]:
        """BAR, positions of a 4/4 bar, pitches, velocities, durations, and enabled options.

        Positions of longer bars and TIMESIG tokens come from :meth:`fit`.

        >>> names = RemiTokenizer(steps_per_beat=4, velocity_bins=8).base_vocabulary()
        >>> len(names), names[:2], names[16:18], names[-1]
        (185, ['BAR', 'POSITION_0'], ['POSITION_15', 'PITCH_0'], 'DURATION_8')
        """
        cfg = self.config
        names = self._static_names
        n_tempo = len(self._tempos) if cfg.tempos else 0
        n_chord = len(_CHORD_NAMES) if cfg.chords else 0
        end = 1 + 128 + len(self._velocities) + self._max_steps
        positions = [f"POSITION_{k}" for k in range(4 * cfg.steps_per_beat)]
        return [names[0], *positions, *names[1:end], *names[end : end + n_tempo + n_chord]]

    def pitch_of(self, name: str) -> int | None:
        """``PITCH_60 -> 60``; other tokens name no pitch.

        >>> tok = RemiTokenizer()
        >>> tok.pitch_of("PITCH_60"), tok.pitch_of("POSITION_60")
        (60, None)
        """
        return int(name[6:]) if name.startswith("PITCH_") else None

    def grammar_rules(self) -> tuple[str, GrammarRules]:
        """Bars hold positions, positions hold notes, notes are ``PITCH VELOCITY DURATION``.

        So every PITCH gives a note at a position after a bar line. What a
        family automaton cannot say: that positions rise within a bar and stay
        inside it; decoding reads them as they stand (see the module docstring).

        >>> start, rules = RemiTokenizer().grammar_rules()
        >>> rules["pitch"], rules["velocity"]  # a note is PITCH VELOCITY DURATION
        ({'VELOCITY': 'velocity'}, {'DURATION': 'note'})
        """
        after_note = {"PITCH": "pitch", "POSITION": "position", "BAR": "bar", "EOS": "end"}
        return "start", {
            "start": {"BAR": "bar", "EOS": "end"},
            "bar": {"BAR": "bar", "TIMESIG": "meter", "POSITION": "position", "EOS": "end"},
            "meter": {"BAR": "bar", "POSITION": "position", "EOS": "end"},
            "position": {"TEMPO": "tempo", "CHORD": "chord", "PITCH": "pitch"},
            "tempo": {**after_note, "CHORD": "chord"},
            "chord": {"PITCH": "pitch"},
            "pitch": {"VELOCITY": "velocity"},
            "velocity": {"DURATION": "note"},
            "note": after_note,
            "end": {"EOS": "end"},
        }

    # -------------------------------------------------------------- encoding
    def _layout(self, song: Song) -> _Layout:
        cfg = self.config
        spb = cfg.steps_per_beat
        song = merge_for_encoding(song, spb, cfg.velocity_bins)
        onset = np.round(song.notes["start"] * spb).astype(np.int64)
        duration = np.round(song.notes["duration"] * spb).astype(np.int64)
        duration = np.minimum(duration, self._max_steps)
        velocity = np.searchsorted(self._velocities, song.notes["velocity"])
        last = int(onset.max()) if len(onset) else -1
        tempo_at, tempo = np.zeros(0, np.int64), np.zeros(0, np.int64)
        if cfg.tempos and song.tempos:
            tempo_at = np.round(np.array([t.beat for t in song.tempos]) * spb).astype(np.int64)
            logs = np.log(self._tempos)
            tempo = np.searchsorted(
                (logs[1:] + logs[:-1]) / 2, np.log([t.bpm for t in song.tempos])
            )
            keep = np.append(tempo_at[1:] != tempo_at[:-1], True) & (tempo_at <= last)
            tempo_at, tempo = tempo_at[keep], tempo[keep]  # the last change at each step
            keep = np.insert(tempo[1:] != tempo[:-1], 0, True)[: len(tempo)]
            tempo_at, tempo = tempo_at[keep], tempo[keep]  # the changes that change the bin
        segments = [(0, 4, 4, _bar_steps(4, 4, spb))]
        for sig in song.time_signatures if cfg.time_signatures else ():
            if not has_bar(sig):  # 0/1, 1/2**40: no bar to count (popgen.music.bars.has_bar)
                continue
            start, _, _, length = segments[-1]
            at = max(round(sig.beat * spb), start)
            at = start - (start - at) // length * length  # the next bar line at or after
            if at > last:
                break
            if at == start:
                segments.pop()
            if not segments or segments[-1][1:3] != (sig.numerator, sig.denominator):
                bar = _bar_steps(sig.numerator, sig.denominator, spb)
                segments.append((at, sig.numerator, sig.denominator, bar))
        return _Layout(song, onset, duration, velocity, segments, tempo_at, tempo)

    def prepare(self, song: Song) -> Song:
        """The song as this encoding sees it (see the module docstring for the loss).

        ``decode(encode(song))`` has exactly these notes, time signatures and
        (with ``tempos`` on) tempo changes.

        >>> from popgen.music.song import make_notes
        >>> tok = RemiTokenizer(steps_per_beat=4, velocity_bins=8, max_duration=8)
        >>> tok.prepare(Song(make_notes([60], [4.1], [12], 100))).notes.tolist()  # clipped
        [(60, 4.0, 8.0, 104, 0)]
        """
        lay = self._layout(song)
        spb = self.config.steps_per_beat
        notes = lay.song.notes.copy()
        notes["duration"] = lay.duration / spb
        tempos = tuple(
            TempoChange(t / spb, float(self._tempos[i]))
            for t, i in zip(lay.tempo_at.tolist(), lay.tempo.tolist(), strict=True)
        )
        sigs = tuple(TimeSignature(s / spb, n, d) for s, n, d, _ in lay.segments)
        tempos = tempos or Song.tempos
        return lay.song.replace(notes=notes, tempos=tempos, time_signatures=sigs, key=None)

    def song_to_names(self, song: Song) -> list[str]:
        """Encode a song; one array operation per token kind, no loop over notes.

        >>> from popgen.music.time import TimeSignature
        >>> from popgen.music.song import make_notes
        >>> waltz = [TimeSignature(0, 3, 4)]
        >>> song = Song(make_notes([60, 64, 72], [0, 0, 5], [1, 1, 1], 88), time_signatures=waltz)
        >>> RemiTokenizer(steps_per_beat=4, velocity_bins=8).song_to_names(song)
        ['BAR', 'TIMESIG_3/4', 'POSITION_0', 'PITCH_60', 'VELOCITY_88', 'DURATION_1',
         'PITCH_64', 'VELOCITY_88', 'DURATION_1', 'BAR', 'POSITION_8', 'PITCH_72',
         'VELOCITY_88', 'DURATION_1']
        """
        lay = self._layout(song)
        cfg = self.config
        onset, n = lay.onset, len(lay.onset)
        if not n:
            return []
        onsets, first, count = np.unique(onset, return_index=True, return_counts=True)
        units = np.union1d(onsets, lay.tempo_at)  # times that get a POSITION
        seg_start = np.array([s[0] for s in lay.segments])
        seg_end = np.append(seg_start[1:], units[-1] + 1)
        bar_steps = [s[3] for s in lay.segments]
        bars = np.concatenate(list(map(np.arange, seg_start, seg_end, bar_steps)))
        with_sig = np.zeros(len(bars), bool)
        with_sig[np.searchsorted(bars, seg_start)] = True
        with_sig[0] = lay.segments[0][1:3] != (4, 4)
        unit_bar = np.searchsorted(bars, units, side="right") - 1
        note_unit = np.searchsorted(units, onsets)

        # codes: static names, then POSITION_0.., then one TIMESIG per segment
        static = self._static_names
        vel0 = 129
        dur0 = vel0 + len(self._velocities)
        tempo0 = dur0 + self._max_steps
        chord0 = tempo0 + len(self._tempos)
        pos0 = len(static)
        longest = max(s[3] for s in lay.segments)
        sig0 = pos0 + longest
        table = np.array(
            static
            + [f"POSITION_{k}" for k in range(longest)]
            + [f"TIMESIG_{num}/{den}" for _, num, den, _ in lay.segments],
            dtype=object,
        )
        unit_tempo = np.full(len(units), -1)
        unit_tempo[np.searchsorted(units, lay.tempo_at)] = lay.tempo
        unit_chord = np.full(len(units), -1)
        if cfg.chords:
            pcs = lay.song.notes["pitch"].astype(np.int64) % 12
            masks = np.bitwise_or.reduceat(1 << pcs, first)
            unit_chord[note_unit] = _CHORD_OF_MASK[masks]
        has_tempo, has_chord = unit_tempo >= 0, unit_chord >= 0
        unit_notes = np.zeros(len(units), np.int64)
        unit_notes[note_unit] = count

        # where each bar and each unit starts in the token stream
        unit_slot = np.arange(len(units)) + unit_bar + 1
        bar_slot = np.arange(len(bars)) + np.searchsorted(unit_bar, np.arange(len(bars)))
        length = np.empty(len(bars) + len(units), np.int64)
        length[bar_slot] = 1 + with_sig
        length[unit_slot] = 1 + has_tempo + has_chord + 3 * unit_notes
        begin = np.cumsum(length) - length
        codes = np.empty(int(length.sum()), np.int64)
        at = begin[bar_slot]
        codes[at] = 0
        codes[at[with_sig] + 1] = sig0 + np.searchsorted(seg_start, bars[with_sig])
        at = begin[unit_slot]
        codes[at] = pos0 + units - bars[unit_bar]
        codes[at[has_tempo] + 1] = tempo0 + unit_tempo[has_tempo]
        codes[(at + 1 + has_tempo)[has_chord]] = chord0 + unit_chord[has_chord]
        unit = note_unit.repeat(count)
        rank = np.arange(n) - first.repeat(count)
        at = at[unit] + 1 + has_tempo[unit] + has_chord[unit] + 3 * rank
        codes[at] = 1 + lay.song.notes["pitch"]
        codes[at + 1] = vel0 + lay.velocity
        codes[at + 2] = dur0 + lay.duration - 1
        return [str(s) for s in table[codes].tolist()]

    # -------------------------------------------------------------- decoding
    @cached_property
    def _parsed(self) -> dict[str, tuple[int, int, int]]:
        """Name -> (kind, value, denominator), filled as names are met."""
        return {}

    def _parse(self, name: str) -> tuple[int, int, int]:
        family, _, value = name.partition("_")
        kind = _KINDS.get(family, -1)
        if kind in (_BAR, _CHORD):
            return kind, 0, 0
        try:
            if kind == _TIMESIG:
                num, den = (int(v) for v in value.split("/"))
                return (kind, num, den) if num > 0 and den > 0 else (-1, 0, 0)
            spb = self.config.steps_per_beat
            number = round(Fraction(value) * spb) if kind == _DURATION else int(value)
        except (ValueError, ZeroDivisionError):
            return -1, 0, 0
        low, high = _RANGES.get(kind, (1, 0))
        return (kind, number, 0) if low <= number <= high else (-1, 0, 0)

    def names_to_song(self, names: Sequence[str]) -> Song:
        """Decode names; tolerant of any order (see the module docstring).

        >>> names = ["BAR", "POSITION_2", "PITCH_60", "VELOCITY_88", "DURATION_1",
        ...          "BAR", "PITCH_62", "VELOCITY_88",  # no duration: skipped
        ...          "POSITION_0", "PITCH_64", "VELOCITY_88", "DURATION_1/2"]
        >>> tok = RemiTokenizer(steps_per_beat=4, velocity_bins=8)
        >>> tok.names_to_song(names).notes[["pitch", "start", "duration"]].tolist()
        [(60, 0.5, 1.0), (64, 4.0, 0.5)]
        """
        spb = self.config.steps_per_beat
        parsed = self._parsed
        bar_start, bar_len, now = -1, _bar_steps(4, 4, spb), 0
        sigs: dict[int, tuple[int, int]] = {0: (4, 4)}
        tempos: dict[int, int] = {}
        rows: list[tuple[int, int, int, int]] = []  # pitch, onset, duration, velocity
        pitch = velocity = -1
        for name in names:
            if name not in parsed:
                parsed[name] = self._parse(name)
            kind, value, den = parsed[name]
            if kind == _BAR:
                bar_start = 0 if bar_start < 0 else bar_start + bar_len
                now = bar_start
            elif kind == _TIMESIG:
                bar_len = _bar_steps(value, den, spb)
                sigs[max(bar_start, 0)] = (value, den)
            elif kind == _POSITION:
                now = max(bar_start, 0) + value
            elif kind == _TEMPO:
                tempos[now] = value
            elif kind == _PITCH:
                pitch, velocity = value, -1
            elif kind == _VELOCITY and pitch >= 0:
                velocity = value
            elif kind == _DURATION and pitch >= 0 and velocity >= 0:
                rows.append((pitch, now, value, velocity))
                pitch = velocity = -1
        arr = np.array(rows, dtype=np.int64).reshape(-1, 4)
        notes = make_notes(arr[:, 0], arr[:, 1] / spb, arr[:, 2] / spb, arr[:, 3].tolist())
        return Song(
            notes,
            tracks=(Track(),),
            tempos=_changes(tempos, spb, TempoChange) or Song.tempos,
            time_signatures=_changes(sigs, spb, TimeSignature),
        )


def _bar_steps(numerator: int, denominator: int, steps_per_beat: int) -> int:
    """Grid steps in a bar of ``numerator/denominator`` (at least one)."""
    return max(1, round(numerator * 4 * steps_per_beat / denominator))


def _changes(at: dict[int, Any], spb: int, kind: Any) -> tuple[Any, ...]:
    """``{step: value}`` as time-ordered changes, dropping repeats of the previous value."""
    out: list[Any] = []
    last = None
    for step in sorted(at):
        value = at[step] if isinstance(at[step], tuple) else (float(at[step]),)
        if value != last:
            out.append(kind(step / spb, *value))
            last = value
    return tuple(out)
