"""What a model may see at each step besides the token: features an encoding computes.

An encoding that knows where a token sits (the position in the bar, the part,
the chord sounding, what was played there a bar ago) offers those facts as a
small feature vector per step, computed from the tokens so far by an
automaton: :class:`StepFeatures` is its pair of pure functions, shaped like a
sampling strategy. ``init(batch)`` gives the state before the first token;
``update(state, token)`` reads one token per row and returns the new state and
the *codes* of the context after that token, the context in which the model
predicts the next one: a few small integers per step, one per column of
``tables``. :func:`expand` turns codes into the feature vector (row ``c`` of
each column's table; ``-1``: zeros), so the automaton's output is small enough
to keep for a whole corpus.

Training computes the codes over whole songs before it cuts its windows
(:func:`song_codes`), so a window that starts in a song's second verse still
knows what the first verse played; the sampler carries the automaton's state
and calls ``update`` once per step inside its own scan. Both run the same
code, so what the model sees when it writes is what it saw when it learned.
Nothing here is Python per token.

>>> import jax.numpy as jnp
>>> counter = counting_features(3)  # a toy automaton: how many tokens so far, one-hot
>>> sequence_features(counter, jnp.array([[5, 6, 7]])).argmax(-1).tolist()
[[1, 2, 2]]
>>> sequence_codes(counter, jnp.array([[5, 6, 7]])).tolist()  # the same, as codes
[[[1], [2], [2]]]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import jax

__all__ = [
    "StepFeatures",
    "copy_candidates",
    "counting_features",
    "expand",
    "sequence_codes",
    "sequence_features",
    "song_codes",
]


class StepFeatures(NamedTuple):
    """A feature automaton: ``init`` and ``update``, and the tables that expand its codes.

    Attributes:
        init: ``batch_size -> state`` (a pytree of arrays, batch first).
        update: ``(state, token: int32[batch]) -> (state, int32[batch, width])``:
            the codes after the token, one per column; pure and jit-friendly.
        tables: one ``float32[codes, features]`` table per column: code ``c``
            of the column stands for row ``c`` of its table, ``-1`` for zeros.
        copies: the columns after those of ``tables``: token ids a model may
            copy (the candidates of its copy heads, ``-1``: none), which
            :func:`expand` leaves out and :func:`copy_candidates` gives.

    >>> f = counting_features(4)
    >>> f.size, f.width
    (4, 1)
    """

    init: Callable[[int], Any]
    update: Callable[[Any, jax.Array], tuple[Any, jax.Array]]
    tables: tuple[NDArray[np.float32], ...]
    copies: int = 0

    @property
    def size(self) -> int:
        """Features per step: the columns of all the tables.

        >>> counting_features(3).size
        3
        """
        return sum(int(t.shape[1]) for t in self.tables)

    @property
    def width(self) -> int:
        """Codes per step: one per table, then the copy candidates.

        >>> counting_features(3).width, counting_features(3, copies=2).width
        (1, 3)
        """
        return len(self.tables) + self.copies


def copy_candidates(features: StepFeatures, codes: jax.Array) -> jax.Array:
    """The copy candidates among ``int32[..., width]`` codes: ``int32[..., copies]``.

    >>> import jax.numpy as jnp
    >>> copy_candidates(counting_features(3, copies=1), jnp.array([[2, 7]])).tolist()
    [[7]]
    """
    return codes[..., len(features.tables) :]


def expand(features: StepFeatures, codes: jax.Array) -> jax.Array:
    """``int32[..., width]`` codes -> ``float32[..., size]`` features (row of each table).

    One gather for all the columns: the tables are stacked block-diagonally
    (each with a zero row for ``-1``), so a step costs a handful of array
    operations however many columns there are (the sampler runs it once per
    token).

    >>> import jax.numpy as jnp
    >>> expand(counting_features(3), jnp.array([[2], [-1]])).tolist()
    [[0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    """
    import jax.numpy as jnp

    if not features.tables:
        return jnp.zeros((*codes.shape[:-1], 0), jnp.float32)
    codes = codes[..., : len(features.tables)]  # the copy candidates are tokens, not features
    stacked, starts, zero_rows = _stacked(features.tables)
    rows = jnp.where(codes < 0, zero_rows, codes + starts)
    return jnp.asarray(stacked)[rows].sum(axis=-2)


def _stacked(
    tables: tuple[NDArray[np.float32], ...],
) -> tuple[NDArray[np.float32], NDArray[np.int32], NDArray[np.int32]]:
    """The tables block-diagonally in one, each followed by a zero row; first and zero rows.

    >>> stacked, starts, zeros = _stacked((np.eye(2, dtype=np.float32), np.ones((1, 1))))
    >>> stacked.astype(int).tolist(), starts.tolist(), zeros.tolist()
    ([[1, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 1], [0, 0, 0]], [0, 3], [2, 4])
    """
    heights = np.array([len(t) + 1 for t in tables])
    widths = np.array([t.shape[1] for t in tables])
    stacked = np.zeros((int(heights.sum()), int(widths.sum())), np.float32)
    starts, columns = np.cumsum(heights) - heights, np.cumsum(widths) - widths
    for table, row, column in zip(tables, starts.tolist(), columns.tolist(), strict=True):
        stacked[row : row + len(table), column : column + table.shape[1]] = table
    return stacked, starts.astype(np.int32), (starts + heights - 1).astype(np.int32)


def sequence_codes(features: StepFeatures, tokens: jax.Array) -> jax.Array:
    """The codes of every step of ``int32[batch, time]`` tokens: ``int32[batch, time, width]``.

    One ``lax.scan`` over time, vectorised over the batch; code ``t`` depends
    on tokens ``0..t`` only.

    >>> import jax.numpy as jnp
    >>> sequence_codes(counting_features(2), jnp.zeros((2, 4), jnp.int32)).shape
    (2, 4, 1)
    """
    import jax
    import jax.numpy as jnp

    def step(state: Any, token: jax.Array) -> tuple[Any, jax.Array]:
        return features.update(state, token)

    _, out = jax.lax.scan(step, features.init(tokens.shape[0]), jnp.swapaxes(tokens, 0, 1))
    return jnp.swapaxes(out, 0, 1)


def sequence_features(features: StepFeatures, tokens: jax.Array) -> jax.Array:
    """The features of every step of ``int32[batch, time]`` tokens: ``float32[batch, time, size]``.

    >>> import jax.numpy as jnp
    >>> sequence_features(counting_features(2), jnp.zeros((2, 4), jnp.int32)).shape
    (2, 4, 2)
    """
    return expand(features, sequence_codes(features, tokens))


#: Songs whose codes :func:`song_codes` computes in one scan.
_SONGS_PER_SCAN = 64
#: Scan lengths are rounded up to a multiple of this, so that few shapes compile.
_LENGTH_STEP = 1024


def song_codes(
    features: StepFeatures, songs: Sequence[NDArray[np.integer[Any]]]
) -> list[NDArray[np.int32]]:
    """The codes of each whole song, ``int32[len(song), width]``, for windows cut later.

    Songs are scanned in batches of similar length (padded; what follows a
    song's end changes nothing before it), so a corpus costs a few compiled
    scans. A window cut from these codes sees what the automaton saw from
    the song's first token, as the sampler does, not a fresh start at the
    window's first token.

    >>> import numpy as np
    >>> [c[:, 0].tolist() for c in song_codes(counting_features(3), [np.array([4, 5, 6, 7]),
    ...                                                              np.array([4])])]
    [[1, 2, 2, 2], [1]]
    """
    import jax
    import jax.numpy as jnp

    scan = jax.jit(lambda tokens: sequence_codes(features, tokens))
    order = sorted(range(len(songs)), key=lambda i: len(songs[i]))
    out: list[NDArray[np.int32]] = [np.zeros((0, features.width), np.int32)] * len(songs)
    for first in range(0, len(order), _SONGS_PER_SCAN):
        chunk = order[first : first + _SONGS_PER_SCAN]
        longest = max(len(songs[i]) for i in chunk)
        if not longest:
            continue
        batch = np.zeros((len(chunk), _LENGTH_STEP * math.ceil(longest / _LENGTH_STEP)), np.int32)
        for row, i in enumerate(chunk):
            batch[row, : len(songs[i])] = songs[i]
        codes = np.asarray(scan(jnp.asarray(batch)))
        for row, i in enumerate(chunk):
            out[i] = codes[row, : len(songs[i])].astype(np.int32)
    return out


def counting_features(size: int, *, copies: int = 0) -> StepFeatures:
    """A toy automaton for tests and examples: the tokens read so far, one-hot, capped.

    With ``copies``, as many copy candidates follow: each the token just read
    (a model with copy heads may repeat it).

    >>> import jax.numpy as jnp
    >>> f = counting_features(2)
    >>> state, out = f.update(f.init(1), jnp.array([9]))
    >>> out.tolist(), counting_features(2, copies=1).update(f.init(1), jnp.array([9]))[1].tolist()
    ([[1]], [[1, 9]])
    """
    import jax.numpy as jnp

    def init(batch: int) -> Any:
        return np.zeros((batch,), np.int32)

    def update(count: Any, token: Any) -> tuple[Any, Any]:
        count = jnp.minimum(jnp.asarray(count) + 1, size - 1)
        candidates = jnp.repeat(jnp.asarray(token, jnp.int32)[:, None], copies, axis=1)
        return count, jnp.concatenate([count[:, None], candidates], axis=1)

    return StepFeatures(init, update, (np.eye(size, dtype=np.float32),), copies)
