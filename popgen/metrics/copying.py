"""How much music copies a set of songs: shared n-grams and the longest copied passage.

A song is read as a line of (pitch, duration) symbols, one per note in
(onset, pitch) order (:func:`note_line`), so a passage counts as copied when
the same pitches follow each other with the same durations, whatever the
tempo, velocity or track. A :class:`CopyIndex` holds the training songs and
answers two questions about another song:

* :meth:`CopyIndex.copied_share`: the share of the song's n-grams (``n = 8``
  by default) that occur in some indexed song;
* :meth:`CopyIndex.longest_copy`: the longest run of consecutive notes that
  occurs verbatim in one indexed song, and where.

Held-out real songs measured against the training songs give the baseline a
model should not exceed (:meth:`CopyIndex.report` on each set).

Both answers are exact. The n-gram share walks a trie of the indexed n-grams
(sorted ``int64`` keys, one level per note, no hashing). The longest copy is a
binary search on its length ``L``: are any of the query's ``L``-grams among the
indexed songs' ``L``-grams? Each test compares polynomial hashes (two primes,
vectorised with numpy prefix sums) and then checks a candidate note by note,
so a hash collision can cost time but never give a wrong answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from popgen.music.song import Song

__all__ = ["Copy", "CopyIndex", "CopyReport", "note_line"]

#: (prime, base) pairs of the polynomial hashes; both primes < 2**31, so every
#: product of two residues fits in an int64.
_HASHES = ((2_147_483_647, 911_382_323), (2_147_483_629, 972_663_749))
_MAX_STEPS = 2**32 - 1


def note_line(song: Song, steps_per_beat: int = 12) -> NDArray[np.int64]:
    """A song as a line of (pitch, duration) symbols, one per note.

    Notes are ordered by onset (rounded to the grid) and then pitch; a note's
    duration is rounded to whole steps of ``1 / steps_per_beat`` beats, at
    least one. Each note becomes ``pitch * 2**32 + steps``.

    Args:
        song: any song; every track is read (drop drums first if they should not count).
        steps_per_beat: the duration grid.

    Returns:
        ``int64[num_notes]``.

    >>> from popgen.music.song import Song, make_notes
    >>> line = note_line(Song(make_notes([64, 60], [0.0, 0.0], [0.5, 1.0])))
    >>> [(int(s) >> 32, int(s) & 0xFFFFFFFF) for s in line]
    [(60, 12), (64, 6)]

    """
    if steps_per_beat < 1:
        raise ValueError(f"steps_per_beat must be >= 1, got {steps_per_beat}")
    notes = song.notes
    steps = np.clip(np.rint(notes["duration"] * steps_per_beat), 1, _MAX_STEPS).astype(np.int64)
    onset = np.rint(notes["start"] * steps_per_beat)
    pitch = notes["pitch"].astype(np.int64)
    order = np.lexsort((steps, pitch, onset))
    line: NDArray[np.int64] = (pitch[order] << 32) + steps[order]
    return line


@dataclass(frozen=True)
class Copy:
    """A passage of a song found verbatim in an indexed song.

    Attributes:
        length: the passage's length in notes.
        song: the indexed song's title, else its source, else ``"#<index>"``.
        position: index of the passage's first note in the indexed song's :func:`note_line`.
        start: index of the passage's first note in the queried song's :func:`note_line`.

    >>> Copy(length=12, song="Yesterday", position=40, start=3).length
    12

    """

    length: int
    song: str
    position: int
    start: int


@dataclass(frozen=True)
class CopyReport:
    """Copying figures for a set of songs against a :class:`CopyIndex`.

    Attributes:
        copied_share: share of all the songs' n-grams, pooled, found in the
            index (``nan`` when no song has ``n`` notes).
        per_song: each song's own share (``nan`` for songs shorter than ``n``).
        longest: the longest copied passage of any song (``None``: nothing copied).
        longest_query: index, in the songs reported on, of the song ``longest`` is from.
        ngrams: number of n-grams pooled into ``copied_share``.

    >>> report = CopyReport(0.25, (0.5, 0.0), Copy(9, "a", 0, 4), 0, 8)
    >>> report.longest.song if report.longest else None
    'a'

    """

    copied_share: float
    per_song: tuple[float, ...]
    longest: Copy | None
    longest_query: int | None
    ngrams: int


class CopyIndex:
    """Songs indexed for copy checks.

    Args:
        songs: the songs copies would come from (the training songs).
        n: length in notes of the n-grams :meth:`copied_share` counts.
        steps_per_beat: the duration grid of :func:`note_line`.

    >>> from popgen.music.song import Song, make_notes
    >>> train = Song(make_notes(range(60, 72), range(12), [1] * 12), title="scale")
    >>> index = CopyIndex([train], n=4)
    >>> index.longest_copy(Song(make_notes([50, 62, 63, 64], range(4), [1] * 4)))
    Copy(length=3, song='scale', position=2, start=1)

    """

    def __init__(self, songs: Sequence[Song], n: int = 8, steps_per_beat: int = 12) -> None:
        if n < 1:
            raise ValueError(f"n must be >= 1 note, got {n}")
        if steps_per_beat < 1:
            raise ValueError(f"steps_per_beat must be >= 1, got {steps_per_beat}")
        self.n = n
        self.steps_per_beat = steps_per_beat
        self.names = tuple(s.title or s.source or f"#{i}" for i, s in enumerate(songs))
        lines = [note_line(s, steps_per_beat) for s in songs]
        lengths = np.array([len(line) for line in lines], dtype=np.int64)
        cat = np.concatenate(lines) if lines else np.zeros(0, dtype=np.int64)
        self._alphabet = np.unique(cat)
        self._x = np.searchsorted(self._alphabet, cat).astype(np.int64) + 1  # symbol ids 1..A
        self._offsets = np.cumsum(lengths) - lengths
        self._song_of = np.repeat(np.arange(len(lines)), lengths)
        index = np.arange(len(cat), dtype=np.int64)
        self._pos = index - self._offsets[self._song_of]  # note index within its song
        self._rem = (self._offsets + lengths)[
            self._song_of
        ] - index  # notes left, this one included
        self._max_len = int(lengths.max()) if len(lengths) else 0
        self._radix = len(self._alphabet) + 2  # ids 1..A; A + 1 marks symbols not indexed
        self._levels = self._build_trie()
        self._hashes = _HASHES
        self._prefixes = [_Prefix(self._x, prime, base) for prime, base in self._hashes]

    # ------------------------------------------------------------- n-grams
    def _build_trie(self) -> list[NDArray[np.int64]]:
        """Sorted keys ``node(first k - 1 notes) * radix + last note`` of level k = 2..n."""
        levels: list[NDArray[np.int64]] = []
        node = self._x
        for k in range(2, self.n + 1):
            at = np.flatnonzero(self._pos >= k - 1)
            keys, inverse = np.unique(node[at - 1] * self._radix + self._x[at], return_inverse=True)
            node = np.full(len(self._x), -1, dtype=np.int64)
            node[at] = inverse.reshape(-1)
            levels.append(keys.astype(np.int64))
        return levels

    def _ids(self, line: NDArray[np.int64]) -> NDArray[np.int64]:
        """Symbol ids of a query line: 1..A for indexed symbols, A + 1 for the others."""
        idx = np.searchsorted(self._alphabet, line)
        known = idx < len(self._alphabet)
        known[known] = self._alphabet[idx[known]] == line[known]
        return np.where(known, idx + 1, self._radix - 1).astype(np.int64)

    def _ngram_hits(self, line: NDArray[np.int64]) -> NDArray[np.bool_]:
        """``bool[len(line) - n + 1]``: whether each n-gram of the line is indexed."""
        x = self._ids(line)
        node = np.where(x < self._radix - 1, x, -1)  # node of the 1-gram starting at each note
        for k, keys in enumerate(self._levels, start=2):
            query = np.where(node[:-1] >= 0, node[:-1] * self._radix + x[k - 1 :], -1)
            node = _lookup(keys, query)
        return node >= 0

    def copied_share(self, song: Song) -> float:
        """Share of the song's n-grams of (pitch, duration) that occur in an indexed song.

        Returns:
            A share in ``[0, 1]``; ``nan`` when the song has fewer than ``n`` notes.

        >>> from popgen.music.song import Song, make_notes
        >>> index = CopyIndex([Song(make_notes([60, 62, 64, 65], range(4), [1] * 4))], n=2)
        >>> index.copied_share(Song(make_notes([60, 62, 64, 67], range(4), [1] * 4)))
        0.6666666666666666

        """
        line = note_line(song, self.steps_per_beat)
        if len(line) < self.n:
            return math.nan
        return float(self._ngram_hits(line).mean())

    # -------------------------------------------------------- longest copy
    def longest_copy(self, song: Song) -> Copy | None:
        """The longest passage of the song found verbatim in one indexed song.

        Ties go to the earliest indexed song and position.

        Returns:
            The passage, or ``None`` when not even one note of the song (same
            pitch and duration) occurs in the index, e.g. for an empty song.

        >>> from popgen.music.song import Song, make_notes
        >>> index = CopyIndex([Song(make_notes([60, 62, 64], range(3), [1] * 3), title="a")])
        >>> index.longest_copy(Song(make_notes([62, 64, 60], range(3), [1] * 3)))
        Copy(length=2, song='a', position=1, start=0)

        """
        return self._longest(note_line(song, self.steps_per_beat))

    def _longest(self, line: NDArray[np.int64]) -> Copy | None:
        if not len(line) or not len(self._x):
            return None
        x = self._ids(line)
        query = [_Prefix(x, prime, base) for prime, base in self._hashes]
        # A passage of length L that matches starts with one of every shorter
        # length, so each success narrows the index positions worth trying.
        best, starts = self._match(x, query, 1, np.arange(len(self._x)))
        if best is None:
            return None
        lo, hi = 1, min(len(x), self._max_len)
        galloping = True
        while lo < hi:  # invariant: a passage of length lo exists, none longer than hi
            mid = min(2 * lo, hi) if galloping else (lo + hi + 1) // 2
            found, hits = self._match(x, query, mid, starts)
            if found is None:
                hi, galloping = mid - 1, False
            else:
                lo, best, starts = mid, found, hits
        i, j = best
        song = int(self._song_of[i])
        return Copy(lo, self.names[song], int(self._pos[i]), j)

    def _match(
        self, x: NDArray[np.int64], query: list[_Prefix], length: int, starts: NDArray[np.int64]
    ) -> tuple[tuple[int, int] | None, NDArray[np.int64]]:
        """Find ``length`` notes of the query in the index, starting at one of ``starts``.

        Returns:
            The first (index position, query position) that agree, or None; and
            the index positions whose hash matched (a superset of the agreeing ones).
        """
        starts = starts[self._rem[starts] >= length]
        if not len(starts) or length > len(x):
            return None, starts[:0]
        own = _key(self._prefixes, starts, length)
        theirs = _key(query, np.arange(len(x) - length + 1), length)
        order = np.argsort(theirs, kind="stable")
        ordered = theirs[order]
        left = np.searchsorted(ordered, own)
        hit = left < len(ordered)
        hit[hit] = ordered[left[hit]] == own[hit]
        cand_i, cand_left = starts[hit], left[hit]
        cand_j = order[cand_left]  # the first query window with an equal hash
        chunk = max(1, 2**16 // length)
        for s in range(0, len(cand_i), chunk):
            ok = self._agree(x, cand_i[s : s + chunk], cand_j[s : s + chunk], length)
            if ok.any():
                k = s + int(ok.argmax())
                return (int(cand_i[k]), int(cand_j[k])), cand_i
        # Only after hash collisions: try every query window of an equal hash.
        right = np.searchsorted(ordered, own[hit], side="right")
        for i, a, b in zip(cand_i.tolist(), cand_left.tolist(), right.tolist(), strict=True):
            js = order[a + 1 : b]
            ok = self._agree(x, np.full(len(js), i), js, length)
            if ok.any():
                return (int(i), int(js[int(ok.argmax())])), cand_i
        return None, cand_i

    def _agree(
        self, x: NDArray[np.int64], i: NDArray[np.int64], j: NDArray[np.int64], length: int
    ) -> NDArray[np.bool_]:
        """Whether ``length`` notes from index position i equal those from query position j."""
        offsets = np.arange(length)
        return np.asarray(
            (self._x[i[:, None] + offsets] == x[j[:, None] + offsets]).all(axis=1), dtype=bool
        )

    # -------------------------------------------------------------- report
    def report(self, songs: Sequence[Song]) -> CopyReport:
        """Copying figures of a set of songs (generated ones, or held-out real ones).

        >>> from popgen.music.song import Song, make_notes
        >>> index = CopyIndex([Song(make_notes([60, 62, 64], range(3), [1] * 3))], n=2)
        >>> rep = index.report([Song(make_notes([60, 62, 67], range(3), [1] * 3))])
        >>> rep.copied_share, rep.longest
        (0.5, Copy(length=2, song='#0', position=0, start=0))

        """
        shares: list[float] = []
        hits = grams = 0
        longest: Copy | None = None
        which: int | None = None
        for q, song in enumerate(songs):
            line = note_line(song, self.steps_per_beat)
            if len(line) >= self.n:
                found = self._ngram_hits(line)
                hits += int(found.sum())
                grams += len(found)
                shares.append(float(found.mean()))
            else:
                shares.append(math.nan)
            copy = self._longest(line)
            if copy is not None and (longest is None or copy.length > longest.length):
                longest, which = copy, q
        share = hits / grams if grams else math.nan
        return CopyReport(share, tuple(shares), longest, which, grams)


class _Prefix:
    """Prefix sums of a polynomial hash modulo a prime, for hashes of any window.

    ``sums[t] = sum(x[s] * base**-s for s < t) mod prime``, so the window
    ``x[i:i + L]`` hashes to ``(sums[i + L] - sums[i]) * base**i``, which equals
    ``sum(x[i + s] * base**-s for s < L)``: the same for equal windows anywhere.
    """

    def __init__(self, x: NDArray[np.int64], prime: int, base: int) -> None:
        self.prime = prime
        self.up = _powers(base, len(x) + 1, prime)
        down = _powers(pow(base, prime - 2, prime), len(x), prime)
        terms = (x % prime) * down % prime
        self.sums = np.concatenate([[0], np.cumsum(terms) % prime]).astype(np.int64)

    def windows(self, starts: NDArray[np.int64], length: int) -> NDArray[np.int64]:
        """Hashes of the windows ``x[i:i + length]`` for ``i`` in ``starts``."""
        p = self.prime
        return (self.sums[starts + length] - self.sums[starts]) % p * self.up[starts] % p


def _powers(base: int, count: int, prime: int) -> NDArray[np.int64]:
    """``[base**0, ..., base**(count - 1)] mod prime``, by doubling."""
    out = np.ones(1, dtype=np.int64)
    while len(out) < count:
        out = np.concatenate([out, out * pow(base, len(out), prime) % prime])
    return out[:count]


def _key(prefixes: list[_Prefix], starts: NDArray[np.int64], length: int) -> NDArray[np.int64]:
    """The two hashes of each window (each below its prime < 2**31) as one int64."""
    first, second = prefixes
    return first.windows(starts, length) * second.prime + second.windows(starts, length)


def _lookup(keys: NDArray[np.int64], query: NDArray[np.int64]) -> NDArray[np.int64]:
    """Index of each query in the sorted ``keys``, or -1 (negative queries: -1)."""
    if not len(keys):
        return np.full(query.shape, -1, dtype=np.int64)
    idx = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where((keys[idx] == query) & (query >= 0), idx, -1).astype(np.int64)
