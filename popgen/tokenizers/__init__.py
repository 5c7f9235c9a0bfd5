"""Encodings: songs <-> integer tokens. Importing this package registers the built-ins."""

from popgen.tokenizers.base import (
    BOS,
    EOS,
    PAD,
    SPECIAL_TOKENS,
    UNK,
    Tokenizer,
    get_tokenizer,
    list_tokenizers,
    load_tokenizer,
    register_tokenizer,
)
from popgen.tokenizers.chord import ChordConfig, ChordTokenizer
from popgen.tokenizers.event import EventConfig, EventTokenizer
from popgen.tokenizers.note import NoteConfig, NoteTokenizer
from popgen.tokenizers.pop import LeadConfig, LeadTokenizer, PopConfig, PopTokenizer
from popgen.tokenizers.remi import RemiConfig, RemiTokenizer
from popgen.tokenizers.steering import SteerableEncoding

__all__ = [
    "SteerableEncoding",
    "BOS",
    "EOS",
    "PAD",
    "SPECIAL_TOKENS",
    "UNK",
    "ChordConfig",
    "ChordTokenizer",
    "EventConfig",
    "EventTokenizer",
    "LeadConfig",
    "LeadTokenizer",
    "NoteConfig",
    "NoteTokenizer",
    "PopConfig",
    "PopTokenizer",
    "RemiConfig",
    "RemiTokenizer",
    "Tokenizer",
    "get_tokenizer",
    "list_tokenizers",
    "load_tokenizer",
    "register_tokenizer",
]
