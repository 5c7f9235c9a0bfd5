"""Corpus: sources (MIDI files, folders, scores, the music21 corpus) -> a list of Songs.

Bad files never stop a read: each is skipped with a warning that names it,
and listed in :attr:`Corpus.skipped`. Only a source that yields no song at
all is an error.
"""

from __future__ import annotations

import glob
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import overload

import numpy as np
from tqdm.auto import tqdm

from popgen.data import split_by_song
from popgen.errors import CorpusError, MidiError
from popgen.music import PITCH_CLASSES, Song, parse_key

__all__ = ["MIDI_SUFFIXES", "SCORE_SUFFIXES", "Corpus", "expand_paths"]

#: File name endings read with mido.
MIDI_SUFFIXES = frozenset({".mid", ".midi", ".smf"})
#: File name endings read with music21.
SCORE_SUFFIXES = frozenset({".xml", ".musicxml", ".mxl", ".abc", ".krn", ".mei", ".mscx"})
_MUSIC21_PREFIX = "music21:"


def expand_paths(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Files for each source: a file, a folder (searched recursively) or a glob pattern.

    Raises:
        CorpusError: a path that does not exist, or a folder or pattern with
            no MIDI or score files.

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


def _read_file(path: Path) -> list[Song]:
    if path.suffix.lower() in MIDI_SUFFIXES:
        from popgen.midi import read_midi

        return [read_midi(path)]
    from popgen.scores import read_score

    return read_score(path)


class Corpus(Sequence[Song]):
    """An ordered collection of songs, with the files that could not be read.

    >>> from popgen.music import make_notes
    >>> corpus = Corpus([Song(make_notes([60, 62], [0, 1], [1, 1]))])
    >>> len(corpus), corpus.num_notes
    (1, 2)
    """

    def __init__(self, songs: Iterable[Song], *, skipped: Sequence[tuple[str, str]] = ()) -> None:
        self.songs: tuple[Song, ...] = tuple(songs)
        #: ``(source, reason)`` for every file or song left out.
        self.skipped: tuple[tuple[str, str], ...] = tuple(skipped)

    # ------------------------------------------------------------ building
    @classmethod
    def from_paths(
        cls,
        paths: Iterable[str | os.PathLike[str]],
        *,
        tracks: Sequence[str | int] | None = None,
        drums: bool = False,
        transpose_to: str | None = None,
        progress: bool = False,
    ) -> Corpus:
        """Read MIDI files (with mido) and score files (with music21).

        Args:
            paths: files, folders (searched recursively) and glob patterns.
            tracks: keep only tracks with these names or indices (default: all).
            drums: keep drum tracks (MIDI channel 10); dropped by default.
            transpose_to: move every song to this key's family: ``"C"`` moves
                major songs to C major and minor songs to A minor.
            progress: show a progress bar.

        Raises:
            CorpusError: a missing path, an empty folder, or no readable song.

        """
        files = expand_paths(paths)
        songs: list[Song] = []
        skipped: list[tuple[str, str]] = []
        for path in tqdm(files, desc="reading", unit="file", disable=not progress):
            try:
                read = _read_file(path)
            except (MidiError, CorpusError) as exc:
                warnings.warn(f"skipping {exc}", stacklevel=2)
                skipped.append((str(path), str(exc)))
                continue
            songs += read
        return cls._finish(songs, skipped, tracks, drums, transpose_to, what=files)

    @classmethod
    def from_music21(
        cls,
        *names: str,
        limit: int | None = None,
        transpose_to: str | None = None,
        tracks: Sequence[str | int] | None = None,
    ) -> Corpus:
        """Songs from the corpus bundled with music21 (no download).

        Args:
            names: collections (``"bach"``, ``"essenFolksong"``) or works inside
                them (``"essenFolksong/kinder0"``).
            limit: read at most this many files per name.
            transpose_to: as in :meth:`from_paths`.
            tracks: as in :meth:`from_paths`.

        """
        from popgen.scores import load_music21_corpus

        if not names:
            raise CorpusError("name at least one music21 corpus collection or work")
        songs: list[Song] = []
        for name in names:
            songs += load_music21_corpus(name, limit=limit)
        return cls._finish(songs, [], tracks, False, transpose_to, what=list(names))

    @classmethod
    def from_sources(cls, sources: Sequence[str], **options: object) -> Corpus:
        """Mixed sources as the command line takes them: paths and ``music21:NAME``."""
        corpora: list[Corpus] = []
        music21 = [s[len(_MUSIC21_PREFIX) :] for s in sources if s.startswith(_MUSIC21_PREFIX)]
        paths = [s for s in sources if not s.startswith(_MUSIC21_PREFIX)]
        if music21:
            corpora.append(cls.from_music21(*music21, **options))  # type: ignore[arg-type]
        if paths:
            corpora.append(cls.from_paths(paths, **options))  # type: ignore[arg-type]
        if not corpora:
            raise CorpusError("no sources given")
        return cls([s for c in corpora for s in c], skipped=[x for c in corpora for x in c.skipped])

    @classmethod
    def _finish(
        cls,
        songs: list[Song],
        skipped: list[tuple[str, str]],
        tracks: Sequence[str | int] | None,
        drums: bool,
        transpose_to: str | None,
        *,
        what: Sequence[object],
    ) -> Corpus:
        kept: list[Song] = []
        for song in songs:
            if tracks is not None:
                song = _pick_tracks(song, tracks)
            if not drums:
                song = song.drop_drums()
            if not song.num_notes:
                reason = f"{song.source or song.title}: no notes in the chosen tracks"
                warnings.warn(f"skipping {reason}", stacklevel=3)
                skipped.append((song.source, reason))
                continue
            kept.append(song)
        if not kept:
            detail = f"; first problem: {skipped[0][1]}" if skipped else ""
            names = ", ".join(map(str, what[:3])) + (" ..." if len(what) > 3 else "")
            raise CorpusError(f"{names}: no readable songs{detail}")
        corpus = cls(kept, skipped=skipped)
        return corpus.transposed_to(transpose_to) if transpose_to else corpus

    # ------------------------------------------------------------- sequence
    @overload
    def __getitem__(self, index: int) -> Song: ...
    @overload
    def __getitem__(self, index: slice) -> Corpus: ...
    def __getitem__(self, index: int | slice) -> Song | Corpus:
        if isinstance(index, slice):
            return Corpus(self.songs[index])
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
        """Notes over all songs."""
        return sum(s.num_notes for s in self.songs)

    def split(
        self, valid: float = 0.1, test: float = 0.0, *, seed: int = 0
    ) -> tuple[Corpus, Corpus, Corpus]:
        """Split by song into (train, valid, test); no song is in two parts."""
        if valid < 0 or test < 0 or valid + test >= 1:
            raise ValueError(f"valid and test must be >= 0 with a sum < 1, got {valid}, {test}")
        rest, held = split_by_song(len(self), valid + test, seed)
        n_test = round(len(held) * test / (valid + test)) if len(held) else 0
        test_idx, valid_idx = held[:n_test], held[n_test:]

        def pick(indices: Iterable[int]) -> Corpus:
            return Corpus(self.songs[i] for i in indices)

        return pick(rest), pick(valid_idx), pick(test_idx)

    def transposed_to(self, key: str) -> Corpus:
        """Move major songs to ``key``'s major and minor songs to its relative minor.

        Each song moves by the smallest interval (-5..+6 semitones). Songs
        without a key get one from music21's key analysis.
        """
        tonic, mode = parse_key(key)
        major_tonic = tonic if mode == "major" else (tonic + 3) % 12
        out = []
        for song in self.songs:
            if song.key is None:
                from popgen.scores import analyze_key

                song = song.replace(key=analyze_key(song))
            pc, song_mode = parse_key(song.key or "C")
            target = major_tonic if song_mode == "major" else (major_tonic + 9) % 12
            shift = (target - pc + 6) % 12 - 6
            out.append(song.transpose(shift))
        return Corpus(out, skipped=self.skipped)

    def describe(self) -> str:
        """A short human-readable summary: songs, notes, hours, pitch range, keys, skipped."""
        if not self.songs:
            return "0 songs"
        pitches = np.concatenate([s.notes["pitch"] for s in self.songs])
        hours = sum(s.seconds() for s in self.songs) / 3600
        keys: dict[str, int] = {}
        for s in self.songs:
            keys[s.key or "unknown"] = keys.get(s.key or "unknown", 0) + 1
        top = ", ".join(f"{k} ({n})" for k, n in sorted(keys.items(), key=lambda kv: -kv[1])[:5])
        low, high = int(pitches.min()), int(pitches.max())
        return (
            f"{len(self)} songs, {self.num_notes} notes, {hours:.2f} hours, "
            f"pitch {_pitch_name(low)}..{_pitch_name(high)}, keys: {top}; "
            f"{len(self.skipped)} skipped"
        )


def _pitch_name(pitch: int) -> str:
    return f"{PITCH_CLASSES[pitch % 12]}{pitch // 12 - 1}"


def _pick_tracks(song: Song, tracks: Sequence[str | int]) -> Song:
    keep = [
        i
        for i, t in enumerate(song.tracks)
        if i in tracks or t.name in tracks or t.name.lower() in {str(x).lower() for x in tracks}
    ]
    return song.select_tracks(keep)
