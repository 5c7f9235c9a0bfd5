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
import os
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import NDArray

from popgen.chords import CHORD_DTYPE, Chord, chord_labels, make_chords, parse_chord  # noqa: F401
from popgen.music import Song, TempoChange, TimeSignature, make_notes
from popgen.sampling.strategies import History, Strategy
from popgen.tokenizers.base import PAD, UNK, Tokenizer
from popgen.tokenizers.pop import ROLE_TOKENS

__all__ = [
    "Controls",
    "ControlState",
    "Schedule",
    "follow_controls",
    "melody_line",
    "parse_progression",
    "read_progression",
    "schedule",
]


def parse_progression(
    text: str, *, meter: tuple[int, int] = (4, 4), bars: int | None = None
) -> NDArray[Any]:
    """Chord segments (:data:`~popgen.chords.CHORD_DTYPE`, in beats) from a progression's text.

    Without ``|`` each chord fills a bar; with it, the chords between two
    ``|`` share their bar evenly (as many as the bar has beats: one per
    beat, ``.`` holding the chord before). ``bars`` repeats a shorter
    progression that divides it (a four-bar loop over 16 bars).

    Raises:
        ValueError: a chord that does not parse (named with its bar), a bar
            whose chords do not divide its beats, or a progression that cannot
            fill ``bars``.

    >>> chords = parse_progression("C . . G7 | Am F")
    >>> chord_labels(chords, style="symbol"), chords["start"].tolist(), chords["duration"].tolist()
    (['C', 'G7', 'Am', 'F'], [0.0, 3.0, 4.0, 6.0], [3.0, 1.0, 2.0, 2.0])
    >>> parse_progression("C G Am", bars=8)
    Traceback (most recent call last):
    ValueError: the progression has 3 bars, which do not fill 8 bars; give 8 bars of chords, ...
    """
    beats = 4 * meter[0] / meter[1]
    text = text.replace("\n", "|").strip()
    groups = [g.split() for g in text.split("|")] if "|" in text else [[c] for c in text.split()]
    groups = [g for g in groups if g]
    if not groups:
        raise ValueError("the chord progression is empty; give chords such as 'C G Am F'")
    if bars is not None:
        if bars < 1:
            raise ValueError(f"bars must be >= 1, got {bars}")
        if len(groups) > bars:
            raise ValueError(
                f"the progression has {len(groups)} bars, more than the {bars} bars asked; "
                "give fewer chords or more bars"
            )
        if bars % len(groups):
            raise ValueError(
                f"the progression has {len(groups)} bars, which do not fill {bars} bars; "
                f"give {bars} bars of chords, or a loop whose length divides {bars}"
            )
        groups = groups * (bars // len(groups))
    labels: list[Chord] = []
    starts: list[float] = []
    for bar, group in enumerate(groups):
        share = beats / len(group)
        if abs(share - round(share)) > 1e-9 or share < 1:
            raise ValueError(
                f"bar {bar + 1} has {len(group)} chords for its {beats:g} beats; each chord "
                "needs a whole number of beats (use '.' to hold a chord for a beat)"
            )
        for k, label in enumerate(group):
            if label in (".", "-", "%"):
                if not labels:
                    raise ValueError(f"bar {bar + 1}: {label!r} holds a chord, but none came yet")
                continue
            try:
                chord = parse_chord(label)
            except ValueError as error:
                raise ValueError(f"bar {bar + 1}: {error}") from None
            if labels and labels[-1] == chord and starts[-1] >= 0:
                continue  # the same chord again: one longer segment
            labels.append(chord)
            starts.append(bar * beats + k * share)
    ends = [*starts[1:], len(groups) * beats]
    return make_chords(labels, starts, [b - a for a, b in zip(starts, ends, strict=True)])


def read_progression(
    path: str | os.PathLike[str], *, meter: tuple[int, int] = (4, 4), bars: int | None = None
) -> NDArray[Any]:
    r""":func:`parse_progression` of a text file; each line is a bar (or more, split by ``|``).

    Lines starting with ``#`` are comments.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "song.txt").write_text("# verse\nC G\nAm F\n")
    ...     chord_labels(read_progression(Path(tmp, "song.txt")), style="symbol")
    ['C', 'G', 'Am', 'F']
    """
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the chord file ({error})") from None
    text = " | ".join(line for line in lines if line.strip() and not line.lstrip().startswith("#"))
    try:
        return parse_progression(text, meter=meter, bars=bars)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


#: How much a melody note may overlap the next (beats) and still be one line: played legato.
_LEGATO = 0.25
#: The share of notes that may overlap more (stray notes, kept with a warning); above: two lines.
_STRAY = 0.05


def melody_line(song: Song) -> Song:
    """The song's melody as one line: its melody-role tracks, else its one non-drum track.

    Notes may overlap the next one by up to a quarter of a beat (played legato).
    Up to 5 % of them may overlap more (stray notes, kept as they are, with a
    warning); more than that is more than one line, an error.

    Raises:
        ValueError: no notes, no melody track among several, or notes that
            overlap (more than one line); each names the file.

    >>> from popgen.music import Track, make_notes
    >>> song = Song(make_notes([72, 48], [0, 0], [1, 4], track=[0, 1]),
    ...             tracks=(Track("Vocal", role="melody"), Track("Piano", role="accompaniment")))
    >>> melody_line(song).notes["pitch"].tolist()
    [72]
    """
    where = f"{song.source}: " if song.source else ""
    song = song.drop_drums()
    keep = [i for i, t in enumerate(song.tracks) if t.role == "melody"]
    if not keep:
        used = sorted(set(song.notes["track"].tolist()))
        if len(used) > 1:
            names = ", ".join(repr(song.tracks[i].name) for i in used)
            raise ValueError(
                f"{where}{len(used)} tracks ({names}) and none is the melody; give the melody "
                "alone, or name its track (e.g. 'Melody') or give --role NAME=melody"
            )
        keep = used or [0]
    line = song.select_tracks(keep)
    if not line.num_notes:
        raise ValueError(f"{where}the melody has no notes")
    notes = line.notes
    ends = notes["start"] + notes["duration"]
    overlap = notes["start"][1:] < ends[:-1] - _LEGATO  # a slight legato overlap is one line
    if overlap.any():
        at = float(notes["start"][1:][overlap][0])
        told = f"notes that overlap (first at beat {at:g}, {int(overlap.sum())} in all)"
        if overlap.mean() > _STRAY:
            raise ValueError(f"{where}the melody has {told}: give one line, one note at a time")
        warnings.warn(
            f"{where}the melody has a few {told}; they are kept as they are", stacklevel=2
        )
    notes = notes.copy()
    notes["track"] = 0  # one track, every note as it was (merge_tracks would trim overlaps)
    return line.replace(notes=notes, tracks=line.tracks[:1])


@dataclass(frozen=True)
class Controls:
    """A song skeleton: ``bars`` bars of ``meter`` over ``chords``, with an optional melody.

    Attributes:
        bars: how many bars the song has.
        meter: its time signature, e.g. ``(4, 4)``.
        chords: chord segments in beats (:data:`~popgen.chords.CHORD_DTYPE`);
            empty: the model chooses the chords.
        melody: a one-line melody that the song keeps note for note (the model
            writes the other parts); ``None``: the model writes the melody.
        tempo: beats per minute of the song written.
        pickup: the length in beats of a shorter first bar (an upbeat), 0 for
            none; ``bars`` counts it.
        max_bar_tokens: the most tokens the model may write in one part of a
            bar (its melody, its accompaniment) before the part is closed, as
            soon as the grammar allows; it bounds the tokens a song can take.

    Build one with :meth:`over_chords` or :meth:`for_melody`.

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

    def __post_init__(self) -> None:
        if isinstance(self.bars, bool) or not isinstance(self.bars, int) or self.bars < 1:
            raise ValueError(f"bars must be an integer >= 1, got {self.bars!r}")
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

        >>> from popgen.music import make_notes
        >>> pitches, starts = [60, 64, 67, 67, 71, 74], [0, 1, 2, 4, 5, 6]
        >>> tune = Song(make_notes(pitches, starts, [1, 1, 2, 1, 1, 2]))
        >>> controls = Controls.for_melody(tune)
        >>> controls.bars, chord_labels(controls.chords, style="symbol")
        (2, ['C', 'G'])
        """
        from popgen.chord_inference import infer_chords

        line = melody_line(song)
        from popgen.bars import common_meter, meter_counts

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
        controls = cls(bars=bars, meter=meter, melody=line, **options)
        return dataclasses.replace(controls, chords=kept[kept["start"] < controls.end])

    def apply(self, song: Song) -> Song:
        """A generated song made to match the controls exactly.

        The meter and tempo are the controls'; so are the chords, when given
        (the encoding drops their bass notes; these keep them); the melody
        track gets the given melody's notes, note for note.

        >>> from popgen.music import Track, make_notes
        >>> tune = Song(make_notes([72], [0.01], [3.99], 77))
        >>> written = Song(make_notes([72, 48], [0, 0], [4, 4], 80, track=[0, 1]),
        ...                tracks=(Track("Melody", role="melody"), Track("Piano")))
        >>> Controls.for_melody(tune).apply(written).notes.tolist()
        [(48, 0.0, 4.0, 80, 1), (72, 0.01, 3.99, 77, 0)]
        """
        skeleton = self.skeleton()
        changes: dict[str, Any] = {
            "time_signatures": skeleton.time_signatures,
            "tempos": (TempoChange(0.0, self.tempo),),
            "bars": skeleton.bars,
        }
        if len(self.chords):
            changes["chords"] = skeleton.chords
        if self.melody is not None:
            roles = [t.role for t in song.tracks]
            track = roles.index("melody") if "melody" in roles else 0
            melody = self.melody.notes.copy()
            melody["track"] = track
            others = song.notes[song.notes["track"] != track]
            changes["notes"] = np.concatenate([others, melody])
        return song.replace(**changes)

    def skeleton(self) -> Song:
        """The controls as a song: the melody's notes (if any), the chords, the meter.

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
        return Song(notes, time_signatures=tuple(sigs), chords=chords, bars=bars)

    @property
    def end(self) -> float:
        """The beat where the last bar ends.

        >>> Controls(bars=3, pickup=1.0).end  # an upbeat of one beat, then two bars of 4/4
        9.0
        """
        return self.pickup + (self.bars - (self.pickup > 0)) * self.bar_length


class Schedule(NamedTuple):
    """What :func:`follow_controls` needs to steer one encoding through one set of controls.

    >>> from popgen.tokenizers import get_tokenizer
    >>> plan = schedule(get_tokenizer("pop"), Controls.over_chords("C G Am F"))
    >>> plan.prefixes.shape, plan.lengths.tolist()  # 4 bars of BAR CHORD MELODY
    ((4, 3), [3, 3, 3, 3])
    """

    prefixes: NDArray[np.int32]  # [bars, width]: each bar's forced token ids, PAD after
    lengths: NDArray[np.int32]  # [bars]: how many of each row are forced
    bar_token: int  # the token that opens a bar
    section_tokens: tuple[int, ...]  # the tokens that open a part of a bar


def schedule(tokenizer: Tokenizer, controls: Controls) -> Schedule:
    """The forced tokens of each bar, as ``int32[bars, width]`` ids (padded) and their lengths.

    Raises:
        ValueError: the encoding has no bars and chords to follow, was
            trained without chords while the controls have some, writes no part
            beside a given melody, or lacks a token the controls need.

    >>> from popgen.tokenizers import get_tokenizer
    >>> tok = get_tokenizer("lead")
    >>> prefixes, lengths, bar, sections = schedule(tok, Controls.over_chords("C G"))
    >>> [[tok.token_name(int(t)) for t in row[:n]] for row, n in zip(prefixes, lengths)]
    [['BAR', 'CHORD_C:maj', 'MELODY'], ['BAR', 'CHORD_G:maj', 'MELODY']]
    >>> schedule(get_tokenizer("note"), Controls.over_chords("C G"))
    Traceback (most recent call last):
    ValueError: the encoding 'note' has no bars and chords to follow; controls need a run ...
    """
    prefixes_of = getattr(tokenizer, "bar_prefixes", None)
    if prefixes_of is None or tokenizer.grammar() is None:
        raise ValueError(
            f"the encoding {tokenizer.name!r} has no bars and chords to follow; controls need "
            "a run trained with --tokenizer pop (melody and accompaniment) or lead (melody)"
        )
    config = tokenizer.config
    if len(controls.chords) and not config.chords:
        raise ValueError(
            "this run was trained without chords (its encoding has chords=False), so it "
            "cannot follow a chord progression; train with chords, or give no chords"
        )
    given = 0
    if controls.melody is not None:
        if config.roles[0] != "melody" or len(config.roles) < 2:
            raise ValueError(
                f"this run writes only {', '.join(config.roles)}: nothing to write beside a "
                "given melody; arrange with a run trained with --tokenizer pop"
            )
        given = 1
    names = prefixes_of(controls.skeleton(), controls.bars, given)
    ids = [[tokenizer.token_id(n) for n in bar] for bar in names]
    missing = sorted({n for bar, row in zip(names, ids, strict=True)
                      for n, i in zip(bar, row, strict=True) if i == UNK})  # fmt: skip
    if missing:
        shown = ", ".join(missing[:6]) + (", ..." if len(missing) > 6 else "")
        raise ValueError(
            f"the run's vocabulary lacks {len(missing)} token(s) the controls need ({shown}): "
            "a meter, position or duration its training songs never had"
        )
    width = max(len(row) for row in ids)
    prefixes = np.full((len(ids), width), PAD, dtype=np.int32)
    for b, row in enumerate(ids):
        prefixes[b, : len(row)] = row
    lengths = np.array([len(row) for row in ids], dtype=np.int32)
    sections = tuple(tokenizer.token_id(ROLE_TOKENS[r]) for r in config.roles)
    return Schedule(prefixes, lengths, tokenizer.token_id("BAR"), sections)


class ControlState(NamedTuple):
    """State of :func:`follow_controls`, per batch row.

    >>> import jax.numpy as jnp
    >>> s = follow_controls(jnp.array([[3]]), jnp.array([1]), bar_token=3, end_token=2,
    ...                     table=jnp.zeros((1, 4), jnp.int32), start=0, max_bar_tokens=8)
    >>> s.init(2).bar.tolist()  # every row starts in bar 0
    [0, 0]
    """

    bar: jax.Array  # int32: the bar being written (== bars once the song has ended)
    forced: jax.Array  # int32: how many of this bar's forced tokens are taken
    free: jax.Array  # int32: tokens the model wrote in this bar
    grammar: jax.Array  # int32: the grammar state after the last token


def follow_controls(
    prefixes: Any,
    lengths: Any,
    *,
    bar_token: int,
    end_token: int,
    table: Any,
    start: int,
    max_bar_tokens: int,
    section_tokens: Any = (),
) -> Strategy:
    """Force each bar's tokens, let the model write the rest, close the song after the last bar.

    Args:
        prefixes: ``int32[bars, width]``: each bar's forced tokens (padded);
            every bar's first forced token is ``bar_token``. Or
            ``int32[schedules, bars, width]``, one schedule per song: batch row
            ``r`` follows schedule ``r % schedules``.
        lengths: ``int32[bars]`` (or ``[schedules, bars]``): how many of each
            row are forced; bars of length 0 pad a shorter song's schedule.
        bar_token: the token that opens a bar. When the model draws it, the
            next bar's forced tokens follow; after the last bar it becomes
            ``end_token`` instead, and only ``end_token`` follows.
        end_token: the token that ends the song (``EOS``).
        table: the grammar's ``int32[states, vocab]`` transitions (see
            :class:`popgen.tokenizers.grammar.Grammar`), to know where a part may close.
        start: the grammar's start state.
        max_bar_tokens: after this many of the model's tokens in one part of
            a bar, the part closes as soon as the grammar allows (with the next
            part's token, or the next bar's).
        section_tokens: the tokens that open a part of a bar (``MELODY``, ...).

    Forced tokens replace the logits with a single token, whatever the
    strategies before did, so put this strategy last in a chain.

    >>> import jax.numpy as jnp
    >>> from popgen.sampling import History
    >>> table = jnp.zeros((1, 4), jnp.int32)  # one state, every token allowed
    >>> s = follow_controls(jnp.array([[3, 0], [3, 1]]), jnp.array([2, 2]), bar_token=3,
    ...                     end_token=2, table=table, start=0, max_bar_tokens=8)
    >>> tokens = jnp.array([[1, 3, 0, 0, 0]])  # BOS, then the first bar's forced BAR
    >>> logits, state = s.apply(jnp.zeros((1, 4)), s.init(1), History(tokens, 2))
    >>> logits.tolist(), state.forced.tolist()  # the bar's second forced token
    ([[0.0, -inf, -inf, -inf]], [1])
    """
    prefixes = jnp.asarray(prefixes, jnp.int32)
    lengths = jnp.asarray(lengths, jnp.int32)
    if prefixes.ndim == 2:  # one schedule for every row
        prefixes, lengths = prefixes[None], lengths[None]
    table = jnp.asarray(table, jnp.int32)
    closers = jnp.asarray([*np.asarray(section_tokens, dtype=np.int32).tolist(), bar_token])
    schedules, _, width = prefixes.shape
    song_bars = (lengths > 0).sum(-1)  # per schedule: bars padded on have nothing forced

    def init(batch_size: int) -> ControlState:
        zeros = jnp.zeros((batch_size,), jnp.int32)
        return ControlState(zeros, zeros, zeros, jnp.full((batch_size,), start, jnp.int32))

    def apply(logits: jax.Array, state: ControlState, history: History) -> tuple[jax.Array, Any]:
        which = jnp.arange(logits.shape[0]) % schedules  # row r follows schedule r % schedules
        n_bars = song_bars[which]
        prev = history.previous()
        moved = table[state.grammar, prev]
        grammar = jnp.where(history.position > 0, jnp.where(moved >= 0, moved, start), start)
        first = history.position <= 1  # after BOS: nothing taken yet
        forcing = state.forced < lengths[which, jnp.minimum(state.bar, n_bars - 1)]
        took_forced = ~first & forcing & (state.bar < n_bars)
        new_bar = ~first & ~forcing & (prev == bar_token) & (state.bar < n_bars)
        bar = jnp.where(new_bar, state.bar + 1, state.bar)
        bar = jnp.where(~first & (prev == end_token), n_bars, bar)
        forced = jnp.where(took_forced, state.forced + 1, jnp.where(new_bar, 1, state.forced))
        new_part = (prev[:, None] == closers[None, :]).any(-1)
        free = jnp.where(new_part | first, 0, jnp.where(took_forced, state.free, state.free + 1))

        row = jnp.minimum(bar, n_bars - 1)
        want = prefixes[which, row, jnp.minimum(forced, width - 1)]
        done = bar >= n_bars
        must = ~done & (forced < lengths[which, row])
        last = bar == n_bars - 1
        allowed = table[grammar][:, closers] >= 0  # [batch, closers]
        closer = closers[jnp.argmax(allowed, axis=-1)]
        closer = jnp.where(last & (closer == bar_token), end_token, closer)
        close = ~must & ~done & allowed.any(-1) & (free >= max_bar_tokens)
        target = jnp.where(done, end_token, jnp.where(must, want, closer))

        ids = jnp.arange(logits.shape[-1])[None, :]
        # in the last bar, drawing BAR ends the song instead
        bar_logit = jnp.where(table[grammar, bar_token] >= 0, logits[:, bar_token], -jnp.inf)
        free_logits = jnp.where(last[:, None] & (ids == end_token), bar_logit[:, None], logits)
        free_logits = jnp.where(last[:, None] & (ids == bar_token), -jnp.inf, free_logits)
        one = jnp.where(ids == target[:, None], 0.0, -jnp.inf)
        out = jnp.where((must | done | close)[:, None], one, free_logits)
        out = jnp.where(jnp.isfinite(out).any(-1, keepdims=True), out, logits)
        return out, ControlState(bar, forced, free, grammar)

    return Strategy(init, apply)
