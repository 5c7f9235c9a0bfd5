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
    """Base class of popgen's errors about bad input or settings.

    Catch it to report any of them; each is also a builtin error type:

    >>> from popgen.tokenizers import get_tokenizer
    >>> try:
    ...     get_tokenizer("notes")
    ... except PopgenError as exc:
    ...     print(f"{type(exc).__name__}: {exc}")
    UnknownNameError: unknown tokenizer 'notes'; known: chord, event, lead, note, pop, remi
    """


class MidiError(PopgenError, ValueError):
    """A MIDI file that cannot be read: missing, corrupt, or without notes.

    >>> from popgen.formats.midi_reading import read_midi
    >>> read_midi("missing.mid")
    Traceback (most recent call last):
    popgen.errors.MidiError: missing.mid: no such file
    """


class CorpusError(PopgenError, ValueError):
    """A corpus source that yields no songs, or a song that cannot be used.

    >>> from popgen.corpus.corpus import Corpus
    >>> Corpus.from_paths(["no-such-folder"])
    Traceback (most recent call last):
    popgen.errors.CorpusError: no-such-folder: no such file or folder
    """


class VocabularyError(PopgenError, ValueError):
    """A vocabulary or tokenizer file that does not match what is asked of it.

    >>> from popgen.tokenizers import get_tokenizer
    >>> get_tokenizer("note").token_name(9999)
    Traceback (most recent call last):
    popgen.errors.VocabularyError: token id 9999 outside the vocabulary of ...
    """


class RunError(PopgenError, ValueError):
    """A run directory that is missing, incomplete or from another format version.

    >>> from popgen.runs.load import load_run
    >>> load_run("no-such-run")
    Traceback (most recent call last):
    popgen.errors.RunError: no-such-run: no such run directory, model file or ...
    """


class UnknownNameError(PopgenError, KeyError):
    """A name (tokenizer, strategy, ...) that no registry entry has.

    It is a ``KeyError`` whose message lists the known names:

    >>> from popgen.sampling import get_strategy
    >>> get_strategy("top-k", 20)
    Traceback (most recent call last):
    popgen.errors.UnknownNameError: unknown strategy 'top-k'; known: chord_tones, ..., top_k, ...
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class TrainingError(PopgenError, RuntimeError):
    """Training that cannot go on, e.g. a loss that became NaN or infinite.

    It is a ``RuntimeError``, raised by :func:`popgen.train` with advice:

    >>> raise TrainingError("the loss became nan at step 12; try a lower learning rate")
    Traceback (most recent call last):
    popgen.errors.TrainingError: the loss became nan at step 12; try a lower learning rate
    """
