"""Bytes <-> Song: MIDI files, music21 scores, POP909's annotation files.

MIDI is read with mido or symusic (salvaging damaged files) and written with
mido; music21 scores are read and written; POP909's beat and chord files are
read beside their MIDI files.

>>> from popgen.formats import read_midi, write_midi
>>> read_midi.__module__
'popgen.formats.midi_reading'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popgen._lazy import load as _load

if TYPE_CHECKING:
    from popgen.formats.annotations import (
        BEAT_FILE,
        CHORD_FILE,
        annotation_files,
        apply_annotations,
        read_beat_file,
        read_chord_file,
    )
    from popgen.formats.midi_reading import read_midi, song_from_midifile
    from popgen.formats.midi_salvage import Salvaged, salvage_midi
    from popgen.formats.midi_scan import TrackScan, scan_tracks
    from popgen.formats.midi_symusic import read_midi_symusic, symusic_available
    from popgen.formats.midi_writing import song_to_midifile, write_midi
    from popgen.formats.phrases import (
        LABEL_FILES,
        MELODY_FILE,
        MIN_AGREEMENT,
        MIN_MARGIN,
        SHIFT_PENALTY,
        Alignment,
        align_phrases,
        melody_grid,
        melody_track,
        read_phrase_labels,
        read_phrase_melody,
        with_inferred_sections,
        with_phrase_sections,
    )
    from popgen.formats.score_reading import (
        analyze_key,
        corpus_paths,
        load_music21_corpus,
        music21_root,
        read_score,
        score_to_song,
    )
    from popgen.formats.score_writing import song_to_score, write_musicxml

#: Where each name lives; modules are imported on first use.
_LAZY = {
    "Alignment": "popgen.formats.phrases",
    "BEAT_FILE": "popgen.formats.annotations",
    "CHORD_FILE": "popgen.formats.annotations",
    "LABEL_FILES": "popgen.formats.phrases",
    "MELODY_FILE": "popgen.formats.phrases",
    "MIN_AGREEMENT": "popgen.formats.phrases",
    "MIN_MARGIN": "popgen.formats.phrases",
    "SHIFT_PENALTY": "popgen.formats.phrases",
    "Salvaged": "popgen.formats.midi_salvage",
    "TrackScan": "popgen.formats.midi_scan",
    "align_phrases": "popgen.formats.phrases",
    "analyze_key": "popgen.formats.score_reading",
    "annotation_files": "popgen.formats.annotations",
    "apply_annotations": "popgen.formats.annotations",
    "corpus_paths": "popgen.formats.score_reading",
    "load_music21_corpus": "popgen.formats.score_reading",
    "melody_grid": "popgen.formats.phrases",
    "melody_track": "popgen.formats.phrases",
    "music21_root": "popgen.formats.score_reading",
    "read_beat_file": "popgen.formats.annotations",
    "read_chord_file": "popgen.formats.annotations",
    "read_midi": "popgen.formats.midi_reading",
    "read_midi_symusic": "popgen.formats.midi_symusic",
    "read_phrase_labels": "popgen.formats.phrases",
    "read_phrase_melody": "popgen.formats.phrases",
    "read_score": "popgen.formats.score_reading",
    "salvage_midi": "popgen.formats.midi_salvage",
    "scan_tracks": "popgen.formats.midi_scan",
    "score_to_song": "popgen.formats.score_reading",
    "song_from_midifile": "popgen.formats.midi_reading",
    "song_to_midifile": "popgen.formats.midi_writing",
    "song_to_score": "popgen.formats.score_writing",
    "symusic_available": "popgen.formats.midi_symusic",
    "with_inferred_sections": "popgen.formats.phrases",
    "with_phrase_sections": "popgen.formats.phrases",
    "write_midi": "popgen.formats.midi_writing",
    "write_musicxml": "popgen.formats.score_writing",
}


def __getattr__(name: str) -> Any:
    return _load(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "Alignment",
    "BEAT_FILE",
    "CHORD_FILE",
    "LABEL_FILES",
    "MELODY_FILE",
    "MIN_AGREEMENT",
    "MIN_MARGIN",
    "SHIFT_PENALTY",
    "Salvaged",
    "TrackScan",
    "align_phrases",
    "analyze_key",
    "annotation_files",
    "apply_annotations",
    "corpus_paths",
    "load_music21_corpus",
    "melody_grid",
    "melody_track",
    "music21_root",
    "read_beat_file",
    "read_chord_file",
    "read_midi",
    "read_midi_symusic",
    "read_phrase_labels",
    "read_phrase_melody",
    "read_score",
    "salvage_midi",
    "scan_tracks",
    "score_to_song",
    "song_from_midifile",
    "song_to_midifile",
    "song_to_score",
    "symusic_available",
    "with_inferred_sections",
    "with_phrase_sections",
    "write_midi",
    "write_musicxml",
]
