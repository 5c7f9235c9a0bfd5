"""The step features of ``pop`` and ``lead``: where the model is, and what came before.

After each token the model is told, as one vector (:func:`pop_features`), the
groups of :data:`FEATURE_GROUPS` (all by default; the encoding's ``features``
option picks some, for ablations):

- **position**: the grid step in the bar (``POSITION_n``; 0 at a bar's head
  and at the start of each part), one-hot;
- **part**: the bar's head (bar line, meter, section, chords) or the part
  being written (``melody``, ``accompaniment`` ...), one-hot;
- **chord**: the pitch classes of the chord sounding at that position, and
  **next_chord**, those of the chord on the next beat (the bar's head names
  its chords and the beats they start on; past the bar's last beat, the
  last chord), multi-hot;
- **lookback**: the pitch class and octave of the melody note that started at
  the same position one bar ago and two bars ago (Magenta's Lookback RNN),
  and in the same bar of the last section with the same label (its bars are
  those since its ``SECTION_X`` token; the first 16 bars of a section are
  remembered), one-hot with a slot for "no note"; and where the next melody
  onset lies in the bar one bar ago and in that section's bar (the position,
  or "none"), so that a bar can be copied note for note;
- **melody_pitch**: the last melody note's pitch class and octave, so the
  accompaniment hears the line and the next bar's melody starts near it;
- **bar_in_section**: the bars since the section began (since the song began
  without ``SECTION`` tokens) modulo 8, one-hot: the bar in its phrase;
- **section**: the label of the section being written, one-hot
  (:data:`SECTION_SLOTS`);
- **sounding**: where the melody's notes so far end (the latest end), in
  grid steps from the start of this bar (0 when they ended before it; the
  last slot: past the bar's last position), one-hot: the first onset that
  would not cut into them, across bar lines too (where the bar's
  accompaniment lies between the last note and the next bar's melody);
- **range**: how far the melody's last pitch lies above the lowest and
  below the highest melody pitch of the section so far (each a semitone
  count clipped at 12, or "no melody yet"), one-hot: the register the
  section has used, so that it keeps to it;
- **copy**: for each earlier bar the lookback names (one bar ago, two bars
  ago, the section's), whether the melody written so far in this bar equals
  that bar's up to here (two slots; none outside the melody or without the
  earlier bar); and, as three more codes that are not features, the token
  that would go on copying it: the next onset's ``POSITION_n`` (or the
  token that ends the melody) after the part opens or a note ends, and
  that onset's ``PITCH_n`` after a ``POSITION_n`` (-1 elsewhere). A model
  with copy heads (:class:`~popgen.LSTMModel`'s ``copy_heads``) adds a
  learned bonus to those tokens' logits: the pointer of a pointer-generator
  network, so a bar can be repeated exactly when the model chooses to.

Every table is built once from the vocabulary, as arrays indexed by token id,
so the automaton runs inside jit with no name parsing.

>>> from popgen.tokenizers import get_tokenizer
>>> from popgen.tokenizers.features import sequence_features
>>> tok = get_tokenizer("lead")
>>> features = pop_features(tok)
>>> names = ["BAR", "CHORD_C:maj", "MELODY", "POSITION_0", "PITCH_72", "BAR", "CHORD_G:maj",
...          "MELODY", "POSITION_0"]
>>> ids = [[tok.token_id(n) for n in names]]
>>> out = sequence_features(features, __import__("jax.numpy").numpy.array(ids))
>>> layout = feature_layout(tok)
>>> lookback = out[0, -1, layout["lookback_1"]]  # at POSITION_0 of bar 2: bar 1's C (72)
>>> int(lookback.argmax()), [int(i) for i in out[0, -1, layout["chord"]].nonzero()[0]]
(0, [2, 7, 11])
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from popgen.music.chords import parse_chord
from popgen.tokenizers.features import StepFeatures

if TYPE_CHECKING:
    from popgen.tokenizers.pop import PopTokenizer

__all__ = [
    "COPIED",
    "DEFAULT_COPIED",
    "DEFAULT_FEATURES",
    "FEATURE_GROUPS",
    "PHRASE_BARS",
    "SECTION_SLOTS",
    "feature_layout",
    "pop_features",
]

#: The feature groups, in the order of the vector (see the module).
FEATURE_GROUPS = (
    "position",
    "part",
    "chord",
    "next_chord",
    "lookback",
    "melody_pitch",
    "bar_in_section",
    "section",
    "copy",
    "sounding",
    "range",
)
#: The groups an encoding reads unless its ``features`` option says otherwise: those the
#: shipped models were trained with (docs/experiments.md).
DEFAULT_FEATURES = FEATURE_GROUPS[: FEATURE_GROUPS.index("copy") + 1]
#: Bars of the phrase whose bar index the features give (bars into the section % PHRASE_BARS).
PHRASE_BARS = 8
#: The section labels told apart, one slot each; other capitals share a slot, and so
#: do other small letters; the last slot is "no section".
SECTION_SLOTS = ("A", "B", "C", "D", "E", "F", "G", "H", "other capital", "i", "o", "x",
                 "other small", "none")  # fmt: skip
#: Bars of a section whose melody the section lookback remembers.
_SECTION_BARS = 16
#: Beats of the longest bar whose chords are followed beat by beat.
_MAX_BEATS = 16
#: Slots of a lookback: the 12 pitch classes, then "no note started here".
_LOOK = 13
#: Semitones of the range features (above the lowest and below the highest pitch so far).
_SPAN = 12
#: Octaves the melody's register tells apart (MIDI octaves 3..8, clipped).
_OCTAVES = 6
#: The earlier bars a copy head may copy: one bar ago, two bars ago, the section's (the
#: encoding's ``copied`` option picks some).
COPIED = ("1", "2", "section")
#: The bars the copy heads copy unless the encoding says otherwise: the section's won the
#: ablation (docs/experiments.md).
DEFAULT_COPIED = ("section",)
#: Token kinds of the copy candidates: what the melody's next token may be.
_NEXT_ONSET, _NEXT_PITCH = 1, 2


class _Tables(NamedTuple):
    """Per token id: what it means to the automaton (-1: nothing)."""

    is_bar: Any  # bool[vocab]
    position: Any  # int32[vocab]: POSITION_n -> n
    part: Any  # int32[vocab]: the part a role token opens
    beat: Any  # int32[vocab]: BEAT_n -> n
    is_chord: Any  # bool[vocab]
    chord: Any  # bool[vocab, 12]
    pitch: Any  # int32[vocab]: PITCH_n -> n
    section: Any  # int32[vocab]: SECTION_X -> its slot of SECTION_SLOTS
    kind: Any  # int32[vocab]: what may follow in the melody (_NEXT_ONSET, _NEXT_PITCH), or 0
    position_token: Any  # int32[positions + 1]: n -> POSITION_n's id; the last: the melody's end
    pitch_token: Any  # int32[128]: n -> PITCH_n's id
    meter: Any  # int32[vocab]: TIMESIG_n/d -> the bar's grid steps
    duration: Any  # int32[vocab]: DURATION_x -> its grid steps


def _section_slot(label: str) -> int:
    """The slot of :data:`SECTION_SLOTS` of one label.

    >>> [_section_slot(x) for x in "ABJioXz"]
    [0, 1, 8, 9, 10, 8, 12]
    """
    if label in SECTION_SLOTS:
        return SECTION_SLOTS.index(label)
    return SECTION_SLOTS.index("other capital" if label.isupper() else "other small")


def _sizes(tokenizer: PopTokenizer) -> tuple[int, int]:
    """Positions per bar (the largest ``POSITION_n`` + 1) and parts."""
    positions = [int(n.split("_", 1)[1]) for n in tokenizer.vocab if n.startswith("POSITION_")]
    return (max(positions) + 1 if positions else 1), len(tokenizer.part_roles)


def _groups(tokenizer: PopTokenizer) -> tuple[str, ...]:
    """The feature groups the encoding asks for (its ``features`` option), in vector order."""
    asked = getattr(tokenizer.config, "features", DEFAULT_FEATURES)
    return tuple(g for g in FEATURE_GROUPS if g in asked)


def _copied(tokenizer: PopTokenizer) -> tuple[str, ...]:
    """The earlier bars the copy group names (its ``copied`` option), in :data:`COPIED` order."""
    asked = getattr(tokenizer.config, "copied", DEFAULT_COPIED)
    return tuple(name for name in COPIED if name in asked)


def feature_layout(tokenizer: PopTokenizer) -> dict[str, slice]:
    """Where each feature sits in the vector of :func:`pop_features`.

    >>> from popgen.tokenizers import get_tokenizer
    >>> sorted(feature_layout(get_tokenizer("pop")))  # doctest: +NORMALIZE_WHITESPACE
    ['bar_in_section', 'chord', 'copying_section', 'lookback_1', 'lookback_1_octave',
     'lookback_2', 'lookback_2_octave', 'lookback_section', 'lookback_section_octave',
     'melody_octave', 'melody_pitch_class', 'next_chord', 'next_onset_1', 'next_onset_section',
     'part', 'position', 'section']
    >>> list(feature_layout(get_tokenizer("pop", features=("chord", "part"))))
    ['part', 'chord']
    """
    positions, parts = _sizes(tokenizer)
    sizes = {
        "position": {"position": positions},
        "part": {"part": parts + 1},
        "chord": {"chord": 12},
        "next_chord": {"next_chord": 12},
        "lookback": {
            "lookback_1": _LOOK, "lookback_1_octave": _OCTAVES,
            "lookback_2": _LOOK, "lookback_2_octave": _OCTAVES,
            "lookback_section": _LOOK, "lookback_section_octave": _OCTAVES,
            "next_onset_1": positions + 1, "next_onset_section": positions + 1,
        },
        "melody_pitch": {"melody_pitch_class": _LOOK, "melody_octave": _OCTAVES},
        "bar_in_section": {"bar_in_section": PHRASE_BARS},
        "section": {"section": len(SECTION_SLOTS)},
        "copy": {f"copying_{name}": 2 for name in _copied(tokenizer)},
        "sounding": {"sounding": positions + 1},
        "range": {"range_down": _SPAN + 2, "range_up": _SPAN + 2},
    }
    out, start = {}, 0
    for group in _groups(tokenizer):
        for name, size in sizes[group].items():
            out[name] = slice(start, start + size)
            start += size
    return out


def _tables(tokenizer: PopTokenizer) -> _Tables:
    from popgen.tokenizers.pop import duration_steps, meter_steps  # pop imports this module

    vocab = tokenizer.vocab
    size = len(vocab)
    positions, _ = _sizes(tokenizer)
    tables = _Tables(
        np.zeros(size, bool), np.full(size, -1, np.int32), np.full(size, -1, np.int32),
        np.full(size, -1, np.int32), np.zeros(size, bool), np.zeros((size, 12), bool),
        np.full(size, -1, np.int32), np.full(size, -1, np.int32), np.zeros(size, np.int32),
        np.full(positions + 1, -1, np.int32), np.full(128, -1, np.int32),
        np.full(size, -1, np.int32), np.full(size, -1, np.int32),
    )  # fmt: skip
    spb = int(tokenizer.config.steps_per_beat)
    roles = tokenizer.part_roles
    parts = {tokenizer.part_token(role): i for i, role in enumerate(roles)}
    if "melody" in roles:  # the melody opens, or a note of it ends: an onset or the end follows
        melody = roles.index("melody")
        tables.kind[tokenizer.token_id(tokenizer.part_token("melody"))] = _NEXT_ONSET
        after = roles[melody + 1] if melody + 1 < len(roles) else None
        end = tokenizer.part_token(after) if after is not None else tokenizer.bar_token
        tables.position_token[positions] = tokenizer.token_id(end)
    for i, name in enumerate(vocab):
        family, _, value = name.partition("_")
        if name == tokenizer.bar_token:
            tables.is_bar[i] = True
        elif name in parts:
            tables.part[i] = parts[name]
        elif family == "POSITION" and value.isdigit():
            tables.position[i] = int(value)
            tables.position_token[int(value)] = i
            tables.kind[i] = _NEXT_PITCH
        elif family == "DURATION":
            tables.kind[i] = _NEXT_ONSET
            steps = duration_steps(value, spb)
            if steps is not None:
                tables.duration[i] = max(0, steps)
        elif family == "TIMESIG" and (meter := meter_steps(value, spb)) is not None:
            tables.meter[i] = meter[2]
        elif family == "BEAT" and value.isdigit():
            tables.beat[i] = int(value)
        elif family == "PITCH" and value.isdigit():
            tables.pitch[i] = int(value)
            tables.pitch_token[int(value)] = i
        elif family == "CHORD":
            tables.is_chord[i] = True
            tables.chord[i, list(parse_chord(value).pitch_classes)] = True
        elif family == "SECTION" and len(value) == 1 and value.isascii() and value.isalpha():
            tables.section[i] = _section_slot(value)
    return tables


class _State(NamedTuple):
    """The automaton's state, batch first."""

    pos: Any  # int32[batch]: the grid step in the bar
    part: Any  # int32[batch]: the part being written, -1 at the bar's head
    bar: Any  # int32[batch]: bars begun
    head_beat: Any  # int32[batch]: the beat of the bar head's next chord
    chords: Any  # int32[batch, beats]: the chord token of each beat of the bar, -1 none
    cur: Any  # int32[batch, positions]: melody pitch started at each step of this bar
    prev1: Any  # ... one bar ago
    prev2: Any  # ... two bars ago
    section: Any  # int32[batch]: the section's slot
    in_section: Any  # int32[batch]: bars since the section began
    memory: Any  # int32[batch, slots, bars, positions]: each label's last section's melody
    lengths: Any  # int32[batch, slots]: bars stored of each label's latest section
    limit: Any  # int32[batch]: bars of the last section of this label (readable in memory)
    melody: Any  # int32[batch]: the last melody pitch, -1 before any
    bar_steps: Any  # int32[batch]: grid steps of this bar (its meter's)
    ends: Any  # int32[batch]: where the melody's notes so far end, in steps from this bar's start
    low: Any  # int32[batch]: the section's lowest melody pitch so far, -1 before any
    high: Any  # int32[batch]: ... its highest


def pop_features(tokenizer: PopTokenizer) -> StepFeatures:
    """The feature automaton of a fitted ``pop`` or ``lead`` tokenizer (see the module).

    >>> from popgen.tokenizers import get_tokenizer
    >>> tok = get_tokenizer("pop")
    >>> pop_features(tok).size == feature_layout(tok).popitem()[1].stop
    True
    """
    import jax.numpy as jnp

    positions, _ = _sizes(tokenizer)
    melody = tokenizer.part_roles.index("melody") if "melody" in tokenizer.part_roles else -1
    spb = int(tokenizer.config.steps_per_beat)
    tables = _tables(tokenizer)  # numpy: constants of the traced update, no eager JAX op
    groups = _groups(tokenizer)
    copied = _copied(tokenizer)
    none = len(SECTION_SLOTS) - 1

    def init(batch: int) -> _State:
        # numpy, as the tables: building the state compiles nothing in a fresh process
        zeros = np.zeros((batch,), np.int32)
        grid = np.full((batch, positions), -1, np.int32)
        memory = np.full((batch, len(SECTION_SLOTS), _SECTION_BARS, positions), -1, np.int32)
        chords = np.full((batch, _MAX_BEATS), -1, np.int32)
        lengths = np.zeros((batch, len(SECTION_SLOTS)), np.int32)
        return _State(zeros, zeros - 1, zeros, zeros, chords, grid, grid, grid, zeros + none,
                      zeros - 1, memory, lengths, zeros, zeros - 1, zeros + 4 * spb, zeros,
                      zeros - 1, zeros - 1)  # fmt: skip

    def update(s: _State, token: Any) -> tuple[_State, Any]:
        t = _Tables(*(jnp.asarray(a) for a in tables))
        s = _State(*(jnp.asarray(a) for a in s))
        beats, steps = jnp.arange(_MAX_BEATS), jnp.arange(positions)
        rows = jnp.arange(token.shape[0])
        is_bar = t.is_bar[token]
        # a bar ends: remember its melody (for the lookbacks and its section's next time)
        store = is_bar & (s.in_section >= 0) & (s.in_section < _SECTION_BARS)
        kept = jnp.clip(s.in_section, 0, _SECTION_BARS - 1)
        old = s.memory[rows, s.section, kept]
        memory = s.memory.at[rows, s.section, kept].set(jnp.where(store[:, None], s.cur, old))
        lengths = s.lengths.at[rows, s.section].set(
            jnp.where(store, kept + 1, s.lengths[rows, s.section])
        )
        prev2 = jnp.where(is_bar[:, None], s.prev1, s.prev2)
        prev1 = jnp.where(is_bar[:, None], s.cur, s.prev1)
        cur = jnp.where(is_bar[:, None], -1, s.cur)
        bar = s.bar + is_bar
        in_section = s.in_section + is_bar
        opens_section = t.section[token] >= 0
        section = jnp.where(opens_section, t.section[token], s.section)
        in_section = jnp.where(opens_section, 0, in_section)
        limit = jnp.where(opens_section, lengths[rows, section], s.limit)
        opens = t.part[token] >= 0
        part = jnp.where(is_bar, -1, jnp.where(opens, t.part[token], s.part))
        moved = jnp.where(t.position[token] >= 0, t.position[token], s.pos)
        pos = jnp.clip(jnp.where(is_bar | opens, 0, moved), 0, positions - 1)
        head_beat = jnp.where(is_bar, 0, jnp.where(t.beat[token] >= 0, t.beat[token], s.head_beat))
        from_here = beats[None, :] >= head_beat[:, None]
        chords = jnp.where(t.is_chord[token][:, None] & from_here, token[:, None], s.chords)
        in_melody = (t.pitch[token] >= 0) & (part == melody)
        played = in_melody & (cur[rows, pos] < 0)
        cur = cur.at[rows, pos].set(jnp.where(played, t.pitch[token], cur[rows, pos]))
        last = jnp.where(in_melody, t.pitch[token], s.melody)
        # where the melody's notes end (a bar line moves it back by the bar's steps), and
        # the section's range (from the last pitch where a section opens)
        ends = jnp.where(is_bar, s.ends - s.bar_steps, s.ends)
        ended = (t.duration[token] >= 0) & (part == melody)
        ends = jnp.where(ended, jnp.maximum(ends, pos + t.duration[token]), ends)
        bar_steps = jnp.where(t.meter[token] >= 0, t.meter[token], s.bar_steps)
        low = jnp.where(opens_section, s.melody, s.low)
        high = jnp.where(opens_section, s.melody, s.high)
        low = jnp.where(in_melody, jnp.where(low < 0, last, jnp.minimum(low, last)), low)
        high = jnp.where(in_melody, jnp.maximum(high, last), high)
        state = _State(pos, part, bar, head_beat, chords, cur, prev1, prev2, section,
                       in_section, memory, lengths, limit, last, bar_steps, ends, low,
                       high)  # fmt: skip

        def look(pitch: Any) -> Any:
            return jnp.where(pitch >= 0, pitch % 12, 12)

        def register(pitch: Any) -> Any:
            return jnp.where(pitch >= 0, jnp.clip(pitch // 12 - 3, 0, _OCTAVES - 1), -1)

        # the steps still to write: after this one if the bar has a melody note here
        # already, else from it
        ahead = steps[None, :] > pos[:, None] - (cur[rows, pos] < 0)[:, None]
        # the section's bar: the same bar of the last section with this label, if heard
        heard = (section != none) & (in_section < limit)
        bar_of = jnp.clip(in_section, 0, _SECTION_BARS - 1)
        section_bar = jnp.where(heard[:, None], memory[rows, section, bar_of], -1)
        earlier_bars = {"1": prev1, "2": prev2, "section": section_bar}
        onsets: dict[str, Any] = {}  # the lookback and the copy heads share them

        def next_onset(name: str) -> Any:
            # the earlier bar's first onset still ahead; its position, or "none" (positions)
            if name not in onsets:
                hit = (earlier_bars[name] >= 0) & ahead
                onsets[name] = jnp.where(hit.any(axis=1), jnp.argmax(hit, axis=1), positions)
            return onsets[name]

        beat = pos // spb
        out = []
        if "position" in groups:
            out.append(pos)
        if "part" in groups:
            out.append(part + 1)
        if "chord" in groups:
            out.append(chords[rows, jnp.minimum(beat, _MAX_BEATS - 1)])
        if "next_chord" in groups:
            out.append(chords[rows, jnp.minimum(beat + 1, _MAX_BEATS - 1)])
        if "lookback" in groups:
            earlier = section_bar[rows, pos]
            bar_ago, two_ago = prev1[rows, pos], prev2[rows, pos]
            out += [look(bar_ago), register(bar_ago), look(two_ago), register(two_ago),
                    look(earlier), register(earlier), next_onset("1"),
                    next_onset("section")]  # fmt: skip
        if "melody_pitch" in groups:
            out += [look(last), register(last)]
        if "bar_in_section" in groups:
            out.append(jnp.maximum(in_section, 0) % PHRASE_BARS)
        if "section" in groups:
            out.append(section)
        if "copy" in groups:
            in_melody_part = part == melody
            kind = t.kind[token]
            candidates = []
            known = {"1": bar >= 2, "2": bar >= 3, "section": heard}
            # the steps not written yet in this bar (the onset being written included)
            unwritten = (steps[None, :] > pos[:, None]) | (
                (steps[None, :] == pos[:, None]) & (cur < 0)
            )
            for name in copied:
                grid, there = earlier_bars[name], known[name] & in_melody_part
                # this bar's melody so far equals the earlier bar's
                same = (unwritten | (cur == grid)).all(axis=1)
                out.append(jnp.where(there, same.astype(jnp.int32), -1))
                pitch = grid[rows, pos]
                pitch_token = jnp.where(pitch >= 0, t.pitch_token[jnp.clip(pitch, 0, 127)], -1)
                onset = t.position_token[next_onset(name)]
                candidate = jnp.where(kind == _NEXT_ONSET, onset,
                                      jnp.where(kind == _NEXT_PITCH, pitch_token, -1))  # fmt: skip
                candidates.append(jnp.where(there, candidate, -1))
        if "sounding" in groups:
            out.append(jnp.clip(ends, 0, positions))
        if "range" in groups:
            known_range = (last >= 0) & (low >= 0)
            out += [jnp.where(known_range, jnp.clip(last - low, 0, _SPAN), _SPAN + 1),
                    jnp.where(known_range, jnp.clip(high - last, 0, _SPAN), _SPAN + 1)]  # fmt: skip
        if "copy" in groups:
            out += candidates  # last: the copy candidates, tokens rather than feature codes
        codes = jnp.stack(out, axis=-1) if out else jnp.zeros((token.shape[0], 0), jnp.int32)
        return state, codes.astype(jnp.int32)

    copies = len(copied) if "copy" in groups else 0
    return StepFeatures(init, update, _expansions(tokenizer, tables.chord), copies)


def _expansions(tokenizer: PopTokenizer, chord: Any) -> tuple[Any, ...]:
    """The table of each code of :func:`pop_features`, in :func:`feature_layout`'s order.

    A one-hot feature is an identity table; a chord's code is its token, whose
    row of ``chord`` holds its pitch classes.

    >>> from popgen.tokenizers import get_tokenizer
    >>> tok = get_tokenizer("lead")
    >>> tables = _expansions(tok, _tables(tok).chord)
    >>> sum(t.shape[1] for t in tables) == pop_features(tok).size
    True
    """
    chords = chord.astype(np.float32)
    out = []
    for name, where in feature_layout(tokenizer).items():
        size = where.stop - where.start
        out.append(chords if name in ("chord", "next_chord") else np.eye(size, dtype=np.float32))
    return tuple(out)
