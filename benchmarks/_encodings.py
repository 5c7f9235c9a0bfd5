"""The encodings (name and options) that the encoding benchmarks compare."""

from typing import Any

ENCODINGS: dict[str, dict[str, Any]] = {
    "note": {"name": "note"},
    "chord": {"name": "chord"},
    "chord (music21 names)": {"name": "chord", "names": "music21"},
    "event": {"name": "event"},
    "remi": {"name": "remi"},
    "remi + tempo + chord tokens": {"name": "remi", "tempos": True, "chords": True},
}
