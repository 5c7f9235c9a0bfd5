"""A token store: a corpus encoded once, on disk, read window by window.

A store is a folder that :func:`popgen.data.store_build.build_store` (``popgen
tokenize``) writes and :func:`open_store` reads::

    STORE/store.json     format and version, the tokenizer (config and
                         vocabulary), how the songs were read, the shards,
                         the skipped files, the training usage
    STORE/index.npz      per song: its shard, first token and token count
    STORE/songs.json     per song: its key (file name) and source
    STORE/shard-NNNNN.npy  token ids of many songs back to back, in the
                         smallest unsigned integer type that holds the vocabulary

Nothing in a store is pickled: the arrays are plain ``.npy`` (the index read
with ``allow_pickle=False``, the shards' headers checked to hold plain
numbers) and the rest is JSON, so a store from a stranger is as safe to open
as a MIDI file. Opening a store of 100 000 songs reads its index, not its
tokens; :meth:`TokenStore.windows` gives training windows as a lazy
:class:`StoreWindows` that :func:`popgen.data.windows.batches` draws rows from, each
row one positioned read of its shard (:class:`Shard`), so training from a
store holds one batch of tokens in memory, whatever the corpus size. A shard
is an ordinary ``.npy`` file: ``np.load(path, mmap_mode="r")`` maps it.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.data.usage import RunUsage
from popgen.data.windows import window_spans
from popgen.errors import PopgenError, VocabularyError
from popgen.tokenizers.base import PAD, Tokenizer

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Shard",
    "StoreError",
    "StoreWindows",
    "TokenStore",
    "is_store",
    "open_store",
    "token_dtype",
]

#: ``store.json``'s ``format`` field.
FORMAT = "popgen.token-store"
#: The store layout this popgen writes and reads.
FORMAT_VERSION = 1


class StoreError(PopgenError, ValueError):
    """A token store that is missing, unfinished, damaged or of another version.

    >>> str(StoreError("runs/store: no store.json"))
    'runs/store: no store.json'
    """


def token_dtype(vocab_size: int) -> np.dtype[Any]:
    """The smallest unsigned integer type that holds every id of a vocabulary.

    >>> [token_dtype(n).name for n in (200, 256, 257, 70_000)]
    ['uint8', 'uint8', 'uint16', 'uint32']
    """
    for dtype in (np.uint8, np.uint16, np.uint32):
        if vocab_size - 1 <= np.iinfo(dtype).max:
            return np.dtype(dtype)
    raise ValueError(f"vocabulary of {vocab_size} tokens does not fit 32 bits")


def is_store(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder holding a finished token store.

    >>> is_store("no/such/folder")
    False
    """
    return Path(path, "store.json").is_file()


@dataclass(frozen=True, eq=False)
class StoreWindows:
    """Training windows of a store's songs, read from its shards row by row.

    It has the same rows in the same order as :func:`popgen.data.windows.make_windows`
    over the same songs' tokens, so a batch drawn from it by index is the batch
    drawn from the in-memory windows. Only the rows asked for are read.

    Attributes:
        store: the store the tokens come from.
        shard: ``int64[windows]``, each window's shard.
        start: ``int64[windows]``, its first token within that shard.
        length: ``int64[windows]``, its real tokens (the rest of the row is ``PAD``).
        width: ``seq_len + 1``.

    >>> import tempfile
    >>> from popgen.music.song import Song, make_notes
    >>> from popgen.data.store_build import build_store
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     Song(make_notes(range(60, 72), range(12), [1] * 12)).write_midi(f"{tmp}/a.mid")
    ...     store = build_store([f"{tmp}/a.mid"], f"{tmp}/store", "chord", workers=1)
    ...     windows = store.windows([0], seq_len=8)
    ...     rows = windows[np.array([1, 0])]
    >>> windows.shape, rows[1, :3].tolist()  # BOS, then the first two notes
    ((2, 9), [1, 64, 65])
    """

    store: TokenStore
    shard: NDArray[np.int64]
    start: NDArray[np.int64]
    length: NDArray[np.int64]
    width: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(windows, seq_len + 1)``; see the class for an example.

        ```python
        store.windows(range(len(store)), seq_len=256).shape  # (windows, 257)
        ```
        """
        return len(self.shard), self.width

    def __len__(self) -> int:
        return len(self.shard)

    def __getitem__(self, rows: Any) -> NDArray[np.int32]:
        """``int32[len(rows), seq_len + 1]``: the windows at ``rows``, an integer index array."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        out = np.full((len(rows), self.width), PAD, dtype=np.int32)
        shard = self.shard[rows]
        for which in np.unique(shard).tolist():  # one open file per shard and batch
            mine = np.flatnonzero(shard == which)
            spans = zip(
                self.start[rows[mine]].tolist(), self.length[rows[mine]].tolist(), strict=True
            )
            for row, tokens in zip(
                mine.tolist(), self.store.shards[which].read(spans), strict=True
            ):
                out[row, : len(tokens)] = tokens
        return self.store.checked(out)


class TokenStore(Sequence[NDArray[np.int32]]):
    """A finished token store, opened for reading (see :func:`open_store`).

    A sequence of songs' token arrays: ``store[i]`` is ``int32[n]``, song
    ``i``'s ids with BOS and EOS, exactly ``store.tokenizer.encode(song)``.

    Attributes:
        path: the store's folder.
        tokenizer: the fitted tokenizer the songs were encoded with.
        usage: how the songs were read, their meter and sampling recipe (a
            run trained from the store records it).
        keys: each song's key (:func:`popgen.corpus.split.song_key`).
        sources: each song's source file.
        lengths: ``int64[songs]``, each song's token count.
        skipped: ``(source, reason)`` for each file or song left out.
        shards: the shards (:class:`Shard`), checked against ``store.json``.

    ```python
    store = popgen.open_store("lmd-store")
    store[0][:4], store.tokenizer.token_name(int(store[0][1]))  # BOS, then the first token
    ```
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        meta = _read_json(self.path / "store.json", "store.json")
        if meta.get("format") != FORMAT:
            raise StoreError(f"{self.path}: not a popgen token store (store.json format)")
        if meta.get("version") != FORMAT_VERSION:
            raise StoreError(
                f"{self.path}: token store version {meta.get('version')!r}; this popgen "
                f"reads version {FORMAT_VERSION}: build the store again with popgen tokenize"
            )
        try:
            self.tokenizer: Tokenizer = Tokenizer.from_dict(
                meta["tokenizer"], source=str(self.path / "store.json")
            )
        except (KeyError, VocabularyError) as exc:
            raise StoreError(f"{self.path}: its tokenizer cannot be rebuilt ({exc})") from None
        try:
            self.usage = RunUsage.from_dict(meta.get("usage"))
            self.skipped: tuple[tuple[str, str], ...] = tuple(
                (str(a), str(b)) for a, b in meta.get("skipped", [])
            )
            entries = list(meta.get("shards", []))
        except (TypeError, ValueError, AttributeError) as exc:
            raise StoreError(f"{self.path / 'store.json'}: damaged ({exc})") from None
        self.shards = [self._open_shard(s) for s in entries]
        index = self._index()
        self._shard, self._offset, self.lengths = index
        songs = _read_json(self.path / "songs.json", "songs.json")
        self.keys: tuple[str, ...] = tuple(songs.get("keys", []))
        self.sources: tuple[str, ...] = tuple(songs.get("sources", []))
        if not len(self.keys) == len(self.sources) == len(self.lengths):
            raise StoreError(f"{self.path}: songs.json and index.npz disagree on the songs")

    def _open_shard(self, entry: Any) -> Shard:
        name = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not re.fullmatch(r"shard-\d{5}\.npy", name):
            raise StoreError(  # a plain name inside the store, never a path out of it
                f"{self.path / 'store.json'}: shard entry {entry!r} is not a shard of this store"
            )
        path = self.path / name
        try:
            shard = Shard.open(path)
        except FileNotFoundError:
            raise StoreError(f"{path}: shard missing; build the store again") from None
        except (OSError, ValueError) as exc:  # a truncated file cannot be mapped
            raise StoreError(f"{path}: damaged shard ({exc}); build the store again") from None
        expected = token_dtype(self.tokenizer.vocab_size)
        if shard.dtype != expected or len(shard) != entry.get("tokens"):
            raise StoreError(
                f"{path}: expected {entry.get('tokens')} tokens of {expected}, found "
                f"{len(shard)} of {shard.dtype}; build the store again"
            )
        return shard

    def _index(self) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
        path = self.path / "index.npz"
        try:
            with np.load(path, allow_pickle=False) as data:
                shard, offset, length = (
                    data[k].astype(np.int64) for k in ("shard", "offset", "length")
                )
        except FileNotFoundError:
            raise StoreError(f"{path}: index missing; build the store again") from None
        except (OSError, ValueError, KeyError) as exc:
            raise StoreError(f"{path}: damaged index ({exc}); build the store again") from None
        if not shard.ndim == offset.ndim == length.ndim == 1 or not (
            len(shard) == len(offset) == len(length)
        ):
            raise StoreError(f"{path}: damaged index (arrays of different shapes)")
        sizes = np.array([len(s) for s in self.shards] + [0], dtype=np.int64)
        bad = (shard < 0) | (shard >= len(self.shards)) | (offset < 0) | (length < 0)
        if bad.any() or (offset + length > sizes[np.clip(shard, 0, len(self.shards))]).any():
            raise StoreError(f"{path}: the index points outside the shards; build it again")
        return shard, offset, length

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, index: Any) -> Any:
        """Song ``index``'s token ids, ``int32[n]`` (with BOS and EOS)."""
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        i = range(len(self))[index]
        shard = self.shards[int(self._shard[i])]
        (tokens,) = shard.read([(int(self._offset[i]), int(self.lengths[i]))])
        return self.checked(tokens.astype(np.int32))

    def checked(self, ids: NDArray[np.int32]) -> NDArray[np.int32]:
        """``ids`` read from this store, once checked to lie inside its vocabulary.

        A shard of a type wider than the vocabulary (``uint8`` holds 256 ids)
        could hold ids the model has no row for; training would then see NaN
        losses rather than a damaged store.

        Raises:
            StoreError: an id outside the vocabulary, naming the store.

        ```python
        ids = store.checked(np.array([1, 70, 2], dtype=np.int32))  # unchanged, or an error
        ```
        """
        if len(ids) and (ids.max() >= self.tokenizer.vocab_size or ids.min() < 0):
            raise StoreError(
                f"{self.path}: token id {int(ids.max())} outside the vocabulary of "
                f"{self.tokenizer.vocab_size} tokens; build the store again"
            )
        return ids

    @property
    def num_tokens(self) -> int:
        """Tokens over every song (BOS and EOS included).

        ```python
        store.num_tokens == sum(len(store[i]) for i in range(len(store)))  # True
        ```
        """
        return int(self.lengths.sum())

    def windows(
        self,
        songs: Sequence[int] | NDArray[np.integer[Any]],
        seq_len: int,
        stride: int | None = None,
    ) -> StoreWindows:
        """The training windows of ``songs`` (indices, in that order), as :func:`make_windows` cuts.

        ```python
        windows = store.windows([0, 5, 9], seq_len=256)  # songs 0, 5 and 9
        batch = windows[np.array([3, 0])]  # int32[2, 257], read from the shards
        ```
        """
        songs = np.asarray(songs, dtype=np.int64)
        which, start, length = window_spans(self.lengths[songs], seq_len, stride)
        chosen = songs[which]
        return StoreWindows(
            self, self._shard[chosen], self._offset[chosen] + start, length, seq_len + 1
        )

    def describe(self) -> str:
        """One line: songs, tokens, shards, encoding and vocabulary, skipped files.

        >>> print(TokenStore.__name__)  # see popgen tokenize's output for a real line
        TokenStore
        """
        return (
            f"{len(self)} songs, {self.num_tokens:,} tokens in {len(self.shards)} shards "
            f"({token_dtype(self.tokenizer.vocab_size).name}), encoding "
            f"{self.tokenizer.name!r} with {self.tokenizer.vocab_size} tokens, "
            f"{len(self.skipped)} skipped"
        )

    def __repr__(self) -> str:
        return f"TokenStore({str(self.path)!r}: {self.describe()})"


def open_store(path: str | os.PathLike[str]) -> TokenStore:
    """Open a finished token store, checking every shard against its index.

    Raises:
        StoreError: no store there (or an unfinished build: run the same
            ``popgen tokenize`` again to finish it), another store version, a
            shard missing or truncated, an index that points outside the shards.

    >>> open_store("no/such/store")
    Traceback (most recent call last):
    popgen.data.store.StoreError: no/such/store: not a token store (no store.json)...
    """
    path = Path(path)
    if not is_store(path):
        unfinished = (
            " (an unfinished build: run the same popgen tokenize again)"
            * Path(path, ".build").is_dir()
        )
        raise StoreError(
            f"{path}: not a token store (no store.json){unfinished}; build one with "
            "popgen tokenize SOURCES --out STORE"
        )
    return TokenStore(path)


@dataclass(frozen=True)
class Shard:
    """One shard file: a one-dimensional ``.npy`` array of token ids, read row by row.

    Rows are read with positioned reads rather than through a memory map, so
    what training reads is the operating system's page cache, not the
    process's memory: the memory of training does not grow with the corpus.
    (``np.load(path, mmap_mode="r")`` maps a shard, to look at it.)

    Attributes:
        path: the file.
        offset: where the values start, after the ``.npy`` header.
        dtype: the ids' type.
        size: the number of ids.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     np.save(f"{tmp}/s.npy", np.arange(10, dtype=np.uint8))
    ...     shard = Shard.open(Path(tmp, "s.npy"))
    ...     [a.tolist() for a in shard.read([(2, 3), (8, 2)])]
    [[2, 3, 4], [8, 9]]
    """

    path: Path
    offset: int
    dtype: np.dtype[Any]
    size: int

    @classmethod
    def open(cls, path: Path) -> Shard:
        """Read and check a shard's header (see the class for an example).

        ```python
        Shard.open(Path("store/shard-00000.npy")).size  # its number of ids
        ```

        Raises:
            FileNotFoundError: no such file.
            ValueError: not a one-dimensional ``.npy`` array of plain numbers,
                or shorter than its header says.
        """
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = (
                np.lib.format.read_array_header_1_0
                if version == (1, 0)
                else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(f)
            offset = f.tell()
            size = os.fstat(f.fileno()).st_size
        if dtype.hasobject or len(shape) != 1:
            raise ValueError(f"expected a one-dimensional array of numbers, found {shape} {dtype}")
        if offset + shape[0] * dtype.itemsize > size:
            raise ValueError(f"{shape[0]} values of {dtype} need more bytes than the file has")
        return cls(path, offset, dtype, int(shape[0]))

    def __len__(self) -> int:
        return self.size

    def read(self, spans: Iterable[tuple[int, int]]) -> list[NDArray[Any]]:
        """The ids at each ``(start, count)``, in one opening of the file.

        ```python
        first, second = shard.read([(0, 5), (100, 3)])  # five ids, then three
        ```
        """
        size = self.dtype.itemsize
        out = []
        with open(self.path, "rb", buffering=0) as f:
            for start, count in spans:
                data = os.pread(f.fileno(), count * size, self.offset + start * size)
                if len(data) != count * size:
                    raise StoreError(f"{self.path}: shorter than its index says; build it again")
                out.append(np.frombuffer(data, dtype=self.dtype))
        return out


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise StoreError(f"{path}: {what} missing; build the store again") from None
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: damaged {what} ({exc}); build the store again") from None
    if not isinstance(data, dict):
        raise StoreError(f"{path}: damaged {what} (not a JSON object)")
    return data
