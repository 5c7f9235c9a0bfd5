"""What a corpus keeps of each song it reads, and how it normalises them: one frozen value.

:class:`CorpusOptions` is taken by :meth:`~popgen.corpus.corpus.Corpus.from_paths`,
:meth:`~popgen.corpus.corpus.Corpus.from_music21` and
:meth:`~popgen.corpus.corpus.Corpus.from_sources`
(which also take its fields as keywords), and its ``accents`` and ``keys`` by the
readers of :mod:`popgen.corpus.reading`. Each option is documented here, once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from popgen.checks import is_whole
from popgen.music.keys import parse_key
from popgen.music.limits import DEFAULT_LIMITS, Limits
from popgen.music.song import ROLES

__all__ = ["CHORD_RULES", "KEY_RULES", "READERS", "SECTION_RULES", "CorpusOptions"]

#: Where a song's key may come from (:attr:`CorpusOptions.keys`): ``"auto"``, the
#: file's key when music21's key analysis agrees with its signature, else the
#: analysis (MIDI files often carry a default C major); ``"file"``, the file's key
#: (the analysis only for a file without one); ``"analysis"``, always the analysis.
KEY_RULES = ("auto", "file", "analysis")
#: Where a song's chords come from (:attr:`CorpusOptions.chords`): ``"auto"``, the
#: annotations beside a MIDI file or a score's chord symbols, else inferred from the
#: notes of all tracks (:func:`popgen.music.chord_inference.infer_chords`); ``"given"``,
#: annotations and chord symbols only; ``"infer"``, always inferred; ``"none"``, no chords.
CHORD_RULES = ("auto", "given", "infer", "none")
#: What parses MIDI files (:attr:`CorpusOptions.reader`): ``"mido"``, popgen's reader
#: (:func:`popgen.formats.midi_reading.read_midi`); ``"symusic"``, the same songs parsed by
#: symusic's C++
#: reader (:func:`popgen.formats.midi_symusic.read_midi_symusic`; the ``fast`` extra), much faster;
#: ``"auto"``, symusic when it is installed, else mido. Not part of the cache key: both
#: readers give the same songs.
READERS = ("auto", "mido", "symusic")
#: Where a song's sections come from (:attr:`CorpusOptions.sections`): ``"labels"``, the
#: section markers of a MIDI file and POP909's phrase labels beside it
#: (:mod:`popgen.formats.phrases`; needs ``annotations``); ``"auto"``, those, else inferred from
#: the melody track's repeats (:func:`popgen.music.sections.infer_sections`); ``"infer"``,
#: always inferred; ``"none"``, no sections.
SECTION_RULES = ("labels", "auto", "infer", "none")


@dataclass(frozen=True)
class CorpusOptions:
    """What to keep of each song read, and how to normalise it.

    Each field's comment says what it does. Sequences are kept as tuples, so
    options written with lists and with tuples are equal; ``tracks`` is a
    list even for one track (``tracks=["Melody"]``). Quantizing is
    :meth:`~popgen.music.song.Song.quantize`; transposing moves each song by -5..+6
    semitones. Make variants with :meth:`replace`.

    Raises:
        ValueError: a value out of range (the message repeats it).
        TypeError: a value of the wrong kind, such as one string for ``tracks``.

    >>> options = CorpusOptions(tracks=["Melody"], transpose_to="C")
    >>> options.tracks, options.drums, options.keys
    (('Melody',), False, 'auto')
    >>> CorpusOptions(quantize=0)
    Traceback (most recent call last):
    ValueError: quantize must be a whole number of steps per beat >= 1 (None: as read), got 0
    """

    tracks: Sequence[str | int] | None = None  # track names (any case) or indices; None: all
    programs: Sequence[int] | None = None  # General MIDI programs 0..127 to keep; None: all
    drums: bool = False  # keep drum tracks (MIDI channel 10), whatever `programs` says
    quantize: int | None = None  # snap onsets and durations to 1/quantize beat; None: as read
    transpose_to: str | None = None  # "C": major songs to C major, minor to A minor; None: keep
    accents: bool = True  # give scores without dynamics metric-accent velocities
    keys: str = "auto"  # where each song's key comes from: one of KEY_RULES
    annotations: bool = True  # read beat_midi.txt / chord_midi.txt beside a MIDI file (POP909)
    chords: str = "auto"  # where each song's chords come from: one of CHORD_RULES
    roles: Mapping[str, str] | Sequence[tuple[str, str]] | None = None  # name -> role; None: guess
    # caps on silences, song length and file size (popgen.music.limits)
    limits: Limits = DEFAULT_LIMITS
    reader: str = "auto"  # what parses MIDI files: one of READERS (same songs, other speed)
    sections: str = "labels"  # where each song's sections come from: one of SECTION_RULES

    def __post_init__(self) -> None:
        object.__setattr__(self, "tracks", _checked_tracks(self.tracks))
        object.__setattr__(self, "programs", _checked_programs(self.programs))
        for name in ("drums", "accents"):
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.quantize is not None and (not _is_int(self.quantize) or self.quantize < 1):
            raise ValueError(
                "quantize must be a whole number of steps per beat >= 1 (None: as read), "
                f"got {self.quantize!r}"
            )
        if self.transpose_to is not None:
            if not isinstance(self.transpose_to, str):
                raise TypeError(f"transpose_to must be a key name, got {self.transpose_to!r}")
            try:
                parse_key(self.transpose_to)
            except ValueError as exc:
                raise ValueError(f"transpose_to: {exc}") from None
        if self.keys not in KEY_RULES:
            raise ValueError(f"keys must be 'auto', 'file' or 'analysis', got {self.keys!r}")
        if not isinstance(self.annotations, bool):
            raise TypeError(f"annotations must be True or False, got {self.annotations!r}")
        if self.chords not in CHORD_RULES:
            raise ValueError(f"chords must be one of {', '.join(CHORD_RULES)}, got {self.chords!r}")
        object.__setattr__(self, "roles", _checked_roles(self.roles))
        if self.reader not in READERS:
            raise ValueError(
                f"reader must be one of {', '.join(map(repr, READERS))}, got {self.reader!r}"
            )
        if self.sections not in SECTION_RULES:
            raise ValueError(
                f"sections must be one of {', '.join(SECTION_RULES)}, got {self.sections!r}"
            )
        if isinstance(self.limits, Mapping):  # as a run records them
            object.__setattr__(self, "limits", Limits.from_dict(self.limits))
        elif not isinstance(self.limits, Limits):
            raise TypeError(f"limits must be a popgen.music.limits.Limits, got {self.limits!r}")

    def replace(self, **changes: Any) -> CorpusOptions:
        """A copy with the named options changed, checked as a new value is.

        Raises:
            TypeError: a name that is not an option; the message lists the options.

        >>> CorpusOptions(drums=True).replace(quantize=4)
        CorpusOptions(tracks=None, programs=None, drums=True, quantize=4, transpose_to=None,
                      accents=True, keys='auto', annotations=True, chords='auto', roles=None,
                      limits=Limits(max_silence=256.0, max_beats=100000.0, max_notes=1000000,
                                    max_file_bytes=16777216, min_bar=0.0625, min_bpm=4.0,
                                    max_seconds_per_file=300.0, max_compression_ratio=200.0,
                                    max_score_notes=200000),
                      reader='auto', sections='labels')
        >>> CorpusOptions().replace(track=["Bass"])
        Traceback (most recent call last):
        TypeError: unknown corpus option 'track'; the options are: tracks, programs, drums,
            quantize, transpose_to, accents, keys, annotations, chords, roles, limits, reader,
            sections
        """
        known = [f.name for f in dataclasses.fields(self)]
        unknown = [name for name in changes if name not in known]
        if unknown:
            names = ", ".join(map(repr, unknown))
            raise TypeError(
                f"unknown corpus option{'s' if len(unknown) > 1 else ''} {names}; "
                f"the options are: {', '.join(known)}"
            )
        return dataclasses.replace(self, **changes)


def _checked_roles(
    roles: Mapping[str, str] | Sequence[tuple[str, str]] | None,
) -> tuple[tuple[str, str], ...] | None:
    """``roles`` as sorted (track name, role) pairs, or ``None``; each role one of ROLES."""
    if roles is None:
        return None
    pairs = tuple(sorted(dict(roles).items()))
    for name, role in pairs:
        if not isinstance(name, str) or role not in ROLES:
            raise ValueError(
                f"roles must map track names to one of {', '.join(ROLES)}, got {name!r}: {role!r}"
            )
    return pairs


def _checked_tracks(tracks: Sequence[str | int] | None) -> tuple[str | int, ...] | None:
    """``tracks`` as a tuple, or ``None``; a string or a non-name raises ``TypeError``."""
    if tracks is None:
        return None
    if isinstance(tracks, str | bytes):
        raise TypeError(
            f"tracks must be a list of track names or indices, got the string {tracks!r}; "
            f"write tracks=[{tracks!r}]"
        )
    out = tuple(tracks)
    for track in out:
        if not (isinstance(track, str) or is_whole(track)):
            raise TypeError(f"tracks must be track names or indices, got {track!r} in {tracks!r}")
    return out


def _checked_programs(programs: Sequence[int] | None) -> tuple[int, ...] | None:
    """``programs`` as a tuple, or ``None``; each must be a program number 0..127."""
    if programs is None:
        return None
    out = tuple(programs)
    for program in out:
        if not _is_int(program) or not 0 <= program <= 127:
            raise ValueError(
                f"programs must be General MIDI programs 0..127, got {program!r} in {programs!r}"
            )
    return out


def _is_int(value: object) -> bool:
    """Whether ``value`` is an integer (``True`` and ``False`` are not)."""
    return isinstance(value, int) and not isinstance(value, bool)
