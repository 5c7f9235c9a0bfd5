"""popgen: generate music with LSTM networks in JAX/Flax.

The data flow is ``Corpus -> Tokenizer -> LSTMModel -> Sampler``; one value
type, :class:`Song`, crosses every boundary.

>>> import popgen
>>> popgen.get_tokenizer("note").name
'note'
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popgen._lazy import load as _load

if TYPE_CHECKING:
    from popgen import distributed, metrics, pretrained, sampling
    from popgen.checkpoint import Run, load_run, save_run
    from popgen.chord_inference import infer_chords
    from popgen.chords import Chord, make_chords, parse_chord
    from popgen.controls import Controls, parse_progression
    from popgen.corpus import Corpus
    from popgen.corpus_options import CorpusOptions
    from popgen.display import gallery
    from popgen.errors import (
        CorpusError,
        MidiError,
        PopgenError,
        RunError,
        UnknownNameError,
        VocabularyError,
    )
    from popgen.limits import Limits
    from popgen.midi import read_midi, write_midi
    from popgen.model_file import export_run
    from popgen.models.lstm import LSTMModel
    from popgen.models.lstm_config import LSTMConfig
    from popgen.models.registry import list_models, register_model
    from popgen.music import ROLES, Song, TempoChange, TimeSignature, Track, make_notes
    from popgen.sampling import Sampler
    from popgen.store import StoreError, TokenStore, open_store
    from popgen.store_build import build_store
    from popgen.tokenizers import (
        Tokenizer,
        get_tokenizer,
        list_tokenizers,
        load_tokenizer,
        register_tokenizer,
    )
    from popgen.training import train
    from popgen.training_config import TrainConfig
    from popgen.usage import RunUsage

#: Where each public name lives; modules are imported on first use, so that
#: ``import popgen`` (and worker processes reading MIDI) need not load JAX.
_LAZY = {
    "distributed": "popgen.distributed",
    "metrics": "popgen.metrics",
    "sampling": "popgen.sampling",
    "pretrained": "popgen.pretrained",
    "Run": "popgen.checkpoint",
    "load_run": "popgen.checkpoint",
    "save_run": "popgen.checkpoint",
    "infer_chords": "popgen.chord_inference",
    "Chord": "popgen.chords",
    "make_chords": "popgen.chords",
    "parse_chord": "popgen.chords",
    "Controls": "popgen.controls",
    "parse_progression": "popgen.controls",
    "Corpus": "popgen.corpus",
    "CorpusOptions": "popgen.corpus_options",
    "gallery": "popgen.display",
    "CorpusError": "popgen.errors",
    "MidiError": "popgen.errors",
    "PopgenError": "popgen.errors",
    "RunError": "popgen.errors",
    "UnknownNameError": "popgen.errors",
    "VocabularyError": "popgen.errors",
    "Limits": "popgen.limits",
    "read_midi": "popgen.midi",
    "write_midi": "popgen.midi",
    "export_run": "popgen.model_file",
    "LSTMModel": "popgen.models.lstm",
    "LSTMConfig": "popgen.models.lstm_config",
    "list_models": "popgen.models.registry",
    "register_model": "popgen.models.registry",
    "ROLES": "popgen.music",
    "Song": "popgen.music",
    "TempoChange": "popgen.music",
    "TimeSignature": "popgen.music",
    "Track": "popgen.music",
    "make_notes": "popgen.music",
    "Sampler": "popgen.sampling",
    "StoreError": "popgen.store",
    "TokenStore": "popgen.store",
    "open_store": "popgen.store",
    "build_store": "popgen.store_build",
    "Tokenizer": "popgen.tokenizers",
    "get_tokenizer": "popgen.tokenizers",
    "list_tokenizers": "popgen.tokenizers",
    "load_tokenizer": "popgen.tokenizers",
    "register_tokenizer": "popgen.tokenizers",
    "train": "popgen.training",
    "TrainConfig": "popgen.training_config",
    "RunUsage": "popgen.usage",
}


def __getattr__(name: str) -> Any:
    return _load(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__version__ = "0.1.0"

__all__ = [
    "ROLES",
    "Chord",
    "Controls",
    "Corpus",
    "CorpusError",
    "CorpusOptions",
    "LSTMConfig",
    "LSTMModel",
    "Limits",
    "MidiError",
    "PopgenError",
    "Run",
    "RunError",
    "RunUsage",
    "Sampler",
    "Song",
    "StoreError",
    "TempoChange",
    "TimeSignature",
    "TokenStore",
    "Tokenizer",
    "Track",
    "TrainConfig",
    "UnknownNameError",
    "VocabularyError",
    "__version__",
    "build_store",
    "distributed",
    "export_run",
    "gallery",
    "get_tokenizer",
    "infer_chords",
    "list_models",
    "list_tokenizers",
    "load_run",
    "load_tokenizer",
    "make_chords",
    "make_notes",
    "metrics",
    "open_store",
    "parse_chord",
    "parse_progression",
    "pretrained",
    "read_midi",
    "register_model",
    "register_tokenizer",
    "sampling",
    "save_run",
    "train",
    "write_midi",
]
