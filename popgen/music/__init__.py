"""The value types and pure functions on them: Song, time, bars, chords, keys, roles, limits.

Everything here is numpy and the standard library; nothing reads or writes a file
format (``Song``'s convenience methods delegate to :mod:`popgen.formats` and
:mod:`popgen.outputs`, imported inside the method: the one exception to the layer order).

>>> from popgen.music import Song, make_notes
>>> Song(make_notes([60, 64], [0, 1], [1, 1])).num_notes
2
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popgen._lazy import load as _load

if TYPE_CHECKING:
    from popgen.music.bars import (
        SHORTEST_BAR,
        bar_lines,
        check_bars,
        common_meter,
        has_bar,
        meter_counts,
        signatures_from_bars,
    )
    from popgen.music.chord_inference import infer_chords
    from popgen.music.chords import (
        CHORD_DTYPE,
        NO_CHORD,
        QUALITIES,
        Chord,
        chord_labels,
        chord_tone_mask,
        chords_in,
        make_chords,
        parse_chord,
        sorted_chords,
        transpose_chords,
    )
    from popgen.music.form import (
        ANY_SECTION,
        default_form,
        form_chords,
        parse_progressions,
        read_progressions,
    )
    from popgen.music.keys import (
        PITCH_CLASSES,
        key_signature,
        key_tonic,
        music21_duration,
        parse_key,
        profile_key,
        spelled_names,
    )
    from popgen.music.limits import (
        DEFAULT_LIMITS,
        MAX_AUDIO_SECONDS,
        MAX_DISPLAY_SECONDS,
        MAX_GENERATED_BARS,
        MAX_GENERATED_TOKENS,
        STUDIO_MAX_BARS,
        STUDIO_MAX_CANDIDATES,
        STUDIO_MAX_PRIMER_BYTES,
        STUDIO_MAX_TOKENS,
        Limits,
        bound_song,
        check_file_size,
        clamp_tempos,
        cut_song,
        drop_short_bars,
        shorten_silences,
    )
    from popgen.music.melody import melody_line
    from popgen.music.progression import parse_progression, read_chord_file, read_progression
    from popgen.music.roles import ROLE_PROGRAMS, ROLE_WORDS, guess_role, with_roles
    from popgen.music.sections import (
        MARKER_PREFIX,
        MAX_SECTION_BARS,
        Section,
        bar_labels,
        check_sections,
        format_form,
        infer_sections,
        moved_sections,
        parse_form,
        section_marker,
        section_per_bar,
        sections_from_markers,
    )
    from popgen.music.song import NOTE_DTYPE, ROLES, Song, Track, drop_duplicate_notes, make_notes
    from popgen.music.time import TempoChange, TimeSignature, beats_to_seconds, seconds_to_beats

#: Where each name lives; modules are imported on first use.
_LAZY = {
    "ANY_SECTION": "popgen.music.form",
    "CHORD_DTYPE": "popgen.music.chords",
    "Chord": "popgen.music.chords",
    "DEFAULT_LIMITS": "popgen.music.limits",
    "Limits": "popgen.music.limits",
    "MARKER_PREFIX": "popgen.music.sections",
    "MAX_AUDIO_SECONDS": "popgen.music.limits",
    "MAX_DISPLAY_SECONDS": "popgen.music.limits",
    "MAX_GENERATED_BARS": "popgen.music.limits",
    "MAX_GENERATED_TOKENS": "popgen.music.limits",
    "MAX_SECTION_BARS": "popgen.music.sections",
    "NOTE_DTYPE": "popgen.music.song",
    "NO_CHORD": "popgen.music.chords",
    "PITCH_CLASSES": "popgen.music.keys",
    "QUALITIES": "popgen.music.chords",
    "ROLES": "popgen.music.song",
    "ROLE_PROGRAMS": "popgen.music.roles",
    "ROLE_WORDS": "popgen.music.roles",
    "SHORTEST_BAR": "popgen.music.bars",
    "STUDIO_MAX_BARS": "popgen.music.limits",
    "STUDIO_MAX_CANDIDATES": "popgen.music.limits",
    "STUDIO_MAX_PRIMER_BYTES": "popgen.music.limits",
    "STUDIO_MAX_TOKENS": "popgen.music.limits",
    "Section": "popgen.music.sections",
    "Song": "popgen.music.song",
    "TempoChange": "popgen.music.time",
    "TimeSignature": "popgen.music.time",
    "Track": "popgen.music.song",
    "bar_labels": "popgen.music.sections",
    "bar_lines": "popgen.music.bars",
    "beats_to_seconds": "popgen.music.time",
    "bound_song": "popgen.music.limits",
    "check_bars": "popgen.music.bars",
    "check_file_size": "popgen.music.limits",
    "check_sections": "popgen.music.sections",
    "chord_labels": "popgen.music.chords",
    "chord_tone_mask": "popgen.music.chords",
    "chords_in": "popgen.music.chords",
    "clamp_tempos": "popgen.music.limits",
    "common_meter": "popgen.music.bars",
    "cut_song": "popgen.music.limits",
    "default_form": "popgen.music.form",
    "drop_duplicate_notes": "popgen.music.song",
    "drop_short_bars": "popgen.music.limits",
    "form_chords": "popgen.music.form",
    "format_form": "popgen.music.sections",
    "guess_role": "popgen.music.roles",
    "has_bar": "popgen.music.bars",
    "infer_chords": "popgen.music.chord_inference",
    "infer_sections": "popgen.music.sections",
    "key_signature": "popgen.music.keys",
    "key_tonic": "popgen.music.keys",
    "make_chords": "popgen.music.chords",
    "make_notes": "popgen.music.song",
    "melody_line": "popgen.music.melody",
    "meter_counts": "popgen.music.bars",
    "moved_sections": "popgen.music.sections",
    "music21_duration": "popgen.music.keys",
    "parse_chord": "popgen.music.chords",
    "parse_form": "popgen.music.sections",
    "parse_key": "popgen.music.keys",
    "parse_progression": "popgen.music.progression",
    "parse_progressions": "popgen.music.form",
    "profile_key": "popgen.music.keys",
    "read_chord_file": "popgen.music.progression",
    "read_progression": "popgen.music.progression",
    "read_progressions": "popgen.music.form",
    "seconds_to_beats": "popgen.music.time",
    "section_marker": "popgen.music.sections",
    "section_per_bar": "popgen.music.sections",
    "sections_from_markers": "popgen.music.sections",
    "shorten_silences": "popgen.music.limits",
    "signatures_from_bars": "popgen.music.bars",
    "sorted_chords": "popgen.music.chords",
    "spelled_names": "popgen.music.keys",
    "transpose_chords": "popgen.music.chords",
    "with_roles": "popgen.music.roles",
}


def __getattr__(name: str) -> Any:
    return _load(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "ANY_SECTION",
    "CHORD_DTYPE",
    "Chord",
    "DEFAULT_LIMITS",
    "Limits",
    "MARKER_PREFIX",
    "MAX_AUDIO_SECONDS",
    "MAX_DISPLAY_SECONDS",
    "MAX_GENERATED_BARS",
    "MAX_GENERATED_TOKENS",
    "MAX_SECTION_BARS",
    "NOTE_DTYPE",
    "NO_CHORD",
    "PITCH_CLASSES",
    "QUALITIES",
    "ROLES",
    "ROLE_PROGRAMS",
    "ROLE_WORDS",
    "SHORTEST_BAR",
    "STUDIO_MAX_BARS",
    "STUDIO_MAX_CANDIDATES",
    "STUDIO_MAX_PRIMER_BYTES",
    "STUDIO_MAX_TOKENS",
    "Section",
    "Song",
    "TempoChange",
    "TimeSignature",
    "Track",
    "bar_labels",
    "bar_lines",
    "beats_to_seconds",
    "bound_song",
    "check_bars",
    "check_file_size",
    "check_sections",
    "chord_labels",
    "chord_tone_mask",
    "chords_in",
    "clamp_tempos",
    "common_meter",
    "cut_song",
    "default_form",
    "drop_duplicate_notes",
    "drop_short_bars",
    "form_chords",
    "format_form",
    "guess_role",
    "has_bar",
    "infer_chords",
    "infer_sections",
    "key_signature",
    "key_tonic",
    "make_chords",
    "make_notes",
    "melody_line",
    "meter_counts",
    "moved_sections",
    "music21_duration",
    "parse_chord",
    "parse_form",
    "parse_key",
    "parse_progression",
    "parse_progressions",
    "profile_key",
    "read_chord_file",
    "read_progression",
    "read_progressions",
    "seconds_to_beats",
    "section_marker",
    "section_per_bar",
    "sections_from_markers",
    "shorten_silences",
    "signatures_from_bars",
    "sorted_chords",
    "spelled_names",
    "transpose_chords",
    "with_roles",
]
