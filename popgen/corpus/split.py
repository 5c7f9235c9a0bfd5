"""Splitting a corpus by song: the same song never lands in two parts."""

from __future__ import annotations

from pathlib import PurePath

import numpy as np
from numpy.typing import NDArray

from popgen.music.song import Song

__all__ = [
    "song_key",
    "split_by_song",
]


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
    of their training and validation songs, so that :mod:`popgen.evaluation.compute`
    can tell held-out songs from training songs.

    >>> from popgen.music.song import Song, make_notes
    >>> song_key(Song(make_notes([60], [0], [1]), source="/data/pop909/001/001.mid"))
    '001.mid'
    >>> song_key(Song(make_notes([60], [0], [1]), source="music21:essenFolksong/kinder0.abc#2"))
    'kinder0.abc#2'

    """
    return PurePath(song.source).name if song.source else song.title
