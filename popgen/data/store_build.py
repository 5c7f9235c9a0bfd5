"""Write a token store: read and encode a corpus in parts, in parallel, resumably.

:func:`build_store` splits the files into parts of ``part_size`` files. Each
part is read, selected, moved to the common key and turned into token names
in a worker process, which writes ``STORE/.build/part-NNNNN.npz`` atomically
(its songs' tokens under a vocabulary of the names it met). When every part
is written, the vocabulary is fitted on the union of the parts' names —
the ids :meth:`popgen.Tokenizer.fit` gives on the whole corpus — each part
becomes a shard of final ids, and ``store.json`` is written last. A build
that is killed leaves its finished parts; the same call again reads only the
parts still missing. ``store.json`` exists only for a finished store.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray
from tqdm.auto import tqdm

from popgen.corpus.corpus import Corpus
from popgen.corpus.options import CorpusOptions
from popgen.corpus.reading import expand_paths
from popgen.corpus.split import song_key
from popgen.data.store import FORMAT, FORMAT_VERSION, StoreError, TokenStore, token_dtype
from popgen.data.usage import usage_from_counts
from popgen.errors import CorpusError
from popgen.locks import RunLock
from popgen.music.song import Track
from popgen.tokenizers.base import BOS, EOS, UNK, Tokenizer, get_tokenizer
from popgen.versions import this_version
from popgen.workers import map_in_workers

__all__ = ["build_store"]

_BUILD = ".build"


@dataclass(frozen=True)
class _Part:
    """What one worker reads: part ``index`` of the plan."""

    index: int
    files: tuple[str, ...]
    options: CorpusOptions
    tokenizer: dict[str, Any]
    folder: str


def build_store(
    sources: Iterable[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    tokenizer: str | Tokenizer = "note",
    *,
    options: CorpusOptions | None = None,
    fit: bool = True,
    part_size: int = 256,
    workers: int | None = None,
    progress: bool = False,
) -> TokenStore:
    """Read, encode and write ``sources`` as a token store in ``out``; return it opened.

    Args:
        sources: MIDI or score files, folders and glob patterns, as for
            :meth:`popgen.Corpus.from_paths`.
        out: the store's folder (created). An unfinished build of the same
            sources and settings there is resumed.
        tokenizer: an encoding name or a tokenizer.
        options: how to read the songs (:class:`popgen.CorpusOptions`).
        fit: fit the vocabulary on the songs; ``False`` keeps the tokenizer's
            vocabulary (to train on for a run with that vocabulary), and names
            outside it become ``UNK`` with a warning.
        part_size: files per part (the unit of parallel work and of resuming).
        workers: processes; ``None`` uses every core, 1 works in this process.
        progress: show a progress bar over the files.

    Raises:
        StoreError: ``out`` holds a finished store, or an unfinished build of
            other sources or settings; or no file gave a song.

    >>> import tempfile
    >>> from popgen.music.song import Song, make_notes
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for i in range(3):
    ...         Song(make_notes([60 + i, 64], [0, 1], [1, 1])).write_midi(f"{tmp}/{i}.mid")
    ...     store = build_store([tmp], f"{tmp}/store", "note", workers=1)
    ...     print(len(store), store[0].tolist() == store.tokenizer.encode(
    ...         Corpus.from_paths([f"{tmp}/0.mid"], cache_dir=None)[0]).tolist())
    3 True
    """
    if part_size < 1:
        raise ValueError(f"part_size must be >= 1, got {part_size}")
    out, options = Path(out), options or CorpusOptions()
    # a copy: fitting sets its vocabulary, and the caller's tokenizer stays as given
    tok = Tokenizer.from_dict(
        (get_tokenizer(tokenizer) if isinstance(tokenizer, str) else tokenizer).to_dict()
    )
    if (out / "store.json").exists():
        raise StoreError(f"{out}: already a finished token store; remove it or choose another")
    with RunLock(out, take_over_stale=True):  # one build at a time; a killed one's is stale
        return _build(sources, out, tok, options, fit, part_size, workers, progress)


def _build(
    sources: Iterable[str | os.PathLike[str]],
    out: Path,
    tok: Tokenizer,
    options: CorpusOptions,
    fit: bool,
    part_size: int,
    workers: int | None,
    progress: bool,
) -> TokenStore:
    """:func:`build_store` once ``out`` is held."""
    files = [str(p) for p in expand_paths(sources)]
    build = out / _BUILD
    plan = {
        "files": files,
        "options": dataclasses.asdict(options.replace(reader="auto")),  # same songs either way
        "tokenizer": tok.to_dict(),
        "fit": fit,
        "part_size": part_size,
    }
    _check_plan(build, plan)
    parts = [
        _Part(i, tuple(files[s : s + part_size]), options, tok.to_dict(), str(build))
        for i, s in enumerate(range(0, len(files), part_size))
    ]
    todo = [p for p in parts if not _part_path(build, p.index).exists()]
    bar = tqdm(total=len(files), desc="tokenizing", unit="file", disable=not progress)
    bar.update(len(files) - sum(len(p.files) for p in todo))
    for part, messages in _run(todo, workers):
        for message in messages:  # raised in a worker process: raise them here
            warnings.warn(message, stacklevel=2)
        bar.update(len(part.files))
    bar.close()
    _finish(out, [_part_path(build, p.index) for p in parts], tok, options, fit)
    shutil.rmtree(build, ignore_errors=True)
    return TokenStore(out)


def _check_plan(build: Path, plan: dict[str, Any]) -> None:
    """Start a build's plan, or check that the unfinished one there is this build."""
    path = build / "plan.json"
    if path.exists():
        try:
            same = json.loads(path.read_text()) == json.loads(json.dumps(plan))
        except ValueError:
            same = False
        if not same:
            raise StoreError(
                f"{build.parent}: holds an unfinished build of other sources or settings; "
                "remove the folder or choose another"
            )
        return
    build.mkdir(parents=True, exist_ok=True)
    _write_atomic(path, lambda f: f.write(json.dumps(plan).encode()))


def _run(todo: list[_Part], workers: int | None) -> Iterator[tuple[_Part, list[str]]]:
    """Each part's warnings as it finishes, in this process or in worker processes."""
    yield from zip(
        todo, map_in_workers(_encode_part, todo, workers, what="tokenizing"), strict=True
    )


def _encode_part(part: _Part) -> list[str]:
    """Worker: read one part's files, encode its songs to names, write the part file."""
    tok = Tokenizer.from_dict(part.tokenizer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        songs, skipped = _read(part)
        names: dict[str, int] = {}
        ids: list[int] = []
        lengths = []
        meters: Counter[tuple[int, int]] = Counter()
        tracks: Counter[Track] = Counter()
        single = True
        from popgen.music.bars import meter_counts

        for song in songs:
            framed = [tok.token_name(BOS), *tok.song_to_names(song), tok.token_name(EOS)]
            ids.extend(names.setdefault(n, len(names)) for n in framed)
            lengths.append(len(framed))
            meters.update(meter_counts([song.bar_lines()]))
            single = single and len(song.tracks) == 1
            if len(song.tracks) == 1:
                tracks[song.tracks[0]] += 1
    meta = {
        "skipped": skipped,
        "meters": [[*m, n] for m, n in meters.items()],
        "tracks": [[dataclasses.asdict(t), n] for t, n in tracks.items()] if single else None,
    }
    _save_npz(
        _part_path(Path(part.folder), part.index),
        tokens=np.asarray(ids, dtype=np.int32),
        lengths=np.asarray(lengths, dtype=np.int64),
        names=np.asarray(list(names), dtype=str),
        keys=np.asarray([song_key(s) for s in songs], dtype=str),
        sources=np.asarray([s.source for s in songs], dtype=str),
        meta=np.asarray(json.dumps(meta)),
    )
    return [str(w.message) for w in caught]


def _read(part: _Part) -> tuple[list[Any], list[tuple[str, str]]]:
    """The part's songs as a :class:`Corpus` reads them, and what it skipped."""
    try:
        corpus = Corpus.from_paths(part.files, part.options, cache_dir=None, workers=1)
        return list(corpus), list(corpus.skipped)
    except CorpusError:  # no song in the whole part: find each file's reason
        skipped = []
        for path in part.files:
            try:
                Corpus.from_paths([path], part.options, cache_dir=None, workers=1)
            except CorpusError as exc:
                skipped.append((path, str(exc)))
        return [], skipped


def _finish(
    out: Path, parts: list[Path], tok: Tokenizer, options: CorpusOptions, fit: bool
) -> None:
    """Fit the vocabulary on every part's names, write the shards, the index, store.json."""
    if fit:  # the names alone first: one part's tokens in memory at a time
        tok.fit_names({str(n) for p in parts for n in _load_part(p, "names")["names"]})
    ids = {name: i for i, name in enumerate(tok.vocab)}
    dtype = token_dtype(tok.vocab_size)
    shards: list[dict[str, Any]] = []
    index: list[tuple[int, int, int]] = []
    keys: list[str] = []
    sources: list[str] = []
    skipped: list[tuple[str, str]] = []
    meters: Counter[tuple[int, int]] = Counter()
    tracks: Counter[Track] | None = Counter()
    unknown = 0
    for path in parts:
        part = _load_part(path)
        meta = json.loads(str(part["meta"]))
        skipped += [(str(a), str(b)) for a, b in meta["skipped"]]
        meters.update({(m[0], m[1]): m[2] for m in meta["meters"]})
        if meta["tracks"] is None or tracks is None:
            tracks = None
        else:
            tracks.update({Track(**t): n for t, n in meta["tracks"]})
        if not len(part["lengths"]):
            continue
        lut = np.array([ids.get(str(n), UNK) for n in part["names"]], dtype=np.int64)
        tokens = lut[part["tokens"]]
        unknown += int((tokens == UNK).sum())
        name = f"shard-{len(shards):05d}.npy"
        _save_npy(out / name, tokens.astype(dtype))
        offsets = np.cumsum(part["lengths"]) - part["lengths"]
        index += [
            (len(shards), int(o), int(n)) for o, n in zip(offsets, part["lengths"], strict=True)
        ]
        shards.append({"file": name, "tokens": len(tokens)})
        keys += [str(k) for k in part["keys"]]
        sources += [str(s) for s in part["sources"]]
    if not index:
        first = f"; first problem: {skipped[0][1]}" if skipped else ""
        raise StoreError(f"{out}: no readable songs in the sources{first}")
    if unknown:
        warnings.warn(
            f"{unknown} tokens are not in the vocabulary of tokenizer {tok.name!r} and became UNK",
            stacklevel=3,
        )
    table = np.array(index, dtype=np.int64)
    _save_npz(out / "index.npz", shard=table[:, 0], offset=table[:, 1], length=table[:, 2])
    songs = json.dumps({"keys": keys, "sources": sources}).encode()
    _write_atomic(out / "songs.json", lambda f: f.write(songs))
    usage = usage_from_counts(meters, tracks, options)
    meta = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "popgen_version": this_version(),
        "tokenizer": tok.to_dict(),
        "usage": usage.to_dict(),
        "shards": shards,
        "songs": len(keys),
        "tokens": int(table[:, 2].sum()),
        "skipped": skipped,
    }
    _write_atomic(out / "store.json", lambda f: f.write(json.dumps(meta, indent=1).encode()))


def _load_part(path: Path, *names: str) -> dict[str, NDArray[Any]]:
    """The arrays ``names`` (default: all) of a part file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in names or data.files}
    except (OSError, ValueError) as exc:  # written atomically, so only a stranger's file
        raise StoreError(f"{path}: damaged part ({exc}); delete it and run again") from None


def _part_path(build: Path, index: int) -> Path:
    return build / f"part-{index:05d}.npz"


def _save_npz(path: Path, **arrays: NDArray[Any]) -> None:
    _write_atomic(path, lambda f: np.savez(f, allow_pickle=False, **arrays))


def _save_npy(path: Path, array: NDArray[Any]) -> None:
    _write_atomic(path, lambda f: np.save(f, array, allow_pickle=False))


def _write_atomic(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through a temporary file renamed over it; no ``.tmp`` left on failure."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
