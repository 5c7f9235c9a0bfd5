"""An interpolated Kneser-Ney n-gram model: the baseline an LSTM's likelihood is measured against.

The model is the interpolated Kneser-Ney of Chen & Goodman (1998, "An
empirical study of smoothing techniques for language modeling") with one
absolute discount ``D`` for every order:

* the highest order ``n`` uses raw counts ``c(h w)``;
* every lower order ``k`` uses *adjusted* counts ``a(h w)``: the number of
  distinct tokens seen just before ``h w``. An occurrence at the very start of
  a sequence has no token before it, so each such occurrence counts as one more
  distinct left neighbour (as KenLM does for n-grams that start with ``<s>``):
  when every sequence begins with ``BOS``, ``BOS``-initial n-grams keep their
  raw counts;
* each order interpolates with the next lower one,
  ``P(w | h) = (max(a(h w) - D, 0) + D * N1+(h .) * P(w | h')) / sum_v a(h v)``,
  where ``h'`` is ``h`` without its first token, ``N1+(h .)`` the number of
  distinct tokens seen after ``h``, and a context never seen backs off
  entirely (``P(w | h) = P(w | h')``);
* the recursion ends in the uniform distribution over the vocabulary, so
  every token, seen or not, has a probability above zero and the
  probabilities of the vocabulary given any context sum to one.

Targets are the tokens an LSTM trained on next-token prediction is scored on:
every token of a sequence but the first, given all the tokens before it. A
token near the start of a sequence has a shorter context (the tokens there
are); no padding is invented.

Counts live in numpy arrays: level ``k`` of a trie holds every distinct
``k``-gram of the training sequences as a sorted ``int64`` key
``(id of its first k - 1 tokens) * vocab_size + last token``, so fitting is a
few ``np.unique`` calls per order and scoring a few ``np.searchsorted`` calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np

from popgen.checks import whole_number

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["KneserNey"]

_FORMAT = "popgen.kneser_ney"
_VERSION = 1

Tokens = Sequence[int] | np.ndarray[Any, np.dtype[np.integer[Any]]]


class KneserNey:
    """Interpolated Kneser-Ney n-gram model over integer token ids.

    Args:
        order: ``n``, the longest n-gram counted (a context of ``n - 1`` tokens).
        discount: the absolute discount ``D``, in ``(0, 1]``.
        vocab_size: number of token ids ``0..vocab_size - 1``; by default one
            more than the largest id seen by :meth:`fit`.

    >>> model = KneserNey(order=2).fit([[1, 2, 3, 2, 3], [1, 2, 3]])
    >>> model.vocab_size
    4
    >>> np.exp(model.log_probs([1, 2, 3])).round(3).tolist()
    [0.828, 0.802]

    """

    def __init__(
        self, order: int = 4, discount: float = 0.75, vocab_size: int | None = None
    ) -> None:
        whole_number(order, "order")
        if not 0.0 < discount <= 1.0:
            raise ValueError(f"discount must be in (0, 1], got {discount}")
        if vocab_size is not None and vocab_size < 1:
            raise ValueError(f"vocab_size must be >= 1 or None, got {vocab_size}")
        self.order = int(order)
        self.discount = float(discount)
        self.vocab_size = vocab_size  # set by fit when None
        self._given_vocab = vocab_size
        # level k = 1..order at index k (index 0 unused): keys of the k-grams
        # (None at level 1: a unigram's node id is its token id), their counts,
        # and per context node (a (k-1)-gram) the sum of counts and the number
        # of distinct tokens that follow it.
        self._keys: list[NDArray[np.int64] | None] = []
        self._counts: list[NDArray[np.int64]] = []
        self._denom: list[NDArray[np.int64]] = []
        self._types: list[NDArray[np.int64]] = []

    # ------------------------------------------------------------------ fitting
    def fit(self, sequences: Iterable[Tokens]) -> Self:
        """Count the n-grams of ``sequences`` (replacing any earlier fit).

        Args:
            sequences: token id sequences (lists or integer arrays), unpadded.

        Returns:
            ``self``, fitted.

        >>> KneserNey(order=3).fit([[0, 1, 2]]).vocab_size
        3

        """
        tokens, pos = _concat(sequences)
        vocab = self._given_vocab
        if vocab is None:
            if not len(tokens):
                raise ValueError("cannot fit on no tokens without vocab_size; pass vocab_size=...")
            vocab = int(tokens.max()) + 1
        _check_vocab(tokens, pos, vocab)
        self.vocab_size = vocab
        n = self.order
        nodes: list[NDArray[np.int64]] = [tokens, tokens]  # nodes[k][p]: k-gram ending at p
        keys: list[NDArray[np.int64] | None] = [None, None]
        for k in range(2, n + 1):
            at = np.flatnonzero(pos >= k - 1)
            uniq, inverse = np.unique(
                nodes[k - 1][at - 1] * vocab + tokens[at], return_inverse=True
            )
            node = np.full(len(tokens), -1, dtype=np.int64)
            node[at] = inverse.reshape(-1)
            keys.append(uniq.astype(np.int64))
            nodes.append(node)
        self._keys, self._counts, self._denom, self._types = [keys[0]], [_EMPTY], [_EMPTY], [_EMPTY]
        for k in range(1, n + 1):
            size = vocab if k == 1 else len(_keys_at(keys, k))
            if k == n:  # raw counts of the k-grams whose last token is a target
                counts = np.bincount(nodes[k][pos >= max(k - 1, 1)], minlength=size)
            else:  # distinct left neighbours, plus one per occurrence at a sequence start
                ends = pos >= k
                suffix = np.zeros(len(_keys_at(keys, k + 1)), dtype=np.int64)
                suffix[nodes[k + 1][ends]] = nodes[k][ends]
                counts = np.bincount(suffix, minlength=size)
                if k >= 2:
                    counts += np.bincount(nodes[k][pos == k - 1], minlength=size)
            self._add_level(keys[k], counts.astype(np.int64))
        return self

    def _add_level(self, keys: NDArray[np.int64] | None, counts: NDArray[np.int64]) -> None:
        """Store level ``len(self._keys)`` and derive its per-context sums."""
        vocab = self._vocab()
        k = len(self._keys)
        if k == 1:
            parent = np.zeros(len(counts), dtype=np.int64)
            contexts = 1
        else:
            assert keys is not None
            parent = keys // vocab
            contexts = vocab if k == 2 else len(_keys_at(self._keys, k - 1))
        denom = np.bincount(parent, weights=counts, minlength=contexts)
        types = np.bincount(parent[counts > 0], minlength=contexts)
        self._keys.append(keys)
        self._counts.append(counts)
        self._denom.append(np.rint(denom).astype(np.int64))
        self._types.append(types.astype(np.int64))

    # ------------------------------------------------------------------ scoring
    def log_probs(self, sequence: Tokens) -> NDArray[np.float64]:
        """Natural-log probability of each token given the tokens before it.

        Args:
            sequence: token ids, length ``m``.

        Returns:
            ``float64[max(m - 1, 0)]``: entry ``i - 1`` is ``log P(sequence[i] |
            sequence[:i])`` (the first token is context only, never predicted).

        >>> model = KneserNey(order=2).fit([[0, 1, 0, 1]])
        >>> model.log_probs([0, 1]).shape
        (1,)

        """
        tokens, pos = _concat([sequence])
        return self._score(tokens, pos)

    def nll(self, sequences: Iterable[Tokens], ignore: int | None = 0) -> tuple[float, int]:
        """Summed negative log-likelihood of sequences and the number of targets it sums.

        Args:
            sequences: token id sequences, each scored as in :meth:`log_probs`.
            ignore: a target id to skip (``PAD = 0`` by default); ``None`` skips none.

        Returns:
            ``(nats, targets)``.

        >>> model = KneserNey(order=2).fit([[3, 1, 2]])
        >>> nats, count = model.nll([[3, 1, 2, 0, 0]])
        >>> count
        2

        """
        tokens, pos = _concat(sequences)
        logp = self._score(tokens, pos)
        targets = tokens[pos >= 1]
        keep = np.ones(len(targets), dtype=bool) if ignore is None else targets != ignore
        return float(-logp[keep].sum()), int(keep.sum())

    def next_probs(self, context: Tokens) -> NDArray[np.float64]:
        """The distribution of the next token after ``context``.

        Args:
            context: the tokens so far (only the last ``order - 1`` matter).

        Returns:
            ``float64[vocab_size]``, summing to one.

        >>> model = KneserNey(order=2).fit([[0, 1, 2, 1, 2]])
        >>> probs = model.next_probs([1])
        >>> int(probs.argmax()), round(float(probs.sum()), 9)
        (2, 1.0)

        """
        vocab = self._vocab()
        ctx, _ = _concat([context])
        _check_vocab(ctx, np.arange(len(ctx)), vocab)
        ctx = ctx[len(ctx) - min(len(ctx), self.order - 1) :]
        targets = np.arange(vocab, dtype=np.int64)
        contexts = [np.zeros(vocab, dtype=np.int64)]  # contexts[j]: the last j context tokens
        for j in range(1, len(ctx) + 1):
            contexts.append(np.full(vocab, self._node_of(ctx[len(ctx) - j :]), dtype=np.int64))
        return self._interpolate(targets, contexts)

    def _extend(
        self, k: int, node: NDArray[np.int64], token: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Nodes of the k-grams made of (k-1)-gram nodes followed by tokens (-1: unseen)."""
        keys = _keys_at(self._keys, k)
        return _lookup(keys, np.where(node >= 0, node * self._vocab() + token, -1))

    def _node_of(self, gram: NDArray[np.int64]) -> int:
        """The node of one n-gram at level ``len(gram)``, or -1 when never seen."""
        node = gram[:1]
        for k in range(2, len(gram) + 1):
            node = self._extend(k, node, gram[k - 1 : k])
        return int(node[0])

    def _score(self, tokens: NDArray[np.int64], pos: NDArray[np.int64]) -> NDArray[np.float64]:
        """Log-probabilities of every target (``pos >= 1``) of concatenated sequences."""
        vocab = self._vocab()
        _check_vocab(tokens, pos, vocab)
        n = self.order
        nodes = [np.zeros(len(tokens), dtype=np.int64), tokens]  # nodes[k][p]: k-gram ending at p
        for k in range(2, n):
            prev = np.concatenate([[-1], nodes[k - 1][:-1]])
            prev = np.where(pos >= k - 1, prev, -1)
            nodes.append(self._extend(k, prev, tokens))
        at = np.flatnonzero(pos >= 1)
        contexts = [np.zeros(len(at), dtype=np.int64)]
        for j in range(1, n):  # contexts[j]: the j tokens before the target
            contexts.append(np.where(pos[at] >= j, nodes[j][at - 1], -1))
        return np.log(self._interpolate(tokens[at], contexts))

    def _interpolate(
        self, targets: NDArray[np.int64], contexts: list[NDArray[np.int64]]
    ) -> NDArray[np.float64]:
        """The recursion: ``contexts[j]`` is the node of the last ``j`` tokens (-1: none)."""
        discount = self.discount
        prob = np.full(len(targets), 1.0 / self._vocab())
        for k in range(1, min(self.order, len(contexts)) + 1):
            ctx = contexts[k - 1]
            seen = ctx >= 0
            if not seen.any():
                break
            gram = targets if k == 1 else self._extend(k, ctx, targets)
            count = _gather(self._counts[k], gram)
            denom = _gather(self._denom[k], ctx)
            types = _gather(self._types[k], ctx)
            mixed = (np.maximum(count - discount, 0.0) + discount * types * prob) / np.maximum(
                denom, 1
            )
            prob = np.where(denom > 0, mixed, prob)
        return prob

    def _vocab(self) -> int:
        if self.vocab_size is None or not self._counts:
            raise RuntimeError("this KneserNey model is not fitted; call fit(sequences) first")
        return self.vocab_size

    # -------------------------------------------------------------- save/load
    def to_dict(self) -> dict[str, Any]:
        """The fitted model as JSON-ready plain data (see :meth:`from_dict`).

        >>> data = KneserNey(order=2).fit([[0, 1, 1]]).to_dict()
        >>> data["order"], data["vocab_size"], data["counts"][0]
        (2, 2, [0, 2])

        """
        vocab = self._vocab()
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "order": self.order,
            "discount": self.discount,
            "vocab_size": vocab,
            "keys": [_keys_at(self._keys, k).tolist() for k in range(2, self.order + 1)],
            "counts": [self._counts[k].tolist() for k in range(1, self.order + 1)],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a model saved by :meth:`to_dict`.

        >>> model = KneserNey(order=2).fit([[0, 1, 1]])
        >>> copy = KneserNey.from_dict(model.to_dict())
        >>> bool(np.allclose(copy.log_probs([0, 1, 1]), model.log_probs([0, 1, 1])))
        True

        """
        if data.get("format") != _FORMAT or data.get("version") != _VERSION:
            raise ValueError(
                f"not a saved KneserNey model: format {data.get('format')!r} version "
                f"{data.get('version')!r}; expected {_FORMAT!r} version {_VERSION}"
            )
        model = cls(int(data["order"]), float(data["discount"]), int(data["vocab_size"]))
        model._keys, model._counts, model._denom, model._types = (
            [None],
            [_EMPTY],
            [_EMPTY],
            [_EMPTY],
        )
        keys = [None, None, *(np.asarray(k, dtype=np.int64) for k in data["keys"])]
        for k in range(1, model.order + 1):
            model._add_level(keys[k], np.asarray(data["counts"][k - 1], dtype=np.int64))
        return model


_EMPTY = np.zeros(0, dtype=np.int64)


def _keys_at(keys: list[NDArray[np.int64] | None], k: int) -> NDArray[np.int64]:
    found = keys[k]
    if found is None:
        raise AssertionError(f"level {k} has no keys")
    return found


def _gather(values: NDArray[np.int64], idx: NDArray[np.int64]) -> NDArray[np.int64]:
    """``values[idx]``, and 0 where ``idx`` is -1."""
    if not len(values):
        return np.zeros(idx.shape, dtype=np.int64)
    return np.where(idx >= 0, values[np.maximum(idx, 0)], 0)


def _lookup(keys: NDArray[np.int64], query: NDArray[np.int64]) -> NDArray[np.int64]:
    """Index of each query in the sorted ``keys``, or -1 (negative queries: -1)."""
    if not len(keys):
        return np.full(query.shape, -1, dtype=np.int64)
    idx = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where((keys[idx] == query) & (query >= 0), idx, -1).astype(np.int64)


def _concat(sequences: Iterable[Tokens]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """All tokens in one array, and each token's position within its sequence."""
    arrays = []
    for i, seq in enumerate(sequences):
        arr = np.asarray(seq)
        if arr.size == 0:
            continue
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise ValueError(
                f"sequence {i}: expected a 1-d sequence of integer token ids, "
                f"got shape {arr.shape} dtype {arr.dtype}"
            )
        arrays.append(arr.astype(np.int64))
    if not arrays:
        return _EMPTY, _EMPTY
    tokens = np.concatenate(arrays)
    lengths = np.array([len(a) for a in arrays])
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return tokens, np.arange(len(tokens), dtype=np.int64) - starts


def _check_vocab(tokens: NDArray[np.int64], pos: NDArray[np.int64], vocab: int) -> None:
    bad = np.flatnonzero((tokens < 0) | (tokens >= vocab))
    if len(bad):
        i = int(bad[0])
        raise ValueError(
            f"token id {int(tokens[i])} at position {int(pos[i])} of its sequence is outside "
            f"the vocabulary 0..{vocab - 1}; pass a larger vocab_size to KneserNey"
        )
