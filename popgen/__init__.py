"""popgen: generate music with LSTM networks in JAX/Flax.

The data flow is ``Corpus -> Tokenizer -> LSTMModel -> Sampler``; one value
type, :class:`Song`, crosses every boundary.

>>> import popgen
>>> popgen.get_tokenizer("note").name
'note'
"""

from popgen import sampling
from popgen.checkpoint import Run, load_run, save_run
from popgen.corpus import Corpus
from popgen.errors import (
    CorpusError,
    MidiError,
    PopgenError,
    RunError,
    UnknownNameError,
    VocabularyError,
)
from popgen.midi import read_midi, write_midi
from popgen.models.lstm import LSTMModel
from popgen.music import Song, TempoChange, TimeSignature, Track, make_notes
from popgen.sampling import Sampler
from popgen.tokenizers import (
    Tokenizer,
    get_tokenizer,
    list_tokenizers,
    load_tokenizer,
    register_tokenizer,
)
from popgen.training import train
from popgen.training_config import TrainConfig

__version__ = "0.1.0"

__all__ = [
    "CorpusError",
    "Corpus",
    "LSTMModel",
    "MidiError",
    "PopgenError",
    "Run",
    "RunError",
    "Sampler",
    "Song",
    "TempoChange",
    "TimeSignature",
    "Tokenizer",
    "Track",
    "TrainConfig",
    "UnknownNameError",
    "VocabularyError",
    "__version__",
    "get_tokenizer",
    "list_tokenizers",
    "load_run",
    "load_tokenizer",
    "make_notes",
    "read_midi",
    "register_tokenizer",
    "sampling",
    "save_run",
    "train",
    "write_midi",
]
