"""Exception types. Every error popgen raises on bad input derives from :class:`PopgenError`.

Messages name the file, token or setting at fault, what was expected and what
was found, so the command line can print them as one line without a traceback.
"""

from __future__ import annotations

__all__ = [
    "CorpusError",
    "MidiError",
    "PopgenError",
    "RunError",
    "TrainingError",
    "UnknownNameError",
    "VocabularyError",
]


class PopgenError(Exception):
    """Base class of popgen's errors about bad input or settings."""


class MidiError(PopgenError, ValueError):
    """A MIDI file that cannot be read: missing, corrupt, or without notes."""


class CorpusError(PopgenError, ValueError):
    """A corpus source that yields no songs, or a song that cannot be used."""


class VocabularyError(PopgenError, ValueError):
    """A vocabulary or tokenizer file that does not match what is asked of it."""


class RunError(PopgenError, ValueError):
    """A run directory that is missing, incomplete or from another format version."""


class UnknownNameError(PopgenError, KeyError):
    """A name (tokenizer, strategy, ...) that no registry entry has."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class TrainingError(PopgenError, RuntimeError):
    """Training that cannot go on, e.g. a loss that became NaN or infinite."""
