"""Corpus: sources (MIDI files, folders, scores, the music21 corpus) -> a list of Songs.

Reading runs in worker processes over all cores and goes through an on-disk
cache of parsed songs (see :mod:`popgen.corpus.reading` and :mod:`popgen.corpus.cache`).
Bad files never stop a read: each is skipped with a warning that names it,
and listed in :attr:`Corpus.skipped`. Only sources that yield no song at all
are an error.
"""

from __future__ import annotations

import enum
import os
import warnings
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np

from popgen.corpus.cache import SongCache, default_cache_dir
from popgen.corpus.options import CorpusOptions
from popgen.corpus.reading import expand_paths, read_files
from popgen.corpus.split import split_by_song
from popgen.errors import CorpusError
from popgen.music.keys import PITCH_CLASSES, parse_key
from popgen.music.song import Song

__all__ = ["DEFAULT_CACHE", "Corpus"]

_MUSIC21_PREFIX = "music21:"


class _Default(enum.Enum):
    CACHE = "default"


#: ``cache_dir`` value meaning ``$POPGEN_CACHE_DIR`` or the user cache folder.
DEFAULT_CACHE = _Default.CACHE
CacheDir = str | os.PathLike[str] | None | _Default


def _cache(cache_dir: CacheDir) -> SongCache | None:
    if cache_dir is None:
        return None
    return SongCache(default_cache_dir() if isinstance(cache_dir, _Default) else cache_dir)


class Corpus(Sequence[Song]):
    """An ordered collection of songs, with the files that could not be read.

    >>> from popgen.music.song import make_notes
    >>> corpus = Corpus([Song(make_notes([60, 62], [0, 1], [1, 1]))])
    >>> len(corpus), corpus.num_notes
    (1, 2)
    """

    def __init__(
        self,
        songs: Iterable[Song],
        *,
        skipped: Sequence[tuple[str, str]] = (),
        options: CorpusOptions | None = None,
    ) -> None:
        self.songs: tuple[Song, ...] = tuple(songs)
        #: ``(source, reason)`` for every file or song left out.
        self.skipped: tuple[tuple[str, str], ...] = tuple(skipped)
        #: How the songs were read, when this corpus read them (``None`` otherwise);
        #: :func:`popgen.train` records it in the run, so evaluation reads alike.
        self.options = options

    # ------------------------------------------------------------ building
    @classmethod
    def from_paths(
        cls,
        paths: Iterable[str | os.PathLike[str]],
        options: CorpusOptions | None = None,
        *,
        cache_dir: CacheDir = DEFAULT_CACHE,
        workers: int | None = None,
        progress: bool = False,
        **fields: object,
    ) -> Corpus:
        """Read MIDI files (with mido) and score files (with music21).

        Args:
            paths: files, folders (searched recursively) and glob patterns.
            options: what to keep of each song and how to normalise it
                (:class:`CorpusOptions`); default: every track but the drums, as read.
            cache_dir: where parsed songs are cached (``DEFAULT_CACHE``:
                ``$POPGEN_CACHE_DIR`` or the user cache folder; ``None``: off).
            workers: reading processes; ``None`` uses every core.
            progress: show a progress bar.
            **fields: :class:`CorpusOptions` fields, which replace those of
                ``options``: ``tracks=["Melody"]`` is
                ``options=CorpusOptions(tracks=["Melody"])``.

        Raises:
            CorpusError: a missing path, an empty folder, or no readable song.
            TypeError: a keyword that is neither an argument nor an option.
            ValueError: an option out of range (see :class:`CorpusOptions`).

        >>> import tempfile
        >>> from popgen.music.song import make_notes
        >>> c_major = Song(make_notes([60, 64], [0, 1], [1, 1]), key="C")
        >>> a_minor = Song(make_notes([69, 72, 76], [0, 1, 2], [1, 1, 1]), key="Am")
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     c_major.write_midi(f"{tmp}/a.mid")
        ...     a_minor.write_midi(f"{tmp}/b.mid")
        ...     corpus = Corpus.from_paths([tmp], transpose_to="D", cache_dir=None)
        >>> corpus, [s.key for s in corpus]
        (Corpus(2 songs, 5 notes, 0 skipped), ['D major', 'B minor'])
        """
        chosen = _options(options, fields)
        return cls._read(expand_paths(paths), chosen, cache_dir, workers, progress, None)

    @classmethod
    def from_music21(
        cls,
        *names: str,
        options: CorpusOptions | None = None,
        limit: int | None = None,
        cache_dir: CacheDir = DEFAULT_CACHE,
        workers: int | None = None,
        progress: bool = False,
        **fields: object,
    ) -> Corpus:
        """Songs from the corpus bundled with music21 (no download).

        Args:
            names: collections (``"bach"``, ``"essenFolksong"``) or works inside
                them (``"essenFolksong/kinder0"``).
            options: what to keep of each song and how to normalise it
                (:class:`CorpusOptions`).
            limit: keep at most this many songs per name (files in sorted order).
            cache_dir: as in :meth:`from_paths`.
            workers: as in :meth:`from_paths`.
            progress: as in :meth:`from_paths`.
            **fields: :class:`CorpusOptions` fields, as in :meth:`from_paths`.

        >>> corpus = Corpus.from_music21("bach/bwv66.6", tracks=["Soprano"], cache_dir=None)
        >>> corpus, corpus[0].source
        (Corpus(1 songs, 36 notes, 0 skipped), 'music21:bach/bwv66.6.mxl')
        """
        from popgen.formats.score_reading import corpus_paths, music21_root

        if not names:
            raise CorpusError("name at least one music21 corpus collection or work")
        chosen = _options(options, fields)
        root = music21_root()
        parts = []
        for name in names:
            files = corpus_paths(name)
            sources = {p: f"music21:{p.relative_to(root).as_posix()}" for p in files}
            part = cls._read(files, chosen, cache_dir, workers, progress, sources)
            parts.append(part[:limit] if limit is not None else part)
        return cls.concatenate(parts)

    @classmethod
    def from_sources(
        cls,
        sources: Sequence[str],
        options: CorpusOptions | None = None,
        *,
        cache_dir: CacheDir = DEFAULT_CACHE,
        workers: int | None = None,
        progress: bool = False,
        **fields: object,
    ) -> Corpus:
        """Mixed sources as the command line takes them: paths and ``music21:NAME``.

        The other arguments are those of :meth:`from_paths`.

        >>> import tempfile
        >>> from popgen.music.song import make_notes
        >>> options = CorpusOptions(keys="file")  # or the keyword keys="file"
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     Song(make_notes([60, 64], [0, 1], [1, 1])).write_midi(f"{tmp}/a.mid")
        ...     corpus = Corpus.from_sources([tmp, "music21:bach/bwv66.6"], options, cache_dir=None)
        >>> [s.source.rsplit("/", 1)[-1] for s in corpus]
        ['bwv66.6.mxl', 'a.mid']
        """
        chosen = _options(options, fields)
        music21 = [s[len(_MUSIC21_PREFIX) :] for s in sources if s.startswith(_MUSIC21_PREFIX)]
        paths = [s for s in sources if not s.startswith(_MUSIC21_PREFIX)]
        corpora: list[Corpus] = []
        if music21:
            part = cls.from_music21(
                *music21, options=chosen, cache_dir=cache_dir, workers=workers, progress=progress
            )
            corpora.append(part)
        if paths:
            part = cls.from_paths(
                paths, chosen, cache_dir=cache_dir, workers=workers, progress=progress
            )
            corpora.append(part)
        if not corpora:
            raise CorpusError("no sources given")
        return cls.concatenate(corpora)

    @classmethod
    def concatenate(cls, corpora: Iterable[Corpus]) -> Corpus:
        """One corpus holding the songs and skipped files of several, in order.

        >>> from popgen.music.song import make_notes
        >>> a = Corpus([Song(make_notes([60], [0], [1]))], skipped=[("x.mid", "x.mid: no notes")])
        >>> b = Corpus([Song(make_notes([62, 64], [0, 1], [1, 1]))])
        >>> Corpus.concatenate([a, b])
        Corpus(2 songs, 3 notes, 1 skipped)
        """
        corpora = list(corpora)
        options = {c.options for c in corpora}
        return cls(
            [s for c in corpora for s in c],
            skipped=[x for c in corpora for x in c.skipped],
            options=options.pop() if len(options) == 1 else None,
        )

    @classmethod
    def _read(
        cls,
        files: list[Path],
        options: CorpusOptions,
        cache_dir: CacheDir,
        workers: int | None,
        progress: bool,
        sources: dict[Path, str] | None,
    ) -> Corpus:
        kept: list[Song] = []
        skipped: list[tuple[str, str]] = []

        def skip(source: str, reason: str) -> None:
            warnings.warn(f"skipping {reason}", stacklevel=4)
            skipped.append((source, reason))

        cache = _cache(cache_dir)
        for path, result in read_files(
            files, options=options, cache=cache, workers=workers, progress=progress
        ):
            if isinstance(result, str):
                skip(str(path), result)
                continue
            for song in result:
                if sources is not None:
                    song = song.replace(source=song.source.replace(str(path), sources[path], 1))
                song = _select(song, options)
                if not song.num_notes:
                    reason = f"{song.source or song.title}: no notes in the chosen tracks"
                    skip(song.source, reason)
                    continue
                kept.append(song)
        if not kept:
            detail = f"; first problem: {skipped[0][1]}" if skipped else ""
            names = ", ".join(map(str, files[:3])) + (" ..." if len(files) > 3 else "")
            raise CorpusError(f"{names}: no readable songs{detail}")
        corpus = cls(kept, skipped=skipped, options=options)
        return corpus.transposed_to(options.transpose_to) if options.transpose_to else corpus

    # ------------------------------------------------------------- sequence
    @overload
    def __getitem__(self, index: int) -> Song: ...
    @overload
    def __getitem__(self, index: slice) -> Corpus: ...
    def __getitem__(self, index: int | slice) -> Song | Corpus:
        if isinstance(index, slice):
            return Corpus(self.songs[index], options=self.options)
        return self.songs[index]

    def __len__(self) -> int:
        return len(self.songs)

    def __iter__(self) -> Iterator[Song]:
        return iter(self.songs)

    def __repr__(self) -> str:
        return f"Corpus({len(self)} songs, {self.num_notes} notes, {len(self.skipped)} skipped)"

    # ---------------------------------------------------------------- tools
    @property
    def num_notes(self) -> int:
        """Notes over all songs.

        >>> from popgen.music.song import make_notes
        >>> songs = [Song(make_notes([60], [0], [1])), Song(make_notes([62, 64], [0, 1], [1, 1]))]
        >>> Corpus(songs).num_notes
        3
        """
        return sum(s.num_notes for s in self.songs)

    def split(
        self, valid: float = 0.1, test: float = 0.0, *, seed: int = 0
    ) -> tuple[Corpus, Corpus, Corpus]:
        """Split by song into (train, valid, test); no song is in two parts.

        >>> from popgen.music.song import make_notes
        >>> corpus = Corpus(Song(make_notes([60 + i], [0], [1]), title=f"s{i}") for i in range(10))
        >>> train, valid, test = corpus.split(valid=0.2, test=0.1, seed=0)
        >>> len(train), [s.title for s in valid], [s.title for s in test]
        (7, ['s4', 's6'], ['s2'])
        """
        if valid < 0 or test < 0 or valid + test >= 1:
            raise ValueError(f"valid and test must be >= 0 with a sum < 1, got {valid}, {test}")
        rest, held = split_by_song(len(self), valid + test, seed)
        n_test = round(len(held) * test / (valid + test)) if len(held) else 0
        test_idx, valid_idx = held[:n_test], held[n_test:]

        def pick(indices: Iterable[int]) -> Corpus:
            return Corpus((self.songs[i] for i in indices), options=self.options)

        return pick(rest), pick(valid_idx), pick(test_idx)

    def augmented(self, shifts: Iterable[int]) -> Corpus:
        """Every song transposed by each shift (semitones), e.g. ``range(-5, 7)``.

        Meant for the training split only: split first, then augment, so no
        transposed copy of a validation song is trained on. Drum tracks do not
        move; notes pushed out of 0..127 are dropped.

        >>> from popgen.music.song import make_notes
        >>> corpus = Corpus([Song(make_notes([60], [0], [1])), Song(make_notes([67], [0], [1]))])
        >>> [int(s.notes["pitch"][0]) for s in corpus.augmented([-1, 0, 1])]
        [59, 60, 61, 66, 67, 68]
        """
        shifts = list(dict.fromkeys(shifts))
        songs = [s.transpose(k) for s in self.songs for k in shifts]
        return Corpus([s for s in songs if s.num_notes], skipped=self.skipped, options=self.options)

    def transposed_to(self, key: str) -> Corpus:
        """Move major songs to ``key``'s major and minor songs to its relative minor.

        Each song moves by the smallest interval (-5..+6 semitones). Songs
        without a key get one from music21's key analysis.

        >>> from popgen.music.song import make_notes
        >>> d_major = Song(make_notes([62, 66, 69], [0, 1, 2], [1, 1, 2]), key="D major")
        >>> e_minor = Song(make_notes([64, 67, 71], [0, 1, 2], [1, 1, 2]), key="E minor")
        >>> corpus = Corpus([d_major, e_minor]).transposed_to("C")
        >>> [(s.key, s.notes["pitch"].tolist()) for s in corpus]
        [('C major', [60, 64, 67]), ('A minor', [69, 72, 76])]
        """
        tonic, mode = parse_key(key)
        major_tonic = tonic if mode == "major" else (tonic + 3) % 12
        out = []
        for song in self.songs:
            if song.key is None:
                from popgen.formats.score_reading import analyze_key

                song = song.replace(key=analyze_key(song))
            pc, song_mode = parse_key(song.key or "C")
            target = major_tonic if song_mode == "major" else (major_tonic + 9) % 12
            shift = (target - pc + 6) % 12 - 6
            out.append(song.transpose(shift))
        return Corpus(out, skipped=self.skipped, options=self.options)

    def describe(self, *, details: bool = False) -> str:
        """A human-readable summary: songs, notes, hours, pitch range, keys, skipped.

        Exact duplicate notes merged, long silences shortened and notes of
        too long songs left out while reading (:mod:`popgen.music.limits`) are
        counted; files too big to read are among the skipped. With
        ``details``, further lines list the track names, the track roles, how
        many songs have chords and annotated bars, every song whose silences
        were shortened or that was cut (by its source), and every skipped file
        with its reason.

        >>> from popgen.music.song import Track, make_notes
        >>> song = Song(make_notes([62, 66, 69], [0, 1, 2], [1, 1, 2]), (Track("Flute"),), key="D")
        >>> print(Corpus([song]).describe(details=True))
        1 songs, 3 notes, 0.00 hours, pitch D4..A4, keys: D major (1); 0 skipped
        tracks: Flute (1)
        roles: (none) (1)
        chords in 0 songs; annotated bars in 0 songs
        >>> gaps = song.replace(source="gaps.mid", shortened_silences=20, cut_notes=5)
        >>> for line in Corpus([gaps]).describe(details=True).splitlines()[4:]:
        ...     print(line)
        shortened gaps.mid: 20 silences (popgen.music.limits.Limits.max_silence)
        cut gaps.mid: 5 notes left out (popgen.music.limits.Limits.max_notes, max_beats)
        """
        if not self.songs:
            return "0 songs"
        pitches = np.concatenate([s.notes["pitch"] for s in self.songs])
        hours = sum(s.seconds() for s in self.songs) / 3600
        keys = Counter(s.key or "unknown" for s in self.songs)
        top = ", ".join(f"{k} ({n})" for k, n in keys.most_common(5))
        low, high = int(pitches.min()), int(pitches.max())
        text = (
            f"{len(self)} songs, {self.num_notes} notes, {hours:.2f} hours, "
            f"pitch {_pitch_name(low)}..{_pitch_name(high)}, keys: {top}; "
            f"{len(self.skipped)} skipped"
        )
        merged = sum(s.merged_notes for s in self.songs)
        if merged:
            dup_songs = sum(bool(s.merged_notes) for s in self.songs)
            text += f"; {merged} duplicate notes merged in {dup_songs} songs"
        shortened = sum(s.shortened_silences for s in self.songs)
        if shortened:
            in_songs = sum(bool(s.shortened_silences) for s in self.songs)
            text += f"; {shortened} long silences shortened in {in_songs} songs"
        cut = sum(s.cut_notes for s in self.songs)
        if cut:
            cut_songs = sum(bool(s.cut_notes) for s in self.songs)
            text += f"; {cut_songs} too long songs cut ({cut} notes left out)"
        if not details:
            return text
        tracks = Counter(t.name or "(unnamed)" for s in self.songs for t in s.tracks)
        lines = [text, "tracks: " + ", ".join(f"{k} ({n})" for k, n in tracks.most_common(10))]
        roles = Counter(t.role or "(none)" for s in self.songs for t in s.tracks)
        lines.append("roles: " + ", ".join(f"{k} ({n})" for k, n in roles.most_common()))
        chorded = sum(bool(len(s.chords)) for s in self.songs)
        barred = sum(bool(len(s.bars)) for s in self.songs)
        lines.append(f"chords in {chorded} songs; annotated bars in {barred} songs")
        for s in self.songs:
            where = s.source or s.title or "(untitled)"
            if s.shortened_silences:
                lines.append(
                    f"shortened {where}: {s.shortened_silences} silences "
                    "(popgen.music.limits.Limits.max_silence)"
                )
            if s.cut_notes:
                lines.append(
                    f"cut {where}: {s.cut_notes} notes left out "
                    "(popgen.music.limits.Limits.max_notes, max_beats)"
                )
        lines += [f"skipped {reason}" for _, reason in self.skipped]
        return "\n".join(lines)


def _pitch_name(pitch: int) -> str:
    return f"{PITCH_CLASSES[pitch % 12]}{pitch // 12 - 1}"


def _options(options: CorpusOptions | None, fields: dict[str, object]) -> CorpusOptions:
    """``options`` (default: ``CorpusOptions()``) with the keyword ``fields`` replaced."""
    if options is None:
        options = CorpusOptions()
    elif not isinstance(options, CorpusOptions):
        kind = type(options).__name__
        raise TypeError(f"options must be a CorpusOptions, got a {kind}: {options!r}")
    return options.replace(**fields) if fields else options


def _select(song: Song, sel: CorpusOptions) -> Song:
    """Apply track, program and drum choices and quantization to one song."""
    wanted = {str(x).lower() for x in sel.tracks} if sel.tracks is not None else None
    keep = [
        i
        for i, t in enumerate(song.tracks)
        if (wanted is None or str(i) in wanted or t.name.lower() in wanted)
        and (sel.programs is None or t.program in sel.programs or t.is_drum)
        and (sel.drums or not t.is_drum)
    ]
    if len(keep) != len(song.tracks):
        song = song.select_tracks(keep) if keep else song.replace(notes=song.notes[:0])
    return song.quantize(sel.quantize) if sel.quantize else song
