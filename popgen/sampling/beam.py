"""Beam search over a step function: the most likely continuations, not random ones.

Same interface as :func:`popgen.sampling.generate_ids`: a step function
``step(carry, token) -> (logits, carry)``, a prompt whose tokens are forced,
and a strategy. The strategy (with the tokenizer's grammar, when the
:class:`~popgen.sampling.Sampler` calls it) and ``banned`` decide which tokens
a beam may take; the score is the model's own log-probability of the tokens
taken (from the raw logits, before any strategy; at least ``-1e9`` per token,
so an allowed token of probability 0 still beats a forbidden one), divided by
``length ** length_penalty``. The whole search is one ``lax.scan``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from popgen.checks import whole_number
from popgen.sampling.strategies import History, Strategy, identity
from popgen.tokenizers.base import PAD

__all__ = ["BeamResult", "beam_search"]

#: The log-probability counted for an allowed token the model gives probability 0,
#: so that it still ranks above a forbidden one (``-inf``).
_FLOOR = -1e9


class BeamResult(NamedTuple):
    """The beams of :func:`beam_search`, best first.

    Attributes:
        tokens: ``int32[batch, beam_size, prompt_len + num_tokens]``: prompt and
            continuation; after a beam's ``stop_token`` come ``PAD`` tokens.
        scores: ``float32[batch, beam_size]``: log-probability of the generated
            tokens divided by ``length ** length_penalty`` (``-inf`` for a beam
            that never found an allowed token).

    >>> import jax.numpy as jnp
    >>> table = jnp.log(jnp.array([[0.1, 0.5, 0.4], [0.4, 0.3, 0.3], [0.05, 0.9, 0.05]]))
    >>> step = lambda carry, token: (table[token], carry)
    >>> out = beam_search(step, (), jnp.zeros((1, 1), jnp.int32), 2, beam_size=2)
    >>> out.tokens.tolist(), [round(float(s), 3) for s in out.scores[0]]  # log(.4 * .9) / 2, ...
    ([[[0, 2, 1], [0, 1, 0]]], [-0.511, -0.805])

    """

    tokens: jax.Array
    scores: jax.Array


def beam_search(
    step: Any,
    carry: Any,
    prompt: jax.Array,
    num_tokens: int,
    *,
    beam_size: int,
    strategy: Strategy | None = None,
    banned: jax.Array | None = None,
    length_penalty: float | jax.Array = 1.0,
    stop_token: int | None = None,
) -> BeamResult:
    """Keep the ``beam_size`` best continuations of ``prompt`` at every step.

    Args:
        step: ``step(carry, token: int32[rows]) -> (float32[rows, vocab], carry)``.
        carry: the initial state for ``batch`` rows; every leaf with a leading
            axis is copied for each beam (scalar leaves are shared).
        prompt: ``int32[batch, prompt_len]``, at least one token.
        num_tokens: tokens to add after the prompt, ``>= 1``.
        beam_size: beams kept, ``>= 1`` (1 is greedy decoding).
        strategy: decides the allowed tokens; its state leaves need a leading
            batch axis (all built-ins have one). Default: every token.
        banned: ``bool[vocab]`` tokens never taken.
        length_penalty: ``alpha`` in ``score = log p / length ** alpha``; 0 ranks
            by total log-probability, 1 by mean log-probability per token.
        stop_token: a token that ends a beam (e.g. ``EOS``); an ended beam keeps
            its score and length while the others go on.

    Returns:
        The beams, best first (see :class:`BeamResult`).

    >>> import jax, jax.numpy as jnp
    >>> table = jnp.log(jnp.array([[0.1, 0.5, 0.4], [0.4, 0.3, 0.3], [0.05, 0.9, 0.05]]))
    >>> step = lambda carry, token: (table[token], carry)
    >>> out = beam_search(step, (), jnp.zeros((1, 1), jnp.int32), 2, beam_size=2)
    >>> out.tokens[0, 0].tolist()  # p = .4 * .9 beats greedy's 0 -> 1 -> 0, p = .5 * .4
    [0, 2, 1]

    """
    batch, prompt_len = prompt.shape
    if prompt_len < 1:
        raise ValueError("the prompt needs at least one token (e.g. BOS)")
    whole_number(num_tokens, "num_tokens")
    whole_number(beam_size, "beam_size")
    if isinstance(length_penalty, int | float) and length_penalty < 0:
        raise ValueError(f"length_penalty must be >= 0, got {length_penalty}")
    strategy = strategy or identity()
    k, total = beam_size, prompt_len + num_tokens
    rows = batch * k
    alpha = jnp.asarray(length_penalty, jnp.float32)
    buf = jnp.full((rows, total), PAD, jnp.int32).at[:, :prompt_len].set(jnp.repeat(prompt, k, 0))
    carry = jax.tree.map(lambda x: jnp.repeat(x, k, 0) if jnp.ndim(x) else x, carry)
    # only the first copy of each row is alive, so the first step does not pick duplicates
    sums = jnp.where(jnp.arange(k) == 0, 0.0, -jnp.inf)[None, :].repeat(batch, 0)
    lengths = jnp.zeros((batch, k), jnp.int32)
    finished = jnp.zeros((batch, k), bool)
    keep = jnp.broadcast_to(jnp.arange(k), (batch, k))

    def reorder(x: Any, parent: jax.Array) -> Any:
        if jnp.ndim(x) == 0 or x.shape[0] != rows:
            return x
        beams = x.reshape(batch, k, *x.shape[1:])
        return beams[jnp.arange(batch)[:, None], parent].reshape(x.shape)

    def body(state: tuple[Any, ...], i: jax.Array) -> tuple[tuple[Any, ...], None]:
        carry, buf, strat, sums, lengths, finished = state
        logits, carry = step(carry, buf[:, i])
        vocab = logits.shape[-1]
        log_probs = jnp.maximum(jax.nn.log_softmax(logits, axis=-1), _FLOOR)
        if banned is not None:
            logits = jnp.where(banned[None, :], -jnp.inf, logits)
        shaped, strat = strategy.apply(logits, strat, History(buf, i + 1))
        allowed = jnp.isfinite(shaped)
        allowed = jnp.where(allowed.any(-1, keepdims=True), allowed, jnp.isfinite(logits))
        step_lp = jnp.where(allowed, log_probs, -jnp.inf).reshape(batch, k, vocab)
        pad_only = jnp.where(jnp.arange(vocab) == PAD, 0.0, -jnp.inf)  # ended beams idle
        step_lp = jnp.where(finished[..., None], pad_only, step_lp)
        cand = (sums[..., None] + step_lp).reshape(batch, k * vocab)
        cand_len = jnp.where(finished, lengths, lengths + 1)
        norm = cand / jnp.repeat(cand_len.astype(jnp.float32) ** alpha, vocab, axis=-1)
        flat = jax.lax.top_k(norm, k)[1]
        parent, token = flat // vocab, (flat % vocab).astype(jnp.int32)
        ended = jnp.take_along_axis(finished, parent, -1)
        if stop_token is not None:
            ended = ended | (token == stop_token)
        forced = i + 1 < prompt_len
        parent = jnp.where(forced, keep, parent)
        token = jnp.where(forced, buf[:, i + 1].reshape(batch, k), token)
        sums = jnp.where(forced, sums, jnp.take_along_axis(cand, flat, -1))
        lengths = jnp.where(forced, lengths, jnp.take_along_axis(cand_len, parent, -1))
        finished = jnp.where(forced, finished, ended)
        buf = reorder(buf, parent).at[:, i + 1].set(token.reshape(rows))
        carry = jax.tree.map(lambda x: reorder(x, parent), carry)
        strat = jax.tree.map(lambda x: reorder(x, parent), strat)
        return (carry, buf, strat, sums, lengths, finished), None

    init = (carry, buf, strategy.init(rows), sums, lengths, finished)
    (_, buf, _, sums, lengths, _), _ = jax.lax.scan(body, init, jnp.arange(total - 1))
    scores = sums / jnp.maximum(lengths, 1).astype(jnp.float32) ** alpha
    order = jnp.argsort(-scores, axis=-1)
    tokens = buf.reshape(batch, k, total)[jnp.arange(batch)[:, None], order]
    return BeamResult(tokens, jnp.take_along_axis(scores, order, -1))
