"""Batched generation: one jit-compiled ``lax.scan`` that carries the LSTM state.

The network reads each token once: the scan carries the recurrent state, so a
new token costs one step of the network, not a re-run over a window (as in
the 2017 baseline). The core, :func:`generate_ids`, takes a *step function*
``step(carry, token) -> (logits, carry)`` rather than a model, so tests can
drive it with hand-made logits.

Besides drawing, the module offers "sample N, keep the most likely"
(``Sampler.generate(best_of=N)``, scored by each sequence's mean
log-probability under the model), beam search (:mod:`popgen.sampling.beam`)
and primers cut from a corpus (:mod:`popgen.sampling.primers`). Generated songs
are cleaned for playback (:meth:`popgen.Song.cleaned`): no overlapping notes
of one pitch, none shorter than ``min_duration``.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp
import numpy as np
from numpy.typing import NDArray

from popgen.checks import whole_number
from popgen.errors import VocabularyError
from popgen.models.base import SequenceModel, StepFn
from popgen.models.featured import with_step_features
from popgen.music.song import Song, Track
from popgen.music.time import TimeSignature
from popgen.runs.load import load_run
from popgen.runs.run import Run
from popgen.sampling.beam import beam_search
from popgen.sampling.progress import EVERY, StepProgress
from popgen.sampling.recipe import run_recipe
from popgen.sampling.strategies import History, Strategy, chain, follow_grammar, identity
from popgen.tokenizers.base import BOS, EOS, PAD, UNK, Tokenizer

if TYPE_CHECKING:
    from popgen.sampling.controls import Controls

__all__ = ["Sampler", "StepFn", "generate_ids", "generate_scored"]

_Primer = Song | NDArray[np.integer[Any]] | None


def generate_scored(
    step: StepFn,
    carry: Any,
    prompt: jax.Array,
    num_tokens: int,
    strategy: Strategy,
    key: jax.Array,
    *,
    banned: jax.Array | None = None,
    stop_token: int | None = None,
    progress: Callable[[Any], None] | None = None,
) -> tuple[jax.Array, jax.Array]:
    """Feed ``prompt`` through ``step``, draw ``num_tokens`` new tokens, and score them.

    Args:
        step: the model's one-token step function.
        carry: the initial recurrent state for the batch.
        prompt: ``int32[batch, prompt_len]``, at least one token (e.g. ``BOS``).
        num_tokens: how many tokens to draw after the prompt.
        strategy: transforms the logits before each draw. Where it leaves a
            row with no finite logit, that row is drawn from the logits before
            the strategy instead (a last guard; built-ins never do that).
        key: PRNG key; the same key gives the same tokens.
        banned: ``bool[vocab]`` tokens never drawn (applied before the strategy).
        stop_token: tokens after the first drawn ``stop_token`` are not scored.
        progress: called from the loop with its step every
            :data:`popgen.sampling.progress.EVERY` steps (a host callback: the
            tokens drawn stay the same).

    Returns:
        ``int32[batch, prompt_len + num_tokens]`` (the prompt followed by the
        draws) and ``float32[batch]``, the mean log-probability of the drawn
        tokens under ``step``'s logits (before banning and strategy).

    >>> import jax, jax.numpy as jnp
    >>> from popgen.sampling import identity
    >>> step = lambda carry, token: (jnp.log(jnp.full((len(token), 2), 0.5)), carry)  # a coin
    >>> ids, scores = generate_scored(step, (), jnp.zeros((3, 1), jnp.int32), 4, identity(),
    ...                               jax.random.key(0))
    >>> ids.shape, [round(float(s), 3) for s in scores]  # log(0.5) per token
    ((3, 5), [-0.693, -0.693, -0.693])

    """
    batch, prompt_len = prompt.shape
    if prompt_len < 1:
        raise ValueError("the prompt needs at least one token (e.g. BOS)")
    total = prompt_len + num_tokens
    buf = jnp.full((batch, total), PAD, jnp.int32).at[:, :prompt_len].set(prompt)

    # the token fed to the model comes from the loop's state and a forced one from the scan's
    # inputs, not from the buffer: a read of the buffer that XLA may move after its update
    # makes it copy the whole buffer at every step (quadratic in the song's length)
    ahead = jnp.full((total - 1, batch), PAD, jnp.int32).at[: prompt_len - 1].set(prompt[:, 1:].T)

    def body(
        state: tuple[Any, ...], xs: tuple[jax.Array, jax.Array, jax.Array]
    ) -> tuple[Any, None]:
        carry, prev, buf, strat_state, score, count, live = state
        i, u, given = xs
        logits, carry = step(carry, prev)
        allowed = logits if banned is None else jnp.where(banned[None, :], -jnp.inf, logits)
        forced = i + 1 < prompt_len  # still reading the prompt
        history = History(buf, i + 1, prev)
        shaped, strat_state = strategy.apply(allowed, strat_state, history)
        shaped = jnp.where(jnp.isfinite(shaped).any(-1, keepdims=True), shaped, allowed)
        token = jnp.where(forced, given, _draw(shaped, u))
        log_p = jnp.take_along_axis(jax.nn.log_softmax(logits, -1), token[:, None], -1)[:, 0]
        counted = live & ~forced
        score = score + jnp.where(counted, log_p, 0.0)
        count = count + counted
        if stop_token is not None:
            live = live & ~(counted & (token == stop_token))
        buf = buf.at[:, i + 1].set(token)
        if progress is not None:
            report = progress
            jax.lax.cond(i % EVERY == 0, lambda: jax.debug.callback(report, i), lambda: None)
        return (carry, token, buf, strat_state, score, count, live), None

    zeros = jnp.zeros((batch,), jnp.float32)
    init = (carry, prompt[:, 0], buf, strategy.init(batch), zeros, zeros, jnp.ones((batch,), bool))
    uniforms = jax.random.uniform(key, (total - 1, batch))
    xs = (jnp.arange(total - 1), uniforms, ahead)
    (_, _, buf, _, score, count, _), _ = jax.lax.scan(body, init, xs)
    return buf, score / jnp.maximum(count, 1.0)


def _guarded(strategy: Strategy) -> Strategy:
    """``strategy``, except that a row it would leave with no finite logit keeps its input."""

    def apply(logits: jax.Array, state: Any, history: History) -> tuple[jax.Array, Any]:
        out, state = strategy.apply(logits, state, history)
        return jnp.where(jnp.isfinite(out).any(-1, keepdims=True), out, logits), state

    return Strategy(strategy.init, apply)


def _draw(logits: jax.Array, u: jax.Array) -> jax.Array:
    """Draw one token per row from ``softmax(logits)`` by inverting its CDF at ``u``.

    One uniform per row instead of a Gumbel number per token keeps the random
    numbers out of the per-step cost. Tokens of probability 0 are never drawn.

    Args:
        logits: ``float32[batch, vocab]`` with at least one finite entry per row.
        u: ``float32[batch]`` in ``[0, 1)``.

    Returns:
        ``int32[batch]``.

    """
    probs = jax.nn.softmax(logits, axis=-1)
    cdf = jnp.cumsum(probs, axis=-1)
    token = (cdf <= u[:, None] * cdf[:, -1:]).sum(axis=-1)
    last = probs.shape[-1] - 1 - jnp.argmax(probs[:, ::-1] > 0, axis=-1)  # last possible token
    return jnp.minimum(token, last).astype(jnp.int32)


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
    """:func:`generate_scored` without the scores: ``int32[batch, prompt_len + num_tokens]``.

    A step function that always favours the token after the last one:

    >>> import jax, jax.numpy as jnp
    >>> from popgen.sampling import greedy
    >>> step = lambda carry, token: (10.0 * jax.nn.one_hot((token + 1) % 4, 4), carry)
    >>> generate_ids(step, (), jnp.array([[0], [2]]), 5, greedy(), jax.random.key(0)).tolist()
    [[0, 1, 2, 3, 0, 1], [2, 3, 0, 1, 2, 3]]
    """
    return generate_scored(step, carry, prompt, num_tokens, strategy, key, banned=banned)[0]


#: The meter a decoded song has when its encoding writes none.
_PLAIN_METER = (TimeSignature(0.0, 4, 4),)


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
            every generated sequence decodes without a skipped token. Where
            ``strategy`` would leave no token, the grammar's choice is kept.
        min_duration: the shortest note written, in beats (see
            :meth:`popgen.Song.cleaned`).
        meter: the time signature of the songs written (a primer song's
            wins; so do meters an encoding writes itself), e.g. ``(3, 4)``.
        track: the track (name, program, role) of single-track songs written;
            a primer song's wins.
        progress: show a tqdm bar while generating (``popgen generate`` does);
            the songs are the same.

    >>> import jax, jax.numpy as jnp
    >>> from popgen import LSTMModel
    >>> from popgen import get_tokenizer
    >>> from popgen.sampling import chain, temperature, top_k
    >>> tok = get_tokenizer("chord")  # one note per token
    >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    >>> params = model.init_params(key=jax.random.key(0))  # untrained
    >>> sampler = Sampler(model, params, tok, strategy=chain(temperature(0.9), top_k(20)))
    >>> songs = sampler.generate(num_tokens=8, batch_size=2, seed=0)
    >>> [(song.title, song.num_notes, song.end) for song in songs]  # 8 tokens of half a beat
    [('popgen sample 0', 8, 4.0), ('popgen sample 1', 8, 4.0)]

    For a trained model, ``Sampler.from_run("runs/folk", strategy=...)``.

    """

    def __init__(
        self,
        model: SequenceModel,
        params: Any,
        tokenizer: Tokenizer,
        strategy: Strategy | None = None,
        *,
        allow_eos: bool = False,
        enforce_grammar: bool = True,
        min_duration: float = 1 / 16,
        meter: tuple[int, int] = (4, 4),
        track: Track | None = None,
        progress: bool = False,
    ) -> None:
        if model.vocab_size != tokenizer.vocab_size:
            raise ValueError(
                f"tokenizer has {tokenizer.vocab_size} tokens but the model {model.vocab_size}"
            )
        if not min_duration > 0:
            raise ValueError(f"min_duration must be > 0 beats, got {min_duration}")
        self.model = model
        self._net = with_step_features(model, tokenizer)  # with its encoding's step features
        self.params = params
        self.tokenizer = tokenizer
        self.min_duration = min_duration
        self.meter = (int(meter[0]), int(meter[1]))
        self.track = track
        self.strategy = _guarded(strategy or identity())
        grammar = tokenizer.grammar() if enforce_grammar else None
        if grammar is not None:
            self.strategy = chain(follow_grammar(grammar.table, grammar.start), self.strategy)
        self._grammar = grammar or tokenizer.grammar()
        banned = np.zeros(tokenizer.vocab_size, dtype=bool)
        banned[[PAD, BOS, UNK]] = True
        banned[EOS] = not allow_eos
        #: tokens never drawn, and the token that ends a song (scores stop there); host
        #: arrays reach the device by device_put here, which compiles nothing (jnp.asarray
        #: compiles a program per shape in every fresh process)
        self._limits: dict[str, Any] = {
            "banned": jax.device_put(banned),
            "stop_token": EOS if allow_eos else None,
        }
        #: a tqdm bar while generating (``progress=True``; the tokens drawn are the same)
        self._progress = StepProgress() if progress else None
        self._sample = jax.jit(self._run, static_argnums=(3,))
        self._beam = jax.jit(self._run_beam, static_argnums=(2, 3))
        self._controlled = jax.jit(self._run_controlled, static_argnums=(3, 6, 7))

    @classmethod
    def from_run(
        cls,
        run: Run | str | os.PathLike[str],
        strategy: Strategy | str | None = None,
        **options: Any,
    ) -> Sampler:
        """A sampler for a :class:`popgen.Run` or a run directory; options as for ``Sampler``.

        Samples as the run recommends (:attr:`popgen.Run.usage`): with its
        recorded strategy (``popgen generate``'s recipe unless the run says
        otherwise), in its training songs' meter and on their track. A ``strategy`` given,
        as a :class:`Strategy` or a spec string, wins; ``""`` samples plainly.

        >>> import jax, jax.numpy as jnp
        >>> from popgen import LSTMModel
        >>> from popgen import get_tokenizer
        >>> tok = get_tokenizer("chord")  # one note per token
        >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
        >>> params = model.init_params(key=jax.random.key(0))  # untrained
        >>> sampler = Sampler.from_run(Run(model, tok, params), min_duration=0.25)
        >>> sampler.generate(num_tokens=8)[0].num_notes
        8
        """
        from popgen.sampling.spec import parse_strategy

        if not isinstance(run, Run):
            run = load_run(run)
        if strategy is None:
            strategy = run_recipe(run)
        if isinstance(strategy, str):
            strategy = parse_strategy(strategy, run.tokenizer)
        options.setdefault("meter", run.usage.meter)
        options.setdefault("track", run.usage.track)
        return cls(run.model, run.params, run.tokenizer, strategy, **options)

    def _step(self, params: Any) -> StepFn:
        return self._net.make_step(params)

    def _run(
        self, params: Any, prompt: jax.Array, key: jax.Array, num_tokens: int
    ) -> tuple[jax.Array, jax.Array]:
        step, carry = self._step(params), self._net.init_carry(prompt.shape[0])
        return generate_scored(
            step, carry, prompt, num_tokens, self.strategy, key,
            progress=self._report(), **self._limits,
        )  # fmt: skip

    def _report(self) -> Callable[[Any], None] | None:
        return None if self._progress is None else self._progress.report

    def _run_controlled(
        self,
        params: Any,
        prompt: jax.Array,
        key: jax.Array,
        num_tokens: int,
        prefixes: jax.Array,
        lengths: jax.Array,
        max_bar_tokens: int,
        tokens: tuple[int, tuple[int, ...]],
    ) -> tuple[jax.Array, jax.Array]:
        from popgen.sampling.follow import follow_controls

        assert self._grammar is not None  # checked by schedule()
        controls = follow_controls(
            prefixes,
            lengths,
            bar_token=tokens[0],
            section_tokens=tokens[1],
            end_token=EOS,
            table=self._grammar.table,
            start=self._grammar.start,
            max_bar_tokens=max_bar_tokens,
        )
        step, carry = self._step(params), self._net.init_carry(prompt.shape[0])
        strategy = chain(self.strategy, controls)
        return generate_scored(
            step, carry, prompt, num_tokens, strategy, key,
            banned=self._limits["banned"], stop_token=EOS, progress=self._report(),
        )  # fmt: skip

    def _run_beam(
        self, params: Any, prompt: jax.Array, num_tokens: int, beam_size: int, alpha: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        step, carry = self._step(params), self._net.init_carry(prompt.shape[0])
        out = beam_search(
            step,
            carry,
            prompt,
            num_tokens,
            beam_size=beam_size,
            strategy=self.strategy,
            length_penalty=alpha,
            **self._limits,
        )
        return out.tokens, out.scores

    def prompt_ids(self, primer: _Primer) -> NDArray[np.int32]:
        """The prompt as ids: ``[BOS]`` alone, or BOS plus the primer's tokens.

        Raises:
            VocabularyError: a Song primer has tokens the vocabulary lacks (they
                are named), or ids outside the vocabulary.

        >>> import jax, jax.numpy as jnp
        >>> from popgen import LSTMModel
        >>> from popgen import Song
        >>> from popgen import get_tokenizer
        >>> from popgen import make_notes
        >>> tok = get_tokenizer("chord")  # one note per token
        >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
        >>> params = model.init_params(key=jax.random.key(0))  # untrained
        >>> sampler = Sampler(model, params, tok)
        >>> primer = Song(make_notes([60, 64], [0, 1], [1, 1]))
        >>> sampler.prompt_ids(None).tolist(), sampler.prompt_ids(primer).tolist()
        ([1], [1, 64, 68])

        """
        if primer is None:
            return np.array([BOS], dtype=np.int32)
        if isinstance(primer, Song):
            names = self.tokenizer.song_to_names(primer)
            ids = [self.tokenizer.token_id(n) for n in names]
            missing = sorted({n for n, i in zip(names, ids, strict=True) if i == UNK})
            if missing:
                where = f"{primer.source}: " if primer.source else ""
                shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
                raise VocabularyError(
                    f"{where}the primer has {len(missing)} token(s) the run's vocabulary "
                    f"lacks ({shown}); use a primer like the training songs, or token ids"
                )
            return np.array([BOS, *ids], dtype=np.int32)
        ids_arr = np.asarray(primer, dtype=np.int32).ravel()
        if len(ids_arr) and (ids_arr.min() < 0 or ids_arr.max() >= self.tokenizer.vocab_size):
            raise VocabularyError(
                f"primer token ids must be in 0..{self.tokenizer.vocab_size - 1}, "
                f"got {ids_arr.min()}..{ids_arr.max()}"
            )
        if len(ids_arr) and ids_arr[0] == BOS:
            return ids_arr
        return np.concatenate([[BOS], ids_arr]).astype(np.int32)

    def _draw(
        self, num_tokens: int, rows: int, seed: int, primer: _Primer
    ) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        whole_number(num_tokens, "num_tokens")
        if rows < 1:
            raise ValueError(f"batch_size must be >= 1, got {rows}")
        prompt = jax.device_put(np.tile(self.prompt_ids(primer), (rows, 1)))
        with self._bar(prompt.shape[1] + num_tokens):
            ids, scores = self._sample(self.params, prompt, jax.random.key(seed), num_tokens)
            return np.asarray(ids), np.asarray(scores)

    @contextlib.contextmanager
    def _bar(self, steps: int) -> Iterator[None]:
        """Show the progress bar (``progress=True``) while the body generates ``steps`` steps."""
        if self._progress is None:
            yield
            return
        self._progress.start(steps - 1, "generating")
        try:
            yield
        finally:
            self._progress.close()

    def generate_ids(
        self, num_tokens: int, *, batch_size: int = 1, seed: int = 0, primer: _Primer = None
    ) -> NDArray[np.int32]:
        """``int32[batch_size, prompt_len + num_tokens]``: prompt (with BOS) and new tokens.

        >>> import jax, jax.numpy as jnp
        >>> from popgen import LSTMModel
        >>> from popgen import get_tokenizer
        >>> tok = get_tokenizer("chord")  # one note per token
        >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
        >>> params = model.init_params(key=jax.random.key(0))  # untrained
        >>> ids = Sampler(model, params, tok).generate_ids(8, batch_size=2, primer=[64, 68])
        >>> ids.shape, ids[:, :3].tolist()  # BOS and the primer start every row
        ((2, 11), [[1, 64, 68], [1, 64, 68]])
        """
        return self._draw(num_tokens, batch_size, seed, primer)[0]

    def generate(
        self,
        num_tokens: int | None = None,
        *,
        batch_size: int = 1,
        seed: int = 0,
        primer: _Primer = None,
        include_primer: bool = True,
        best_of: int = 1,
        controls: Controls | Sequence[Controls] | None = None,
    ) -> list[Song]:
        """Generate ``batch_size`` songs of ``num_tokens`` new tokens each.

        Args:
            num_tokens: tokens to draw per song (a note is three tokens in ``note``).
            batch_size: songs generated together; each differs.
            seed: the same seed gives the same songs.
            primer: a Song or token ids the songs continue; a Song's tempo,
                time signatures, key and instrument are kept.
            include_primer: put the primer at the start of each song.
            best_of: draw this many candidates per song (in one batch) and keep
                the one with the highest mean log-probability under the model.
            controls: a song skeleton to follow (:class:`popgen.Controls`): its
                bars, meter and chords are forced, and its melody when it has
                one (the model writes the other parts; the melody comes out
                note for note). Needs an encoding with bars and chords
                (``pop``, ``lead``); ``num_tokens`` then defaults to enough for
                every bar. A list gives one song per controls, in one batch.
                Not with a primer.

        Returns:
            One :class:`popgen.Song` per batch member, cleaned for playback.

        >>> import jax, jax.numpy as jnp
        >>> from popgen import LSTMModel
        >>> from popgen import Song
        >>> from popgen import get_tokenizer
        >>> from popgen import make_notes
        >>> from popgen.sampling import chain, temperature, top_k
        >>> tok = get_tokenizer("chord")  # one note per token
        >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
        >>> params = model.init_params(key=jax.random.key(0))  # untrained
        >>> sampler = Sampler(model, params, tok, strategy=chain(temperature(0.9), top_k(20)))
        >>> primer = Song(make_notes([60, 64], [0, 1], [1, 1]), key="C major")
        >>> songs = sampler.generate(num_tokens=8, batch_size=2, primer=primer, best_of=2)
        >>> [(song.num_notes, song.key) for song in songs]  # 2 primer notes + 8 new ones
        [(10, 'C major'), (10, 'C major')]

        """
        whole_number(best_of, "best_of")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if controls is not None:
            if primer is not None:
                raise ValueError("controls cannot go with a primer (yet); give one or the other")
            return self._generate_controlled(controls, num_tokens, batch_size, seed, best_of)
        num_tokens = 400 if num_tokens is None else num_tokens
        ids, scores = self._draw(num_tokens, batch_size * best_of, seed, primer)
        best = scores.reshape(batch_size, best_of).argmax(axis=1)
        ids = ids.reshape(batch_size, best_of, -1)[np.arange(batch_size), best]
        return self._songs(ids, primer, include_primer)

    def _generate_controlled(
        self,
        controls: Controls | Sequence[Controls],
        num_tokens: int | None,
        batch_size: int,
        seed: int,
        best_of: int,
    ) -> list[Song]:
        from popgen.sampling.controls import Controls
        from popgen.sampling.follow import schedule

        if isinstance(controls, Controls):
            each = [controls] * batch_size
        else:
            each = list(controls)
            if batch_size not in (1, len(each)):
                raise ValueError(
                    f"{len(each)} controls for a batch of {batch_size}; give one per song"
                )
        if not each:
            raise ValueError("no controls given")
        given = [controls] if isinstance(controls, Controls) else each
        plans = [schedule(self.tokenizer, c) for c in given]  # rows share one when one is given
        bar, sections = plans[0].bar_token, plans[0].section_tokens
        if num_tokens is None:  # the most a bar can take: each free part's cap, then a closed note
            num_tokens = max(
                int(p.lengths.sum())
                + c.bars * (len(sections) - (c.melody is not None)) * (c.max_bar_tokens + 3)
                for p, c in zip(plans, given, strict=True)
            )
            num_tokens = -(-num_tokens // 256) * 256  # few lengths, few compilations
        whole_number(num_tokens, "num_tokens")
        bars = max(len(p.lengths) for p in plans)
        width = -(-max(p.prefixes.shape[1] for p in plans) // 32) * 32
        prefixes = np.zeros((len(plans), bars, width), np.int32)
        lengths = np.zeros((len(plans), bars), np.int32)
        for i, p in enumerate(plans):
            prefixes[i, : len(p.lengths), : p.prefixes.shape[1]] = p.prefixes
            lengths[i, : len(p.lengths)] = p.lengths
        if len(plans) > 1:  # row r * best_of + j is candidate j of song r
            prefixes, lengths = prefixes.repeat(best_of, 0), lengths.repeat(best_of, 0)
        cap = max(c.max_bar_tokens for c in each)
        rows = len(each) * best_of
        prompt = jax.device_put(np.full((rows, 1), BOS, np.int32))
        with self._bar(1 + num_tokens):
            ids, scores = self._controlled(
                self.params, prompt, jax.random.key(seed), num_tokens,
                jax.device_put(prefixes), jax.device_put(lengths), cap, (bar, sections),
            )  # fmt: skip
            scores = np.asarray(scores)
        best = np.asarray(scores).reshape(len(each), best_of).argmax(axis=1)
        ids = np.asarray(ids).reshape(len(each), best_of, -1)[np.arange(len(each)), best]
        songs = []
        for i, (row, control) in enumerate(zip(ids, each, strict=True)):
            written = int((row == bar).sum())
            if written < control.bars:
                warnings.warn(
                    f"popgen sample {i}: {written} of the {control.bars} bars asked were written "
                    f"before the {num_tokens} tokens ran out; give more tokens",
                    stacklevel=3,
                )
            song = self.tokenizer.decode(row).replace(title=f"popgen sample {i}", source="popgen")
            songs.append(control.apply(song.cleaned(self.min_duration)))
        return songs

    def beam_search(
        self,
        num_tokens: int = 400,
        *,
        beam_size: int = 4,
        primer: _Primer = None,
        include_primer: bool = True,
        length_penalty: float = 1.0,
    ) -> list[Song]:
        """The ``beam_size`` most likely continuations found by beam search, best first.

        Beams may only take tokens the sampler's strategy (and grammar) allows;
        they are ranked by the model's log-probability divided by
        ``length ** length_penalty`` (see :func:`popgen.sampling.beam.beam_search`).
        Deterministic: there is no seed.

        >>> import jax, jax.numpy as jnp
        >>> from popgen import LSTMModel
        >>> from popgen import get_tokenizer
        >>> tok = get_tokenizer("chord")  # one note per token
        >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
        >>> params = model.init_params(key=jax.random.key(0))  # untrained
        >>> songs = Sampler(model, params, tok).beam_search(num_tokens=6, beam_size=3)
        >>> [song.num_notes for song in songs]  # three beams, best first
        [6, 6, 6]
        """
        whole_number(beam_size, "beam_size")
        whole_number(num_tokens, "num_tokens")
        if not length_penalty >= 0:
            raise ValueError(f"length_penalty must be >= 0, got {length_penalty}")
        prompt = jax.device_put(self.prompt_ids(primer)[None, :])
        alpha = jax.device_put(np.float32(length_penalty))
        tokens, _ = self._beam(self.params, prompt, num_tokens, beam_size, alpha)
        return self._songs(np.asarray(tokens)[0], primer, include_primer)

    def _songs(self, ids: NDArray[np.int32], primer: _Primer, include_primer: bool) -> list[Song]:
        """Decode rows of ids into cleaned songs that keep a Song primer's metadata."""
        skip = 0 if include_primer else len(self.prompt_ids(primer))
        meta: dict[str, Any] = {}
        meter = (TimeSignature(0.0, *self.meter),)
        track = self.track
        if isinstance(primer, Song):
            timing = primer if include_primer else primer.slice(primer.end, primer.end)
            meta = {"tempos": timing.tempos, "time_signatures": timing.time_signatures}
            meta["key"] = primer.key
            melodic = [t for t in primer.tracks if not t.is_drum]
            if melodic:  # the name and sound of a one-track song come from the primer
                track = Track(name=melodic[0].name, program=melodic[0].program)
        songs = []
        for i, row in enumerate(ids):
            song = self.tokenizer.decode(row[skip:])
            if "time_signatures" not in meta and song.time_signatures == _PLAIN_METER:
                song = song.replace(time_signatures=meter)
            if track is not None and len(song.tracks) == 1:  # several: the encoding's own
                song = song.replace(tracks=(track,))
            song = song.replace(title=f"popgen sample {i}", source="popgen", **meta)
            songs.append(song.cleaned(self.min_duration))
        return songs
