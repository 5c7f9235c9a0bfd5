"""The pop project's encoding: each note as pitch, duration and velocity; rests as tokens.

Tokens (durations are exact fractions of a beat, e.g. ``DUR_3/2``)::

    PITCH_60 DUR_1 VEL_88            one note
    AND                              the next note starts with the previous one (chords)
    REST_1/2                         silence before the next note
    SHIFT_1/4                        the next note starts this long after the previous
                                     onset, while that onset's notes still sound

Notes sharing an onset form a group, written in ascending pitch joined by
``AND``. The next group starts when the group's shortest note ends, plus any
``REST`` tokens; if it starts earlier (overlapping polyphony), a ``SHIFT``
token gives its distance from the current onset instead.

The documented loss of ``decode(encode(song))``: drum tracks are dropped and
all tracks merged into one (piano, the first track's name); onsets and
durations are snapped to the ``1/steps_per_beat`` grid (see
:meth:`popgen.Song.quantize`); durations are clipped to ``max_duration``;
velocities become the centre of their bin out of ``velocity_bins``; tempo,
time signatures and key are not encoded (a decoded song has 120 bpm and 4/4);
silences longer than 256 beats are shortened by whole bars
(:func:`popgen.music.limits.shorten_silences`), so no song needs more than a few
dozen REST tokens in a row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from popgen.music.song import Song, Track, make_notes
from popgen.tokenizers._prepare import merge_for_encoding
from popgen.tokenizers.base import Tokenizer, register_tokenizer
from popgen.tokenizers.bins import velocity_values
from popgen.tokenizers.grammar import GrammarRules

__all__ = ["NoteConfig", "NoteTokenizer", "beats_name", "name_beats"]


@dataclass(frozen=True)
class NoteConfig:
    """Options of the ``note`` encoding.

    >>> from popgen.music.song import make_notes
    >>> song = Song(make_notes([60, 62], [0, 1], [1, 1], velocity=[40, 120]))
    >>> NoteTokenizer(NoteConfig(velocity_bins=1)).song_to_names(song)  # no dynamics
    ['PITCH_60', 'DUR_1', 'VEL_64', 'PITCH_62', 'DUR_1', 'VEL_64']
    """

    steps_per_beat: int = 12  # time grid: 12 holds sixteenths and triplets
    max_duration: float = 8.0  # longer notes are clipped; longer rests use several tokens
    velocity_bins: int = 8  # velocities 1..127 in this many equal bins (1 = no dynamics)

    def __post_init__(self) -> None:
        if self.steps_per_beat < 1:
            raise ValueError(f"steps_per_beat must be >= 1, got {self.steps_per_beat}")
        if self.max_duration * self.steps_per_beat < 1:
            raise ValueError(
                f"max_duration must be at least one grid step, got {self.max_duration}"
            )
        if not 1 <= self.velocity_bins <= 127:
            raise ValueError(f"velocity_bins must be in 1..127, got {self.velocity_bins}")


def beats_name(beats: float, steps_per_beat: int) -> str:
    """A time in beats as an exact fraction on the grid: ``1.5 -> "3/2"``.

    >>> beats_name(0.25, 12)
    '1/4'
    """
    return str(Fraction(round(beats * steps_per_beat), steps_per_beat))


def name_beats(value: str) -> float:
    """Inverse of :func:`beats_name`: ``"3/2" -> 1.5``.

    >>> name_beats("3/2"), name_beats("1/12") == 1 / 12
    (1.5, True)
    """
    return float(Fraction(value))


@register_tokenizer("note")
class NoteTokenizer(Tokenizer):
    """Pitch + duration + velocity per note, rests as tokens (the pop project's encoding).

    >>> from popgen.music.song import make_notes
    >>> tok = NoteTokenizer(steps_per_beat=4)
    >>> tok.song_to_names(Song(make_notes([60, 62], [0, 1.5], [1, 1], 88)))
    ['PITCH_60', 'DUR_1', 'VEL_88', 'REST_1/2', 'PITCH_62', 'DUR_1', 'VEL_88']
    """

    config_class = NoteConfig
    config: NoteConfig

    def base_vocabulary(self) -> list[str]:
        """Every pitch, the ``AND`` token and every velocity bin.

        Durations, rests and shifts come from :meth:`fit`.

        >>> names = NoteTokenizer(velocity_bins=4).base_vocabulary()
        >>> len(names), names[:2], names[-4:]
        (133, ['AND', 'PITCH_0'], ['VEL_16', 'VEL_48', 'VEL_80', 'VEL_112'])
        """
        bins = self.config.velocity_bins
        vels = velocity_values(bins).tolist()
        return ["AND", *(f"PITCH_{p}" for p in range(128)), *(f"VEL_{v}" for v in vels)]

    def pitch_of(self, name: str) -> int | None:
        """``PITCH_60 -> 60``; other tokens name no pitch.

        >>> tok = NoteTokenizer()
        >>> tok.pitch_of("PITCH_60"), tok.pitch_of("REST_1/2")
        (60, None)
        """
        return int(name[6:]) if name.startswith("PITCH_") else None

    def grammar_rules(self) -> tuple[str, GrammarRules]:
        """Notes are ``PITCH DUR VEL``; ``AND``, ``REST`` and ``SHIFT`` come only between notes.

        >>> start, rules = NoteTokenizer().grammar_rules()
        >>> sorted(rules["note"])  # what may follow a complete note
        ['AND', 'EOS', 'PITCH', 'REST', 'SHIFT']
        """
        between = {"PITCH": "pitch", "REST": "rest", "EOS": "start"}
        return "start", {
            "start": between,
            "pitch": {"DUR": "dur"},
            "dur": {"VEL": "note"},
            "note": {**between, "AND": "and", "SHIFT": "shift"},
            "and": {"PITCH": "pitch"},
            "rest": between,
            "shift": {"PITCH": "pitch"},
        }

    def prepare(self, song: Song) -> Song:
        """The song as this encoding sees it: no drums, one track, on the grid.

        ``decode(encode(song))`` has exactly these notes.

        >>> from popgen.music.song import make_notes
        >>> tok = NoteTokenizer(steps_per_beat=4, velocity_bins=8)
        >>> tok.prepare(Song(make_notes([60], [0.1], [0.3], 100))).notes.tolist()
        [(60, 0.0, 0.25, 104, 0)]
        """
        cfg = self.config
        song = merge_for_encoding(song, cfg.steps_per_beat, cfg.velocity_bins)
        notes = song.notes.copy()
        notes["duration"] = np.minimum(notes["duration"], _clip(cfg.max_duration, cfg))
        return Song(notes, tracks=song.tracks, title=song.title, source=song.source)

    def song_to_names(self, song: Song) -> list[str]:
        """Encode a song; see the module docstring for the grammar.

        >>> from popgen.music.song import make_notes
        >>> song = Song(make_notes([60, 64, 67], [0, 0, 1.5], [1, 2, 1], 88))  # a chord, a rest
        >>> NoteTokenizer(steps_per_beat=4).song_to_names(song)
        ['PITCH_60', 'DUR_1', 'VEL_88', 'AND', 'PITCH_64', 'DUR_2', 'VEL_88',
         'REST_1/2', 'PITCH_67', 'DUR_1', 'VEL_88']
        """
        cfg = self.config
        spb = cfg.steps_per_beat
        notes = self.prepare(song).notes
        # all times as whole grid steps, so group arithmetic is exact integers
        starts = np.round(notes["start"] * spb).astype(np.int64)
        durs = np.round(notes["duration"] * spb).astype(np.int64)
        onsets, first = np.unique(starts, return_index=True)
        shortest = np.minimum.reduceat(durs, first) if len(first) else durs[:0]
        step_name = _step_namer(spb)
        pitch_names = [f"PITCH_{p}" for p in notes["pitch"].tolist()]
        vel_names = [f"VEL_{v}" for v in notes["velocity"].tolist()]
        dur_names = [step_name("DUR_", d) for d in durs.tolist()]
        bounds = [*first.tolist(), len(notes)]
        names: list[str] = []
        onset = next_onset = 0
        for g, t in enumerate(onsets.tolist()):
            if t > next_onset:
                names += _rests((t - next_onset) / spb, cfg)
            elif t < next_onset:
                names.append(step_name("SHIFT_", t - onset))
            for i in range(bounds[g], bounds[g + 1]):
                if i > bounds[g]:
                    names.append("AND")
                names += (pitch_names[i], dur_names[i], vel_names[i])
            onset, next_onset = t, t + int(shortest[g])
        return names

    def names_to_song(self, names: Sequence[str]) -> Song:
        """Decode names; incomplete notes and misplaced tokens are skipped.

        >>> names = ["PITCH_60", "DUR_1", "VEL_88", "SHIFT_1/2", "PITCH_64", "DUR_1", "VEL_88"]
        >>> NoteTokenizer().names_to_song(names).notes[["pitch", "start", "duration"]].tolist()
        [(60, 0.0, 1.0), (64, 0.5, 1.0)]
        """
        pitches: list[int] = []
        starts: list[float] = []
        durs: list[float] = []
        vels: list[int] = []
        # exact fractions, so onsets stay on the grid however long the song
        onset, next_onset = Fraction(0), Fraction(0)
        group_min: Fraction | None = None  # shortest note of the current group
        join = False  # the previous token was AND
        pitch: int | None = None
        dur: Fraction | None = None
        for name in names:
            family, _, value = name.partition("_")
            if family == "PITCH":
                if not join:  # a new group starts where the last one's time ran out
                    onset, group_min = next_onset, None
                pitch, dur, join = int(value), None, False
            elif family == "DUR" and pitch is not None and dur is None:
                dur = Fraction(value)
            elif family == "VEL" and pitch is not None and dur is not None:
                pitches.append(pitch)
                starts.append(float(onset))
                durs.append(float(dur))
                vels.append(int(value))
                group_min = dur if group_min is None else min(group_min, dur)
                next_onset = onset + group_min
                pitch = dur = None
            elif name == "AND":
                join = group_min is not None
            elif family == "REST":
                next_onset += Fraction(value)
                join = False
            elif family == "SHIFT":
                next_onset = onset + Fraction(value)
                join = False
        return Song(make_notes(pitches, starts, durs, vels), tracks=(Track(),))


def _step_namer(steps_per_beat: int) -> Callable[[str, int], str]:
    """``name(prefix, steps)``: a token name for a whole number of grid steps, memoised."""
    cache: dict[tuple[str, int], str] = {}

    def name(prefix: str, steps: int) -> str:
        key = (prefix, steps)
        if key not in cache:
            cache[key] = prefix + str(Fraction(steps, steps_per_beat))
        return cache[key]

    return name


def _clip(beats: float, cfg: NoteConfig) -> float:
    """The longest whole number of grid steps not above ``beats``."""
    return int(beats * cfg.steps_per_beat) / cfg.steps_per_beat


def _rests(gap: float, cfg: NoteConfig) -> list[str]:
    """``REST`` tokens for a gap: as many of the longest as fit, then the remainder."""
    longest = _clip(cfg.max_duration, cfg)
    out = []
    while gap > longest + 1e-9:
        out.append("REST_" + beats_name(longest, cfg.steps_per_beat))
        gap -= longest
    out.append("REST_" + beats_name(gap, cfg.steps_per_beat))
    return out
