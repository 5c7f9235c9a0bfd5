"""Shared fixtures: MIDI files built in code with mido, so tests need no data files.

Two builders, both also available as fixtures of the same name:

* :func:`make_midi` writes a file from notes given in beats (the usual case);
* :func:`make_raw_midi` writes a file from raw mido messages at absolute ticks
  (for odd cases: note-on with velocity 0, unmatched note-offs, ...).

The ``midi_dir`` fixture holds a few small songs; :data:`MIDI_DIR_FILES`
describes them so tests can check what a reader returns.

:func:`step_automaton` runs an encoding's step-feature automaton over one song's
tokens, compiled once per encoding, for tests that draw many songs.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import mido
import pytest

# Every test measures behaviour, none speed: XLA's lowest optimisation level compiles
# the many tiny programs of the suite about twice as fast (subprocesses inherit it).
os.environ["XLA_FLAGS"] = " ".join(
    filter(None, [os.environ.get("XLA_FLAGS"), "--xla_backend_optimization_level=0"])
)
os.environ.setdefault("JAX_PLATFORMS", "cpu")


class MidiNote(NamedTuple):
    """A note to write: times in beats; ``track`` picks the MIDI track (type 1)."""

    pitch: int
    start: float
    duration: float
    velocity: int = 80
    track: int = 0
    channel: int = 0


def make_midi(
    path: str | Path,
    notes: Iterable[MidiNote | tuple[Any, ...]],
    *,
    ticks_per_beat: int = 480,
    midi_type: int = 1,
    tempos: Sequence[tuple[float, float]] = ((0.0, 120.0),),
    time_signatures: Sequence[tuple[float, int, int]] = ((0.0, 4, 4),),
    key: str | None = None,
    track_names: Sequence[str] = (),
    programs: Mapping[tuple[int, int], int] | None = None,
) -> Path:
    """Write a standard MIDI file from notes given in beats, without popgen.

    Args:
        path: where to write.
        notes: ``MidiNote`` or plain tuples ``(pitch, start, duration[, velocity,
            track, channel])``; times in beats.
        ticks_per_beat: the file's resolution.
        midi_type: 1 (a conductor track 0 with tempo/meter/key, then MIDI track
            ``n + 1`` for note track ``n``) or 0 (everything in one track).
        tempos: ``(beat, bpm)`` pairs.
        time_signatures: ``(beat, numerator, denominator)`` triples.
        key: a mido key name such as ``"C"``, ``"F#m"``, ``"Bb"``.
        track_names: names of note tracks ``0, 1, ...`` (type 1), or of the one
            track (type 0, first name used).
        programs: ``{(track, channel): program}``; a program change is written
            at tick 0 for each.

    Returns:
        ``Path(path)``.
    """
    spec = [MidiNote(*n) for n in notes]

    def tick(beat: float) -> int:
        return round(beat * ticks_per_beat)

    conductor: list[tuple[int, mido.Message | mido.MetaMessage]] = []
    for beat, bpm in tempos:
        conductor.append((tick(beat), mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm))))
    for beat, num, den in time_signatures:
        msg = mido.MetaMessage("time_signature", numerator=num, denominator=den)
        conductor.append((tick(beat), msg))
    if key is not None:
        conductor.append((0, mido.MetaMessage("key_signature", key=key)))

    n_tracks = max((n.track for n in spec), default=0) + 1
    tracks: list[list[tuple[int, mido.Message | mido.MetaMessage]]] = [[] for _ in range(n_tracks)]
    for i in range(n_tracks):
        if i < len(track_names):
            tracks[i].append((0, mido.MetaMessage("track_name", name=track_names[i])))
    for (track, channel), program in (programs or {}).items():
        tracks[track].append((0, mido.Message("program_change", channel=channel, program=program)))
    for n in spec:
        on = mido.Message("note_on", channel=n.channel, note=n.pitch, velocity=n.velocity)
        off = mido.Message("note_off", channel=n.channel, note=n.pitch)
        tracks[n.track].append((tick(n.start), on))
        tracks[n.track].append((tick(n.start + n.duration), off))

    if midi_type == 0:
        tracks = [conductor + [event for track in tracks for event in track]]
    else:
        tracks = [conductor, *tracks]
    # at one tick: meta messages and note-offs, then program changes, then note-ons
    tracks = [sorted(track, key=_event_order) for track in tracks]
    return make_raw_midi(path, tracks, ticks_per_beat=ticks_per_beat, midi_type=midi_type)


def _event_order(event: tuple[int, mido.Message | mido.MetaMessage]) -> tuple[int, int]:
    msg = event[1]
    if msg.is_meta or msg.type == "note_off":
        return event[0], 0
    return event[0], 2 if msg.type == "note_on" else 1


def make_raw_midi(
    path: str | Path,
    tracks: Sequence[Sequence[tuple[int, mido.Message | mido.MetaMessage]]],
    *,
    ticks_per_beat: int = 480,
    midi_type: int = 1,
) -> Path:
    """Write a MIDI file from ``(absolute tick, message)`` lists, one list per track.

    Events are sorted by tick only, so events at one tick stay in the order
    given; delta times and end-of-track are added here.
    """
    mid = mido.MidiFile(type=midi_type, ticks_per_beat=ticks_per_beat)
    for events in tracks:
        track = mido.MidiTrack()
        now = 0
        for t, msg in sorted(events, key=lambda e: e[0]):
            track.append(msg.copy(time=t - now))
            now = t
        track.append(mido.MetaMessage("end_of_track", time=0))
        mid.tracks.append(track)
    path = Path(path)
    mid.save(path)
    return path


#: What the files in ``midi_dir`` hold (notes as written, in beats).
MIDI_DIR_FILES: dict[str, dict[str, Any]] = {
    # One track, C major melody, 100 bpm, 3/4, key C, velocities varying.
    "melody.mid": {
        "notes": [
            MidiNote(60, 0.0, 1.0, 90),
            MidiNote(62, 1.0, 1.0, 70),
            MidiNote(64, 2.0, 1.0, 70),
            MidiNote(65, 3.0, 0.5, 100),
            MidiNote(67, 3.5, 0.5, 60),
            MidiNote(69, 4.0, 1.0, 80),
            MidiNote(71, 5.0, 0.75, 80),
            MidiNote(72, 6.0, 3.0, 110),
        ],
        "tempos": [(0.0, 100.0)],
        "time_signatures": [(0.0, 3, 4)],
        "key": "C",
        "track_names": ["Melody"],
        "programs": {(0, 0): 73},  # flute
    },
    # Piano chords on channel 0 (track 0), drums on channel 9 (track 1),
    # tempo 120 -> 90 at beat 4.
    "band.mid": {
        "notes": [
            *(MidiNote(p, b, 2.0, 80, 0, 0) for b in (0.0, 2.0, 4.0, 6.0) for p in (48, 52, 55)),
            *(MidiNote(36, b, 0.25, 110, 1, 9) for b in range(8)),
            *(MidiNote(42, b + 0.5, 0.25, 70, 1, 9) for b in range(8)),
        ],
        "tempos": [(0.0, 120.0), (4.0, 90.0)],
        "time_signatures": [(0.0, 4, 4)],
        "key": "Am",
        "track_names": ["Piano", "Drums"],
        "programs": {(0, 0): 0},
    },
    # Type 0: bass on channel 1 (program 33), lead on channel 0 (program 81).
    "type0.mid": {
        "notes": [
            MidiNote(40, 0.0, 1.0, 100, 0, 1),
            MidiNote(76, 0.5, 0.5, 90, 0, 0),
            MidiNote(43, 1.0, 1.0, 100, 0, 1),
            MidiNote(79, 1.0, 1.0, 90, 0, 0),
        ],
        "tempos": [(0.0, 140.0)],
        "time_signatures": [(0.0, 4, 4)],
        "key": None,
        "track_names": ["All"],
        "programs": {(0, 1): 33, (0, 0): 81},
        "midi_type": 0,
    },
}


def make_pop909_midi(path: Path, notes: Iterable[tuple[Any, ...]], bpm: float) -> Path:
    """A MIDI file laid out as POP909's: tracks MELODY, BRIDGE, PIANO (0, 1, 2), 2/4 declared."""
    return make_midi(
        path,
        notes,
        tempos=[(0.0, bpm)],
        time_signatures=[(0.0, 2, 4)],
        track_names=["MELODY", "BRIDGE", "PIANO"],
    )


def write_distribution(
    site: Path, dist: str, module: str, source: str, entries: str, *, group: str
) -> None:
    """A minimal installed distribution in ``site``: a module plus ``<dist>-0.1.dist-info``.

    ``entries`` are the lines of the entry-point ``group`` (``name = module:object``).
    """
    import textwrap

    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{entries}\n")


#: The compiled step-feature automaton of each encoding (and output) the tests ran.
_AUTOMATA: dict[tuple[str, bool], Any] = {}
#: Tokens a song given to :func:`step_automaton` may have: one compiled length for all.
AUTOMATON_LENGTH = 512


def step_automaton(tok: Any, ids: Sequence[int], *, expanded: bool = False) -> Any:
    """The step features of one song's token ids: ``int32[len(ids), width]`` codes
    (``sequence_codes``), or with ``expanded`` the ``float32[len(ids), size]`` vectors
    (``sequence_features``).

    The automaton is compiled once per encoding (by its description) over
    :data:`AUTOMATON_LENGTH` tokens, the song padded with PAD (which changes
    nothing before it), so drawn songs cost no compilation.
    """
    import json
    from functools import partial

    import jax
    import numpy as np

    from popgen.tokenizers.features import sequence_codes, sequence_features

    if len(ids) > AUTOMATON_LENGTH:
        raise ValueError(f"{len(ids)} tokens; step_automaton takes {AUTOMATON_LENGTH} at most")
    key = (json.dumps(tok.to_dict(), sort_keys=True), expanded)
    if key not in _AUTOMATA:
        run = sequence_features if expanded else sequence_codes
        _AUTOMATA[key] = jax.jit(partial(run, tok.step_features()))
    padded = np.zeros((1, AUTOMATON_LENGTH), np.int32)
    padded[0, : len(ids)] = ids
    return np.asarray(_AUTOMATA[key](jax.device_put(padded)))[0, : len(ids)]


@pytest.fixture(name="make_midi")
def make_midi_fixture() -> Any:
    """The :func:`make_midi` builder."""
    return make_midi


@pytest.fixture(name="make_raw_midi")
def make_raw_midi_fixture() -> Any:
    """The :func:`make_raw_midi` builder."""
    return make_raw_midi


@pytest.fixture
def midi_dir(tmp_path: Path) -> Path:
    """A folder with ``melody.mid``, ``band.mid`` and ``type0.mid`` (see MIDI_DIR_FILES)."""
    folder = tmp_path / "midi"
    folder.mkdir()
    for name, spec in MIDI_DIR_FILES.items():
        make_midi(folder / name, **spec)
    return folder


@pytest.fixture
def midi_dir_files() -> dict[str, dict[str, Any]]:
    """:data:`MIDI_DIR_FILES`: the specification of each file in ``midi_dir``."""
    return MIDI_DIR_FILES


@pytest.fixture(autouse=True, scope="session")
def _song_cache_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Keep the tests' song cache and its key out of the user's folders; share compiled programs.

    Compiled programs go to one folder for the whole session, shared by the xdist
    workers and every ``popgen`` subprocess (through ``POPGEN_COMPILE_CACHE``): a
    program compiled once, by any test, is loaded by the others.
    """
    import jax

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    compiled = shared / "jax-cache"
    compiled.mkdir(parents=True, exist_ok=True)
    names = ("POPGEN_CACHE_DIR", "POPGEN_COMPILE_CACHE", "POPGEN_KEY_FILE")
    old = {name: os.environ.get(name) for name in names}
    os.environ["POPGEN_CACHE_DIR"] = str(tmp_path_factory.mktemp("song-cache"))
    os.environ["POPGEN_KEY_FILE"] = str(shared / "entry-key")  # not the user's own key
    os.environ["POPGEN_COMPILE_CACHE"] = str(compiled)
    before = {
        name: getattr(jax.config, name)
        for name in ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs")
    }
    jax.config.update("jax_compilation_cache_dir", str(compiled))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    yield
    for name, value in before.items():
        jax.config.update(name, value)
    for name, value in old.items():
        if value is None:
            del os.environ[name]
        else:
            os.environ[name] = value
