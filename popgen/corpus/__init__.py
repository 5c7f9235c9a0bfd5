"""A corpus: sources -> Songs, with reading options, worker processes and the song cache.

>>> from popgen.corpus import CorpusOptions
>>> CorpusOptions().transpose_to is None
True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popgen._lazy import load as _load

if TYPE_CHECKING:
    from popgen.corpus.cache import (
        CACHE_FORMAT_VERSION,
        SongCache,
        compile_cache_dir,
        decode_songs,
        default_cache_dir,
        encode_songs,
        pack_songs,
        unpack_songs,
    )
    from popgen.corpus.corpus import DEFAULT_CACHE, Corpus
    from popgen.corpus.options import CHORD_RULES, KEY_RULES, READERS, CorpusOptions
    from popgen.corpus.reading import (
        MIDI_SUFFIXES,
        SCORE_SUFFIXES,
        expand_paths,
        read_file,
        read_files,
    )
    from popgen.corpus.split import song_key, split_by_song

#: Where each name lives; modules are imported on first use.
_LAZY = {
    "CACHE_FORMAT_VERSION": "popgen.corpus.cache",
    "CHORD_RULES": "popgen.corpus.options",
    "Corpus": "popgen.corpus.corpus",
    "CorpusOptions": "popgen.corpus.options",
    "DEFAULT_CACHE": "popgen.corpus.corpus",
    "KEY_RULES": "popgen.corpus.options",
    "MIDI_SUFFIXES": "popgen.corpus.reading",
    "READERS": "popgen.corpus.options",
    "SCORE_SUFFIXES": "popgen.corpus.reading",
    "SongCache": "popgen.corpus.cache",
    "compile_cache_dir": "popgen.corpus.cache",
    "decode_songs": "popgen.corpus.cache",
    "default_cache_dir": "popgen.corpus.cache",
    "encode_songs": "popgen.corpus.cache",
    "expand_paths": "popgen.corpus.reading",
    "pack_songs": "popgen.corpus.cache",
    "read_file": "popgen.corpus.reading",
    "read_files": "popgen.corpus.reading",
    "song_key": "popgen.corpus.split",
    "split_by_song": "popgen.corpus.split",
    "unpack_songs": "popgen.corpus.cache",
}


def __getattr__(name: str) -> Any:
    return _load(__name__, _LAZY, globals(), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "CACHE_FORMAT_VERSION",
    "CHORD_RULES",
    "Corpus",
    "CorpusOptions",
    "DEFAULT_CACHE",
    "KEY_RULES",
    "MIDI_SUFFIXES",
    "READERS",
    "SCORE_SUFFIXES",
    "SongCache",
    "compile_cache_dir",
    "decode_songs",
    "default_cache_dir",
    "encode_songs",
    "expand_paths",
    "pack_songs",
    "read_file",
    "read_files",
    "song_key",
    "split_by_song",
    "unpack_songs",
]
