"""Held-out likelihood: how well a run (or a baseline) predicts real songs' tokens.

Every model is scored on the same targets: each token of an encoded song
(``BOS`` + tokens + ``EOS``) after the first, given all the tokens before it,
exactly the positions an LSTM is trained on. Per-token figures depend on the
encoding (``note`` spends three tokens on a note, ``chord`` one), so every
:class:`Likelihood` also gives the negative log-likelihood per *note*: the
song's summed NLL divided by the notes its tokens describe, which compares
encodings.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from popgen.tokenizers.base import PAD, UNK

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from popgen.music.song import Song
    from popgen.runs.run import Run
    from popgen.tokenizers.base import Tokenizer

__all__ = ["EncodedSongs", "Likelihood", "encode_songs", "ngram_likelihood", "run_likelihood"]


@dataclass(frozen=True)
class Likelihood:
    """Summed negative log-likelihood (nats) of some songs, and what it was summed over.

    >>> lik = Likelihood(nll=60.0, tokens=30, notes=10)
    >>> lik.per_token, lik.per_note, round(lik.perplexity, 3)
    (2.0, 6.0, 7.389)

    """

    nll: float  # summed over every predicted token, in nats
    tokens: int  # predicted tokens (targets)
    notes: int  # notes those tokens describe

    @property
    def per_token(self) -> float:
        """Mean NLL per predicted token, in nats (``nan`` without tokens).

        >>> Likelihood(nll=3.0, tokens=2, notes=1).per_token
        1.5

        """
        return self.nll / self.tokens if self.tokens else math.nan

    @property
    def per_note(self) -> float:
        """NLL per note, in nats: comparable between encodings (``nan`` without notes).

        >>> Likelihood(nll=3.0, tokens=2, notes=1).per_note
        3.0

        """
        return self.nll / self.notes if self.notes else math.nan

    @property
    def perplexity(self) -> float:
        """``exp(per_token)``: the effective number of equally likely next tokens.

        >>> Likelihood(nll=0.0, tokens=4, notes=2).perplexity
        1.0

        """
        return math.exp(min(self.per_token, 700.0))

    def to_dict(self) -> dict[str, float]:
        """JSON-ready figures.

        >>> Likelihood(nll=4.0, tokens=2, notes=1).to_dict()["per_note"]
        4.0

        """
        return {
            "nll": self.nll,
            "tokens": self.tokens,
            "notes": self.notes,
            "per_token": self.per_token,
            "per_note": self.per_note,
            "perplexity": self.perplexity,
        }


@dataclass(frozen=True)
class EncodedSongs:
    """Songs as token ids (with ``BOS``/``EOS``) and the notes each one describes.

    >>> from popgen import Song
    >>> from popgen import get_tokenizer
    >>> from popgen import make_notes
    >>> song = Song(make_notes([60, 64], [0, 1], [1, 1]))
    >>> tok = get_tokenizer("chord").fit([song])
    >>> enc = encode_songs(tok, [song])
    >>> [tok.token_name(i) for i in enc.ids[0]], enc.notes
    (['BOS', 'NOTE_60', 'NOTE_64', 'EOS'], (2,))

    """

    ids: tuple[NDArray[np.int32], ...]
    notes: tuple[int, ...]
    names: tuple[str, ...] = ()  # each song's title (or source), when known

    @property
    def targets(self) -> int:
        """Number of predicted tokens: every id after the first, ``PAD`` excluded.

        >>> EncodedSongs((np.array([1, 5, 2], dtype=np.int32),), (1,)).targets
        2

        """
        return int(sum(int(np.count_nonzero(ids[1:] != PAD)) for ids in self.ids))


def encode_songs(tokenizer: Tokenizer, songs: Iterable[Song]) -> EncodedSongs:
    """Encode songs for scoring; counts the notes of each song's decoded tokens.

    A warning reports songs with tokens outside the vocabulary (they become
    ``UNK`` and are scored as such).

    >>> from popgen import Song
    >>> from popgen import get_tokenizer
    >>> from popgen import make_notes
    >>> song = Song(make_notes([60, 64, 67], [0, 0, 1], [1, 1, 1]))
    >>> encode_songs(get_tokenizer("chord").fit([song]), [song]).notes
    (3,)

    """
    ids: list[NDArray[np.int32]] = []
    notes: list[int] = []
    names: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one summary below instead of one per song
        for song in songs:
            tokens = tokenizer.encode(song)
            ids.append(tokens)
            notes.append(tokenizer.decode(tokens).num_notes)
            names.append(song.title or song.source)
    unknown = sum(1 for t in ids if (t == UNK).any())
    if unknown:
        warnings.warn(
            f"{unknown} of {len(ids)} songs have tokens outside the vocabulary of "
            f"tokenizer {tokenizer.name!r}; they are scored as UNK",
            stacklevel=2,
        )
    return EncodedSongs(tuple(ids), tuple(notes), tuple(names))


def run_likelihood(
    run: Run, songs: EncodedSongs | Sequence[Song], *, max_tokens: int = 65_536
) -> Likelihood:
    """Negative log-likelihood of ``songs`` under a trained run.

    Each song is read whole (the LSTM's state carries across the song, not
    only a training window). Songs are batched by length, padded to a
    multiple of 256 tokens so that few shapes are compiled.

    Args:
        run: the trained run.
        songs: songs, or songs already encoded with the run's tokenizer.
        max_tokens: at most this many padded tokens per batch (bounds memory).

    >>> import jax, jax.numpy as jnp
    >>> from popgen import LSTMModel
    >>> from popgen import Run
    >>> from popgen import Song
    >>> from popgen import get_tokenizer
    >>> from popgen import make_notes
    >>> song = Song(make_notes([60, 62, 64], [0, 1, 2], [1, 1, 1]))
    >>> tok = get_tokenizer("chord").fit([song])
    >>> model = LSTMModel(vocab_size=tok.vocab_size, embed_dim=4, hidden_size=8, num_layers=1)
    >>> params = model.init(jax.random.key(0), jnp.zeros((1, 4), jnp.int32))
    >>> lik = run_likelihood(Run(model, tok, params), [song])
    >>> lik.tokens, lik.notes, bool(abs(lik.per_token - np.log(tok.vocab_size)) < 0.1)
    (4, 3, True)

    """
    import jax
    import jax.numpy as jnp

    from popgen.models.featured import with_step_features
    from popgen.models.loss import next_token_loss

    encoded = songs if isinstance(songs, EncodedSongs) else encode_songs(run.tokenizer, songs)
    model = with_step_features(run.model, run.tokenizer)

    @jax.jit
    def score(params: Any, batch: jax.Array) -> jax.Array:
        return next_token_loss(model, params, batch)[0]

    order = sorted(range(len(encoded.ids)), key=lambda i: len(encoded.ids[i]))
    total, start = 0.0, 0
    while start < len(order):
        width = 256 * math.ceil((len(encoded.ids[order[start]]) + 1) / 256)
        stop = start + 1
        while stop < len(order):
            longest = 256 * math.ceil((len(encoded.ids[order[stop]]) + 1) / 256)
            if longest != width or (stop - start + 1) * width > max_tokens:
                break
            stop += 1
        batch = np.full((stop - start, width), PAD, dtype=np.int32)
        for row, i in enumerate(order[start:stop]):
            batch[row, : len(encoded.ids[i])] = encoded.ids[i]
        total += float(score(run.params, jnp.asarray(batch)))
        start = stop
    return Likelihood(total, encoded.targets, sum(encoded.notes))


def ngram_likelihood(model: Any, songs: EncodedSongs) -> Likelihood:
    """Negative log-likelihood of encoded songs under a fitted n-gram model.

    ``model`` is a :class:`popgen.metrics.ngram.KneserNey` (or anything with
    its ``nll(sequences, ignore=PAD) -> (nats, targets)`` method) fitted on
    the training songs' ids.

    >>> from popgen.metrics.ngram import KneserNey
    >>> enc = EncodedSongs((np.array([1, 4, 5, 4, 5, 2], dtype=np.int32),), (4,))
    >>> lik = ngram_likelihood(KneserNey(order=2, vocab_size=6).fit(enc.ids), enc)
    >>> lik.tokens, bool(lik.per_token < np.log(6))
    (5, True)

    """
    nll, count = model.nll(list(songs.ids), ignore=PAD)
    return Likelihood(float(nll), int(count), sum(songs.notes))
