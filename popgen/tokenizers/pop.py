"""Pop songs in bars: each bar's chords, then each track's notes (``pop``, and ``lead``).

One bar of the ``pop`` encoding (roles melody and accompaniment)::

    BAR                          a bar line; every bar has one, empty bars included
    TIMESIG_3/4                  the bar's length, where it differs from the bar before
    SECTION_A                    a section of the song's form starts here (option ``sections``)
    CHORD_C:maj BEAT_2 CHORD_A:min    the chord at the bar line, then changes, in beats
    MELODY                       the melody's notes in this bar follow
    POSITION_4 PITCH_72 VELOCITY_88 DURATION_1     one note (position in steps from the bar line)
    ACCOMPANIMENT                the accompaniment's notes in this bar follow
    POSITION_0 PITCH_48 VELOCITY_72 DURATION_4 PITCH_55 VELOCITY_72 DURATION_4

Every bar names every role of :attr:`PopConfig.roles`, in that order, even
when the role is silent; so a bar's chords come before all of its notes, and
its melody before its accompaniment. That order is what lets generation
follow controls (:mod:`popgen.sampling.controls`): the sampler *forces* a bar's chords
(and, to arrange a melody, the bar's melody) and the model writes the rest.
The ``lead`` encoding is the same with only the melody: a lead sheet.

With ``layout="beat"`` the parts take turns beat by beat instead: each beat's
notes of each role, opened by the role's token (``MELODY POSITION_0 ...
ACCOMPANIMENT POSITION_0 ... MELODY POSITION_4 ...``), silent beats and roles
left out. A beat's accompaniment then sits next to the melody it goes with;
generation over chords still forces each bar's head, but a given melody
cannot be forced bar by bar, so such a run writes songs and does not arrange.

Which notes go where: a track's :attr:`~popgen.music.song.Track.role` names its
section; tracks whose role is not among ``roles`` are dropped, drums always.
A song with no track in any of the roles (a plain MIDI file without names) is
read as one part, the first role. Chords come from :attr:`popgen.Song.chords`
(annotated, given or inferred as the corpus was read); a song without chords
has no CHORD tokens.

The documented loss of ``decode(encode(song))`` (see :meth:`PopTokenizer.prepare`):
the tracks of one role are merged into one track per role (named after the
role, program from ``programs``, piano by default); onsets and durations snap
to the grid of ``1/steps_per_beat`` beat, durations are clipped to
``max_duration``; velocities become the centre of their bin; the bar lines
(given ones, or the time signatures') snap to the grid, and the time
signatures are rewritten from the bar lengths (a bar of 3 beats is 3/4 unless
the song says 6/8); chords lose their bass note (``C:maj/3`` is ``C:maj``),
changes snap to whole beats from the bar line (of two in one beat the later
wins), gaps between chords become "no chord", and the last chord lasts until
the end of the last bar; with ``sections``, each section lasts until the next
one starts (bars between sections join the one before; bars before the first
have none); tempo (120 bpm), key and title are not encoded;
stretches longer than 256 beats in which no encoded note starts or ends are
shortened (:func:`popgen.music.limits.shorten_silences`, by whole bars).
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
from popgen.music.chords import CHORD_DTYPE, NO_CHORD, QUALITIES, Chord, parse_chord
from popgen.music.form import default_form
from popgen.music.limits import DEFAULT_LIMITS, shorten_silences
from popgen.music.sections import Section, moved_sections
from popgen.music.song import Song, Track, make_notes, resolve_overlaps
from popgen.music.time import TimeSignature
from popgen.tokenizers.base import Tokenizer, register_tokenizer
from popgen.tokenizers.bins import bin_velocities, velocity_values
from popgen.tokenizers.features import StepFeatures
from popgen.tokenizers.grammar import GrammarRules
from popgen.tokenizers.pop_features import (
    COPIED,
    DEFAULT_COPIED,
    DEFAULT_FEATURES,
    FEATURE_GROUPS,
)

__all__ = [
    "LAYOUTS",
    "LeadConfig",
    "LeadTokenizer",
    "PopConfig",
    "PopTokenizer",
    "ROLE_TOKENS",
    "SECTION_LABELS",
]

#: The token that opens each role's section of a bar, and the decoded track's name.
ROLE_TOKENS = {"melody": "MELODY", "second": "SECOND", "accompaniment": "ACCOMPANIMENT"}
_TRACK_NAMES = {"melody": "Melody", "second": "Second", "accompaniment": "Accompaniment"}
#: The section labels a ``SECTION_X`` token may name: one ASCII letter, capitals first.
SECTION_LABELS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class PopConfig:
    """Options of the ``pop`` encoding.

    >>> PopConfig(roles=("melody",)).roles
    ('melody',)
    >>> PopConfig(roles=("drums",))
    Traceback (most recent call last):
    ValueError: roles must be distinct, from ('melody', 'second', 'accompaniment'), got ('drums',)
    """

    roles: tuple[str, ...] = ("melody", "accompaniment")  # sections of each bar, in order
    steps_per_beat: int = 4  # positions per beat
    max_duration: float = 8.0  # beats; longer notes are clipped
    velocity_bins: int = 8  # velocities 1..127 in this many equal bins
    chords: bool = True  # CHORD tokens from the song's chords
    programs: tuple[int, ...] = ()  # General MIDI program of each role's track; () = piano
    sections: bool = False  # SECTION tokens where each of the song's sections starts
    features: tuple[str, ...] = DEFAULT_FEATURES  # the step features' groups (pop_features)
    layout: str = "bar"  # "bar": each role's notes of a bar together; "beat": by turns, per beat
    # the earlier bars the copy heads may copy, among pop_features.COPIED ("1", "2", "section")
    copied: tuple[str, ...] = DEFAULT_COPIED

    def __post_init__(self) -> None:
        object.__setattr__(self, "roles", tuple(self.roles))
        object.__setattr__(self, "programs", tuple(int(p) for p in self.programs))
        if isinstance(self.features, str) or not set(self.features) <= set(FEATURE_GROUPS):
            raise ValueError(
                f"features must be a tuple of groups among {FEATURE_GROUPS}, got {self.features!r}"
            )
        object.__setattr__(self, "features", tuple(self.features))
        if isinstance(self.copied, str) or not set(self.copied) <= set(COPIED) or (
            "copy" in self.features and not self.copied
        ):
            raise ValueError(
                f"copied must be a tuple of earlier bars among {COPIED} (at least one with the "
                f"copy features), got {self.copied!r}"
            )
        object.__setattr__(self, "copied", tuple(self.copied))
        if self.layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {self.layout!r}")
        if not self.features:
            raise ValueError("features must name at least one group (a model without them "
                             "is trained without --step-features)")  # fmt: skip
        if (
            not self.roles
            or len(set(self.roles)) != len(self.roles)
            or any(r not in ROLE_TOKENS for r in self.roles)
        ):
            raise ValueError(
                f"roles must be distinct, from {tuple(ROLE_TOKENS)}, got {self.roles!r}"
            )
        if self.steps_per_beat < 1 or self.max_duration * self.steps_per_beat < 1:
            raise ValueError(
                "steps_per_beat must be >= 1 and max_duration at least one step, got "
                f"{self.steps_per_beat} and {self.max_duration}"
            )
        if not 1 <= self.velocity_bins <= 127:
            raise ValueError(f"velocity_bins must be in 1..127, got {self.velocity_bins}")
        if self.programs and (
            len(self.programs) != len(self.roles) or not all(0 <= p <= 127 for p in self.programs)
        ):
            raise ValueError(
                f"programs needs one General MIDI program (0..127) per role {self.roles}, "
                f"got {self.programs}"
            )


@dataclass(frozen=True)
class LeadConfig(PopConfig):
    """Options of the ``lead`` encoding: :class:`PopConfig` with the melody alone.

    >>> LeadConfig().roles, LeadConfig().chords
    (('melody',), True)
    """

    roles: tuple[str, ...] = ("melody",)


#: How a bar's notes are ordered: each role's together ("bar"), or role by role within
#: each beat ("beat": a role token opens each beat's notes of that role; silent beats
#: and roles are left out).
LAYOUTS = ("bar", "beat")


class _Layout(NamedTuple):
    """A song as the encoding sees it, on the grid (times in steps)."""

    notes: NDArray[Any]  # prepared notes, track = index of the role; sorted (start, track, pitch)
    edges: NDArray[np.int64]  # bar lines in steps, edges[0] == 0, one more than bars
    meters: list[tuple[int, int]]  # each bar's time signature
    chords: list[list[tuple[int, Chord]]]  # per bar: (beat from the bar line, chord)
    sections: dict[int, str]  # the first bar of each section -> its label (option sections)


@register_tokenizer("pop")
class PopTokenizer(Tokenizer):
    """Bars of chords and per-role notes (see the module docstring).

    >>> from popgen.music.chords import make_chords
    >>> from popgen.music.song import make_notes
    >>> song = Song(make_notes([72, 48], [1, 0], [1, 4], 88, track=[0, 1]),
    ...             tracks=(Track("Vocal", role="melody"), Track("Piano", role="accompaniment")),
    ...             chords=make_chords(["C"], [0], [4]))
    >>> " ".join(PopTokenizer().song_to_names(song))
    'BAR CHORD_C:maj MELODY POSITION_4 PITCH_72 VELOCITY_88 DURATION_1
     ACCOMPANIMENT POSITION_0 PITCH_48 VELOCITY_88 DURATION_4'
    """

    config_class = PopConfig
    config: PopConfig

    # ------------------------------------------------------------ vocabulary
    @cached_property
    def _velocities(self) -> NDArray[np.int64]:
        return velocity_values(self.config.velocity_bins)

    @cached_property
    def _max_steps(self) -> int:
        return int(self.config.max_duration * self.config.steps_per_beat)

    def base_vocabulary(self) -> list[str]:
        """BAR, the role tokens, positions of a 4/4 bar, pitches, velocities, durations, chords.

        Chords are named by root and quality (``CHORD_A:min7``), all 12 x 19 of them,
        so that a user's progression is in the vocabulary whatever the corpus had;
        with ``sections``, every label's ``SECTION_X`` (the 52 ASCII letters) too.

        >>> names = PopTokenizer().base_vocabulary()
        >>> names[:4], len(names)
        (['BAR', 'MELODY', 'ACCOMPANIMENT', 'CHORD_N'], 419)
        """
        cfg = self.config
        spb = cfg.steps_per_beat
        chords = [f"CHORD_{c}" for c in _chord_names()] if cfg.chords else []
        beats = [f"BEAT_{k}" for k in range(1, 4)] if cfg.chords else []
        sections = [f"SECTION_{x}" for x in SECTION_LABELS] if cfg.sections else []
        return [
            "BAR",
            *(ROLE_TOKENS[r] for r in cfg.roles),
            *chords,
            *sections,
            *beats,
            *(f"POSITION_{k}" for k in range(4 * spb)),
            *(f"PITCH_{p}" for p in range(128)),
            *(f"VELOCITY_{v}" for v in self._velocities.tolist()),
            *(f"DURATION_{Fraction(k, spb)}" for k in range(1, self._max_steps + 1)),
        ]

    def pitch_of(self, name: str) -> int | None:
        """``PITCH_60 -> 60``; other tokens name no pitch.

        >>> PopTokenizer().pitch_of("PITCH_60"), PopTokenizer().pitch_of("POSITION_6")
        (60, None)
        """
        return int(name[6:]) if name.startswith("PITCH_") else None

    def role_of(self, name: str) -> str | None:
        """The role whose section a token opens (``"MELODY" -> "melody"``), else ``None``.

        >>> PopTokenizer().role_of("ACCOMPANIMENT"), PopTokenizer().role_of("BAR")
        ('accompaniment', None)
        """
        for role, token in ROLE_TOKENS.items():
            if name == token and role in self.config.roles:
                return role
        return None

    # ------------------------------------------------ steering (SteerableEncoding)
    @property
    def bar_token(self) -> str:
        """The token that opens every bar.

        >>> PopTokenizer().bar_token
        'BAR'
        """
        return "BAR"

    @property
    def steers_chords(self) -> bool:
        """Whether bars name their chords (the ``chords`` option).

        >>> PopTokenizer().steers_chords
        True
        """
        return self.config.chords

    @property
    def part_roles(self) -> tuple[str, ...]:
        """The roles of each bar's parts, in order (the ``roles`` option).

        >>> PopTokenizer().part_roles
        ('melody', 'accompaniment')
        """
        return tuple(self.config.roles)

    def part_token(self, role: str) -> str:
        """The token that opens the part of ``role``.

        >>> PopTokenizer().part_token("accompaniment")
        'ACCOMPANIMENT'
        """
        return ROLE_TOKENS[role]

    def step_features(self) -> StepFeatures:
        """What a model may see at each step besides the token (:func:`pop_features`).

        >>> PopTokenizer().step_features().size > 0
        True
        """
        from popgen.tokenizers.pop_features import pop_features

        return pop_features(self)

    def chord_token(self, chord: Chord) -> str:
        """The token that names ``chord`` (its bass is dropped).

        >>> PopTokenizer().chord_token(parse_chord("Am7/G")), PopTokenizer().chord_token(NO_CHORD)
        ('CHORD_A:min7', 'CHORD_N')
        """
        return "CHORD_" + Chord(chord.root, chord.quality, chord.root).label

    def grammar_rules(self) -> tuple[str, GrammarRules]:
        """Bars hold their chords, then every role's section in order, then the next bar.

        >>> start, rules = PopTokenizer().grammar_rules()
        >>> rules["bar"]  # a bar's chords come before its melody
        {'TIMESIG': 'meter', 'CHORD': 'chord', 'MELODY': 'r0'}
        >>> rules["r1"]  # the last section ends with the next bar or the song
        {'POSITION': 'r1/position', 'BAR': 'bar', 'EOS': 'end'}
        """
        roles = self.config.roles
        rules: dict[str, dict[str, str]] = {
            "start": {"BAR": "bar", "EOS": "end"},
            "end": {"EOS": "end"},
        }
        if self.config.layout == "beat":
            return "start", _beat_rules(rules, roles, self.config.sections)
        first = {ROLE_TOKENS[roles[0]]: "r0"}
        opens = {"SECTION": "section"} if self.config.sections else {}
        rules["bar"] = {"TIMESIG": "meter", **opens, "CHORD": "chord", **first}
        rules["meter"] = {**opens, "CHORD": "chord", **first}
        rules["section"] = {"CHORD": "chord", **first}
        rules["chord"] = {"BEAT": "beat", **first}
        rules["beat"] = {"CHORD": "chord"}
        for i in range(len(roles)):
            after = (
                {ROLE_TOKENS[roles[i + 1]]: f"r{i + 1}"}
                if i + 1 < len(roles)
                else {"BAR": "bar", "EOS": "end"}
            )
            rules[f"r{i}"] = {"POSITION": f"r{i}/position", **after}
            rules[f"r{i}/position"] = {"PITCH": f"r{i}/pitch"}
            rules[f"r{i}/pitch"] = {"VELOCITY": f"r{i}/velocity"}
            rules[f"r{i}/velocity"] = {"DURATION": f"r{i}/note"}
            rules[f"r{i}/note"] = {"PITCH": f"r{i}/pitch", "POSITION": f"r{i}/position", **after}
        return "start", rules

    # -------------------------------------------------------------- encoding
    def _notes(self, song: Song) -> NDArray[Any]:
        """The song's notes of the encoded roles, one track per role, on the grid."""
        cfg = self.config
        spb = float(cfg.steps_per_beat)
        song = song.drop_drums()
        role_index = {r: i for i, r in enumerate(cfg.roles)}
        track_role = np.array([role_index.get(t.role, -1) for t in song.tracks] or [-1])
        notes = song.notes.copy()
        if len(notes) and (track_role >= 0).any():
            notes["track"] = track_role[notes["track"]]
            notes = notes[notes["track"] >= 0]
        else:
            notes["track"] = 0
        notes["start"] = np.round(notes["start"] * spb) / spb
        steps = np.clip(np.round(notes["duration"] * spb), 1, self._max_steps)
        notes["duration"] = steps / spb
        notes = resolve_overlaps(notes)
        notes["duration"] = np.round(notes["duration"] * spb) / spb
        notes["velocity"] = bin_velocities(notes["velocity"], cfg.velocity_bins)
        return Song(notes, tracks=self._tracks()).notes

    def _tracks(self) -> tuple[Track, ...]:
        programs = self.config.programs or (0,) * len(self.config.roles)
        return tuple(
            Track(name=_TRACK_NAMES[r], program=p, role=r)
            for r, p in zip(self.config.roles, programs, strict=True)
        )

    def _shortened(self, song: Song) -> Song:
        """The notes this encoding keeps, silences longer than the cap shortened (see prepare)."""
        song = song.drop_drums()
        encoded = np.array([t.role in self.config.roles for t in song.tracks])
        notes = song.notes
        if len(notes) and encoded.any():
            notes = notes[encoded[notes["track"]]]
        return shorten_silences(song.replace(notes=notes), DEFAULT_LIMITS.max_silence)[0]

    def _layout(self, song: Song, bars: int | None = None) -> _Layout:
        """The song on the grid; ``bars`` sets the number of bars (default: to the last note).

        With ``bars`` unset, long silences are shortened first; with ``bars``
        set, the caller has bounded the song already.
        """
        spb = self.config.steps_per_beat
        if bars is None:
            song = self._shortened(song)
        notes = self._notes(song)
        if bars is None and not len(notes):
            return _Layout(notes, np.zeros(1, np.int64), [], [], {})
        end = float((notes["start"] + notes["duration"]).max()) if len(notes) else 0.0
        edges = np.unique(np.round(_bar_edges(song, end) * spb).astype(np.int64))
        if edges[-1] < end * spb:  # snapping pulled the last bar line back over a note
            edges = _more_bars(edges, 1, spb)
        if bars is not None:  # exactly this many bars: more at the last bar's length, or fewer
            edges = _more_bars(edges, max(bars + 1 - len(edges), 0), spb)[: bars + 1]
        sigs = tuple(s for s in song.time_signatures if has_bar(s))
        meters = []
        for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
            meters.append(_meter(b - a, spb, _signature_at(sigs, a / spb)))
        chords: list[list[tuple[int, Chord]]] = []
        if self.config.chords and len(song.chords):
            chords = _bar_chords(song.chords, edges, spb)
        starts: dict[int, str] = {}
        if self.config.sections and song.sections:  # by beats: snapping may merge bars
            moved = moved_sections(song.sections, song.bar_lines(), edges / spb)
            starts = {x.first_bar: x.label for x in moved if x.first_bar < len(meters)}
        return _Layout(notes, edges, meters, chords, starts)

    def prepare(self, song: Song) -> Song:
        """The song as this encoding sees it (see the module docstring for the loss).

        ``decode(encode(song))`` has exactly these notes, tracks, time
        signatures, chords and (with ``sections``) sections.

        >>> from popgen.music.song import make_notes
        >>> song = Song(make_notes([60, 62], [0.1, 4.9], [12, 1], 100))  # no roles: melody
        >>> prepared = PopTokenizer().prepare(song)
        >>> prepared.notes.tolist(), [t.name for t in prepared.tracks]
        ([(60, 0.0, 8.0, 104, 0), (62, 5.0, 1.0, 104, 0)], ['Melody', 'Accompaniment'])
        """
        lay = self._layout(song)
        spb = self.config.steps_per_beat
        sigs: list[TimeSignature] = []
        for start, meter in zip(lay.edges.tolist(), lay.meters, strict=False):
            if not sigs or (sigs[-1].numerator, sigs[-1].denominator) != meter:
                sigs.append(TimeSignature(start / spb, *meter))
        rows: list[tuple[float, Chord]] = []
        for start, bar in zip(lay.edges.tolist(), lay.chords, strict=False):
            rows += [(start / spb + beat, chord) for beat, chord in bar]
        song = Song(
            lay.notes,
            tracks=self._tracks(),
            time_signatures=tuple(sigs) or Song.time_signatures,
            chords=_segments(rows, float(lay.edges[-1]) / spb),
        )
        return _with_sections(song, lay.sections, len(lay.meters))

    def song_to_names(self, song: Song) -> list[str]:
        """Encode a song (see the module docstring).

        >>> from popgen.music.song import make_notes
        >>> song = Song(make_notes([60, 64], [0, 3.5], [1, 0.5], 88))  # no roles: melody
        >>> LeadTokenizer().song_to_names(song)
        ['BAR', 'MELODY', 'POSITION_0', 'PITCH_60', 'VELOCITY_88', 'DURATION_1',
         'POSITION_14', 'PITCH_64', 'VELOCITY_88', 'DURATION_1/2']
        """
        lay = self._layout(song)
        return [name for head, sections in self._bars(lay) for part in (head, *sections)
                for name in part]  # fmt: skip

    def bar_prefixes(self, skeleton: Song, bars: int, given: int = 0) -> list[list[str]]:
        """Per bar, the tokens generation must take: the bar's head and its ``given`` roles.

        The head is BAR, the time signature where it changes, the section
        where one starts (with ``sections``: the skeleton's, else those of
        :func:`popgen.music.form.default_form`, as ``popgen generate`` gives)
        and the chords;
        then come the sections of the first ``given`` roles with the skeleton's
        notes, and the token that opens the first role left to the model.
        :mod:`popgen.sampling.controls` forces these tokens, so the model writes only
        the rest of each bar.

        >>> from popgen.music.chords import make_chords
        >>> from popgen.music.song import make_notes
        >>> chords = make_chords(["C", "G"], [0, 4], [4, 4])
        >>> PopTokenizer().bar_prefixes(Song(make_notes([], [], []), chords=chords), bars=2)
        [['BAR', 'CHORD_C:maj', 'MELODY'], ['BAR', 'CHORD_G:maj', 'MELODY']]
        >>> melody = Song(make_notes([72], [0], [4], 88), chords=chords)
        >>> PopTokenizer().bar_prefixes(melody, bars=1, given=1)[0][2:]
        ['MELODY', 'POSITION_0', 'PITCH_72', 'VELOCITY_88', 'DURATION_4', 'ACCOMPANIMENT']
        """
        roles = self.config.roles
        if not 0 <= given < len(roles):
            raise ValueError(
                f"given must leave the model a role to write: 0..{len(roles) - 1}, got {given}"
            )
        if bars < 1:
            raise ValueError(f"bars must be >= 1, got {bars}")
        if given and self.config.layout == "beat":
            raise ValueError(
                "the beat layout interleaves the parts beat by beat, so a given part cannot "
                "be forced bar by bar; arrange with a run whose encoding has layout='bar'"
            )
        lay = self._layout(skeleton, bars=bars)
        if self.config.sections and not skeleton.sections:  # the default form's sections
            lay = lay._replace(sections={x.first_bar: x.label for x in default_form(bars)})
        out = []
        for head, sections in self._bars(lay):
            if self.config.layout == "beat":  # the model opens each beat's parts itself
                out.append(head)
                continue
            out.append([*head, *(n for part in sections[:given] for n in part),
                        sections[given][0]])  # fmt: skip
        return out

    def _bars(self, lay: _Layout) -> list[tuple[list[str], list[list[str]]]]:
        """Each bar as (head tokens, one token list per role, each opened by its role token)."""
        notes = lay.notes
        spb = self.config.steps_per_beat
        onset = np.round(notes["start"] * spb).astype(np.int64)
        steps = np.round(notes["duration"] * spb).astype(np.int64)
        bar_of = np.searchsorted(lay.edges, onset, side="right") - 1
        keys = (notes["track"].astype(np.int64), bar_of)
        order = np.lexsort((notes["pitch"], onset, *keys))
        role_names = [ROLE_TOKENS[r] for r in self.config.roles]
        n_roles = len(role_names)
        slot = bar_of[order] * n_roles + notes["track"][order]
        starts = np.searchsorted(slot, np.arange((len(lay.edges) - 1) * n_roles + 1))
        out: list[tuple[list[str], list[list[str]]]] = []
        meter = (4, 4)
        for bar in range(len(lay.edges) - 1):
            head = ["BAR"]
            if lay.meters[bar] != meter:
                meter = lay.meters[bar]
                head.append(f"TIMESIG_{meter[0]}/{meter[1]}")
            if bar in lay.sections:
                head.append(f"SECTION_{lay.sections[bar]}")
            if lay.chords:
                for beat, chord in lay.chords[bar]:
                    head += [f"BEAT_{beat}"] if beat else []
                    head.append(self.chord_token(chord))
            parts: dict[tuple[int, int], list[str]] = {}
            for role in range(n_roles):
                k = bar * n_roles + role
                if self.config.layout == "bar":  # every role, silent or not, in order
                    parts[0, role] = [role_names[role]]
                last = -1
                for i in order[starts[k] : starts[k + 1]].tolist():
                    at = int(onset[i]) - int(lay.edges[bar])
                    part = parts.setdefault(
                        (at // spb if self.config.layout == "beat" else 0, role),
                        [role_names[role]],
                    )
                    if onset[i] != last:  # a new beat's part starts at a new onset too
                        last = int(onset[i])
                        part.append(f"POSITION_{at}")
                    part += [
                        f"PITCH_{notes['pitch'][i]}",
                        f"VELOCITY_{notes['velocity'][i]}",
                        f"DURATION_{Fraction(int(steps[i]), spb)}",
                    ]
            out.append((head, [parts[k] for k in sorted(parts)]))
        return out

    # -------------------------------------------------------------- decoding
    def names_to_song(self, names: Sequence[str]) -> Song:
        """Decode names; tolerant of any order (a note needs its velocity and duration).

        >>> names = ["BAR", "CHORD_A:min", "MELODY", "POSITION_2", "PITCH_69", "VELOCITY_88",
        ...          "DURATION_1", "ACCOMPANIMENT", "POSITION_0", "PITCH_45", "VELOCITY_88",
        ...          "DURATION_4", "BAR", "CHORD_F:maj", "MELODY"]
        >>> song = PopTokenizer().names_to_song(names)
        >>> song.notes[["pitch", "start", "track"]].tolist(), song.chords["start"].tolist()
        ([(45, 0.0, 1), (69, 0.5, 0)], [0.0, 4.0])
        """
        spb = self.config.steps_per_beat
        roles = {ROLE_TOKENS[r]: i for i, r in enumerate(self.config.roles)}
        rows: list[tuple[int, int, int, int, int]] = []
        chords: list[tuple[float, Chord]] = []
        starts: dict[int, str] = {}
        sigs = [TimeSignature(0.0, 4, 4)]
        bar_start, bar_len, now, track, beat, bar = -1, 4 * spb, 0, 0, 0, -1
        pitch = velocity = -1
        for name in names:
            family, _, value = name.partition("_")
            try:
                if name == "BAR":
                    bar_start = 0 if bar_start < 0 else bar_start + bar_len
                    now, track, beat, bar = bar_start, 0, 0, bar + 1
                elif family == "SECTION" and len(value) == 1 and value in SECTION_LABELS:
                    starts[max(bar, 0)] = value
                elif family == "TIMESIG":
                    meter = meter_steps(value, spb)
                    if meter is not None:
                        num, den, bar_len = meter
                        at = max(bar_start, 0) / spb
                        if sigs[-1].beat == at:
                            sigs.pop()
                        if not sigs or (sigs[-1].numerator, sigs[-1].denominator) != (num, den):
                            sigs.append(TimeSignature(at, num, den))
                elif family == "BEAT":
                    beat = int(value)
                elif family == "CHORD":
                    chords.append((max(bar_start, 0) / spb + beat, parse_chord(value)))
                elif name in roles:
                    track, now = roles[name], max(bar_start, 0)
                elif family == "POSITION":
                    now = max(bar_start, 0) + int(value)
                elif family == "PITCH":
                    pitch, velocity = int(value), -1
                    pitch = pitch if 0 <= pitch <= 127 else -1
                elif family == "VELOCITY" and pitch >= 0:
                    velocity = min(max(int(value), 1), 127)
                elif family == "DURATION" and pitch >= 0 and velocity >= 0:
                    steps = duration_steps(value, spb)
                    if steps is None:
                        continue
                    if steps > 0:
                        rows.append((pitch, now, steps, velocity, track))
                    pitch = velocity = -1
            except (ValueError, ZeroDivisionError):
                continue
        arr = np.array(rows, dtype=np.int64).reshape(-1, 5)
        notes = make_notes(
            arr[:, 0], arr[:, 1] / spb, arr[:, 2] / spb, arr[:, 3].tolist(), arr[:, 4].tolist()
        )
        end = (bar_start + bar_len) / spb if bar_start >= 0 else 0.0
        song = Song(
            notes,
            tracks=self._tracks(),
            time_signatures=tuple(sigs),
            chords=_segments(sorted(chords, key=lambda c: c[0]), end),
        )
        return _with_sections(song, starts, bar + 1)


@register_tokenizer("lead")
class LeadTokenizer(PopTokenizer):
    """A lead sheet: bars, chords and the melody (``pop`` with ``roles=("melody",)``).

    >>> from popgen.music.chords import make_chords
    >>> from popgen.music.song import make_notes
    >>> song = Song(make_notes([72], [0], [2], 88), chords=make_chords(["C", "G"], [0, 2], [2, 2]))
    >>> " ".join(LeadTokenizer().song_to_names(song))
    'BAR CHORD_C:maj BEAT_2 CHORD_G:maj MELODY POSITION_0 PITCH_72 VELOCITY_88 DURATION_2'
    """

    config_class = LeadConfig


def meter_steps(value: str, steps_per_beat: int) -> tuple[int, int, int] | None:
    """A ``TIMESIG_n/d`` token's meter and its bar's grid steps; ``None`` when it is no meter.

    The decoder and the step features read bar lengths by this one rule.

    >>> meter_steps("3/4", 4), meter_steps("6/8", 4), meter_steps("3/5", 4), meter_steps("x", 4)
    ((3, 4, 12), (6, 8, 12), None, None)
    """
    parts = value.split("/")
    if len(parts) != 2:
        return None
    try:
        num, den = int(parts[0]), int(parts[1])
    except ValueError:
        return None
    if num <= 0 or den <= 0 or den & (den - 1):
        return None
    return num, den, max(1, round(num * 4 * steps_per_beat / den))


def duration_steps(value: str, steps_per_beat: int) -> int | None:
    """A ``DURATION_x`` token's length in grid steps (``x`` in beats); ``None`` when unreadable.

    >>> duration_steps("3/4", 4), duration_steps("2", 4), duration_steps("1/0", 4)
    (3, 8, None)
    """
    try:
        return round(Fraction(value) * steps_per_beat)
    except (ValueError, ZeroDivisionError):
        return None


def _chord_names() -> list[str]:
    """Every chord token's label: no chord, then 12 roots x every quality (no bass)."""
    names = ["N"]
    for root in range(12):
        names += [Chord(root, q, root).label for q in range(len(QUALITIES))]
    return names


def _bar_edges(song: Song, end: float) -> NDArray[np.float64]:
    """Bar lines from 0 to the first at or after ``end`` (the song's, see ``Song.bar_lines``)."""
    edges = song.bar_lines()
    if edges[-1] < end:
        step = edges[-1] - edges[-2] if len(edges) > 1 else 4.0
        extra = np.arange(1, int(np.ceil((end - edges[-1]) / step)) + 1) * step + edges[-1]
        edges = np.concatenate([edges, extra])
    last = int(np.searchsorted(edges, end, side="left"))
    return edges[: max(last, 1) + 1]


def _more_bars(edges: NDArray[np.int64], count: int, spb: int) -> NDArray[np.int64]:
    """``edges`` and ``count`` more bar lines, each bar as long as the last (4/4 after none)."""
    step = int(edges[-1] - edges[-2]) if len(edges) > 1 else 4 * spb
    return np.concatenate([edges, edges[-1] + step * np.arange(1, count + 1)])


def _signature_at(sigs: Sequence[TimeSignature], beat: float) -> tuple[int, int]:
    current = (4, 4)
    for sig in sigs:
        if sig.beat <= beat + 1e-9:
            current = (sig.numerator, sig.denominator)
    return current


def _meter(steps: int, spb: int, declared: tuple[int, int]) -> tuple[int, int]:
    """A time signature for a bar of ``steps`` grid steps: the declared one if it fits."""
    num, den = declared
    if round(num * 4 * spb / den) == steps:
        return declared
    for den in (4, 8, 16, 32, 64):
        frac = Fraction(steps * den, 4 * spb)
        if frac.denominator == 1:
            return int(frac), den
    return max(1, round(steps * 64 / (4 * spb))), 64


def _bar_chords(
    chords: NDArray[Any], edges: NDArray[np.int64], spb: int
) -> list[list[tuple[int, Chord]]]:
    """Each bar's chords: (whole beats from the bar line, chord), the first at beat 0.

    Beat ``k`` of a bar names the chord sounding half a beat after it (the
    latest begun), at ``k == 0`` always and later only where a chord starts
    or ends within half a beat of it and the chord differs from the bar's
    previous one. Vectorised over every beat: linear in beats and chords.
    """
    a, b = edges[:-1], edges[1:]
    beats = np.maximum(1, -(-(b - a) // spb))  # whole beats in each bar, the last may be partial
    bar = np.repeat(np.arange(len(a)), beats)
    k = np.arange(len(bar)) - np.repeat(np.cumsum(beats) - beats, beats)
    at = a[bar] / spb + k
    start = np.asarray(chords["start"], dtype=np.float64)
    stop = start + chords["duration"]
    changes = np.sort(np.concatenate([start, stop]))
    near = np.searchsorted(changes, at + 0.5, "right") - np.searchsorted(changes, at - 0.5, "right")
    asked = (k == 0) | (near > 0)  # the beats whose chord is looked at
    bar, k, x = bar[asked], k[asked], at[asked] + 0.5
    latest = np.searchsorted(start, x, "right") - 1  # the last chord begun by then ...
    reach = np.maximum.accumulate(stop) if len(stop) else stop
    found = np.full(len(x), -1)
    for i, (j, y) in enumerate(zip(latest.tolist(), (x - 1e-9).tolist(), strict=True)):
        if j >= 0 and reach[j] > y:  # ... or the last before it still sounding
            while stop[j] <= y:
                j -= 1
            found[i] = j
    root = np.where(found >= 0, chords["root"][found], NO_CHORD.root).astype(np.int64)
    quality = np.where(found >= 0, chords["quality"][found], NO_CHORD.quality).astype(np.int64)
    bass = np.where(found >= 0, root, NO_CHORD.bass)
    same = np.zeros(len(k), bool)  # the bar's previous chord again: not named
    same[1:] = (bar[1:] == bar[:-1]) & (root[1:] == root[:-1]) & (quality[1:] == quality[:-1])
    out: list[list[tuple[int, Chord]]] = [[] for _ in range(len(a))]
    for i in np.flatnonzero(~same | (k == 0)).tolist():
        out[int(bar[i])].append((int(k[i]), Chord(int(root[i]), int(quality[i]), int(bass[i]))))
    return out


def _with_sections(song: Song, starts: dict[int, str], bars: int) -> Song:
    """``song`` with sections from their first bars, each until the next starts.

    The last runs to the end of ``bars`` bars, or of the song's notes when
    they end sooner (a song's sections lie within its bars).
    """
    if not starts:
        return song
    bars = min(bars, len(song.bar_lines()) - 1)
    firsts = sorted(b for b in starts if b < bars)
    ends = [*firsts[1:], bars]
    sections = tuple(Section(starts[a], a, b - a) for a, b in zip(firsts, ends, strict=True))
    return song.replace(sections=sections)


def _segments(rows: Sequence[tuple[float, Chord]], end: float) -> NDArray[Any]:
    """Chord rows (start, chord) as segments until the next change or ``end``; repeats merged."""
    kept: list[tuple[float, Chord]] = []
    for start, chord in rows:
        if start >= end:
            break
        if kept and kept[-1][0] == start:
            kept[-1] = (start, chord)
        elif not kept or kept[-1][1] != chord:
            kept.append((start, chord))
    out = np.zeros(len(kept), dtype=CHORD_DTYPE)
    for i, (start, chord) in enumerate(kept):
        stop = kept[i + 1][0] if i + 1 < len(kept) else end
        out[i] = (start, stop - start, chord.root, chord.quality, chord.bass)
    return out


def _beat_rules(
    rules: dict[str, dict[str, str]], roles: tuple[str, ...], sections: bool
) -> GrammarRules:
    """The grammar of the beat layout: any role may open the next beat's notes, or none.

    >>> rules = _beat_rules({}, ("melody", "accompaniment"), False)
    >>> rules["r0/note"]  # a note, then another, a later beat of any role, or the next bar
    {'PITCH': 'r0/pitch', 'POSITION': 'r0/position', 'MELODY': 'r0', 'ACCOMPANIMENT': 'r1',
     'BAR': 'bar', 'EOS': 'end'}
    """
    after = {**{ROLE_TOKENS[r]: f"r{i}" for i, r in enumerate(roles)}, "BAR": "bar", "EOS": "end"}
    opens = {"SECTION": "section"} if sections else {}
    rules = {**rules, "bar": {"TIMESIG": "meter", **opens, "CHORD": "chord", **after}}
    rules["meter"] = {**opens, "CHORD": "chord", **after}
    rules["section"] = {"CHORD": "chord", **after}
    rules["chord"] = {"BEAT": "beat", **after}
    rules["beat"] = {"CHORD": "chord"}
    for i in range(len(roles)):
        rules[f"r{i}"] = {"POSITION": f"r{i}/position"}  # a beat's part has a note
        rules[f"r{i}/position"] = {"PITCH": f"r{i}/pitch"}
        rules[f"r{i}/pitch"] = {"VELOCITY": f"r{i}/velocity"}
        rules[f"r{i}/velocity"] = {"DURATION": f"r{i}/note"}
        rules[f"r{i}/note"] = {"PITCH": f"r{i}/pitch", "POSITION": f"r{i}/position", **after}
    return rules
