"""The music21 bridge: scores, the music21 corpus, key analysis and MusicXML.

Anything music21 parses (MusicXML, ``.mxl``, ABC, Humdrum ``**kern``, MIDI,
...) becomes :class:`~popgen.music.song.Song` values here, and songs go back out as
music21 scores or MusicXML files. music21 is imported inside the functions,
because importing it takes a noticeable fraction of a second; nothing outside
this module sees a music21 object.
"""

from __future__ import annotations

import contextlib
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from popgen.errors import CorpusError
from popgen.music.keys import key_tonic
from popgen.music.limits import DEFAULT_LIMITS, Limits
from popgen.music.song import NOTE_DTYPE, Song, Track
from popgen.music.time import TempoChange, TimeSignature

if TYPE_CHECKING:
    import music21
    from numpy.typing import NDArray

__all__ = [
    "analyze_key",
    "corpus_paths",
    "load_music21_corpus",
    "music21_root",
    "read_score",
    "score_to_song",
]

#: Modes whose scale is a rotation of the minor scale; others count as major.
_MINOR_LIKE_MODES = frozenset({"minor", "dorian", "phrygian", "aeolian", "locrian"})
#: File suffixes that, ending a metadata title, mark it as a file name.
_SCORE_SUFFIXES = frozenset({".abc", ".krn", ".mid", ".midi", ".musicxml", ".mxl", ".xml"})


# ------------------------------------------------------------------ reading
def corpus_paths(name: str) -> list[Path]:
    """List the files of a music21 corpus collection, composer or work.

    Args:
        name: a collection or composer (``"bach"``, ``"essenFolksong"``) or a
            work inside the corpus (``"essenFolksong/kinder0"``, with or
            without its extension).

    Returns:
        The matching files, sorted.

    Raises:
        CorpusError: music21's corpus has nothing of that name.

    >>> [p.name for p in corpus_paths("essenFolksong/kinder0")]
    ['kinder0.abc']

    """
    from music21 import corpus

    paths: list[Path] = []
    if name.strip():
        paths = [Path(p) for p in corpus.getComposer(name)]
        if not paths:
            with contextlib.suppress(Exception):  # music21 raises CorpusException
                found = corpus.getWork(name)
                paths = [Path(p) for p in (found if isinstance(found, list) else [found])]
    if not paths:
        raise CorpusError(f"music21 corpus has no work or collection {name!r}")
    return sorted(set(paths))


def read_score(
    path: str | os.PathLike[str],
    *,
    source: str | None = None,
    accents: bool = True,
    limits: Limits = DEFAULT_LIMITS,
) -> list[Song]:
    """Read any file music21 parses into songs, one per score.

    A file holding several pieces (an ABC file with many tunes, parsed as a
    music21 ``Opus``) gives one song per piece, whose ``source`` is
    ``"<source>#<n>"`` with ``n`` counting from 1. Pieces without notes are
    left out. Velocities follow :func:`score_to_song`.

    Args:
        path: a MusicXML, ``.mxl``, ABC, ``**kern``, ... file.
        source: the songs' ``source``; defaults to ``str(path)``.
        accents: scale velocities by metric accent (see :func:`score_to_song`).
        limits: the caps on the file music21 parses (see :mod:`popgen.formats.score_guard`).

    Returns:
        The songs, in the file's order.

    Raises:
        CorpusError: the file is missing, music21 cannot parse it, it passes a
            cap of ``limits`` (a zip bomb, too many notes, too slow), or it has
            no notes. The message starts with the path.

    >>> [chorale] = read_score(music21_root() / "bach" / "bwv66.6.mxl")
    >>> chorale.title, chorale.num_notes, chorale.key
    ('bwv66.6', 163, 'F# minor')

    """
    from music21 import stream

    from popgen.formats.score_guard import parse_score

    source = str(path) if source is None else source
    if not os.path.exists(path):
        raise CorpusError(f"{path}: no such file")
    parsed = parse_score(path, limits)
    if isinstance(parsed, stream.Opus):
        named = [(s, f"{source}#{i}") for i, s in enumerate(parsed.scores, start=1)]
    else:
        named = [(parsed, source)]
    try:
        songs = [score_to_song(s, source=src, accents=accents) for s, src in named]
    except Exception as exc:  # music21 objects of a damaged file fail in many ways
        reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
        raise CorpusError(f"{path}: music21 read it, but not as a score ({reason})") from exc
    songs = [s for s in songs if s.num_notes]
    if not songs:
        raise CorpusError(f"{path}: no notes")
    return songs


def music21_root() -> Path:
    """The folder of music21's bundled corpus.

    >>> (music21_root() / "bach" / "bwv66.6.mxl").is_file()
    True
    """
    from music21 import common

    return Path(common.getCorpusFilePath())


def load_music21_corpus(name: str, *, limit: int | None = None) -> list[Song]:
    """Read a collection or work of music21's bundled corpus into songs.

    Args:
        name: as for :func:`corpus_paths`, e.g. ``"essenFolksong/kinder0"``.
        limit: stop after this many songs (files are read in sorted order, so
            a limit reads only the first files).

    Returns:
        The songs; ``source`` names the corpus file and, for a file of many
        tunes, the tune: ``"music21:essenFolksong/kinder0.abc#12"``.

    Raises:
        CorpusError: the name is unknown or a file cannot be parsed.

    >>> [song] = load_music21_corpus("bach/bwv66.6")
    >>> song.source, [t.name for t in song.tracks]
    ('music21:bach/bwv66.6.mxl', ['Soprano', 'Alto', 'Tenor', 'Bass'])

    """
    root = music21_root()
    songs: list[Song] = []
    for path in corpus_paths(name):
        if limit is not None and len(songs) >= limit:
            break
        rel = path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name
        songs += read_score(path, source=f"music21:{rel}")
    return songs if limit is None else songs[:limit]


def score_to_song(
    score: music21.stream.Stream[Any], *, source: str = "", accents: bool = True
) -> Song:
    """Convert a music21 score (or a single part) into a :class:`Song`.

    Each part with notes becomes a track (name from the part name, program
    from its instrument's ``midiProgram``, else 0; drum track if its instrument
    is unpitched percussion). Ties are merged, so a tied note is one note;
    chords give one note per pitch; grace notes and unpitched notes are
    skipped. Offsets in quarter lengths are beats. Tempo comes from the
    metronome marks (120 bpm when there are none), time signatures and the
    first key signature are kept (a modal key becomes the major or minor key
    with the same signature, e.g. D dorian -> A minor), the title from the
    metadata.

    **Velocity.** Each note starts from music21's dynamics-aware volume,
    ``note.volume.getRealized() * 127`` (about 90 where the score has no
    dynamics). With ``accents=True`` (the default) it is then scaled by the
    note's metric accent, ``0.55 + 0.6 * beatStrength`` (beatStrength is 1.0
    on the downbeat, 0.5 on a strong beat, 0.25, 0.125, ... on weaker ones):
    from an mf of 90 that gives about 103 on downbeats, 77 on strong beats and
    56 to 63 off the beat, three levels apart by more than one of the ``note``
    encoding's velocity bins. The result is rounded and clipped to 1..127.
    This is a deliberate choice: many scores, the Essen folk songs for
    instance, carry no dynamics at all, and a player would still stress
    strong beats; the scaling gives such songs the range of velocities a
    performance would have. Pass ``accents=False`` to keep
    music21's velocities unchanged.

    Args:
        score: a ``music21.stream.Score``, ``Part`` or other stream of notes.
        source: where it came from, used as ``Song.source``.
        accents: scale velocities by metric accent as described above.

    Returns:
        The song (possibly without notes, when the score has none).

    >>> from music21 import meter, note, stream
    >>> part = stream.Part([meter.TimeSignature("4/4"), *map(note.Note, ["C4", "D4", "E4"])])
    >>> score_to_song(part).notes[["pitch", "start", "velocity"]].tolist()
    [(60, 0.0, 103), (62, 1.0, 63), (64, 2.0, 76)]

    """
    from music21 import dynamics, instrument, stream

    with_dynamics = bool(score.recurse().getElementsByClass(dynamics.Dynamic))
    parts: list[Any] = list(score.parts) if isinstance(score, stream.Score) else []
    rows: list[tuple[int, float, float, int, int]] = []
    tracks: list[Track] = []
    for part in parts or [score]:
        part_rows = _part_notes(part, accents=accents, with_dynamics=with_dynamics)
        if not part_rows:
            continue
        inst = part.getInstrument(returnDefault=False)
        program = getattr(inst, "midiProgram", None)
        name = (getattr(part, "partName", None) or "").strip()
        tracks.append(
            Track(
                name=name,
                program=program if isinstance(program, int) and 0 <= program <= 127 else 0,
                is_drum=isinstance(inst, instrument.UnpitchedPercussion),
            )
        )
        rows += [(*row, len(tracks) - 1) for row in part_rows]
    meta = score.metadata
    title = str((meta.bestTitle if meta is not None else None) or "")
    if Path(title).suffix.lower() in _SCORE_SUFFIXES:  # some files name themselves
        title = Path(title).stem
    title = title or (Path(source.split("#")[0]).stem if source else "")
    return Song(
        notes=np.array(rows, dtype=NOTE_DTYPE),  # rows are in NOTE_DTYPE's field order
        tracks=tuple(tracks) or (Track(),),
        tempos=_tempos(score),
        time_signatures=_time_signatures(score),
        key=_first_key(score),
        title=title,
        source=source,
        chords=_chord_symbols(score, float(score.highestTime)),
    )


def _part_notes(
    part: Any, *, accents: bool, with_dynamics: bool
) -> list[tuple[int, float, float, int]]:
    """(pitch, start, duration, velocity) for the pitched notes of one part.

    music21 searches the context of every note for dynamics and meter, which
    costs about a millisecond a note: dynamics are looked for only when the
    score has some, and beat strengths are computed a measure at a time.
    """
    from music21 import chord, harmony, note

    merged = part.stripTies()
    strengths = _beat_strengths(merged) if accents else {}
    rows: list[tuple[int, float, float, int]] = []
    for item in merged.recurse().notes:
        duration = float(item.quarterLength)
        if duration <= 0 or item.duration.isGrace:
            continue
        if isinstance(item, harmony.Harmony):  # chord symbols are read by _chord_symbols
            continue
        if isinstance(item, note.Note):
            pitches = [item.pitch.midi]
        elif isinstance(item, chord.Chord):
            pitches = [p.midi for p in item.pitches]
        else:  # unpitched percussion
            continue
        velocity = item.volume.getRealized(useDynamicContext=with_dynamics) * 127.0
        if accents:
            strength = strengths.get(id(item))
            strength = float(item.beatStrength) if strength is None else strength
            velocity *= 0.55 + 0.6 * (1.0 if math.isnan(strength) else strength)
        vel = int(np.clip(round(velocity), 1, 127))
        start = float(item.getOffsetInHierarchy(merged))
        rows += [(p, start, duration, vel) for p in pitches if 0 <= p <= 127]
    return rows


#: music21 chord kinds (``ChordSymbol.chordKind``) -> popgen quality names; other kinds
#: fall back to the quality of their triad.
_KINDS = {
    "major": "maj",
    "minor": "min",
    "augmented": "aug",
    "diminished": "dim",
    "dominant-seventh": "7",
    "major-seventh": "maj7",
    "minor-seventh": "min7",
    "minor-major-seventh": "minmaj7",
    "half-diminished-seventh": "hdim7",
    "diminished-seventh": "dim7",
    "major-sixth": "maj6",
    "minor-sixth": "min6",
    "dominant-ninth": "9",
    "major-ninth": "maj9",
    "minor-ninth": "min9",
    "suspended-second": "sus2",
    "suspended-fourth": "sus4",
    "suspended-fourth-seventh": "sus4(b7)",
    "power": "5",
}
_TRIADS = {"major": "maj", "minor": "min", "diminished": "dim", "augmented": "aug"}


def _chord_symbols(score: Any, end: float) -> NDArray[Any]:
    """The score's chord symbols (``music21.harmony.ChordSymbol``) as chord segments.

    Each symbol holds until the next one (of any part) or the score's end;
    ``NoChord`` marks are "no chord"; two symbols at one offset keep the first.
    """
    from music21 import harmony

    from popgen.music.chords import NO_CHORD, QUALITIES, Chord, make_chords

    names = [q.name for q in QUALITIES]
    found: dict[float, Chord] = {}
    for item in score.recurse().getElementsByClass(harmony.ChordSymbol):
        offset = float(item.getOffsetInHierarchy(score))
        if offset in found:
            continue
        if isinstance(item, harmony.NoChord) or item.root() is None:
            found[offset] = NO_CHORD
            continue
        kind = _KINDS.get(item.chordKind) or _TRIADS.get(item.quality, "maj")
        root, bass = item.root().pitchClass, item.bass().pitchClass
        found[offset] = Chord(root, names.index(kind), bass)
    starts = sorted(o for o in found if o < end)
    stops = [*starts[1:], end]
    chords = make_chords([found[o] for o in starts], starts, np.subtract(stops, starts))
    return chords[chords["duration"] > 0]


def _beat_strengths(part: Any) -> dict[int, float]:
    """Music21's ``beatStrength`` of a part's notes, by ``id``, without a search per note.

    Same rule as music21's: the accent weight of the note's offset in its
    measure (pickup padding included) under the prevailing time signature, or
    of its offset modulo the bar length in a part without measures; NaN
    without a time signature. Notes this does not cover are left out.
    """
    from music21 import meter, stream

    strengths: dict[int, float] = {}
    sig = part.getElementsByClass(meter.TimeSignature).first()
    measures = list(part.getElementsByClass(stream.Measure))
    if not measures and (sig is None or sig.offset == 0):
        groups = [(part, 0.0)]
    else:
        groups = [(m, m.paddingLeft) for m in measures]
    for group, padding in groups:
        sig = group.timeSignature or sig
        for item in group.recurse().notes:
            if sig is None:
                strengths[id(item)] = math.nan
                continue
            bar = sig.barDuration.quarterLength
            position = (padding + item.getOffsetInHierarchy(group)) % bar
            weight = sig.getAccentWeight(
                position, forcePositionMatch=True, permitMeterModulus=False
            )
            strengths[id(item)] = float(weight)
    return strengths


def _tempos(score: Any) -> tuple[TempoChange, ...]:
    """Tempo changes from metronome marks; 120 bpm at beat 0 unless marked."""
    from music21 import tempo

    marks = score.recurse().getElementsByClass(tempo.MetronomeMark)
    found = [(m.getOffsetInHierarchy(score), (m.getQuarterBPM() or 0.0,)) for m in marks]
    changes = _changes([(b, v) for b, v in found if v[0] > 0], (120.0,))
    return tuple(TempoChange(beat, float(bpm)) for beat, (bpm,) in changes)


def _time_signatures(score: Any) -> tuple[TimeSignature, ...]:
    """Time-signature changes; 4/4 at beat 0 unless given."""
    from music21 import meter

    sigs = score.recurse().getElementsByClass(meter.TimeSignature)
    found = [(s.getOffsetInHierarchy(score), (s.numerator, s.denominator)) for s in sigs]
    changes = _changes(found, (4, 4))
    return tuple(TimeSignature(beat, int(num), int(den)) for beat, (num, den) in changes)


def _changes(
    found: list[tuple[Any, tuple[Any, ...]]], default: tuple[Any, ...]
) -> list[tuple[float, tuple[Any, ...]]]:
    """Sorted (beat, value) changes: the first per beat, repeats dropped, one at 0."""
    by_beat: dict[float, tuple[Any, ...]] = {}
    for beat, value in found:
        by_beat.setdefault(float(beat), value)
    by_beat.setdefault(0.0, default)
    changes: list[tuple[float, tuple[Any, ...]]] = []
    for beat in sorted(by_beat):
        if not changes or changes[-1][1] != by_beat[beat]:
            changes.append((beat, by_beat[beat]))
    return changes


def _first_key(score: Any) -> str | None:
    """Return the first key or key signature as ``"<tonic> major|minor"``, or None."""
    from music21 import key

    found = score.recurse().getElementsByClass(key.KeySignature).first()
    if found is None:
        return None
    if isinstance(found, key.Key) and found.mode in ("major", "minor"):
        return key_tonic(f"{found.tonic.name} {found.mode}")
    mode = "minor" if getattr(found, "mode", "major") in _MINOR_LIKE_MODES else "major"
    as_key = key.KeySignature(found.sharps).asKey(mode)
    return key_tonic(f"{as_key.tonic.name} {as_key.mode}")


# ---------------------------------------------------------------- analysis
def analyze_key(song: Song) -> str:
    """Estimate a song's key with music21's key analysis (its default, Aarden-Essen weights).

    Drum tracks are ignored. music21's key finders only look at how long each
    pitch class sounds, so the notes are summed per pitch class first; the
    result is the same as analysing every note. The correlations are computed
    here with numpy, as music21 computes them; only when the best two keys are
    too close for float rounding to be ruled out (a tie, or within 1e-9) is
    music21 itself asked, so the key is always music21's, at a hundredth of
    its cost.

    Args:
        song: the song to analyse.

    Returns:
        The key as ``"<tonic> major"`` or ``"<tonic> minor"``, tonic spelled
        with sharps, e.g. ``"A minor"`` or ``"F# major"``.

    Raises:
        ValueError: the song has no pitched notes.

    >>> from popgen.music.song import make_notes
    >>> analyze_key(Song(make_notes([57, 60, 64, 69, 64, 57], range(6), [1, 1, 1, 1, 1, 2])))
    'A minor'

    """
    drum = np.array([t.is_drum for t in song.tracks], dtype=bool)
    notes = song.notes[~drum[song.notes["track"]]] if len(song.notes) else song.notes
    if not len(notes):
        where = f"{song.source}: " if song.source else ""
        raise ValueError(f"{where}cannot analyse the key of a song without pitched notes")
    weights: NDArray[np.float64] = np.bincount(
        notes["pitch"] % 12, weights=notes["duration"], minlength=12
    ).astype(np.float64)
    from popgen.music.keys import profile_key

    return profile_key(weights) or _music21_key(weights)


def _music21_key(weights: NDArray[np.float64]) -> str:
    """music21's own key analysis of one note per pitch class, lasting its summed duration."""
    from music21 import note, stream

    summary: Any = stream.Stream()
    for pc in np.flatnonzero(weights):  # one note per pitch class, around middle C
        summary.append(note.Note(60 + int(pc), quarterLength=float(weights[pc])))
    found = summary.analyze("key")
    return key_tonic(f"{found.tonic.name} {found.mode}")


# ------------------------------------------------------------------ writing


