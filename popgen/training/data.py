"""What training reads: songs or a token store -> training and validation windows.

:func:`training_windows` splits the songs by song with the run's seed, encodes
them (or reads a :class:`popgen.TokenStore`'s index) and cuts the windows;
:func:`popgen.train` draws its batches from them.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from popgen.corpus.options import CorpusOptions
from popgen.corpus.split import song_key, split_by_song
from popgen.data.store import TokenStore
from popgen.data.usage import RunUsage, usage_for
from popgen.data.windows import WindowSource, make_windows
from popgen.errors import CorpusError, VocabularyError
from popgen.music.song import Song
from popgen.runs.train_config import TrainConfig
from popgen.sampling.recipe import recipe_of
from popgen.tokenizers.base import UNK, Tokenizer
from popgen.tokenizers.features import song_codes

__all__ = ["TrainingWindows", "training_windows"]


@dataclass(frozen=True)
class TrainingWindows:
    """The training and validation windows, which songs they came from, how they were read.

    >>> from popgen import Song
    >>> from popgen import TrainConfig
    >>> from popgen import get_tokenizer
    >>> from popgen import make_notes
    >>> songs = [Song(make_notes([60, 62, 64], [0, 1, 2], [1, 1, 1]), title=t) for t in "abc"]
    >>> tok = get_tokenizer("chord").fit(songs)
    >>> data = training_windows(tok, songs, None, TrainConfig(seq_len=4, valid_fraction=0.3))
    >>> data.train.shape, data.train_songs, data.valid_songs
    ((2, 5), ('a', 'b'), ('c',))
    """

    train: WindowSource
    valid: WindowSource
    train_songs: tuple[str, ...]
    valid_songs: tuple[str, ...]
    usage: RunUsage  # how the songs were read, their meter and sampling recipe


def training_windows(
    tokenizer: Tokenizer,
    songs: Sequence[Song] | TokenStore,
    valid: Sequence[Song] | None,
    config: TrainConfig,
    *,
    features: bool = False,
) -> TrainingWindows:
    """Split by song (unless ``valid`` is given), encode, cut the windows.

    ``features``: whether the model reads step features (its sampling recipe
    depends on it, :func:`popgen.sampling.recipe.recipe_of`). From songs, each
    token's step-feature codes are then computed over its whole song and cut
    into the windows beside it (``int32[windows, seq_len + 1, 1 + width]``,
    :func:`popgen.tokenizers.features.song_codes`), so a window in a song's
    last chorus still sees its first one. A token store's windows carry
    tokens only: the model computes the features from each window's start.

    From a :class:`popgen.TokenStore` the split is the same, by song and seed,
    and the windows are read lazily from its shards
    (:class:`popgen.data.store.StoreWindows`); ``tokenizer`` must be the store's.

    ```python
    data = training_windows(store.tokenizer, store, None, TrainConfig(seq_len=256))
    data.train.shape, len(data.valid_songs)  # lazy windows; the held-out songs
    ```
    """
    if isinstance(songs, TokenStore):
        return _store_windows(tokenizer, songs, valid, config, features)
    options = getattr(songs, "options", None)
    return _windows(tokenizer, list(songs), valid, config, options, features)


def _windows(
    tokenizer: Tokenizer,
    songs: list[Song],
    valid: Sequence[Song] | None,
    config: TrainConfig,
    options: CorpusOptions | None,
    features: bool,
) -> TrainingWindows:
    """Split by song (unless ``valid`` is given), encode and cut the windows."""
    usage = _recipe(usage_for(songs, options), tokenizer, features)  # of every song, unsplit
    if valid is None:
        train_idx, valid_idx = split_by_song(len(songs), config.valid_fraction, config.seed)
        valid = [songs[i] for i in valid_idx]
        songs = [songs[i] for i in train_idx]
    train_windows = make_windows(
        _with_codes(tokenizer, _encode(tokenizer, songs, "training"), features),
        config.seq_len,
        config.stride_or_default,
    )
    valid_windows = make_windows(
        _with_codes(tokenizer, _encode(tokenizer, valid, "validation"), features), config.seq_len
    )
    if not len(train_windows):
        raise CorpusError("no training windows: the training songs encode to no tokens")
    return TrainingWindows(
        train_windows,
        valid_windows,
        tuple(sorted({song_key(s) for s in songs})),
        tuple(sorted({song_key(s) for s in valid})),
        usage,
    )


def _store_windows(
    tokenizer: Tokenizer,
    store: TokenStore,
    valid: Sequence[Song] | None,
    config: TrainConfig,
    features: bool,
) -> TrainingWindows:
    """:func:`_windows` for a token store: the same split by song, windows read lazily."""
    if valid is not None:
        raise ValueError("with a token store the validation songs are its own; drop valid=")
    if tokenizer.to_dict() != store.tokenizer.to_dict():
        raise VocabularyError(
            f"{store.path}: the store's songs are encoded with tokenizer "
            f"{store.tokenizer.name!r} of {store.tokenizer.vocab_size} tokens, not with the "
            f"{tokenizer.name!r} tokenizer of {tokenizer.vocab_size} given; train with "
            "store.tokenizer (popgen train STORE does)"
        )
    if features:
        warnings.warn(
            f"{store.path}: a token store's windows carry tokens only, so the model's step "
            "features start afresh at each window (from songs they run over whole songs)",
            stacklevel=3,
        )
    train_idx, valid_idx = split_by_song(len(store), config.valid_fraction, config.seed)
    train_windows = store.windows(train_idx, config.seq_len, config.stride_or_default)
    if not len(train_windows):
        raise CorpusError(f"{store.path}: no training windows: its songs hold no tokens")
    return TrainingWindows(
        train_windows,
        store.windows(valid_idx, config.seq_len),
        tuple(sorted({store.keys[i] for i in train_idx})),
        tuple(sorted({store.keys[i] for i in valid_idx})),
        _recipe(store.usage, tokenizer, features),
    )


def _recipe(usage: RunUsage, tokenizer: Tokenizer, features: bool) -> RunUsage:
    """``usage`` with the sampling recipe of ``tokenizer``'s encoding, unless it names one."""
    if usage.strategy is not None:
        return usage
    return dataclasses.replace(usage, strategy=recipe_of(tokenizer, features=features))


def _with_codes(
    tokenizer: Tokenizer, ids: list[NDArray[np.int32]], features: bool
) -> list[NDArray[np.int32]]:
    """Each song's tokens beside its step-feature codes (``int32[n, 1 + width]``), if asked."""
    make = getattr(tokenizer, "step_features", None)
    if not features or make is None:  # the model refuses a tokenizer without features
        return ids
    codes = song_codes(make(), ids)
    return [np.column_stack([i, c]).astype(np.int32) for i, c in zip(ids, codes, strict=True)]


def _encode(tokenizer: Tokenizer, songs: Sequence[Song], what: str) -> list[NDArray[np.int32]]:
    """Encode songs, reporting songs with tokens outside the vocabulary once."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one summary below instead of a warning per song
        out = [tokenizer.encode(s) for s in songs]
    unknown = [int((ids == UNK).sum()) for ids in out]
    if any(unknown):
        warnings.warn(
            f"{sum(1 for u in unknown if u)} of {len(songs)} {what} songs have tokens outside "
            f"the vocabulary of tokenizer {tokenizer.name!r} ({sum(unknown)} became UNK)",
            stacklevel=3,
        )
    return out


