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
from popgen._moved import install as _install_moved

_install_moved()  # popgen 0.1's module paths (popgen.midi, popgen.checkpoint ...) still import

if TYPE_CHECKING:
    from popgen import metrics, sampling
    from popgen.corpus.corpus import Corpus
    from popgen.corpus.options import CorpusOptions
    from popgen.data.store import StoreError, TokenStore, open_store
    from popgen.data.store_build import build_store
    from popgen.data.usage import RunUsage
    from popgen.errors import (
        CorpusError,
        MidiError,
        PopgenError,
        RunError,
        UnknownNameError,
        VocabularyError,
    )
    from popgen.formats.midi_reading import read_midi
    from popgen.formats.midi_writing import write_midi
    from popgen.models.lstm import LSTMModel
    from popgen.models.lstm_config import LSTMConfig
    from popgen.models.registry import list_models, register_model
    from popgen.music.chord_inference import infer_chords
    from popgen.music.chords import Chord, make_chords, parse_chord
    from popgen.music.limits import Limits
    from popgen.music.progression import parse_progression
    from popgen.music.sections import Section, format_form, parse_form
    from popgen.music.song import ROLES, Song, Track, make_notes
    from popgen.music.time import TempoChange, TimeSignature
    from popgen.outputs.notebook import gallery
    from popgen.runs import pretrained
    from popgen.runs.load import load_run
    from popgen.runs.model_file import export_run
    from popgen.runs.run import Run
    from popgen.runs.run_dir import save_run
    from popgen.runs.train_config import TrainConfig
    from popgen.sampling import Sampler
    from popgen.sampling.controls import Controls
    from popgen.tokenizers import (
        Tokenizer,
        get_tokenizer,
        list_tokenizers,
        load_tokenizer,
        register_tokenizer,
    )
    from popgen.training import distributed
    from popgen.training.loop import train

#: Where each public name lives; modules are imported on first use, so that
#: ``import popgen`` (and worker processes reading MIDI) need not load JAX.
_LAZY = {
    "distributed": "popgen.training.distributed",
    "metrics": "popgen.metrics",
    "sampling": "popgen.sampling",
    "pretrained": "popgen.runs.pretrained",
    "Run": "popgen.runs.run",
    "load_run": "popgen.runs.load",
    "save_run": "popgen.runs.run_dir",
    "infer_chords": "popgen.music.chord_inference",
    "Chord": "popgen.music.chords",
    "make_chords": "popgen.music.chords",
    "parse_chord": "popgen.music.chords",
    "Controls": "popgen.sampling.controls",
    "parse_progression": "popgen.music.progression",
    "Section": "popgen.music.sections",
    "format_form": "popgen.music.sections",
    "parse_form": "popgen.music.sections",
    "Corpus": "popgen.corpus.corpus",
    "CorpusOptions": "popgen.corpus.options",
    "gallery": "popgen.outputs.notebook",
    "CorpusError": "popgen.errors",
    "MidiError": "popgen.errors",
    "PopgenError": "popgen.errors",
    "RunError": "popgen.errors",
    "UnknownNameError": "popgen.errors",
    "VocabularyError": "popgen.errors",
    "Limits": "popgen.music.limits",
    "read_midi": "popgen.formats.midi_reading",
    "write_midi": "popgen.formats.midi_writing",
    "export_run": "popgen.runs.model_file",
    "LSTMModel": "popgen.models.lstm",
    "LSTMConfig": "popgen.models.lstm_config",
    "list_models": "popgen.models.registry",
    "register_model": "popgen.models.registry",
    "ROLES": "popgen.music.song",
    "Song": "popgen.music.song",
    "TempoChange": "popgen.music.time",
    "TimeSignature": "popgen.music.time",
    "Track": "popgen.music.song",
    "make_notes": "popgen.music.song",
    "Sampler": "popgen.sampling",
    "StoreError": "popgen.data.store",
    "TokenStore": "popgen.data.store",
    "open_store": "popgen.data.store",
    "build_store": "popgen.data.store_build",
    "Tokenizer": "popgen.tokenizers",
    "get_tokenizer": "popgen.tokenizers",
    "list_tokenizers": "popgen.tokenizers",
    "load_tokenizer": "popgen.tokenizers",
    "register_tokenizer": "popgen.tokenizers",
    "train": "popgen.training.loop",
    "TrainConfig": "popgen.runs.train_config",
    "RunUsage": "popgen.data.usage",
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
    "Section",
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
    "format_form",
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
    "parse_form",
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
