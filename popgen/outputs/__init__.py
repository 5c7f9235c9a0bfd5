"""Pictures and sound of songs: piano rolls, audio, notebook display.

Audio comes from popgen's built-in synthesizer or FluidSynth.

>>> from popgen.outputs import write_wav
>>> write_wav.__module__
'popgen.outputs.audio'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popgen._lazy import load as _load

if TYPE_CHECKING:
    from popgen.outputs.audio import (
        DEFAULT_SAMPLE_RATE,
        MAX_SECONDS,
        SOUNDFONT_PATHS,
        SYNTHS,
        bounded,
        choose_synth,
        find_fluidsynth,
        read_wav,
        synthesize,
        to_audio,
        wav_bytes,
        write_wav,
    )
    from popgen.outputs.notebook import (
        DISPLAY_SAMPLE_RATE,
        MAX_DISPLAY_SECONDS,
        Gallery,
        gallery,
        song_html,
    )
    from popgen.outputs.piano_roll import piano_roll

#: Where each name lives; modules are imported on first use.
_LAZY = {
    "DEFAULT_SAMPLE_RATE": "popgen.outputs.audio",
    "DISPLAY_SAMPLE_RATE": "popgen.outputs.notebook",
    "Gallery": "popgen.outputs.notebook",
    "MAX_DISPLAY_SECONDS": "popgen.outputs.notebook",
    "MAX_SECONDS": "popgen.outputs.audio",
    "SOUNDFONT_PATHS": "popgen.outputs.audio",
    "SYNTHS": "popgen.outputs.audio",
    "bounded": "popgen.outputs.audio",
    "choose_synth": "popgen.outputs.audio",
    "find_fluidsynth": "popgen.outputs.audio",
    "gallery": "popgen.outputs.notebook",
    "piano_roll": "popgen.outputs.piano_roll",
    "read_wav": "popgen.outputs.audio",
    "song_html": "popgen.outputs.notebook",
    "synthesize": "popgen.outputs.audio",
    "to_audio": "popgen.outputs.audio",
    "wav_bytes": "popgen.outputs.audio",
    "write_wav": "popgen.outputs.audio",
}


def __getattr__(name: str) -> Any:
    return _load(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "DEFAULT_SAMPLE_RATE",
    "DISPLAY_SAMPLE_RATE",
    "Gallery",
    "MAX_DISPLAY_SECONDS",
    "MAX_SECONDS",
    "SOUNDFONT_PATHS",
    "SYNTHS",
    "bounded",
    "choose_synth",
    "find_fluidsynth",
    "gallery",
    "piano_roll",
    "read_wav",
    "song_html",
    "synthesize",
    "to_audio",
    "wav_bytes",
    "write_wav",
]
