"""Token arrays -> fixed-size training windows and shuffled batches (numpy only).

Each window holds ``seq_len + 1`` tokens: the model reads the first
``seq_len`` and is scored on predicting every next token, so one window gives
``seq_len`` training targets. Windows never cross a song boundary; a song
shorter than a window is padded with ``PAD``, which the loss ignores.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from popgen.tokenizers.base import PAD

if TYPE_CHECKING:
    from popgen.music import Song

__all__ = ["batches", "make_windows", "song_key", "split_by_song"]


def make_windows(
    songs: Sequence[NDArray[np.int32]], seq_len: int, stride: int | None = None
) -> NDArray[np.int32]:
    """Cut each song's tokens into windows of ``seq_len + 1``.

    Args:
        songs: one ``int32[n]`` token array per song (with BOS/EOS).
        seq_len: positions the model reads per window.
        stride: tokens between window starts; ``seq_len`` (the default) makes
            the windows overlap by exactly the one shared target token.

    Returns:
        ``int32[windows, seq_len + 1]``. The last window of each song is
        aligned to its end, so no token is left out.

    >>> make_windows([np.arange(1, 8, dtype=np.int32)], seq_len=3).tolist()
    [[1, 2, 3, 4], [4, 5, 6, 7]]

    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    stride = seq_len if stride is None else stride
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    width = seq_len + 1
    out: list[NDArray[np.int32]] = []
    for tokens in songs:
        tokens = np.asarray(tokens, dtype=np.int32)
        if len(tokens) < 2:
            continue
        if len(tokens) <= width:
            out.append(np.pad(tokens, (0, width - len(tokens)), constant_values=PAD))
            continue
        starts = list(range(0, len(tokens) - width + 1, stride))
        if starts[-1] != len(tokens) - width:
            starts.append(len(tokens) - width)
        out.extend(tokens[s : s + width] for s in starts)
    if not out:
        return np.zeros((0, width), dtype=np.int32)
    return np.stack(out)


def batches(
    windows: NDArray[np.int32], batch_size: int, *, rng: np.random.Generator | None = None
) -> Iterator[NDArray[np.int32]]:
    """Yield ``int32[batch_size, seq_len + 1]`` batches, shuffled when ``rng`` is given.

    The last batch is padded with all-``PAD`` rows (which carry no loss) so
    every batch has the same shape and the train step compiles once.

    >>> windows = np.arange(15, dtype=np.int32).reshape(5, 3)  # five windows of seq_len 2
    >>> [batch[:, 0].tolist() for batch in batches(windows, 2)]  # each row's first token
    [[0, 3], [6, 9], [12, 0]]
    >>> [batch[:, 0].tolist() for batch in batches(windows, 2, rng=np.random.default_rng(0))]
    [[6, 12], [9, 0], [3, 0]]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = rng.permutation(len(windows)) if rng is not None else np.arange(len(windows))
    for i in range(0, len(order), batch_size):
        batch = windows[order[i : i + batch_size]]
        if len(batch) < batch_size:
            pad = np.full((batch_size - len(batch), windows.shape[1]), PAD, dtype=np.int32)
            batch = np.concatenate([batch, pad])
        yield batch


def split_by_song(
    num_songs: int, valid_fraction: float, seed: int = 0
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Shuffle song indices by ``seed`` and hold out ``valid_fraction`` of them.

    At least one song is held out when the fraction is positive and there are
    two or more songs, and at least one always stays for training.

    Returns:
        ``(train_indices, valid_indices)``, each sorted.

    >>> [a.tolist() for a in split_by_song(5, 0.4, seed=0)]
    [[0, 1, 3], [2, 4]]

    """
    if not 0 <= valid_fraction < 1:
        raise ValueError(f"valid_fraction must be in [0, 1), got {valid_fraction}")
    order = np.random.default_rng(seed).permutation(num_songs)
    n_valid = round(num_songs * valid_fraction)
    if valid_fraction > 0 and num_songs >= 2:
        n_valid = min(max(n_valid, 1), num_songs - 1)
    return np.sort(order[n_valid:]), np.sort(order[:n_valid])


def song_key(song: Song) -> str:
    """A name that finds a song again in another reading of its source.

    The file name of the song's source (with a ``#n`` part for one of several
    songs in a file), or its title when it has no source. Runs record the keys
    of their training and validation songs, so that :mod:`popgen.evaluate`
    can tell held-out songs from training songs.

    >>> from popgen.music import Song, make_notes
    >>> song_key(Song(make_notes([60], [0], [1]), source="/data/pop909/001/001.mid"))
    '001.mid'
    >>> song_key(Song(make_notes([60], [0], [1]), source="music21:essenFolksong/kinder0.abc#2"))
    'kinder0.abc#2'

    """
    return PurePath(song.source).name if song.source else song.title
