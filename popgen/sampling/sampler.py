"""Batched generation: one jit-compiled ``lax.scan`` that carries the LSTM state.

The network reads each token once: the scan carries the recurrent state, so a
new token costs one step of the network, not a re-run over a window (as in
the 2017 baseline). The core, :func:`generate_ids`, takes a *step function*
``step(carry, token) -> (logits, carry)`` rather than a model, so tests can
drive it with hand-made logits.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import NDArray

from popgen.checkpoint import Run, load_run
from popgen.models.lstm import LSTMModel
from popgen.music import Song
from popgen.sampling.strategies import History, Strategy, chain, follow_grammar, identity
from popgen.tokenizers.base import BOS, EOS, PAD, UNK, Tokenizer

__all__ = ["Sampler", "StepFn", "generate_ids"]

#: ``step(carry, token: int32[batch]) -> (logits: float32[batch, vocab], carry)``.
StepFn = Callable[[Any, jax.Array], tuple[jax.Array, Any]]


def generate_ids(
    step: StepFn,
    carry: Any,
    prompt: jax.Array,
    num_tokens: int,
    strategy: Strategy,
    key: jax.Array,
    *,
    banned: jax.Array | None = None,
) -> jax.Array:
    """Feed ``prompt`` through ``step``, then draw ``num_tokens`` new tokens.

    Args:
        step: the model's one-token step function.
        carry: the initial recurrent state for the batch.
        prompt: ``int32[batch, prompt_len]``, at least one token (e.g. ``BOS``).
        num_tokens: how many tokens to draw after the prompt.
        strategy: transforms the logits before each draw.
        key: PRNG key; the same key gives the same tokens.
        banned: ``bool[vocab]`` tokens never drawn (applied before the strategy).

    Returns:
        ``int32[batch, prompt_len + num_tokens]``: the prompt followed by the draws.

    """
    batch, prompt_len = prompt.shape
    if prompt_len < 1:
        raise ValueError("the prompt needs at least one token (e.g. BOS)")
    total = prompt_len + num_tokens
    buf = jnp.full((batch, total), PAD, jnp.int32).at[:, :prompt_len].set(prompt)

    def body(
        state: tuple[Any, jax.Array, Any, jax.Array], i: jax.Array
    ) -> tuple[tuple[Any, jax.Array, Any, jax.Array], None]:
        carry, buf, strat_state, key = state
        logits, carry = step(carry, buf[:, i])
        if banned is not None:
            logits = jnp.where(banned[None, :], -jnp.inf, logits)
        forced = i + 1 < prompt_len  # still reading the prompt
        new_logits, new_strat = strategy.apply(logits, strat_state, History(buf, i + 1))
        key, sub = jax.random.split(key)
        drawn = jax.random.categorical(sub, new_logits, axis=-1).astype(jnp.int32)
        token = jnp.where(forced, buf[:, i + 1], drawn)
        return (carry, buf.at[:, i + 1].set(token), new_strat, key), None

    init = (carry, buf, strategy.init(batch), key)
    (_, buf, _, _), _ = jax.lax.scan(body, init, jnp.arange(total - 1))
    return buf


class Sampler:
    """Generate songs from a trained model.

    Args:
        model: the model.
        params: its parameters.
        tokenizer: the tokenizer the model was trained with.
        strategy: logits transform before each draw; plain sampling when omitted.
        allow_eos: let the model end a song early; by default ``EOS`` is never
            drawn so every song has exactly ``num_tokens`` new tokens.
        enforce_grammar: apply the tokenizer's grammar before ``strategy``, so
            every generated sequence decodes without a skipped token.

    >>> sampler = Sampler.from_run("run/", strategy=chain(temperature(0.9), top_k(20)))
    ... # doctest: +SKIP
    >>> songs = sampler.generate(num_tokens=400, batch_size=4, seed=0)  # doctest: +SKIP

    """

    def __init__(
        self,
        model: LSTMModel,
        params: Any,
        tokenizer: Tokenizer,
        strategy: Strategy | None = None,
        *,
        allow_eos: bool = False,
        enforce_grammar: bool = True,
    ) -> None:
        if model.vocab_size != tokenizer.vocab_size:
            raise ValueError(
                f"tokenizer has {tokenizer.vocab_size} tokens but the model {model.vocab_size}"
            )
        self.model = model
        self.params = params
        self.tokenizer = tokenizer
        self.strategy = strategy or identity()
        grammar = tokenizer.grammar() if enforce_grammar else None
        if grammar is not None:
            self.strategy = chain(follow_grammar(grammar.table, grammar.start), self.strategy)
        banned = np.zeros(tokenizer.vocab_size, dtype=bool)
        banned[[PAD, BOS, UNK]] = True
        banned[EOS] = not allow_eos
        self._banned = jnp.asarray(banned)
        self._compiled = jax.jit(self._run, static_argnums=(3,))

    @classmethod
    def from_run(
        cls,
        run: Run | str | os.PathLike[str],
        strategy: Strategy | None = None,
        *,
        allow_eos: bool = False,
        enforce_grammar: bool = True,
    ) -> Sampler:
        """A sampler for a :class:`popgen.Run` or a run directory."""
        if not isinstance(run, Run):
            run = load_run(run)
        return cls(
            run.model,
            run.params,
            run.tokenizer,
            strategy,
            allow_eos=allow_eos,
            enforce_grammar=enforce_grammar,
        )

    def _run(self, params: Any, prompt: jax.Array, key: jax.Array, num_tokens: int) -> jax.Array:
        def step(carry: Any, token: jax.Array) -> tuple[jax.Array, Any]:
            out: tuple[jax.Array, Any] = self.model.apply(
                params, carry, token, method=LSTMModel.step
            )
            return out

        carry = self.model.init_carry(prompt.shape[0])
        return generate_ids(
            step, carry, prompt, num_tokens, self.strategy, key, banned=self._banned
        )

    def prompt_ids(self, primer: Song | NDArray[np.integer[Any]] | None) -> NDArray[np.int32]:
        """The prompt as ids: ``[BOS]`` alone, or BOS plus the primer's tokens."""
        if primer is None:
            return np.array([BOS], dtype=np.int32)
        if isinstance(primer, Song):
            return self.tokenizer.encode(primer, eos=False)
        ids = np.asarray(primer, dtype=np.int32).ravel()
        if len(ids) and (ids.min() < 0 or ids.max() >= self.tokenizer.vocab_size):
            raise ValueError(
                f"primer token ids must be in 0..{self.tokenizer.vocab_size - 1}, "
                f"got {ids.min()}..{ids.max()}"
            )
        return ids if len(ids) and ids[0] == BOS else np.concatenate([[BOS], ids]).astype(np.int32)

    def generate_ids(
        self,
        num_tokens: int,
        *,
        batch_size: int = 1,
        seed: int = 0,
        primer: Song | NDArray[np.integer[Any]] | None = None,
    ) -> NDArray[np.int32]:
        """``int32[batch_size, prompt_len + num_tokens]``: prompt (with BOS) and new tokens."""
        if num_tokens < 1:
            raise ValueError(f"num_tokens must be >= 1, got {num_tokens}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        prompt = np.tile(self.prompt_ids(primer), (batch_size, 1))
        out = self._compiled(self.params, jnp.asarray(prompt), jax.random.key(seed), num_tokens)
        return np.asarray(out)

    def generate(
        self,
        num_tokens: int = 400,
        *,
        batch_size: int = 1,
        seed: int = 0,
        primer: Song | NDArray[np.integer[Any]] | None = None,
        include_primer: bool = True,
    ) -> list[Song]:
        """Generate ``batch_size`` songs of ``num_tokens`` new tokens each.

        Args:
            num_tokens: tokens to draw per song (a note is three tokens in ``note``).
            batch_size: songs generated together; each differs.
            seed: the same seed gives the same songs.
            primer: a Song or token ids the songs continue; a Song's tempo,
                time signatures and key are kept.
            include_primer: put the primer at the start of each song.

        Returns:
            One :class:`popgen.Song` per batch member.

        """
        ids = self.generate_ids(num_tokens, batch_size=batch_size, seed=seed, primer=primer)
        skip = 0 if include_primer else len(self.prompt_ids(primer))
        meta: dict[str, Any] = {}
        if isinstance(primer, Song):
            meta = {"tempos": primer.tempos, "time_signatures": primer.time_signatures}
            meta["key"] = primer.key
        songs = []
        for i, row in enumerate(ids):
            song = self.tokenizer.decode(row[skip:])
            songs.append(song.replace(title=f"popgen sample {i}", source="popgen", **meta))
        return songs
