"""Reading many music files: path expansion, worker processes, the song cache.

:func:`read_files` returns, for each file in order, its songs or the reason it
could not be read. Cache hits are served in the calling process (fast: no
parsing, no process start); misses are parsed in worker processes over all
cores, in a deterministic order, and written back to the cache.
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import hashlib
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from popgen.corpus.cache import SongCache, pack_songs, unpack_songs
from popgen.corpus.files import file_bytes, regular_file_bytes
from popgen.corpus.options import CorpusOptions
from popgen.errors import CorpusError, MidiError
from popgen.music.keys import parse_key
from popgen.music.limits import Limits, bound_song, check_file_size
from popgen.music.song import Song
from popgen.workers import map_in_workers, start_method

__all__ = [
    "MIDI_SUFFIXES",
    "SCORE_SUFFIXES",
    "expand_paths",
    "read_file",
    "read_files",
]

#: File name endings read with mido.
MIDI_SUFFIXES = frozenset({".mid", ".midi", ".smf", ".kar"})
#: File name endings read with music21.
SCORE_SUFFIXES = frozenset({".xml", ".musicxml", ".mxl", ".abc", ".krn", ".mei", ".mscx"})
#: Below this many files to parse, worker processes cost more than they save.
_MIN_PARALLEL = 16
#: The options that change what a file reads as, and so are part of its cache key;
#: the others are applied by :class:`popgen.corpus.corpus.Corpus` after reading.
_READ_FIELDS = ("accents", "keys", "annotations", "chords", "roles", "limits", "sections")
_DEFAULTS = CorpusOptions()


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files for each source: a file, a folder (searched recursively) or a glob pattern.

    Folders and patterns yield only MIDI and score files; a file named
    explicitly is kept whatever its suffix (reading it reports the problem).

    Raises:
        CorpusError: a path that does not exist, or a folder or pattern with
            no MIDI or score files.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for name in ("b.mid", "a.mid", "notes.txt"):
    ...         _ = Path(tmp, name).write_bytes(b"")
    ...     [p.name for p in expand_paths([tmp])], [p.name for p in expand_paths([f"{tmp}/b*"])]
    (['a.mid', 'b.mid'], ['b.mid'])
    """
    files: list[Path] = []
    suffixes = MIDI_SUFFIXES | SCORE_SUFFIXES
    for raw in paths:
        text = os.fspath(raw)
        if any(c in text for c in "*?[") and not Path(text).exists():
            found = sorted(Path(p) for p in glob.glob(text, recursive=True))
            found = [p for p in found if p.is_file() and p.suffix.lower() in suffixes]
            if not found:
                raise CorpusError(f"{text}: the pattern matches no MIDI or score files")
            files += found
            continue
        path = Path(text)
        if path.is_dir():
            found = sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
            )
            if not found:
                raise CorpusError(f"{path}: the folder holds no MIDI or score files")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise CorpusError(f"{path}: no such file or folder")
    return list(dict.fromkeys(files))


def read_file(path: Path, options: CorpusOptions = _DEFAULTS) -> list[Song]:
    """Read one file with the reader its suffix names.

    Each song gets the bars and chords of annotation files beside a MIDI file
    (``annotations``, see :mod:`popgen.formats.annotations`), is bounded by ``limits``
    (:func:`popgen.music.limits.bound_song`: long silences shortened, too long songs
    cut, with a warning naming the file), then gets its key (``keys``), track
    roles (``roles``), chords by the ``chords`` rule (the chord markers of
    a MIDI file count as given chords; annotations win over them) and
    sections by the ``sections`` rule (POP909's phrase labels win over a MIDI
    file's section markers).

    Args:
        path: a MIDI or score file.
        options: only ``accents``, ``keys``, ``annotations``, ``chords``,
            ``roles``, ``limits``, ``reader`` and ``sections`` apply here (see
            :class:`~popgen.corpus.options.CorpusOptions`); the corpus applies
            the others after reading.

    Raises:
        ImportError: ``reader="symusic"`` without symusic installed.
        MidiError: a MIDI file that cannot be read.
        CorpusError: a score music21 cannot read, an unknown kind of file, or
            a file bigger than ``limits.max_file_bytes``.

    >>> import tempfile
    >>> from popgen.music.song import make_notes
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     Song(make_notes([60, 62, 64, 65, 67], range(5), [1] * 5)).write_midi(f"{tmp}/c.mid")
    ...     [(s.title, s.num_notes, s.key) for s in read_file(Path(tmp, "c.mid"))]
    [('c', 5, 'C major')]

    A G major tune in a file marked C major, read with two key rules:

    >>> g_major = Song(make_notes([67, 71, 74, 78, 79], range(5), [1] * 5), key="C")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     g_major.write_midi(f"{tmp}/g.mid")
    ...     [read_file(Path(tmp, "g.mid"), CorpusOptions(keys=k))[0].key for k in ("auto", "file")]
    ['G major', 'C major']
    """
    suffix = path.suffix.lower()
    beats_beside = False  # a POP909 folder: a beat file beside the MIDI file
    if suffix in MIDI_SUFFIXES | SCORE_SUFFIXES and path.is_file():
        check_file_size(path, options.limits)
    if suffix in MIDI_SUFFIXES:
        songs = [_midi_reader(options.reader)(path)]
        if options.annotations:
            from popgen.formats.annotations import annotation_files, apply_annotations

            beat_file, chord_file = annotation_files(path)
            beats_beside = beat_file is not None
            if options.chords in ("infer", "none"):
                chord_file = None
            if beat_file or chord_file:
                songs = [apply_annotations(songs[0], beat_file, chord_file)]
    elif suffix in SCORE_SUFFIXES:
        from popgen.formats.score_reading import read_score

        songs = read_score(path, accents=options.accents, limits=options.limits)
    else:
        known = ", ".join(sorted(MIDI_SUFFIXES | SCORE_SUFFIXES))
        kind = suffix or "(no suffix)"
        raise CorpusError(f"{path}: unknown kind of file {kind!r}; known: {known}")
    from popgen.music.roles import with_roles

    roles = dict(options.roles) if options.roles else None
    songs = [bound_song(s, options.limits) for s in songs]
    songs = [_with_chords(with_roles(_with_key(s, options.keys), roles), options) for s in songs]
    return [_with_sections(s, path, options, beats_beside) for s in songs]


def _midi_reader(name: str) -> Callable[[Path], Song]:
    """The MIDI reader ``name`` (:data:`popgen.corpus.options.READERS`) stands for."""
    from popgen.formats.midi_symusic import read_midi_symusic, symusic_available

    if name == "symusic" or (name == "auto" and symusic_available()):
        return read_midi_symusic
    from popgen.formats.midi_reading import read_midi

    return read_midi


def _with_chords(song: Song, options: CorpusOptions) -> Song:
    """Apply the ``chords`` rule: keep given chords, infer missing ones, or drop them."""
    if options.chords == "none" and len(song.chords):
        return song.replace(chords=song.chords[:0])
    if options.chords == "infer" or (options.chords == "auto" and not len(song.chords)):
        from popgen.music.chord_inference import infer_chords

        return song.replace(chords=infer_chords(song))
    return song


def _with_sections(song: Song, path: Path, options: CorpusOptions, beats_beside: bool) -> Song:
    """Apply the ``sections`` rule: POP909's phrase labels, inferred sections, or none.

    ``beats_beside``: the MIDI file's folder holds its beat annotations (POP909's
    layout), found by :func:`read_file` when ``options.annotations`` is on.
    """
    rule = options.sections
    if rule == "none" or (rule == "infer" and song.sections):
        song = song.replace(sections=())
    if rule in ("labels", "auto") and beats_beside:
        from popgen.formats.phrases import with_phrase_sections

        song = with_phrase_sections(song, path.parent)
    if rule in ("auto", "infer") and not song.sections:
        from popgen.formats.phrases import with_inferred_sections

        song = with_inferred_sections(song)
    return song


def _with_key(song: Song, rule: str) -> Song:
    """Set the song's key by ``rule`` (see :attr:`CorpusOptions.keys`)."""
    if not song.num_notes or (rule == "file" and song.key is not None):
        return song
    from popgen.formats.score_reading import analyze_key

    found = analyze_key(song)
    if rule == "auto" and song.key is not None and _major_tonic(song.key) == _major_tonic(found):
        return song  # the analysis agrees with the signature; the file names the mode
    return song.replace(key=found)


def _major_tonic(key: str) -> int:
    """The tonic of the major key with the same signature (A minor -> C)."""
    pc, mode = parse_key(key)
    return pc if mode == "major" else (pc + 3) % 12


def _settings(path: Path, options: CorpusOptions) -> dict[str, Any]:
    """What the cache key holds besides the file's bytes (annotation files' bytes too)."""
    reader = "midi" if path.suffix.lower() in MIDI_SUFFIXES else "music21"
    # "+markers": chord markers became chords, so older cache entries are read again
    settings = {
        "reader": reader + "+markers" * (reader == "midi"),
        **{name: getattr(options, name) for name in _READ_FIELDS},
        "limits": dict(_plain_limits(options.limits)),  # as plain numbers, for JSON
    }
    if reader == "midi" and options.annotations:
        from popgen.formats.annotations import annotation_files

        settings["annotated"] = [
            hashlib.sha256(file_bytes(p)).hexdigest() if p else None for p in annotation_files(path)
        ]
        if options.sections in ("labels", "auto") and settings["annotated"][0]:
            from popgen.formats.phrases import LABEL_FILES, MELODY_FILE

            phrases = [path.parent / name for name in (*LABEL_FILES, MELODY_FILE)]
            found = [regular_file_bytes(p) for p in phrases]
            settings["phrases"] = [
                None if data is None else hashlib.sha256(data).hexdigest() for data in found
            ]
    return settings


@functools.lru_cache(maxsize=64)
def _plain_limits(limits: Limits) -> dict[str, Any]:
    """``dataclasses.asdict(limits)``, once per distinct limits (callers do not change it)."""
    return dataclasses.asdict(limits)


#: A file's songs (packed as a cache entry when read in a worker process) or
#: ``None``, the reason it could not be read, and its warnings as text.
_Result = tuple[list[Song] | bytes | None, str, list[str]]


def _read_task(task: tuple[str, CorpusOptions]) -> _Result:
    """Worker entry point: parse one file; songs travel as one cache entry's bytes."""
    songs, error, messages = _read_here(task)
    return (None if songs is None else pack_songs(songs)), error, messages


def _read_here(task: tuple[str, CorpusOptions]) -> tuple[list[Song] | None, str, list[str]]:
    """Parse one file in this process: its songs or the reason, and its warnings as text."""
    path, options = Path(task[0]), task[1]
    songs: list[Song] | None = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            songs, error = read_file(path, options), ""
        except (MidiError, CorpusError) as exc:
            error = str(exc)
        except OSError as exc:
            error = f"{path}: cannot read ({exc.strerror or exc})"
    return songs, error, [str(w.message) for w in caught]


def read_files(
    files: list[Path],
    *,
    options: CorpusOptions = _DEFAULTS,
    cache: SongCache | None = None,
    workers: int | None = None,
    progress: bool = False,
) -> Iterator[tuple[Path, list[Song] | str]]:
    """Yield ``(path, songs)`` or ``(path, reason)`` for each file, in the order given.

    Args:
        files: the files to read.
        options: only the reading options apply here (see :func:`read_file`).
        cache: where parsed songs are kept between runs; ``None`` reads everything.
        workers: parsing processes; ``None`` uses every core, 1 parses here.
        progress: show a progress bar.

    >>> import tempfile
    >>> from popgen.music.song import make_notes
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     Song(make_notes([60, 64], [0, 1], [1, 1])).write_midi(f"{tmp}/a.mid")
    ...     _ = Path(tmp, "bad.mid").write_bytes(b"not midi")
    ...     for path, result in read_files(expand_paths([tmp])):
    ...         print(path.name, len(result) if isinstance(result, list) else result)
    a.mid 1
    bad.mid .../bad.mid: not a valid MIDI file (...)
    """
    keys: dict[Path, str] = {}
    done: dict[Path, list[Song] | str] = {}
    for path in files:
        if cache is None:
            continue
        try:
            check_file_size(path, options.limits)  # before the bytes are read to be hashed
            data = file_bytes(path)
        except CorpusError as exc:
            done[path] = str(exc)
            continue
        except OSError as exc:
            done[path] = f"{path}: cannot read ({exc.strerror or exc})"
            continue
        keys[path] = cache.key(data, _settings(path, options))
        hit = cache.get(keys[path])
        if hit is not None:
            done[path] = [_with_source(s, _source(path, s.source)) for s in hit]
    todo = [p for p in files if p not in done]
    bar = tqdm(total=len(files), desc="reading", unit="file", disable=not progress)
    bar.update(len(files) - len(todo))
    results = _parse(todo, options, workers)
    next_todo = 0
    for path in files:
        if path not in done:
            assert todo[next_todo] == path
            next_todo += 1
            read, error, messages = next(results)
            for message in messages:  # raised in a worker process: raise them here
                warnings.warn(message, stacklevel=2)
            if read is None:
                done[path] = error
            else:
                songs = read if isinstance(read, list) else unpack_songs(read)
                if cache is not None:
                    cache.put(keys[path], songs)
                done[path] = songs
            bar.update(1)
        yield path, done.pop(path)
    bar.close()


def _parse(todo: list[Path], options: CorpusOptions, workers: int | None) -> Iterator[_Result]:
    tasks = [(str(p), options) for p in todo]
    cores = os.cpu_count() or 1 if workers is None else workers
    if cores <= 1 or len(tasks) < _MIN_PARALLEL:  # here: the songs need not travel
        yield from map(_read_here, tasks)
        return
    chunk = max(1, len(tasks) // (max(cores, 1) * 8))
    if start_method().get_start_method() == "fork":
        _load_readers(options)
    yield from map_in_workers(
        _read_task, tasks, workers, what="reading", chunksize=chunk, min_tasks=_MIN_PARALLEL
    )


def _load_readers(options: CorpusOptions) -> None:
    """Import what reading MIDI files takes, here, before the worker processes fork.

    Forked workers share this process's modules: without this, each one
    imports symusic, mido and popgen's readers itself on its first file
    (about 50 ms of CPU a worker).
    """
    import importlib

    for name in ("annotations", "midi_reading", "phrases", "score_reading"):
        importlib.import_module(f"popgen.formats.{name}")
    importlib.import_module("popgen.music.roles")
    from popgen.formats.midi_symusic import symusic_available

    if options.reader in ("symusic", "auto") and symusic_available():
        importlib.import_module("symusic")


def _with_source(song: Song, source: str) -> Song:
    """``song`` with ``source`` (itself when it has that source already)."""
    return song if song.source == source else song.replace(source=source)


def _source(path: Path, cached: str) -> str:
    """The cached song's source with the current path (entries are shared by content)."""
    _, sep, part = cached.rpartition("#")
    return f"{path}#{part}" if sep and part.isdigit() else str(path)
