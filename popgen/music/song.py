"""The one value type that crosses every boundary: :class:`Song`.

A song is a table of notes (a numpy structured array, one row per note) plus
the metadata needed to play it back: tracks, tempo changes, time signatures
and key. Every time is in **beats** (quarter notes, as floats), so a song's
rhythm does not depend on its tempo; the tempo map is metadata used only when
writing audio-time formats such as MIDI.

Everything here is a pure function or a method returning a new ``Song``;
nothing downstream of :mod:`popgen.corpus.corpus` sees mido or music21 objects.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from popgen.music.bars import bar_lines, check_bars
from popgen.music.chords import CHORD_DTYPE, chords_in, sorted_chords, transpose_chords
from popgen.music.keys import PITCH_CLASSES, key_tonic, parse_key
from popgen.music.time import TempoChange, TimeSignature, beats_to_seconds

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from popgen.music.sections import Section

__all__ = [
    "NOTE_DTYPE",
    "ROLES",
    "Song",
    "Track",
    "drop_duplicate_notes",
    "make_notes",
]

#: dtype of :attr:`Song.notes`: one row per note, times in beats.
NOTE_DTYPE = np.dtype(
    [
        ("pitch", np.int16),  # MIDI pitch 0..127
        ("start", np.float64),  # onset, beats from the song's start
        ("duration", np.float64),  # length in beats, > 0
        ("velocity", np.int16),  # MIDI velocity 1..127
        ("track", np.int16),  # index into Song.tracks
    ]
)


#: The roles a track can play in a song ("" when unknown): the tune, a second
#: voice beside it (POP909's ``BRIDGE``), the accompaniment, the drums.
ROLES = ("melody", "second", "accompaniment", "drums")


@dataclass(frozen=True)
class Track:
    """One instrument part: a name, a General MIDI program, a drum flag and a role.

    ``role`` is one of :data:`ROLES` or ``""`` (unknown); the corpus sets it
    from track names and programs (see :mod:`popgen.music.roles`).

    >>> tracks = (Track("Bass", program=33), Track("Drums", is_drum=True))
    >>> song = Song(make_notes([40, 36], [0, 0], [1, 1], track=[0, 1]), tracks=tracks)
    >>> song.drop_drums().tracks
    (Track(name='Bass', program=33, is_drum=False, role=''),)
    """

    name: str = ""
    program: int = 0  # General MIDI program 0..127 (0 = acoustic grand piano)
    is_drum: bool = False  # True for MIDI channel 10 parts
    role: str = ""  # one of ROLES, or "" when unknown

    def __post_init__(self) -> None:
        if self.role not in ("", *ROLES):
            raise ValueError(f"unknown track role {self.role!r}; expected one of {ROLES}")


def make_notes(
    pitch: Iterable[int],
    start: Iterable[float],
    duration: Iterable[float],
    velocity: Iterable[int] | int = 80,
    track: Iterable[int] | int = 0,
) -> NDArray[Any]:
    """Build a :data:`NOTE_DTYPE` array from columns.

    Args:
        pitch: MIDI pitches.
        start: onsets in beats.
        duration: lengths in beats.
        velocity: one velocity for all notes or one per note.
        track: one track index for all notes or one per note.

    Returns:
        A structured array of ``NOTE_DTYPE``, in the order given.

    >>> make_notes([60, 64], [0.0, 1.0], [1.0, 1.0])["pitch"].tolist()
    [60, 64]

    """
    p = np.asarray(list(pitch), dtype=np.int16)
    notes = np.zeros(len(p), dtype=NOTE_DTYPE)
    notes["pitch"] = p
    notes["start"] = np.asarray(list(start), dtype=np.float64)
    notes["duration"] = np.asarray(list(duration), dtype=np.float64)
    notes["velocity"] = velocity if isinstance(velocity, int) else list(velocity)
    notes["track"] = track if isinstance(track, int) else list(track)
    return notes


@dataclass(frozen=True)
class Song:
    """A piece of music: notes in beats plus playback metadata.

    Attributes:
        notes: ``NOTE_DTYPE[n]``, sorted by (start, track, pitch).
        tracks: one :class:`Track` per track index used in ``notes``.
        tempos: tempo changes in beats, the first at beat 0.
        time_signatures: time-signature changes in beats.
        key: the key, e.g. ``"C major"``, or ``None`` when unknown.
        title: a human-readable name.
        source: where the song came from (a path or a corpus name).
        chords: chord segments, :data:`popgen.music.chords.CHORD_DTYPE`, sorted by
            onset (empty when the song has none).
        bars: given bar lines in beats (annotated downbeats), strictly
            increasing; empty when bars follow the time signatures. Read
            every bar with :meth:`bar_lines`.
        merged_notes: exact duplicate notes (same onset, pitch and track)
            merged when the song was read.
        shortened_silences: silences longer than the longest kept
            (:attr:`popgen.music.limits.Limits.max_silence`) shortened when the song
            was read.
        cut_notes: notes left out when the song was read because it was
            longer than the longest kept (:attr:`popgen.music.limits.Limits.max_notes`,
            :attr:`~popgen.music.limits.Limits.max_beats`).
        sections: the song's form (:class:`popgen.music.sections.Section`: label,
            first bar, number of bars), in the bars of :meth:`bar_lines`, in
            order, not overlapping, inside the song's bars; empty when unknown.
            Transforms carry them along (by beats: a section keeps the bars
            it covered, cut to what is kept).

    >>> song = Song(make_notes([60, 62, 64], [0, 1, 2], [1, 1, 2]))
    >>> song.num_notes, song.end
    (3, 4.0)

    """

    notes: NDArray[Any]
    tracks: tuple[Track, ...] = (Track(),)
    tempos: tuple[TempoChange, ...] = (TempoChange(0.0, 120.0),)
    time_signatures: tuple[TimeSignature, ...] = (TimeSignature(0.0, 4, 4),)
    key: str | None = None
    title: str = ""
    source: str = ""
    chords: NDArray[Any] = field(default_factory=lambda: np.zeros(0, CHORD_DTYPE))
    bars: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    merged_notes: int = 0
    shortened_silences: int = 0
    cut_notes: int = 0
    sections: tuple[Section, ...] = ()

    def __post_init__(self) -> None:
        self._check(_FIELDS)

    def _check(self, changed: Iterable[str]) -> None:
        """Check and normalise the fields named in ``changed`` (the others are known good).

        Normalising a field that is already normal (notes sorted, velocities
        in range, chords sorted, ...) leaves it as it is, so a song rebuilt
        from another song's fields is that song; :meth:`replace` checks only
        what it changes.
        """
        changed = set(changed)
        if "notes" in changed:
            object.__setattr__(self, "notes", self._checked_notes(self.notes))
        elif "tracks" in changed:
            self._check_track_indices(self.notes)
        if "tempos" in changed or "time_signatures" in changed:
            tempos = tuple(TempoChange(float(b), float(bpm)) for b, bpm in self.tempos)
            sigs = tuple(
                TimeSignature(float(b), int(n), int(d)) for b, n, d in self.time_signatures
            )
            for name, changes in (("tempo", tempos), ("time signature", sigs)):
                beats = [c[0] for c in changes]
                if beats != sorted(beats):
                    raise ValueError(f"{self._where()}{name} changes must be in time order")
            if any(t.bpm <= 0 for t in tempos):
                raise ValueError(f"{self._where()}tempos must be > 0 bpm")
            object.__setattr__(self, "tempos", tempos)
            object.__setattr__(self, "time_signatures", sigs)
        if "key" in changed and self.key is not None:
            object.__setattr__(self, "key", key_tonic(self.key))
        try:
            if "chords" in changed:
                object.__setattr__(self, "chords", sorted_chords(self.chords))
            if "bars" in changed:
                object.__setattr__(self, "bars", check_bars(self.bars))
            if "sections" in changed:
                sections: tuple[Section, ...] = ()
                if self.sections:  # (imported here: most songs have none; the CLI loads faster)
                    from popgen.music.sections import check_sections

                    sections = check_sections(self.sections)
                    check_sections(sections, len(self.bar_lines()) - 1)
                object.__setattr__(self, "sections", sections)
        except ValueError as error:
            raise ValueError(f"{self._where()}{error}") from None

    def _checked_notes(self, notes: Any) -> NDArray[Any]:
        """``notes`` as a read-only :data:`NOTE_DTYPE` array of its own, checked and sorted."""
        if not isinstance(notes, np.ndarray):
            notes = np.array([tuple(row) for row in notes], dtype=NOTE_DTYPE)
        elif notes.dtype != NOTE_DTYPE:
            notes = notes.astype(NOTE_DTYPE)
        # each column once, aligned (NOTE_DTYPE's rows are packed): numpy is faster so
        pitch, start, track = (np.ascontiguousarray(notes[k]) for k in ("pitch", "start", "track"))
        if len(notes) and (pitch.min() < 0 or pitch.max() > 127):
            raise ValueError(f"{self._where()}pitches must be in 0..127")
        if len(notes) and notes["duration"].min() <= 0:
            raise ValueError(f"{self._where()}note durations must be > 0 beats")
        if len(notes) and start.min() < 0:
            raise ValueError(f"{self._where()}note onsets must be >= 0 beats")
        self._check_track_indices(notes, track)
        if _in_order(start, track, pitch):  # what the stable lexsort would leave as it is
            notes = notes.copy()
        else:
            notes = notes[np.lexsort((pitch, track, start))]
        velocity = notes["velocity"]
        if len(notes) and (velocity.min() < 1 or velocity.max() > 127):
            notes["velocity"] = np.clip(velocity, 1, 127)
        notes.flags.writeable = False
        out: NDArray[Any] = notes
        return out

    def _check_track_indices(self, notes: NDArray[Any], track: NDArray[Any] | None = None) -> None:
        track = notes["track"] if track is None else track
        if len(notes) and (track.min() < 0 or track.max() >= len(self.tracks)):
            raise ValueError(
                f"{self._where()}note track indices must be in 0..{len(self.tracks) - 1}"
            )

    def _where(self) -> str:
        return f"{self.source}: " if self.source else ""

    # ----------------------------------------------------------------- queries
    @property
    def num_notes(self) -> int:
        """Number of notes.

        >>> Song(make_notes([60, 64, 67], [0, 0, 0], [1, 1, 1])).num_notes
        3
        """
        return len(self.notes)

    @property
    def end(self) -> float:
        """Beat at which the last note ends (0.0 for an empty song).

        >>> Song(make_notes([60, 62], [0, 1], [4, 1])).end
        4.0
        """
        if not len(self.notes):
            return 0.0
        return float((self.notes["start"] + self.notes["duration"]).max())

    @property
    def bpm(self) -> float:
        """The initial tempo in beats per minute.

        >>> Song(make_notes([60], [0], [1]), tempos=[TempoChange(0, 96)]).bpm
        96.0
        """
        return self.tempos[0].bpm if self.tempos else 120.0

    def bar_lines(self) -> NDArray[np.float64]:
        """The edges of every bar from beat 0 past the end (:func:`~popgen.music.bars.bar_lines`).

        Given :attr:`bars` win; otherwise the time signatures set them.

        >>> Song(make_notes([60], [0], [9])).bar_lines().tolist()  # 4/4
        [0.0, 4.0, 8.0, 12.0]
        >>> Song(make_notes([60], [0], [9]), bars=[2.0, 5.0]).bar_lines().tolist()
        [0.0, 2.0, 5.0, 8.0, 11.0]
        """
        return bar_lines(self.bars, self.time_signatures, self.end)

    def seconds(self) -> float:
        """Length in seconds, following the tempo map.

        >>> Song(make_notes([60], [0], [4]), tempos=[TempoChange(0, 90)]).seconds()  # 4 beats
        2.666...
        """
        return beats_to_seconds(self.end, self.tempos)

    def replace(self, **changes: Any) -> Song:
        """Return a copy with some fields replaced (``dataclasses.replace``).

        >>> Song(make_notes([60], [0], [1])).replace(title="one note").title
        'one note'

        Unless ``sections`` is among the changes, a change of notes, bars or
        time signatures carries the sections by beats
        (:func:`popgen.music.sections.moved_sections`): cut to the bars left.

        >>> from popgen.music.sections import parse_form
        >>> song = Song(make_notes([60, 62], [0, 4], [4, 4]), sections=parse_form("A1 B1"))
        >>> song.replace(notes=song.notes[:1]).sections
        (Section(label='A', first_bar=0, num_bars=1),)
        """
        if self.sections and "sections" not in changes and _MOVES_BARS & changes.keys():
            from popgen.music.sections import moved_sections

            new = self._replaced({**changes, "sections": ()})
            sections = moved_sections(self.sections, self.bar_lines(), new.bar_lines())
            return new._replaced({"sections": sections})
        return self._replaced(changes)

    def _replaced(self, changes: dict[str, Any]) -> Song:
        """A copy with ``changes``, checking only the fields they name."""
        unknown = changes.keys() - set(_FIELDS)
        if unknown:
            raise TypeError(f"Song has no field {sorted(unknown)[0]!r}; fields: {_FIELDS}")
        song = object.__new__(type(self))
        song.__dict__.update(self.__dict__)
        song.__dict__.update(changes)
        song._check(changes)  # the fields not changed were checked when self was built
        return song

    # ------------------------------------------------------------ transforms
    def transpose(self, semitones: int) -> Song:
        """Shift every non-drum note by ``semitones``; pitches leaving 0..127 are dropped.

        The key moves with the notes.

        >>> song = Song(make_notes([60, 64], [0, 1], [1, 1]), key="C major").transpose(2)
        >>> song.notes["pitch"].tolist(), song.key
        ([62, 66], 'D major')
        """
        if semitones == 0:
            return self
        notes = self.notes.copy()
        drum = np.array([t.is_drum for t in self.tracks])[notes["track"]]
        notes["pitch"] = np.where(drum, notes["pitch"], notes["pitch"] + semitones)
        notes = notes[(notes["pitch"] >= 0) & (notes["pitch"] <= 127)]
        key = None
        if self.key is not None:
            pc, mode = parse_key(self.key)
            key = f"{PITCH_CLASSES[(pc + semitones) % 12]} {mode}"
        return self.replace(notes=notes, key=key, chords=transpose_chords(self.chords, semitones))

    def quantize(self, steps_per_beat: int) -> Song:
        """Snap onsets and durations to a grid of ``1/steps_per_beat`` beats.

        Onsets round to the nearest grid point; durations round to the nearest
        whole number of steps, at least one step, so short notes are kept.
        Notes of one pitch on one track that then overlap are resolved: the
        earlier note is cut at the later one's onset, and of two notes with the
        same onset the longer is kept. Chord segments and given bar lines snap
        to the same grid (a chord left with no length is dropped).

        >>> song = Song(make_notes([60, 62], [0.1, 0.9], [0.4, 1.2])).quantize(2)
        >>> song.notes[["start", "duration"]].tolist()
        [(0.0, 0.5), (1.0, 1.0)]
        """
        if steps_per_beat < 1:
            raise ValueError(f"steps_per_beat must be >= 1, got {steps_per_beat}")
        notes = self.notes.copy()
        g = float(steps_per_beat)
        notes["start"] = np.round(notes["start"] * g) / g
        notes["duration"] = np.maximum(np.round(notes["duration"] * g), 1.0) / g
        notes = resolve_overlaps(notes)
        notes["duration"] = np.round(notes["duration"] * g) / g  # cuts land on the grid exactly
        chords = self.chords.copy()
        ends = np.round((chords["start"] + chords["duration"]) * g) / g
        chords["start"] = np.round(chords["start"] * g) / g
        chords["duration"] = ends - chords["start"]
        bars = np.unique(np.round(self.bars * g) / g)
        return self.replace(notes=notes, chords=chords[chords["duration"] > 0], bars=bars)

    def select_tracks(self, keep: Sequence[int]) -> Song:
        """Keep only the tracks whose indices are in ``keep`` (renumbered in that order).

        >>> tracks = (Track("Piano"), Track("Bass", program=33))
        >>> song = Song(make_notes([60, 36], [0, 0], [1, 1], track=[0, 1]), tracks=tracks)
        >>> bass = song.select_tracks([1])
        >>> bass.tracks[0].name, bass.notes["pitch"].tolist(), bass.notes["track"].tolist()
        ('Bass', [36], [0])
        """
        for i in keep:
            if not 0 <= i < len(self.tracks):
                raise ValueError(f"{self._where()}no track {i}; the song has {len(self.tracks)}")
        remap = np.full(max(len(self.tracks), 1), -1, dtype=np.int16)
        remap[list(keep)] = np.arange(len(keep), dtype=np.int16)
        notes = self.notes[np.isin(self.notes["track"], list(keep))].copy()
        notes["track"] = remap[notes["track"]]
        tracks = tuple(self.tracks[i] for i in keep) or (Track(),)
        return self.replace(notes=notes, tracks=tracks)

    def drop_drums(self) -> Song:
        """Remove drum tracks.

        >>> tracks = (Track("Piano"), Track("Drums", is_drum=True))
        >>> song = Song(make_notes([60, 36], [0, 0], [1, 1], track=[0, 1]), tracks=tracks)
        >>> song.drop_drums().notes["pitch"].tolist()
        [60]
        """
        keep = [i for i, t in enumerate(self.tracks) if not t.is_drum]
        return self.select_tracks(keep)

    def merge_tracks(self, track: Track | None = None) -> Song:
        """Put every note on one track (drum notes included, so drop drums first).

        >>> tracks = (Track("Right hand"), Track("Left hand"))
        >>> song = Song(make_notes([72, 48], [0, 0], [1, 1], track=[0, 1]), tracks=tracks)
        >>> merged = song.merge_tracks(Track("Piano"))
        >>> [t.name for t in merged.tracks], merged.notes["track"].tolist()
        (['Piano'], [0, 0])
        """
        notes = self.notes.copy()
        notes["track"] = 0
        merged = track or Track(name=self.tracks[0].name if self.tracks else "")
        return self.replace(notes=resolve_overlaps(notes), tracks=(merged,))

    def slice(self, start: float, stop: float) -> Song:
        """Notes whose onsets lie in ``[start, stop)``, moved so ``start`` becomes beat 0.

        Notes still sounding at ``stop`` are cut there; so are chords, and a
        chord sounding at ``start`` begins at 0. Given bar lines move too, and
        so do sections: cut to the kept bars and counted from the slice's bars.

        >>> song = Song(make_notes([60, 62, 64], [0, 1, 2], [1, 1, 2]))
        >>> song.slice(1, 3).notes[["pitch", "start", "duration"]].tolist()
        [(62, 0.0, 1.0), (64, 1.0, 1.0)]
        """
        if stop < start:
            raise ValueError(f"slice stop {stop} is before start {start}")
        mask = (self.notes["start"] >= start) & (self.notes["start"] < stop)
        notes = self.notes[mask].copy()
        notes["start"] -= start
        notes["duration"] = np.minimum(notes["duration"], stop - start - notes["start"])
        tempos = _shift_changes(self.tempos, start)
        sigs = _shift_changes(self.time_signatures, start)
        bars = self.bars[(self.bars >= start) & (self.bars < stop)] - start
        sliced = self.replace(
            notes=notes,
            tempos=tempos,
            time_signatures=sigs,
            chords=chords_in(self.chords, start, stop),
            bars=bars,
            sections=(),
        )
        if not self.sections:
            return sliced

        from popgen.music.sections import moved_sections

        def move(beats: NDArray[np.float64]) -> NDArray[np.float64]:
            return np.clip(beats, start, stop) - start

        edges = sliced.bar_lines()
        return sliced.replace(sections=moved_sections(self.sections, self.bar_lines(), edges, move))

    def without_leading_silence(self) -> Song:
        """The song from the bar line at or before its first note (see :meth:`bar_lines`).

        Models trained on songs whose melody waits out an intro (POP909's
        melody tracks) start their songs with long rests; this drops them and
        keeps the notes' place in the bar. An empty song is returned as is.

        >>> song = Song(make_notes([60, 62], [37.5, 38], [0.5, 1]))  # 4/4
        >>> song.without_leading_silence().notes["start"].tolist()
        [1.5, 2.0]

        """
        if not len(self.notes):
            return self
        edges = self.bar_lines()
        first = float(self.notes["start"].min())
        start = float(edges[np.searchsorted(edges, first + 1e-9, side="right") - 1])
        bar = float(np.diff(edges).max())
        return self.slice(start, max(self.end, start + bar)) if start > 0 else self

    def cleaned(self, min_duration: float = 1 / 16) -> Song:
        """A copy fit to play back: no overlapping notes of one pitch, no very short notes.

        Of notes sharing track, pitch and onset the longest is kept; a note
        still sounding when the next note of its pitch (on its track) starts is
        cut there; a note shorter than ``min_duration`` beats is lengthened to
        it, as far as the next note of its pitch allows, and dropped when even
        that is shorter. Generated songs are cleaned by the sampler.

        >>> song = Song(make_notes([60, 60, 62], [0, 0.5, 0], [1, 1, 0.01]))
        >>> song.cleaned(0.25).notes[["pitch", "start", "duration"]].tolist()
        [(60, 0.0, 0.5), (62, 0.0, 0.25), (60, 0.5, 1.0)]
        """
        if not min_duration > 0:
            raise ValueError(f"min_duration must be > 0 beats, got {min_duration}")
        if not len(self.notes):
            return self
        n = resolve_overlaps(self.notes)  # sorted by track, pitch, start
        same_voice = (n["track"][1:] == n["track"][:-1]) & (n["pitch"][1:] == n["pitch"][:-1])
        room = np.append(np.where(same_voice, n["start"][1:] - n["start"][:-1], np.inf), np.inf)
        n["duration"] = np.minimum(np.maximum(n["duration"], min_duration), room)
        return self.replace(notes=n[n["duration"] >= min_duration * (1 - 1e-9)])

    # -------------------------------------------------------------- writers
    def write_midi(self, path: str | os.PathLike[str]) -> None:
        """Write a standard MIDI file (see :func:`popgen.formats.midi_writing.write_midi`).

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     Song(make_notes([60, 64], [0, 1], [1, 1])).write_midi(os.path.join(tmp, "a.mid"))
        ...     Song.from_midi(os.path.join(tmp, "a.mid")).num_notes
        2
        """
        from popgen.formats.midi_writing import write_midi

        write_midi(self, path)

    @classmethod
    def from_midi(cls, path: str | os.PathLike[str]) -> Song:
        """Read a MIDI file (see :func:`popgen.formats.midi_reading.read_midi`).

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     Song(make_notes([60, 64], [0, 1], [1, 1])).write_midi(os.path.join(tmp, "a.mid"))
        ...     Song.from_midi(os.path.join(tmp, "a.mid")).notes["pitch"].tolist()
        [60, 64]
        """
        from popgen.formats.midi_reading import read_midi

        return read_midi(path)

    def write_musicxml(self, path: str | os.PathLike[str]) -> None:
        """Write MusicXML through music21 (see :func:`popgen.formats.score_writing.write_musicxml`).

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     song = Song(make_notes([60, 64], [0, 1], [1, 1]))
        ...     song.write_musicxml(os.path.join(tmp, "a.xml"))
        ...     os.listdir(tmp)
        ['a.xml']
        """
        from popgen.formats.score_writing import write_musicxml

        write_musicxml(self, path)

    def write_wav(self, path: str | os.PathLike[str], **options: Any) -> None:
        """Render audio, with FluidSynth when installed (:func:`~popgen.outputs.audio.write_wav`).

        >>> Song(make_notes([60, 64], [0, 1], [1, 1])).write_wav("a.wav")  # doctest: +SKIP
        """
        from popgen.outputs.audio import write_wav

        write_wav(self, path, **options)

    def to_audio(self, **options: Any) -> NDArray[np.float32]:
        """The song's audio, ``float32[n]`` mono samples (:func:`~popgen.outputs.audio.to_audio`).

        FluidSynth plays it when installed, popgen's own synthesizer otherwise.

        >>> Song(make_notes([60], [0], [1])).to_audio(sample_rate=8000, synth="builtin").shape
        (4800,)
        """
        from popgen.outputs.audio import to_audio

        return to_audio(self, **options)

    def _repr_html_(self) -> str:
        """A piano roll and an audio player for notebooks (see :mod:`popgen.outputs.notebook`)."""
        from popgen.outputs.notebook import song_html

        return song_html(self)

    def write_png(self, path: str | os.PathLike[str]) -> None:
        """Draw a piano roll to a PNG file (see :func:`popgen.outputs.piano_roll.piano_roll`).

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     Song(make_notes([60, 64], [0, 1], [1, 1])).write_png(os.path.join(tmp, "a.png"))
        ...     os.listdir(tmp)
        ['a.png']
        """
        from popgen.outputs.piano_roll import piano_roll

        piano_roll(self, path)


def resolve_overlaps(notes: NDArray[Any]) -> NDArray[Any]:
    """Make notes of one (track, pitch) never overlap.

    Of notes sharing (track, pitch, start) the longest is kept; an earlier note
    still sounding when the next one starts is cut at that onset.
    """
    if not len(notes):
        return notes
    n = drop_duplicate_notes(notes)[0].copy()  # sorted by track, pitch, start
    same_voice = (n["track"][1:] == n["track"][:-1]) & (n["pitch"][1:] == n["pitch"][:-1])
    gap = n["start"][1:] - n["start"][:-1]
    cut = same_voice & (n["duration"][:-1] > gap)
    n["duration"][:-1] = np.where(cut, gap, n["duration"][:-1])
    return n


def drop_duplicate_notes(notes: NDArray[Any]) -> tuple[NDArray[Any], int]:
    """Merge exact duplicate notes (same onset, pitch and track), keeping the longest.

    Returns:
        ``(notes sorted by track, pitch and onset, how many were merged away)``.

    >>> notes, merged = drop_duplicate_notes(make_notes([60, 60, 64], [0, 0, 0], [1, 2, 1]))
    >>> notes[["pitch", "duration"]].tolist(), merged
    ([(60, 2.0), (64, 1.0)], 1)
    """
    if len(notes) < 2:
        return notes, 0
    order = np.lexsort((-notes["duration"], notes["start"], notes["pitch"], notes["track"]))
    n = notes[order]
    dup = np.concatenate(
        [
            [False],
            (n["track"][1:] == n["track"][:-1])
            & (n["pitch"][1:] == n["pitch"][:-1])
            & (n["start"][1:] == n["start"][:-1]),
        ]
    )
    return n[~dup], int(dup.sum())


#: The fields whose change may move bar lines: sections are carried over by beats.
_MOVES_BARS = frozenset({"notes", "bars", "time_signatures"})


def _shift_changes(changes: Sequence[Any], start: float) -> tuple[Any, ...]:
    """Changes active in a slice starting at ``start``, moved to the slice's clock."""
    kind = type(changes[0]) if changes else None
    if kind is None:
        return ()
    active = [c for c in changes if c[0] <= start][-1:] or [changes[0]]
    later = [c for c in changes if c[0] > start]
    return tuple(kind(max(c[0] - start, 0.0), *c[1:]) for c in active + later)


#: The fields of :class:`Song`, in order.
_FIELDS = tuple(f.name for f in dataclasses.fields(Song))


def _in_order(start: NDArray[Any], track: NDArray[Any], pitch: NDArray[Any]) -> bool:
    """Whether notes are sorted by (start, track, pitch): a stable lexsort's order."""
    if len(start) < 2:
        return True
    later = start[1:] > start[:-1]
    if not (later | (start[1:] == start[:-1])).all():
        return False  # out of order, or NaN onsets: lexsort decides
    track_later = track[1:] > track[:-1]
    same_track = track[1:] == track[:-1]
    return bool((later | track_later | (same_track & (pitch[1:] >= pitch[:-1]))).all())
