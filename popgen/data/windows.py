"""Token arrays -> fixed-size training windows and shuffled batches (numpy only).

Each window holds ``seq_len + 1`` tokens: the model reads the first
``seq_len`` and is scored on predicting every next token, so one window gives
``seq_len`` training targets. Windows never cross a song boundary; a song
shorter than a window is padded with ``PAD``, which the loss ignores.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

from popgen.tokenizers.base import PAD

if TYPE_CHECKING:
    pass

__all__ = [
    "WindowSource",
    "batches",
    "make_windows",
    "window_spans",
]


class WindowSource(Protocol):
    """Training windows that :func:`batches` can draw from: an array or a lazy view.

    ``int32[windows, seq_len + 1]`` arrays are window sources; so is
    :class:`popgen.data.store.StoreWindows`, which reads its rows from a token store
    on disk only when a batch asks for them.

    >>> source: WindowSource = np.zeros((2, 5), dtype=np.int32)  # a structural match
    >>> len(source), source.shape[1]
    (2, 5)
    """

    @property
    def shape(self) -> tuple[int, ...]:
        """``(windows, seq_len + 1)``.

        >>> np.zeros((3, 9), dtype=np.int32).shape
        (3, 9)
        """

    def __len__(self) -> int:
        """The number of windows."""

    def __getitem__(self, rows: Any) -> NDArray[np.int32]:
        """``int32[len(rows), seq_len + 1]``: the windows at ``rows`` (an index array)."""


def window_spans(
    lengths: NDArray[np.integer[Any]] | Sequence[int], seq_len: int, stride: int | None = None
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Where each window of :func:`make_windows` lies, without the tokens.

    Args:
        lengths: the token count of each song (with BOS/EOS).
        seq_len: positions the model reads per window.
        stride: tokens between window starts (default ``seq_len``).

    Returns:
        ``(song, start, length)``, each ``int64[windows]``: the window's song,
        its first token in that song, and how many of its ``seq_len + 1``
        tokens are real (the rest is ``PAD``). Songs of fewer than two tokens
        give no window.

    >>> [a.tolist() for a in window_spans([7, 2, 1], seq_len=3)]
    [[0, 0, 1], [0, 3, 0], [4, 4, 2]]
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    stride = seq_len if stride is None else stride
    if stride < 1:
        raise ValueError(f"stride must be >= 1, got {stride}")
    width = seq_len + 1
    lengths = np.asarray(lengths, dtype=np.int64)
    long = lengths > width
    # a long song has its regular starts plus one aligned to its end when they miss it
    regular = np.where(long, (lengths - width) // stride + 1, 1)
    extra = long & ((lengths - width) % stride != 0)
    counts = np.where(lengths >= 2, regular + extra, 0)
    song = np.repeat(np.arange(len(lengths), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts  # index of each song's first window
    within = np.arange(len(song), dtype=np.int64) - first[song]
    start = np.minimum(within * stride, np.maximum(lengths[song] - width, 0))
    return song, start, np.minimum(lengths[song], width)


def make_windows(
    songs: Sequence[NDArray[np.int32]], seq_len: int, stride: int | None = None
) -> NDArray[np.int32]:
    """Cut each song's tokens into windows of ``seq_len + 1``.

    Args:
        songs: one ``int32[n]`` token array per song (with BOS/EOS), or
            ``int32[n, channels]`` (each token with what belongs to it, such
            as its step-feature codes: the windows are then
            ``int32[windows, seq_len + 1, channels]``).
        seq_len: positions the model reads per window.
        stride: tokens between window starts; ``seq_len`` (the default) makes
            the windows overlap by exactly the one shared target token.

    Returns:
        ``int32[windows, seq_len + 1]`` (with ``channels``, a third axis). The
        last window of each song is aligned to its end, so no token is left out.

    >>> make_windows([np.arange(1, 8, dtype=np.int32)], seq_len=3).tolist()
    [[1, 2, 3, 4], [4, 5, 6, 7]]
    >>> make_windows([np.arange(1, 8, dtype=np.int32)[:, None].repeat(2, 1)], 3).shape
    (2, 4, 2)

    """
    arrays = [np.asarray(tokens, dtype=np.int32) for tokens in songs]
    song, start, length = window_spans([len(a) for a in arrays], seq_len, stride)
    trailing = arrays[0].shape[1:] if arrays else ()
    out = np.full((len(song), seq_len + 1, *trailing), PAD, dtype=np.int32)
    spans = zip(song.tolist(), start.tolist(), length.tolist(), strict=True)
    for row, (i, s, n) in enumerate(spans):
        out[row, :n] = arrays[i][s : s + n]
    return out


def batches(
    windows: WindowSource,
    batch_size: int,
    *,
    rng: np.random.Generator | None = None,
    rows: slice | None = None,
) -> Iterator[NDArray[np.int32]]:
    """Yield ``int32[batch_size, seq_len + 1]`` batches, shuffled when ``rng`` is given.

    Windows with channels (:func:`make_windows`) give batches with them.

    The last batch is padded with all-``PAD`` rows (which carry no loss) so
    every batch has the same shape and the train step compiles once. With
    ``rows`` (a process's block of each batch, in training over several
    processes) only those rows are read; the others stay ``PAD``.

    >>> windows = np.arange(15, dtype=np.int32).reshape(5, 3)  # five windows of seq_len 2
    >>> [batch[:, 0].tolist() for batch in batches(windows, 2)]  # each row's first token
    [[0, 3], [6, 9], [12, 0]]
    >>> [batch[:, 0].tolist() for batch in batches(windows, 2, rng=np.random.default_rng(0))]
    [[6, 12], [9, 0], [3, 0]]
    >>> [batch[:, 0].tolist() for batch in batches(windows, 2, rows=slice(1, 2))]
    [[0, 3], [0, 9], [0, 0]]
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    order = rng.permutation(len(windows)) if rng is not None else np.arange(len(windows))
    mine = np.arange(batch_size)[slice(None) if rows is None else rows]
    for i in range(0, len(order), batch_size):
        batch = np.full((batch_size, *windows.shape[1:]), PAD, dtype=np.int32)
        chosen = mine[i + mine < len(order)]  # the last batch's missing rows stay PAD
        batch[chosen] = windows[order[i + chosen]]
        yield batch


