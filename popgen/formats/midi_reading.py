"""Standard MIDI files <-> :class:`~popgen.music.song.Song`, with mido.

Reading turns ticks into beats (``ticks / ticks_per_beat``), so a song's rhythm
does not depend on its tempo; the tempo map, time signatures and key become
the song's metadata. Each (MIDI track, channel) pair that plays notes becomes
one :class:`~popgen.music.song.Track`; channel 10 (index 9) parts are drum tracks.
Marker meta events whose text is a chord label (``"C:maj"``, ``"Am7"``, ``"N"``;
see :func:`popgen.music.chords.parse_chord`) become :attr:`~popgen.music.song.Song.chords`,
those that read ``section:<label><bars>`` (``section:A8``) at a bar line
:attr:`~popgen.music.song.Song.sections` (:func:`popgen.music.sections.sections_from_markers`);
other markers are ignored.

Writing produces a type-1 file: track 0 holds the tempo map, time signatures,
key, one marker per chord segment (its Harte label) and one per section
(``section:A8`` at its first bar); then one MIDI track
per song track. Every failure to read a file is a
:class:`~popgen.errors.MidiError` that names the file; of a damaged file that
mido cannot parse, what can be read is kept (see :mod:`popgen.formats.midi_salvage`),
with a warning for each loss.
"""

from __future__ import annotations

import io
import os
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mido
import numpy as np

from popgen.errors import MidiError
from popgen.formats.midi_salvage import count_track_chunks, salvage_midi
from popgen.music.chords import CHORD_DTYPE, make_chords, parse_chord
from popgen.music.keys import key_tonic
from popgen.music.limits import DEFAULT_LIMITS
from popgen.music.sections import sections_from_markers
from popgen.music.song import NOTE_DTYPE, Song, Track, drop_duplicate_notes
from popgen.music.time import TempoChange, TimeSignature

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = [
    "read_midi",
    "song_from_midifile",
]

_DRUM_CHANNEL = 9


# --------------------------------------------------------------------- reading
def read_midi(path: str | os.PathLike[str]) -> Song:
    """Read a standard MIDI file (type 0, 1 or 2) into a :class:`Song`.

    Times are in beats (``ticks / ticks_per_beat``); tempo changes, time
    signatures and the first key signature become metadata; markers that
    are chord labels become chords (see :func:`song_from_midifile`). A note-on with
    velocity 0 counts as a note-off; a note-off ends every note of its
    (track, channel, pitch) that began before it, as pretty_midi reads them, so
    a note struck again without a note-off does not sound to the end;
    zero-length notes are dropped. A note never ended (no note-off before the
    end of its track) ends at its track's end (the tick of its last event),
    with a warning: pretty_midi and symusic drop such notes.

    A damaged file that mido cannot parse (a data byte above 127, a track cut
    short, a chunk with a wrong length or of an unknown type, ...) is read as
    far as it can be by :func:`popgen.formats.midi_salvage.salvage_midi`: each track
    keeps its events before the damage, and a ``UserWarning`` that starts with
    the path says what was lost. Intact files read exactly as mido reads them.

    Args:
        path: the ``.mid`` file.

    Returns:
        The song, with ``title`` the file's stem and ``source`` the path.

    Raises:
        MidiError: the file is missing, is not a MIDI file, or has no notes
            (in what could be read of it). The message starts with the path.

    >>> import os, tempfile
    >>> from popgen.formats.midi_writing import write_midi
    >>> from popgen.music.song import make_notes
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_midi(Song(make_notes([60, 64], [0, 1], [1, 1]), key="Am"), f"{tmp}/tune.mid")
    ...     song = read_midi(f"{tmp}/tune.mid")
    >>> song.title, song.key, song.notes["pitch"].tolist()
    ('tune', 'A minor', [60, 64])

    """
    if not os.path.exists(path):
        raise MidiError(f"{path}: no such file")
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise MidiError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    try:
        # from memory: a chunk length of gigabytes in a file of kilobytes makes mido
        # ask a real file for that many bytes at once; a BytesIO gives what there is
        mid = mido.MidiFile(file=io.BytesIO(data))
    except Exception as exc:  # mido raises OSError, EOFError, ValueError, KeyError, ...
        return _salvage(path, exc, data)
    declared, found = count_track_chunks(data)
    if found != len(mid.tracks):  # a wrong track count: mido read too few tracks
        return _salvage(path, ValueError(f"the header declares {declared} track(s)"), data)
    mid.filename = str(path)
    return song_from_midifile(mid, source=str(path))


def _salvage(path: str | os.PathLike[str], failure: Exception, data: bytes) -> Song:
    """Read what can be read of a file mido cannot parse, with a warning for each loss."""
    invalid = f"{path}: not a valid MIDI file ({_reason(failure)})"
    try:
        mid, losses = salvage_midi(data, source=str(path))
    except MidiError:
        raise MidiError(invalid) from failure
    try:
        song = song_from_midifile(mid, source=str(path))
    except MidiError as exc:
        reason = str(exc).removeprefix(f"{path}: ")
        raise MidiError(f"{invalid}; in what could be read: {reason}") from failure
    for loss in losses:
        warnings.warn(f"{path}: {loss}", UserWarning, stacklevel=3)
    return song


def song_from_midifile(mid: mido.MidiFile, *, source: str = "") -> Song:
    """Convert a parsed :class:`mido.MidiFile` into a :class:`Song`.

    This is :func:`read_midi` without the file: the same rules apply.

    Chords come from marker meta events (in any track) whose text
    :func:`popgen.music.chords.parse_chord` reads (``"N"``: no chord): each lasts
    until the next chord marker, the last until the end of the last note;
    markers that are not chords are ignored, and so are chords that would
    start at or after the end (of two at one tick, the later one wins). A
    file whose only chord-like markers are bare letters A-G reads no chords:
    those are taken for rehearsal marks (sections A, B, C...). A track's
    events past tick 2**63 (past int64; only a damaged delta time gets there)
    are left out, with a warning.

    Args:
        mid: a MIDI file as mido parsed or built it.
        source: where it came from; used as ``Song.source`` and in errors.

    Returns:
        The song; its ``title`` is ``source``'s stem (empty when no source).

    Raises:
        MidiError: the file uses SMPTE time or has no notes.

    >>> from popgen.formats.midi_writing import song_to_midifile
    >>> from popgen.music.chords import chord_labels
    >>> from popgen.music.song import make_notes
    >>> mid = song_to_midifile(Song(make_notes([60, 64], [0, 1], [1, 1])))
    >>> song_from_midifile(mid, source="built.mid").notes[["pitch", "start"]].tolist()
    [(60, 0.0), (64, 1.0)]
    >>> mid.tracks[0].append(mido.MetaMessage("marker", text="Am7", time=0))
    >>> chords = song_from_midifile(mid).chords
    >>> chord_labels(chords), chords[["start", "duration"]].tolist()
    (['A:min7'], [(0.0, 2.0)])

    """
    where = source or "<MidiFile>"
    tpb = mid.ticks_per_beat
    if tpb <= 0:
        raise MidiError(f"{where}: not a valid MIDI file (SMPTE time division is not supported)")
    voices: dict[tuple[int, int], _Voice] = {}
    tempos: list[tuple[int, float]] = []
    signatures: list[tuple[int, int, int]] = []
    keys: list[tuple[int, str]] = []
    programs: list[tuple[int, int, int]] = []  # (tick, channel, program), every track
    markers: list[tuple[int, str]] = []  # (tick, text), every track
    unended = 0  # notes with no note-off, ended at their track's end
    for index, track in enumerate(mid.tracks):
        name = ""
        track_programs: dict[int, int] = {}
        tick = end = 0
        for msg in track:
            tick += msg.time
            if tick > _MAX_TICK:  # delta times no file means (a damaged varlen): the rest goes
                warnings.warn(
                    f"{where}: track {index} passes tick 2**63 (a damaged delta time?); "
                    "its later events are left out",
                    stacklevel=2,
                )
                break
            end = tick
            if msg.type == "track_name" and not name:
                name = msg.name.strip()
            elif msg.type == "set_tempo" and msg.tempo > 0:  # 0 us a beat: no tempo
                tempos.append((tick, round(mido.tempo2bpm(msg.tempo), 3)))
            elif msg.type == "time_signature":
                signatures.append((tick, msg.numerator, msg.denominator))
            elif msg.type == "key_signature":
                keys.append((tick, msg.key))
            elif msg.type == "marker":
                markers.append((tick, msg.text))
            elif msg.type == "program_change":
                track_programs[msg.channel] = msg.program
                programs.append((tick, msg.channel, msg.program))
            elif msg.type == "note_on" and msg.velocity > 0:
                voice = voices.get((index, msg.channel))
                if voice is None:
                    program = track_programs.get(msg.channel)
                    voice = _Voice(index, msg.channel, tick, program)
                    voices[(index, msg.channel)] = voice
                voice.note_on(msg.note, tick, msg.velocity)
            elif msg.type in ("note_on", "note_off") and (index, msg.channel) in voices:
                voices[(index, msg.channel)].note_off(msg.note, tick)
        for voice in voices.values():
            if voice.track_index == index:
                voice.name = name
                unended += voice.end_all(end)
    if unended:
        warnings.warn(
            f"{where}: {unended} notes had no note-off; each ends at its track's end",
            stacklevel=2,
        )
    ordered = sorted(voices.values(), key=lambda v: (v.track_index, v.first_tick, v.channel))
    ordered = [v for v in ordered if v.notes]
    rows = [(*row, i) for i, v in enumerate(ordered) for row in v.notes]
    if not rows:
        raise MidiError(f"{where}: no notes")
    table = np.array(rows, dtype=np.float64)
    notes = np.zeros(len(rows), dtype=NOTE_DTYPE)
    notes["pitch"] = table[:, 0]
    notes["start"] = table[:, 1] / tpb
    # the length from exact integer ticks: at huge tick values (a damaged delta time)
    # the difference of two float64s can round to 0
    notes["duration"] = [(row[2] - row[1]) / tpb for row in rows]
    notes["velocity"] = table[:, 3]
    notes["track"] = table[:, 4]
    notes, merged = drop_duplicate_notes(notes)
    tracks = tuple(
        Track(
            name=v.name,
            program=_program(v, programs),
            is_drum=v.channel == _DRUM_CHANNEL,
        )
        for v in ordered
    )
    keys.sort(key=lambda k: k[0])
    song = Song(
        notes=notes,
        chords=_marker_chords(markers, tpb, int(table[:, 2].max())),
        tracks=tracks,
        tempos=_tempo_map(tempos, tpb),
        time_signatures=_signature_map(signatures, tpb),
        key=key_tonic(keys[0][1]) if keys else None,
        title=Path(source).stem if source else "",
        source=source,
        merged_notes=merged,
    )
    return _marker_sections(song, markers, tpb)


#: The last tick read: int64 holds every tick up to here.
_MAX_TICK = 2**63 - 1


@dataclass
class _Voice:
    """Notes of one (MIDI track, channel) pair while the track is read."""

    track_index: int
    channel: int
    first_tick: int
    program: int | None  # the track's last program change before the first note
    name: str = ""
    open: dict[int, deque[tuple[int, int]]] = field(default_factory=dict)
    notes: list[tuple[int, int, int, int]] = field(default_factory=list)  # pitch, on, off, vel

    def note_on(self, pitch: int, tick: int, velocity: int) -> None:
        self.open.setdefault(pitch, deque()).append((tick, velocity))

    def note_off(self, pitch: int, tick: int) -> None:
        """End every sounding note of ``pitch`` that began before ``tick`` (as pretty_midi).

        A note re-struck without a note-off in between therefore ends with the
        next note-off instead of sounding to the end of the file; a note-off
        without a note-on is ignored.
        """
        queue = self.open.get(pitch)
        if not queue:
            return
        keep: deque[tuple[int, int]] = deque()
        closed = 0
        for on, velocity in queue:
            if on < tick:
                self._add(pitch, on, tick, velocity)
                closed += 1
            else:
                keep.append((on, velocity))
        # a note begun at this very tick stays on only if older notes were ended
        # (on, off, on at one tick); alone, it is a zero-length note and dropped
        self.open[pitch] = keep if closed else deque()

    def end_all(self, tick: int) -> int:
        """End every note still sounding at ``tick`` (the track's end); how many had length."""
        ended = 0
        for pitch, queue in self.open.items():
            for on, velocity in queue:
                ended += self._add(pitch, on, tick, velocity)
        self.open.clear()
        return ended

    def _add(self, pitch: int, on: int, off: int, velocity: int) -> bool:
        if off > on:
            self.notes.append((pitch, on, off, velocity))
        return off > on


def _program(voice: _Voice, programs: list[tuple[int, int, int]]) -> int:
    """Return the voice's program: its own track's, else the channel's in any track."""
    if voice.program is not None:
        return voice.program
    before = [
        p for tick, ch, p in sorted(programs) if ch == voice.channel and tick <= voice.first_tick
    ]
    return before[-1] if before else 0


def _tempo_map(changes: list[tuple[int, float]], tpb: int) -> tuple[TempoChange, ...]:
    """Tempo changes in beats; the last change at a tick wins; one at beat 0."""
    by_tick = dict(sorted(changes, key=lambda c: c[0]))  # stable: file order within a tick
    if 0 not in by_tick:
        by_tick[0] = 120.0
    result: list[TempoChange] = []
    for tick in sorted(by_tick):
        if not result or result[-1].bpm != by_tick[tick]:
            result.append(TempoChange(tick / tpb, by_tick[tick]))
    return tuple(result)


def _signature_map(changes: list[tuple[int, int, int]], tpb: int) -> tuple[TimeSignature, ...]:
    """Time signatures in beats; the last at a tick wins; 4/4 at beat 0 unless given."""
    by_tick = {tick: (num, den) for tick, num, den in sorted(changes, key=lambda c: c[0])}
    if 0 not in by_tick:
        by_tick[0] = (4, 4)
    result: list[TimeSignature] = []
    for tick in sorted(by_tick):
        if not result or result[-1][1:] != by_tick[tick]:
            result.append(TimeSignature(tick / tpb, *by_tick[tick]))
    return tuple(result)


def _marker_chords(markers: list[tuple[int, str]], tpb: int, end: int) -> NDArray[Any]:
    """:data:`CHORD_DTYPE` segments from (tick, text) markers that parse as chords.

    Each segment lasts until the next one, the last until tick ``end`` (the
    last note-off); segments of no length (two at a tick, or at or after
    ``end``) are dropped. Times are ticks over ``tpb``, as for notes. When
    every chord-like marker is a bare letter A-G, they are rehearsal marks
    (sections A, B, C...), not chords, and no chords are read.
    """
    found: list[tuple[int, Any]] = []
    letters_only = True
    for tick, text in sorted(markers, key=lambda m: m[0]):  # stable: file order within a tick
        try:
            found.append((tick, parse_chord(text)))
        except ValueError:
            continue  # a section name, a credit, ...: not a chord
        letters_only = letters_only and _is_rehearsal_mark(text)
    if not found or letters_only:
        return np.zeros(0, dtype=CHORD_DTYPE)
    starts = np.array([tick for tick, _ in found], dtype=np.int64)
    ends = np.append(starts[1:], max(end, int(starts[-1])))
    chords = make_chords([chord for _, chord in found], starts / tpb, (ends - starts) / tpb)
    out: NDArray[Any] = chords[chords["duration"] > 0]
    return out


def _marker_sections(song: Song, markers: list[tuple[int, str]], tpb: int) -> Song:
    """``song`` with the sections of its ``section:`` markers (none: ``song`` itself)."""
    found = [(tick / tpb, text) for tick, text in sorted(markers, key=lambda m: m[0])]
    if not any(text.startswith("section:") for _, text in found):
        return song
    where = song.source or "<MidiFile>"
    if song.end > DEFAULT_LIMITS.max_beats:  # bar lines too many to count before the limits cut
        warnings.warn(
            f"{where}: section markers left out: the song lasts {song.end:.6g} beats, more than "
            f"{DEFAULT_LIMITS.max_beats:g} (popgen.music.limits.DEFAULT_LIMITS.max_beats)",
            stacklevel=3,
        )
        return song
    return song.replace(sections=sections_from_markers(found, song.bar_lines(), where=where))


def _is_rehearsal_mark(text: str) -> bool:
    """A marker that is one letter A-G: a section's name as often as a major chord."""
    text = text.strip()
    return len(text) == 1 and text in "ABCDEFG"


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# --------------------------------------------------------------------- writing


