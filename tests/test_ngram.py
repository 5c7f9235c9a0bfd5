"""The Kneser-Ney baseline: hand-computed values, a brute-force twin, normalisation."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.metrics.ngram import KneserNey

D = 0.75


class BruteKneserNey:
    """Interpolated Kneser-Ney straight from the definitions, with dicts and loops."""

    def __init__(self, corpus: list[list[int]], order: int, discount: float, vocab: int) -> None:
        self.order, self.discount, self.vocab = order, discount, vocab
        self.raw: Counter[tuple[int, ...]] = Counter()
        self.start: Counter[tuple[int, ...]] = Counter()
        self.left: defaultdict[tuple[int, ...], set[int]] = defaultdict(set)
        for seq in corpus:
            for end in range(1, len(seq)):  # every target
                for k in range(1, order + 1):
                    first = end - k + 1
                    if first < 0:
                        break
                    gram = tuple(seq[first : end + 1])
                    if k == order:
                        self.raw[gram] += 1
                    elif first == 0:
                        self.start[gram] += 1
                    else:
                        self.left[gram].add(seq[first - 1])

    def count(self, gram: tuple[int, ...]) -> int:
        if len(gram) == self.order:
            return self.raw[gram]
        return len(self.left.get(gram, ())) + self.start[gram]

    def prob(self, word: int, context: tuple[int, ...]) -> float:
        context = context[len(context) - min(len(context), self.order - 1) :]
        lower = self.prob(word, context[1:]) if context else 1.0 / self.vocab
        counts = [self.count((*context, v)) for v in range(self.vocab)]
        total = sum(counts)
        if total == 0:
            return lower
        types = sum(c > 0 for c in counts)
        return (max(counts[word] - self.discount, 0) + self.discount * types * lower) / total


corpora = st.lists(st.lists(st.integers(0, 4), max_size=12), min_size=1, max_size=6).filter(
    lambda c: any(c)
)


# ------------------------------------------------------------- hand-computed
def test_bigram_by_hand() -> None:
    # bigram raw counts: (1,2): 2, (2,3): 3, (3,2): 1
    # unigram continuation counts: 2 <- {1, 3}: 2; 3 <- {2}: 1; total 3, 2 types
    # P1(2) = (2 - .75 + .75 * 2 / 4) / 3;  P1(3) = (1 - .75 + .75 * 2 / 4) / 3
    model = KneserNey(order=2, discount=D).fit([[1, 2, 3, 2, 3], [1, 2, 3]])
    p1_2 = (2 - D + D * 2 / 4) / 3
    p1_3 = (1 - D + D * 2 / 4) / 3
    expected = [(2 - D + D * 1 * p1_2) / 2, (3 - D + D * 1 * p1_3) / 3]
    assert np.allclose(np.exp(model.log_probs([1, 2, 3])), expected, rtol=0, atol=1e-12)
    assert np.allclose(np.exp(model.log_probs([1, 2, 3])), [0.828125, 0.8020833333333334])
    # an unseen token after a seen context: only the backed-off share of the uniform
    assert math.isclose(float(model.next_probs([1])[0]), D * 1 * (D * 2 / 4 / 3) / 2)


def test_short_context_at_sequence_start_by_hand() -> None:
    # order 3, every sequence starts with 5: position 1 has the 1-token context [5].
    # bigram counts are adjusted: (5,1) starts 2 sequences -> 2, (5,2) -> 1 (raw, like <s>).
    # unigram continuation counts: 1 <- {5}: 1; 2 <- {1, 5}: 2; 3 <- {1, 2}: 2 -> 5, 3 types.
    model = KneserNey(order=3, discount=D, vocab_size=6).fit([[5, 1, 2], [5, 1, 3], [5, 2, 3]])
    p1_1 = (1 - D + D * 3 / 6) / 5
    expected = (2 - D + D * 2 * p1_1) / 3
    assert math.isclose(float(np.exp(model.log_probs([5, 1])[0])), expected, abs_tol=1e-12)
    assert math.isclose(expected, 0.4791666666666667)


def test_unigram_model() -> None:
    model = KneserNey(order=1, discount=0.5, vocab_size=4).fit([[3, 1, 1, 2]])
    # targets 1, 1, 2 (the first token is never predicted): raw counts, 2 types
    expected = [(2 - 0.5 + 0.5 * 2 / 4) / 3, (1 - 0.5 + 0.5 * 2 / 4) / 3, 0.5 * 2 / 4 / 3]
    assert np.allclose(model.next_probs([]), [expected[2], expected[0], expected[1], expected[2]])
    assert np.allclose(model.next_probs([0, 2, 3]), model.next_probs([]))


# -------------------------------------------------------- against brute force
@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    corpus=corpora,
    order=st.integers(1, 4),
    discount=st.floats(0.05, 1.0),
    extra=st.integers(0, 2),
    queries=st.lists(st.lists(st.integers(0, 6), max_size=9), min_size=1, max_size=3),
)
def test_matches_brute_force(
    corpus: list[list[int]], order: int, discount: float, extra: int, queries: list[list[int]]
) -> None:
    vocab = max(max(s, default=0) for s in corpus) + 1 + extra
    vocab = max(vocab, 7)
    model = KneserNey(order, discount, vocab_size=vocab).fit(corpus)
    brute = BruteKneserNey(corpus, order, discount, vocab)
    for query in queries:
        want = [math.log(brute.prob(query[i], tuple(query[:i]))) for i in range(1, len(query))]
        assert np.allclose(model.log_probs(query), want, rtol=0, atol=1e-9)
    for context in ([], *(q[:3] for q in queries), corpus[0]):
        want = [brute.prob(w, tuple(context)) for w in range(vocab)]
        assert np.allclose(model.next_probs(context), want, rtol=0, atol=1e-12)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    corpus=corpora,
    order=st.integers(1, 5),
    discount=st.floats(0.01, 1.0),
    contexts=st.lists(st.lists(st.integers(0, 9), max_size=6), min_size=1, max_size=4),
)
def test_normalised_for_any_context(
    corpus: list[list[int]], order: int, discount: float, contexts: list[list[int]]
) -> None:
    model = KneserNey(order, discount, vocab_size=10).fit(corpus)  # tokens 5..9 never seen
    for context in [*contexts, corpus[0], [9, 9, 9, 9]]:
        probs = model.next_probs(context)
        assert probs.shape == (10,)
        assert abs(float(probs.sum()) - 1.0) < 1e-9
        assert probs.min() > 0
        if context:  # log_probs scores the same distribution at the sequence's end
            for word in (0, 9):
                logp = model.log_probs([*context, word])[-1]
                assert math.isclose(float(np.exp(logp)), float(probs[word]), rel_tol=1e-12)


def test_normalised_on_a_larger_corpus() -> None:
    rng = np.random.default_rng(1)
    corpus = [rng.integers(0, 30, size=rng.integers(1, 200)) for _ in range(40)]
    model = KneserNey(order=4, vocab_size=40).fit(corpus)
    for context in (corpus[3][:10], corpus[5][-3:], [39, 38, 37], [1], []):
        probs = model.next_probs(context)
        assert abs(float(probs.sum()) - 1.0) < 1e-9
        assert probs[30:].min() > 0  # never-seen tokens still possible


# -------------------------------------------------------------- scoring API
def test_log_probs_and_nll_agree_and_skip_pad() -> None:
    model = KneserNey(order=3).fit([[1, 4, 5, 4, 5, 2], [1, 4, 4, 5, 2]])
    seq = np.array([1, 4, 5, 2, 0, 0], dtype=np.int32)
    logp = model.log_probs(seq)
    assert logp.shape == (5,) and logp.dtype == np.float64
    nats, count = model.nll([seq, [1, 5]])
    assert count == 3 + 1
    assert math.isclose(nats, -(logp[:3].sum() + model.log_probs([1, 5]).sum()))
    nats_all, count_all = model.nll([seq], ignore=None)
    assert count_all == 5 and math.isclose(nats_all, -logp.sum())
    assert model.log_probs([]).shape == (0,) and model.log_probs([3]).shape == (0,)
    assert model.nll([]) == (0.0, 0)


def test_learns_structure() -> None:
    rng = np.random.default_rng(0)
    train = [np.tile([1, 2, 3, 4], 20) for _ in range(5)] + [rng.integers(1, 5, 80)]
    model = KneserNey(order=3).fit(train)
    nats, count = model.nll([np.tile([1, 2, 3, 4], 5)])
    assert nats / count < 0.2 < math.log(model.vocab_size or 1)


def test_json_round_trip() -> None:
    corpus = [[1, 2, 3, 1, 2, 4], [2, 3, 1]]
    model = KneserNey(order=3, discount=0.6).fit(corpus)
    data = json.loads(json.dumps(model.to_dict()))
    again = KneserNey.from_dict(data)
    assert (again.order, again.discount, again.vocab_size) == (3, 0.6, 5)
    for seq in ([1, 2, 3, 4], [4, 4, 0, 1]):
        assert np.array_equal(again.log_probs(seq), model.log_probs(seq))
    with pytest.raises(ValueError, match="not a saved KneserNey"):
        KneserNey.from_dict({"format": "other"})


def test_refit_infers_the_vocabulary_again() -> None:
    model = KneserNey(order=2)
    assert model.fit([[0, 1, 2]]).vocab_size == 3
    assert model.fit([[0, 5]]).vocab_size == 6


def test_refit_replaces_counts() -> None:
    model = KneserNey(order=2, vocab_size=5)
    first = model.fit([[1, 2, 1, 2]]).log_probs([1, 2])
    model.fit([[3, 4, 3, 4]])
    assert not np.allclose(model.log_probs([1, 2]), first)
    assert np.allclose(
        model.log_probs([1, 2]), KneserNey(2, vocab_size=5).fit([[3, 4, 3, 4]]).log_probs([1, 2])
    )


# ----------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"order": 0}, "order must be"),
        ({"discount": 0.0}, "discount must be"),
        ({"discount": 1.5}, "discount must be"),
        ({"vocab_size": 0}, "vocab_size must be"),
    ],
)
def test_bad_settings(kwargs: dict[str, float], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        KneserNey(**kwargs)  # type: ignore[arg-type]


def test_bad_tokens() -> None:
    with pytest.raises(RuntimeError, match="not fitted"):
        KneserNey().log_probs([1, 2])
    with pytest.raises(ValueError, match="without vocab_size"):
        KneserNey().fit([[]])
    with pytest.raises(ValueError, match="outside the vocabulary 0..2"):
        KneserNey(vocab_size=3).fit([[0, 1, 3]])
    model = KneserNey(order=2).fit([[0, 1, 2]])
    with pytest.raises(ValueError, match="token id 7 at position 1"):
        model.log_probs([1, 7])
    with pytest.raises(ValueError, match="token id -1"):
        model.next_probs([-1])
    with pytest.raises(ValueError, match="integer token ids"):
        model.log_probs(np.array([0.5, 1.0]))
