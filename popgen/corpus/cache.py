"""A safe on-disk cache of parsed songs: one file per source file, no pickle.

Entries are keyed on the file's bytes plus the reader and its settings, so a
changed file or setting is a miss, and two copies of one file share an entry.
Each entry (``<key>.songs``) is one file: a magic line, a JSON header (the
songs' metadata and the length of each array), the raw bytes of the
songs' note, chord and bar arrays, whose dtypes are popgen's own
(:data:`~popgen.music.song.NOTE_DTYPE`, ...), never read from the file, and
a keyed BLAKE2b digest of all that. It is read with one ``read`` and
``numpy.frombuffer``. The digest's key is this user's secret
(:func:`entry_key`, kept outside the cache folder), so an entry whose digest
matches was written by popgen on this account from songs it had checked:
they are rebuilt as they are, not checked again. Any other entry (a
stranger's, a damaged or an edited one) is checked as any song is, and
anything unexpected (truncation, a foreign file, another format version or
byte order) is a miss. An entry holds no code (no pickle). Writes are
atomic (temporary file, then rename).

The same encoding carries songs from reader processes to the main process.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import json
import os
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from popgen.corpus.files import file_bytes
from popgen.music.chords import CHORD_DTYPE
from popgen.music.sections import Section
from popgen.music.song import NOTE_DTYPE, Song, Track
from popgen.music.time import TempoChange, TimeSignature

__all__ = [
    "CACHE_FORMAT_VERSION",
    "SongCache",
    "compile_cache_dir",
    "decode_songs",
    "default_cache_dir",
    "encode_songs",
    "pack_songs",
    "unpack_songs",
]

#: Bumped whenever the entry layout or a reader's output changes.
CACHE_FORMAT_VERSION = 7  # 4: one file an entry; 5: songs carry sections; 7: a keyed digest
#: Bytes of the keyed digest that ends an entry.
_DIGEST_BYTES = 16
#: Bytes of the secret key of the digests.
_KEY_BYTES = 32
#: The first bytes of every cache entry.
_MAGIC = b"popgen songs\n"
#: The dtype of each kind of array in an entry (the part of its name before ``_``).
_DTYPES = {"notes": NOTE_DTYPE, "chords": CHORD_DTYPE, "bars": np.dtype(np.float64)}
#: The fields of a song.
_SONG_FIELDS = {f.name for f in dataclasses.fields(Song)}


def default_cache_dir() -> Path:
    """``$POPGEN_CACHE_DIR``, else the user cache folder (``~/.cache/popgen/songs`` on Linux).

    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"POPGEN_CACHE_DIR": "/data/popgen-cache"}):
    ...     default_cache_dir().as_posix()
    '/data/popgen-cache'
    """
    env = os.environ.get("POPGEN_CACHE_DIR")
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("popgen")) / "songs"


def compile_cache_dir() -> Path | None:
    """Where the ``popgen`` command keeps JAX's compiled programs; ``None`` when turned off.

    ``$POPGEN_COMPILE_CACHE`` names the folder, or turns the cache off with
    ``off``; else it is the user cache folder's ``jax`` (``~/.cache/popgen/jax``
    on Linux). A second ``popgen generate`` with the same model and settings
    then skips most of the compilation (docs/benchmarks.md).

    >>> from unittest import mock
    >>> with mock.patch.dict(os.environ, {"POPGEN_COMPILE_CACHE": "off"}):
    ...     compile_cache_dir() is None
    True
    """
    env = os.environ.get("POPGEN_COMPILE_CACHE", "")
    if env.lower() in ("off", "0", "no", "false"):
        return None
    if env:
        return Path(env)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("popgen")) / "jax"


def encode_songs(songs: Sequence[Song]) -> dict[str, NDArray[Any]]:
    """Songs as named arrays: ``notes_<i>``, ``chords_<i>``, ``bars_<i>`` and ``meta`` (JSON).

    >>> from popgen.music.song import make_notes
    >>> arrays = encode_songs([Song(make_notes([60], [0.0], [1.0]), title="a")])
    >>> [s.title for s in decode_songs(arrays)]
    ['a']
    """
    arrays: dict[str, NDArray[Any]] = {"meta": np.array(json.dumps(_meta(songs)))}
    arrays.update(_arrays(songs))
    return arrays


def _meta(songs: Sequence[Song]) -> dict[str, Any]:
    """What an entry's JSON holds: the format, its version and each song's fields but arrays."""
    return {
        "format": "popgen.songs",
        "version": CACHE_FORMAT_VERSION,
        "songs": [
            {
                "tracks": [[t.name, t.program, t.is_drum, t.role] for t in s.tracks],
                "tempos": [list(t) for t in s.tempos],
                "time_signatures": [list(t) for t in s.time_signatures],
                "key": s.key,
                "title": s.title,
                "source": s.source,
                "merged_notes": s.merged_notes,
                "shortened_silences": s.shortened_silences,
                "cut_notes": s.cut_notes,
                "sections": [[x.label, x.first_bar, x.num_bars] for x in s.sections],
            }
            for s in songs
        ],
    }


def _arrays(songs: Sequence[Song]) -> dict[str, NDArray[Any]]:
    """Each song's arrays by name: ``notes_<i>``, ``chords_<i>``, ``bars_<i>``."""
    arrays: dict[str, NDArray[Any]] = {}
    for i, song in enumerate(songs):
        arrays[f"notes_{i}"] = np.ascontiguousarray(song.notes)
        arrays[f"chords_{i}"] = np.ascontiguousarray(song.chords)
        arrays[f"bars_{i}"] = np.ascontiguousarray(song.bars)
    return arrays


def decode_songs(arrays: Mapping[str, NDArray[Any]]) -> list[Song]:
    """Inverse of :func:`encode_songs`; raises ``ValueError`` on anything unexpected.

    >>> from popgen.music.song import make_notes
    >>> song = Song(make_notes([60, 64], [0, 1], [1, 1]), key="E minor", title="a")
    >>> [(s.title, s.key, s.notes["pitch"].tolist()) for s in decode_songs(encode_songs([song]))]
    [('a', 'E minor', [60, 64])]
    """
    return _decode(json.loads(str(arrays["meta"][()])), arrays)


def _decode(meta: Any, arrays: Mapping[str, NDArray[Any]], *, checked: bool = True) -> list[Song]:
    """The songs of an entry's ``meta`` and ``arrays``.

    ``checked=False`` for an entry whose keyed digest matched: its songs were
    checked when they were written, so they are rebuilt as they are, not
    checked again.
    """
    if not isinstance(meta, dict):
        raise ValueError("not a popgen song entry")
    if meta.get("format") != "popgen.songs" or meta.get("version") != CACHE_FORMAT_VERSION:
        raise ValueError("not a popgen song entry of this version")
    songs = []
    for i, m in enumerate(meta["songs"]):
        notes = arrays[f"notes_{i}"]  # Song copies the arrays it keeps
        chords, bars = arrays[f"chords_{i}"], arrays[f"bars_{i}"]
        for name, array, dtype in (
            (f"notes_{i}", notes, NOTE_DTYPE),
            (f"chords_{i}", chords, CHORD_DTYPE),
            (f"bars_{i}", bars, np.dtype(np.float64)),
        ):
            if array.dtype != dtype or array.ndim != 1:
                raise ValueError(f"{name} has dtype {array.dtype}, expected {dtype}")
        fields = {
            "notes": notes,
            "tracks": tuple(Track(str(n), int(p), bool(d), str(r)) for n, p, d, r in m["tracks"]),
            "tempos": tuple(TempoChange(float(b), float(bpm)) for b, bpm in m["tempos"]),
            "time_signatures": tuple(
                TimeSignature(float(b), int(n), int(d)) for b, n, d in m["time_signatures"]
            ),
            "key": m["key"],
            "title": str(m["title"]),
            "source": str(m["source"]),
            "chords": chords,
            "bars": bars,
            "merged_notes": int(m["merged_notes"]),
            "shortened_silences": int(m["shortened_silences"]),
            "cut_notes": int(m["cut_notes"]),
            "sections": tuple(Section(str(a), int(b), int(c)) for a, b, c in m["sections"]),
        }
        songs.append(Song(**fields) if checked else _as_written(fields))
    return songs


def _as_written(fields: dict[str, Any]) -> Song:
    """The song of a checked :class:`Song`'s fields, as they are: not checked again."""
    if fields.keys() != _SONG_FIELDS:
        raise ValueError("an entry of other song fields")
    song = object.__new__(Song)
    song.__dict__.update(fields)
    # notes and chords stay views of the entry's bytes (read-only; their dtypes are
    # packed, so any offset is aligned); the bars get an aligned array of their own
    for name in ("notes", "chords", "bars"):
        array = fields[name]
        if name == "bars" or array.flags.writeable:  # (a bytearray's: copied)
            array = array.copy()
            array.flags.writeable = False
            song.__dict__[name] = array
    return song


def pack_songs(songs: Sequence[Song]) -> bytes:
    """Songs as the bytes of one cache entry (see the module docstring).

    >>> from popgen.music.song import make_notes
    >>> data = pack_songs([Song(make_notes([60], [0.0], [1.0]), title="a")])
    >>> data.startswith(b"popgen songs"), [s.title for s in unpack_songs(data)]
    (True, ['a'])
    """
    arrays = _arrays(songs)
    header = {
        "meta": _meta(songs),
        "byteorder": sys.byteorder,
        "arrays": [[name, array.nbytes] for name, array in arrays.items()],
    }
    head = json.dumps(header).encode()
    body = [a.tobytes() for a in arrays.values()]
    data = b"".join([_MAGIC, len(head).to_bytes(8, "little"), head, *body])
    return data + _digest(data)


def unpack_songs(data: bytes) -> list[Song]:
    """Inverse of :func:`pack_songs`; raises ``ValueError`` on anything unexpected.

    >>> unpack_songs(b"not an entry")
    Traceback (most recent call last):
    ValueError: not a popgen song entry
    """
    if not data.startswith(_MAGIC):
        raise ValueError("not a popgen song entry")
    end = len(data) - _DIGEST_BYTES  # the keyed digest of the bytes before it
    # an entry this account's popgen wrote (not cut, edited or forged) holds songs checked then
    intact = hmac.compare_digest(_digest(memoryview(data)[:end]), bytes(data[end:]))
    at = len(_MAGIC) + 8
    size = int.from_bytes(data[len(_MAGIC) : at], "little")
    header = json.loads(data[at : at + size])
    at += size
    if not isinstance(header, dict) or header.get("byteorder") != sys.byteorder:
        raise ValueError("a song entry of another byte order")
    arrays: dict[str, NDArray[Any]] = {}
    for name, nbytes in header["arrays"]:
        dtype = _DTYPES[str(name).partition("_")[0]]
        if not isinstance(nbytes, int) or nbytes < 0 or nbytes % dtype.itemsize:
            raise ValueError(f"{name}: {nbytes} bytes is no whole number of rows")
        if at + nbytes > end:
            raise ValueError("a truncated song entry")
        arrays[str(name)] = np.frombuffer(data, dtype, nbytes // dtype.itemsize, at)
        at += nbytes
    if at != end:
        raise ValueError("a song entry with bytes after its arrays")
    return _decode(header["meta"], arrays, checked=not intact)


def _digest(data: bytes | memoryview) -> bytes:
    """The keyed BLAKE2b digest that ends an entry (key: :func:`entry_key`)."""
    return hashlib.blake2b(data, key=entry_key(), digest_size=_DIGEST_BYTES).digest()


@functools.cache
def entry_key() -> bytes:
    """The secret key of this account's song-entry digests (32 random bytes).

    Read from ``$POPGEN_KEY_FILE``, else ``popgen/entry-key`` in the user's
    config folder (``~/.config`` on Linux), outside the cache folder so that
    a cache copied from someone else carries no key this account trusts;
    made there once (readable by its owner only). Where it can be neither
    read nor made, a key for this process alone: every entry written before
    is then checked again, never trusted.

    >>> len(entry_key())
    32
    """
    env = os.environ.get("POPGEN_KEY_FILE")
    if env:
        path = Path(env)
    else:
        from platformdirs import user_config_dir

        path = Path(user_config_dir("popgen")) / "entry-key"
    try:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{path.name}.{os.getpid()}")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, os.urandom(_KEY_BYTES))
            finally:
                os.close(fd)
            try:
                os.link(temporary, path)  # fails where another process made it first
            except FileExistsError:
                pass
            finally:
                temporary.unlink()
        key = path.read_bytes()
    except OSError:
        key = b""
    return key if len(key) == _KEY_BYTES else os.urandom(_KEY_BYTES)


class SongCache:
    """Parsed songs on disk under ``root``, keyed on file content and reader settings.

    Args:
        root: the cache folder (created on first write).

    >>> import tempfile
    >>> from popgen.music.song import make_notes
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     cache = SongCache(tmp)
    ...     key = cache.key(b"the file's bytes", {"reader": "midi"})
    ...     cache.put(key, [Song(make_notes([60], [0], [1]), title="a")])
    ...     [s.title for s in cache.get(key)]
    ['a']
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._warned = False

    def key(self, data: bytes, settings: Mapping[str, Any]) -> str:
        """The entry name for a file's bytes read with ``settings``.

        Any change to the bytes or the settings gives another name:

        >>> cache = SongCache("unused")
        >>> cache.key(b"MThd", {"keys": "auto"}) == cache.key(b"MThd", {"keys": "file"})
        False
        """
        h = hashlib.sha256()
        h.update(json.dumps([CACHE_FORMAT_VERSION, dict(settings)], sort_keys=True).encode())
        h.update(data)
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.songs"

    def get(self, key: str) -> list[Song] | None:
        """The songs stored under ``key``, or ``None`` when missing or damaged.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     print(SongCache(tmp).get("0" * 64))
        None
        """
        path = self._path(key)
        try:
            return unpack_songs(file_bytes(path))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError, IndexError, RecursionError):
            return None  # damaged or foreign: re-read from the source

    def put(self, key: str, songs: Sequence[Song]) -> None:
        """Store songs under ``key`` atomically; a cache that cannot be written is skipped.

        >>> import tempfile
        >>> from popgen.music.song import make_notes
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     SongCache(tmp).put("ab12", [Song(make_notes([60], [0], [1]))])
        ...     sorted(p.relative_to(tmp).as_posix() for p in Path(tmp).rglob("*.songs"))
        ['ab/ab12.songs']
        """
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
            tmp.write_bytes(pack_songs(songs))
            os.replace(tmp, path)
        except OSError as exc:  # a read-only or full cache folder must not stop reading
            if not self._warned:
                warnings.warn(f"cannot write the song cache in {self.root}: {exc}", stacklevel=2)
                self._warned = True
