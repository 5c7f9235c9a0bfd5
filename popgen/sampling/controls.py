"""Controls: a song skeleton generation must follow (bars, meter, chords, a given melody).

A :class:`Controls` value says how many bars to write, in which meter, over
which chords, and optionally which melody to keep. The sampler turns it into
*forced tokens*: encodings that write each bar's chords before its notes and
its melody before its accompaniment (``pop`` and ``lead``, see
:mod:`popgen.tokenizers.pop`) give, per bar, the tokens the song must take
(:meth:`~popgen.tokenizers.PopTokenizer.bar_prefixes`);
:func:`follow_controls` is the sampling strategy that forces them and lets
the model write the rest of each bar. It comes last in the strategy chain,
so every other strategy composes with it, and the grammar still holds.

Chord progressions are written as text (:func:`parse_progression`):

- ``"C G Am F"``: one chord per bar;
- ``"C G | Am F"``: bars split by ``|``, the chords of a bar sharing it evenly;
- ``"C . . G7 | Am"``: one chord per beat, ``.`` keeping the chord before.

>>> controls = Controls.over_chords("C G Am F", bars=8)  # the loop, twice
>>> controls.bars, controls.meter, chord_labels(controls.chords, style="symbol")[:5]
(8, (4, 4), ['C', 'G', 'Am', 'F', 'C'])
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.checks import whole_number
from popgen.music.chords import CHORD_DTYPE, Chord, chord_labels, make_chords, parse_chord  # noqa: F401
from popgen.music.form import default_form, form_chords
from popgen.music.melody import melody_line
from popgen.music.progression import parse_progression
from popgen.music.sections import (
    Section,
    check_sections,
    format_form,
    infer_sections,
    parse_form,
)
from popgen.music.song import Song, make_notes
from popgen.music.time import TempoChange, TimeSignature

__all__ = [
    "Controls",
]


@dataclass(frozen=True)
class Controls:
    """A song skeleton: ``bars`` bars of ``meter`` over ``chords``, with an optional melody.

    Attributes:
        bars: how many bars the song has.
        meter: its time signature, e.g. ``(4, 4)``.
        chords: chord segments in beats (:data:`~popgen.music.chords.CHORD_DTYPE`);
            empty: the model chooses the chords.
        melody: a one-line melody that the song keeps note for note (the model
            writes the other parts); ``None``: the model writes the melody.
        tempo: beats per minute of the song written.
        pickup: the length in beats of a shorter first bar (an upbeat), 0 for
            none; ``bars`` counts it.
        max_bar_tokens: the most tokens the model may write in one part of a
            bar (its melody, its accompaniment) before the part is closed, as
            soon as the grammar allows; it bounds the tokens a song can take.
        form: the song's sections (:func:`popgen.parse_form`), inside its
            bars; the song written carries them (and its MIDI file, as
            markers). Empty: none.

    Build one with :meth:`over_chords`, :meth:`over_form` or :meth:`for_melody`.

    >>> Controls(bars=2, chords=parse_progression("C G")).chords["start"].tolist()
    [0.0, 4.0]
    """

    bars: int
    meter: tuple[int, int] = (4, 4)
    chords: NDArray[Any] = field(default_factory=lambda: np.zeros(0, CHORD_DTYPE))
    melody: Song | None = None
    tempo: float = 120.0
    pickup: float = 0.0
    max_bar_tokens: int = 160
    form: tuple[Section, ...] = ()

    def __post_init__(self) -> None:
        whole_number(self.bars, "bars")
        object.__setattr__(self, "form", check_sections(tuple(self.form), self.bars))
        num, den = self.meter
        if num < 1 or den < 1 or den & (den - 1):
            raise ValueError(f"meter must be (beats >= 1, a power of two), got {self.meter}")
        if not self.tempo > 0:
            raise ValueError(f"tempo must be > 0 bpm, got {self.tempo}")
        if self.max_bar_tokens < 1:
            raise ValueError(f"max_bar_tokens must be >= 1, got {self.max_bar_tokens}")
        if not 0 <= self.pickup < 4 * num / den or (self.pickup and self.bars < 2):
            raise ValueError(
                f"pickup must be shorter than a bar and leave a full bar, got {self.pickup} "
                f"beats in {self.bars} bars of {num}/{den}"
            )
        object.__setattr__(self, "meter", (int(num), int(den)))
        object.__setattr__(self, "chords", np.asarray(self.chords, dtype=CHORD_DTYPE))

    @property
    def bar_length(self) -> float:
        """Beats per bar.

        >>> Controls(bars=1, meter=(6, 8)).bar_length
        3.0
        """
        return 4 * self.meter[0] / self.meter[1]

    @classmethod
    def over_chords(
        cls,
        chords: str | NDArray[Any],
        bars: int | None = None,
        *,
        meter: tuple[int, int] = (4, 4),
        **options: Any,
    ) -> Controls:
        """Controls to write a song over a progression (text, or chord segments in beats).

        ``bars`` defaults to the progression's length; a shorter progression
        that divides ``bars`` repeats (see :func:`parse_progression`).

        >>> Controls.over_chords("C G | Am F", bars=4).bars
        4
        """
        if isinstance(chords, str):
            chords = parse_progression(chords, meter=meter, bars=bars)
        chords = np.asarray(chords, dtype=CHORD_DTYPE)
        if not len(chords):
            raise ValueError("no chords given")
        length = 4 * meter[0] / meter[1]
        end = float((chords["start"] + chords["duration"]).max())
        need = max(1, int(np.ceil(end / length - 1e-9)))
        if bars is None:
            bars = need
        elif need > bars:
            raise ValueError(
                f"the chords last {need} bars, more than the {bars} bars asked; "
                "give fewer chords or more bars"
            )
        return cls(bars=bars, meter=meter, chords=chords, **options)

    @classmethod
    def over_form(
        cls,
        form: str | Sequence[Section],
        chords: str | Mapping[str, str],
        *,
        meter: tuple[int, int] = (4, 4),
        **options: Any,
    ) -> Controls:
        """Controls to write a song of ``form``, each section over its progression.

        ``chords`` is one progression that every section loops from its first
        bar, or a progression per section label (``{"A": "C G Am F", "B":
        "F G Em Am", "*": "C"}``, see :func:`popgen.music.form.form_chords`).

        Raises:
            ValueError: a form that does not parse, a section without chords,
                or chords that do not parse (each names the section or part).

        >>> controls = Controls.over_form("i2 A4 B4 A4", {"A": "C G Am F", "B": "F G", "*": "C"})
        >>> controls.bars, chord_labels(controls.chords, style="symbol")[:6]
        (14, ['C', 'C', 'C', 'G', 'Am', 'F'])
        """
        sections = parse_form(form) if isinstance(form, str) else tuple(form)
        if not sections:
            raise ValueError("the form has no sections; give one such as 'A8 B8 A8'")
        bars = max(s.end_bar for s in sections)
        made = form_chords(sections, chords, meter=meter)
        return cls(bars=bars, meter=meter, chords=made, form=sections, **options)

    @classmethod
    def for_song(
        cls,
        chords: str | NDArray[Any] | Mapping[str, str],
        *,
        bars: int | None = None,
        form: str | None = None,
        meter: tuple[int, int] = (4, 4),
        **options: Any,
    ) -> Controls:
        """Controls from what a person asks for: chords, and a form or a number of bars.

        With ``form``, :meth:`over_form` (``chords`` may then be a progression
        per section); else :meth:`over_chords`, with 8-bar sections A B A B ...
        (:func:`popgen.music.form.default_form`). ``popgen generate`` and the
        studio build their controls here.

        Raises:
            ValueError: what :meth:`over_form` or :meth:`over_chords` raise;
                ``bars`` other than the form's; a progression per section without a form.

        >>> Controls.for_song("C G", bars=20).form[-1]
        Section(label='A', first_bar=16, num_bars=4)
        >>> Controls.for_song("C G", bars=12, form="A4 B4")
        Traceback (most recent call last):
        ValueError: 12 bars asked, but the form 'A4 B4' has 8 bars; give one of them
        """
        if form:
            if not isinstance(chords, str | Mapping):
                raise ValueError("a form takes its chords as text: one, or one per section")
            controls = cls.over_form(form, chords, meter=meter, **options)
            if bars is not None and bars != controls.bars:
                raise ValueError(
                    f"{bars} bars asked, but the form '{format_form(controls.form)}' has "
                    f"{controls.bars} bars; give one of them"
                )
            return controls
        if isinstance(chords, Mapping):
            raise ValueError("a progression per section needs a form to say where each goes")
        controls = cls.over_chords(chords, bars, meter=meter, **options)
        return dataclasses.replace(controls, form=default_form(controls.bars))

    @classmethod
    def for_melody(
        cls,
        song: Song,
        *,
        chords: str | NDArray[Any] | None = None,
        infer: bool = True,
        **options: Any,
    ) -> Controls:
        """Controls to arrange a melody: its bars, meter, tempo and (given or inferred) chords.

        Chords come from ``chords`` when given, else from the song's own
        (annotations, chord symbols of a score), else inferred from the
        melody (:func:`popgen.infer_chords`, per half bar) unless ``infer`` is
        off, when the model chooses them.

        Raises:
            ValueError: see :func:`melody_line`; a song whose meter changes.

        >>> from popgen.music.song import make_notes
        >>> pitches, starts = [60, 64, 67, 67, 71, 74], [0, 1, 2, 4, 5, 6]
        >>> tune = Song(make_notes(pitches, starts, [1, 1, 2, 1, 1, 2]))
        >>> controls = Controls.for_melody(tune)
        >>> controls.bars, chord_labels(controls.chords, style="symbol")
        (2, ['C', 'G'])
        """
        from popgen.music.chord_inference import infer_chords

        line = melody_line(song)
        from popgen.music.bars import common_meter, meter_counts

        meter = common_meter([song.bar_lines()])
        counts = meter_counts([song.bar_lines()])
        if sum(counts.values()) - counts[meter] > 1:  # a pickup bar is one odd bar
            warnings.warn(
                f"{song.source or 'the melody'}: its meter changes ({sorted(counts)}); "
                f"the song is written in {meter[0]}/{meter[1]} throughout",
                stacklevel=2,
            )
        length = 4 * meter[0] / meter[1]
        edges = song.bar_lines()
        pickup = float(edges[1]) if len(edges) > 2 and edges[1] < length - 1e-9 else 0.0
        bars = max(1, int(np.ceil((line.end - pickup) / length - 1e-9))) + (pickup > 0)
        if isinstance(chords, str):
            chords = parse_progression(chords, meter=meter, bars=bars)
        elif chords is None and len(song.chords):
            chords = song.chords
        elif chords is None and infer:
            chords = infer_chords(line, per="half_bar")
        options.setdefault("tempo", song.tempos[0].bpm if song.tempos else 120.0)
        kept = np.asarray(chords if chords is not None else [], dtype=CHORD_DTYPE)
        options.setdefault("pickup", pickup)
        options.setdefault("form", _melody_form(song, line, bars))
        controls = cls(bars=bars, meter=meter, melody=line, **options)
        return dataclasses.replace(controls, chords=kept[kept["start"] < controls.end])

    def apply(self, song: Song) -> Song:
        """A generated song made to match the controls exactly.

        The meter and tempo are the controls'; so are the chords, when given
        (the encoding drops their bass notes; these keep them); the melody
        track gets the given melody's notes, note for note. With a form, the
        song has every bar of the form, silent ones at the end included (a
        song that stopped early still carries its whole form).

        >>> from popgen.music.song import Track, make_notes
        >>> tune = Song(make_notes([72], [0.01], [3.99], 77))
        >>> written = Song(make_notes([72, 48], [0, 0], [4, 4], 80, track=[0, 1]),
        ...                tracks=(Track("Melody", role="melody"), Track("Piano")))
        >>> Controls.for_melody(tune).apply(written).notes.tolist()
        [(48, 0.0, 4.0, 80, 1), (72, 0.01, 3.99, 77, 0)]
        """
        skeleton = self.skeleton()  # with a form, every bar line of it
        changes: dict[str, Any] = {
            "time_signatures": skeleton.time_signatures,
            "tempos": (TempoChange(0.0, self.tempo),),
            "bars": skeleton.bars,
        }
        if len(self.chords):
            changes["chords"] = skeleton.chords
        if self.form:
            changes["sections"] = self.form
        if self.melody is not None:
            roles = [t.role for t in song.tracks]
            track = roles.index("melody") if "melody" in roles else 0
            melody = self.melody.notes.copy()
            melody["track"] = track
            others = song.notes[song.notes["track"] != track]
            changes["notes"] = np.concatenate([others, melody])
        return song.replace(**changes)

    def skeleton(self) -> Song:
        """The controls as a song: the melody's notes (if any), the chords, the meter, the form.

        With a form, the song gives every bar line (so the form's bars exist).

        >>> Controls.over_chords("C G").skeleton().chords["start"].tolist()
        [0.0, 4.0]
        """
        notes = self.melody.notes if self.melody is not None else make_notes([], [], [])
        end = self.end
        chords = self.chords[self.chords["start"] < end].copy()
        chords["duration"] = np.minimum(chords["start"] + chords["duration"], end) - chords["start"]
        sigs = [TimeSignature(0.0, *self.meter)]
        bars = np.zeros(0)
        if self.pickup:  # the upbeat's own meter, then the song's (as MIDI files write it)
            upbeat = Fraction(self.pickup).limit_denominator(16) / 4
            sigs = [TimeSignature(0.0, upbeat.numerator, upbeat.denominator),
                    TimeSignature(self.pickup, *self.meter)]  # fmt: skip
            bars = np.array([self.pickup, self.pickup + self.bar_length])
        if not self.form:
            return Song(notes, time_signatures=tuple(sigs), chords=chords, bars=bars)
        # every bar line given, so that the form's bars exist before any note does
        lines = self.pickup + self.bar_length * np.arange(
            self.bars + 1 - (self.pickup > 0), dtype=np.float64
        )
        lines = lines[lines > 0]
        return Song(notes, time_signatures=tuple(sigs), chords=chords, bars=lines,
                    sections=self.form)  # fmt: skip

    @property
    def end(self) -> float:
        """The beat where the last bar ends.

        >>> Controls(bars=3, pickup=1.0).end  # an upbeat of one beat, then two bars of 4/4
        9.0
        """
        return self.pickup + (self.bars - (self.pickup > 0)) * self.bar_length


def _melody_form(song: Song, line: Song, bars: int) -> tuple[Section, ...]:
    """A melody's sections: the song's own (its file's markers), else found from its repeats."""
    sections = song.sections or infer_sections(song.bar_lines(), line.notes)
    inside = tuple(s for s in sections if s.end_bar <= bars)
    return inside
