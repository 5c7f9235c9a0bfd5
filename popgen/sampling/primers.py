"""Primers cut from a corpus: a random window of a random song, as a Song that keeps its metadata.

A Song primer passed to :meth:`popgen.Sampler.generate` keeps its tempo, time
signature, key and instrument in the continuation; :func:`primer_from_corpus`
gives such a Song from a window of training-like material.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from popgen.checks import whole_number
from popgen.music.song import Song, Track
from popgen.tokenizers.base import Tokenizer

__all__ = ["primer_from_corpus"]


def primer_from_corpus(
    corpus: Sequence[Song], tokenizer: Tokenizer, length: int, *, seed: int = 0
) -> Song:
    """A random window of about ``length`` tokens from a random song, as a primer Song.

    The window starts where the grammar lets a song start (a note or rest, not
    the middle of a note) and keeps the source song's tempo, time signature
    and key, so the continuation keeps them too. A song shorter than
    ``length`` tokens is used whole when no song is long enough.

    Args:
        corpus: songs, e.g. a :class:`popgen.Corpus`.
        tokenizer: the run's tokenizer (the window is cut in its tokens).
        length: tokens in the window, ``>= 1``.
        seed: picks the song and the window.

    >>> from popgen.music.time import TempoChange
    >>> from popgen.music.song import make_notes
    >>> from popgen.tokenizers import get_tokenizer
    >>> tempo = [TempoChange(0, 90)]
    >>> song = Song(make_notes(range(60, 66), range(6), [1] * 6), tempos=tempo, title="scale")
    >>> tok = get_tokenizer("note").fit([song])
    >>> primer = primer_from_corpus([song], tok, length=6, seed=0)  # two notes of 3 tokens
    >>> primer.notes["pitch"].tolist(), primer.bpm, primer.title
    ([64, 65], 90.0, 'primer from scale')

    """
    whole_number(length, "length")
    if not len(corpus):
        raise ValueError("primer_from_corpus needs at least one song, got an empty corpus")
    rng = np.random.default_rng(seed)
    encoded = [tokenizer.song_to_names(song) for song in corpus]
    long_enough = [i for i, names in enumerate(encoded) if len(names) >= length]
    index = int(rng.choice(long_enough)) if long_enough else int(np.argmax(list(map(len, encoded))))
    names = encoded[index]
    grammar = tokenizer.grammar()
    starts = [
        j
        for j in range(max(len(names) - length, 0) + 1)
        if grammar is None or grammar.table[grammar.start, tokenizer.token_id(names[j])] >= 0
    ] or [0]
    start = int(rng.choice(starts))
    song = corpus[index]
    window = tokenizer.names_to_song(names[start : start + length])
    melodic = [t for t in song.tracks if not t.is_drum][:1]
    return window.replace(
        tempos=song.tempos[:1],
        time_signatures=song.time_signatures[:1],
        key=song.key,
        tracks=tuple(Track(name=t.name, program=t.program) for t in melodic) or window.tracks,
        title=f"primer from {song.title or song.source}",
        source=song.source,
    )
