"""LSTMModel: token embedding -> stacked LSTM layers -> next-token logits (Flax linen).

Speed comes from keeping the loops small: only the recurrence (``h @ W_h``,
the gate arithmetic and, on CPU, the step's input projection) runs inside
``jax.lax.scan``; on accelerators the input projection of all time steps is
one matrix product (``x @ W_in``) before the loop (:func:`project_per_step`).
The backward pass is written by hand (:func:`popgen.models.recurrence.lstm_layer`)
so the weight gradients are large products over all steps, not one small
product per step. Sequences run time-major inside the model. Training
(:meth:`LSTMModel.__call__`) and generation (:meth:`LSTMModel.step`) share
the same gate arithmetic (:func:`popgen.models.recurrence.lstm_update`),
so they cannot drift apart.
"""

from __future__ import annotations

from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp

from popgen.models.base import AbstractFlaxModel, StepFn
from popgen.models.copying import checked_copies, copy_logits
from popgen.models.dropout import Dropout
from popgen.models.lstm_config import LSTMConfig
from popgen.models.recurrence import lstm_layer, lstm_table_layer, lstm_update

__all__ = [
    "Carry",
    "LSTMConfig",
    "LSTMModel",
    "lstm_cell",
    "lstm_update",
    "make_step",
    "project_per_step",
]

#: One (h, c) pair per layer, each ``float32[batch, hidden_size]``.
Carry = tuple[tuple[jax.Array, jax.Array], ...]


def lstm_cell(
    gates_in: jax.Array, state: tuple[jax.Array, jax.Array], w_h: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """One LSTM step given the already projected input.

    Args:
        gates_in: ``float32[batch, 4*hidden]``, ``x @ W_in + b`` for this step.
        state: ``(h, c)``, each ``float32[batch, hidden]``.
        w_h: ``float32[hidden, 4*hidden]``, the recurrent weights.

    Returns:
        The new ``(h, c)``. Gate order is input, forget, cell, output.

    >>> import jax.numpy as jnp
    >>> batch, hidden = 3, 2
    >>> state = (jnp.zeros((batch, hidden)), jnp.ones((batch, hidden)))
    >>> h, c = lstm_cell(jnp.zeros((batch, 4 * hidden)), state, jnp.zeros((hidden, 4 * hidden)))
    >>> h.shape, c.shape
    ((3, 2), (3, 2))
    """
    h, c = state
    return lstm_update(gates_in + h @ w_h, c)


def project_per_step() -> bool:
    """Whether a layer projects each step's input inside the scan (CPU) or all at once.

    On XLA's CPU backend the projection of all time steps as one matrix
    product, stored and then read back step by step, measured 5 % slower in
    training than one ``x_t @ W_in`` per step inside the loop (7 990 against
    8 400 tokens/s, 3 x 512 model, batch 64 x 100, interleaved rounds); on
    accelerators the one large product is the usual choice. Both give the
    same results.

    >>> project_per_step() == (jax.default_backend() == "cpu")
    True

    """
    return jax.default_backend() == "cpu"


def _forget_bias_init(key: jax.Array, shape: tuple[int, ...], dtype: Any = jnp.float32) -> Any:
    """Zero biases except the forget gate's, which start at 1 (remember by default)."""
    hidden = shape[0] // 4
    return jnp.zeros(shape, dtype).at[hidden : 2 * hidden].set(1.0)


class _LSTMLayer(nn.Module):
    """One LSTM layer's parameters and its two ways of running."""

    input_size: int
    hidden_size: int

    def setup(self) -> None:
        h4 = 4 * self.hidden_size
        self.w_in = self.param("w_in", nn.initializers.lecun_normal(), (self.input_size, h4))
        self.w_h = self.param("w_h", nn.initializers.orthogonal(), (self.hidden_size, h4))
        self.b = self.param("b", _forget_bias_init, (h4,))

    def __call__(
        self, x: jax.Array, state: tuple[jax.Array, jax.Array]
    ) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        """``x: float32[time, batch, input]`` -> ``(float32[time, batch, hidden], state)``."""
        return lstm_layer(x, self.w_in, self.w_h, self.b, state, project_per_step())

    def from_table(
        self, embedding: jax.Array, tokens: jax.Array, state: tuple[jax.Array, jax.Array]
    ) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        """The first layer read from tokens: ``(embedding @ W_in + b)[tokens]`` then the loop.

        ``tokens: int32[time, batch]``. Each token's input projection is one
        row of a ``[vocab, 4*hidden]`` table, so the ``[time * batch, input]
        @ [input, 4*hidden]`` product and its two backward products become a
        small product, a lookup per step and a scatter-add
        (:func:`popgen.models.recurrence.lstm_table_layer`).
        """
        return lstm_table_layer(embedding @ self.w_in + self.b, tokens, self.w_h, state)

    def step(
        self, x: jax.Array, state: tuple[jax.Array, jax.Array]
    ) -> tuple[jax.Array, tuple[jax.Array, jax.Array]]:
        """``x: float32[batch, input]`` -> ``(float32[batch, hidden], state)``."""
        state = lstm_cell(x @ self.w_in + self.b, state, self.w_h)
        return state[0], state


class LSTMModel(AbstractFlaxModel):
    """Embedding, ``num_layers`` LSTM layers and a linear head over the vocabulary.

    The module's fields are those of :class:`LSTMConfig`, with the same
    defaults; a run's ``popgen.json`` stores them under the model name
    ``lstm`` and :func:`popgen.load_run` rebuilds the model from them.

    >>> import jax, jax.numpy as jnp
    >>> model = LSTMModel(vocab_size=10, embed_dim=8, hidden_size=16, num_layers=2)
    >>> params = model.init(jax.random.key(0), jnp.zeros((1, 5), jnp.int32))
    >>> model.apply(params, jnp.zeros((3, 5), jnp.int32)).shape
    (3, 5, 10)
    """

    config_class: ClassVar[type[LSTMConfig]] = LSTMConfig
    model_type: ClassVar[str] = "lstm"

    vocab_size: int  # see LSTMConfig for each field
    embed_dim: int = 128
    hidden_size: int = 512
    num_layers: int = 2
    dropout: float = 0.2
    feature_dim: int = 0
    copy_heads: int = 0

    def setup(self) -> None:
        """Check the configuration and build the submodules.

        Flax calls it when the model is first used, so a bad field fails there:

        >>> import jax, jax.numpy as jnp
        >>> LSTMModel(vocab_size=10, num_layers=0).init(jax.random.key(0), jnp.zeros((1, 1), int))
        Traceback (most recent call last):
        ValueError: num_layers must be >= 1, got 0...
        """
        self.config()  # checks every field (LSTMConfig.__post_init__)
        self.embed = nn.Embed(self.vocab_size, self.embed_dim)
        sizes = [self.embed_dim] + [self.hidden_size] * (self.num_layers - 1)
        self.layers = [_LSTMLayer(n, self.hidden_size) for n in sizes]
        self.drop = Dropout(self.dropout)
        self.head = nn.Dense(self.vocab_size)
        if self.feature_dim:  # step features join the token's embedding
            self.features_in = nn.Dense(self.embed_dim, use_bias=False)
        if self.copy_heads:  # each head's bonus on its candidate token (popgen.models.copying)
            self.copy_gate = nn.Dense(self.copy_heads)

    def config(self) -> LSTMConfig:
        """The settings that rebuild this model: ``LSTMModel.from_config(model.config())``.

        >>> LSTMModel(vocab_size=10, hidden_size=16, num_layers=1).config()
        LSTMConfig(vocab_size=10, embed_dim=128, hidden_size=16, num_layers=1, dropout=0.2,
                   feature_dim=0, copy_heads=0)
        """
        config: LSTMConfig = super().config()
        return config

    def init_carry(self, batch_size: int) -> Carry:
        """Zero state for every layer. Needs no parameters: ``model.init_carry(4)``.

        >>> carry = LSTMModel(vocab_size=10, hidden_size=16, num_layers=2).init_carry(4)
        >>> [(h.shape, c.shape) for h, c in carry]  # one (h, c) per layer
        [((4, 16), (4, 16)), ((4, 16), (4, 16))]
        """
        zeros = jnp.zeros((batch_size, self.hidden_size), jnp.float32)
        return tuple((zeros, zeros) for _ in range(self.num_layers))

    def __call__(
        self,
        tokens: jax.Array,
        *,
        deterministic: bool = True,
        features: jax.Array | None = None,
        copies: jax.Array | None = None,
    ) -> jax.Array:
        """Logits for every position from a zero state.

        Args:
            tokens: ``int32[batch, time]``.
            deterministic: ``False`` applies dropout (needs a ``"dropout"`` rng).
            features: ``float32[batch, time, feature_dim]``, each step's
                features (with ``feature_dim``), added to its token's embedding.
            copies: ``int32[batch, time, copy_heads]``, each copy head's
                candidate token at each step (``-1``: none), with ``copy_heads``.

        Returns:
            ``float32[batch, time, vocab_size]``: the logits of each next token.

        """
        carry = self.init_carry(tokens.shape[0])
        out = self.run(tokens, carry, deterministic=deterministic, features=features, copies=copies)
        return out[0]

    def run(
        self,
        tokens: jax.Array,
        carry: Carry,
        *,
        deterministic: bool = True,
        features: jax.Array | None = None,
        copies: jax.Array | None = None,
    ) -> tuple[jax.Array, Carry]:
        """Like ``__call__`` but from a given state, also returning the final state.

        So a sequence can be read in pieces:

        >>> import jax, jax.numpy as jnp
        >>> model = LSTMModel(vocab_size=10, embed_dim=8, hidden_size=16, num_layers=2)
        >>> tokens = jnp.array([[1, 5, 6, 7, 2]])
        >>> params = model.init(jax.random.key(0), tokens)
        >>> first, carry = model.apply(params, tokens[:, :2], model.init_carry(1), method="run")
        >>> rest, _ = model.apply(params, tokens[:, 2:], carry, method="run")
        >>> bool(jnp.allclose(jnp.concatenate([first, rest], 1), model.apply(params, tokens)))
        True
        """
        tokens = tokens.T  # time-major inside
        layers, states = self.layers, carry
        new: list[tuple[jax.Array, jax.Array]] = []
        features = self._checked(features)
        if features is None and self._first_layer_from_table(tokens.size, deterministic):
            x, state = layers[0].from_table(self.embed.embedding, tokens, carry[0])
            x = self.drop(x, deterministic=deterministic)
            new.append(state)
            layers, states = layers[1:], carry[1:]
        else:
            x = self.embed(tokens)
            if features is not None:
                x = x + self.features_in(jnp.swapaxes(features, 0, 1))
            x = self.drop(x, deterministic=deterministic)
        for layer, state in zip(layers, states, strict=True):
            x, state = layer(x, state)
            x = self.drop(x, deterministic=deterministic)
            new.append(state)
        logits = self._logits(x, self._copies(copies, time_major=True))
        return jnp.swapaxes(logits, 0, 1), tuple(new)

    def _logits(self, x: jax.Array, copies: jax.Array | None) -> jax.Array:
        """The head's logits of the top layer's ``x``, with the copy heads' bonuses."""
        logits = self.head(x)
        if copies is None:
            return logits
        return copy_logits(logits, self.copy_gate(x), copies)

    def _copies(self, copies: jax.Array | None, *, time_major: bool) -> jax.Array | None:
        """``copies`` checked (made time-major if asked); ``None`` without copy heads."""
        copies = checked_copies(copies, self.copy_heads)
        return jnp.swapaxes(copies, 0, 1) if time_major and copies is not None else copies

    def _first_layer_from_table(self, positions: int, deterministic: bool) -> bool:
        """Whether the first layer reads a per-token table of its input projection.

        Exact whenever no dropout falls between the embedding and the first
        layer, and cheaper while the vocabulary has no more tokens than the
        batch has positions (the table costs ``vocab`` rows to build).
        """
        no_dropout = deterministic or self.dropout == 0.0
        return no_dropout and self.vocab_size <= positions

    def _checked(self, features: jax.Array | None) -> jax.Array | None:
        """``features`` when the model reads some, checked; refused when it reads none."""
        if features is None:
            if self.feature_dim:
                raise ValueError(
                    f"this model reads {self.feature_dim} step features with each token; give "
                    "them (popgen.models.with_step_features binds an encoding's)"
                )
            return None
        if features.shape[-1] != self.feature_dim:
            raise ValueError(
                f"features have {features.shape[-1]} values per step, the model reads "
                f"{self.feature_dim}"
            )
        return features

    def step(
        self,
        carry: Carry,
        token: jax.Array,
        features: jax.Array | None = None,
        copies: jax.Array | None = None,
    ) -> tuple[jax.Array, Carry]:
        """One generation step: ``int32[batch]`` -> (``float32[batch, vocab]``, new carry).

        ``features``: ``float32[batch, feature_dim]`` for a model that reads
        them; ``copies``: ``int32[batch, copy_heads]`` for one with copy heads.

        >>> import jax, jax.numpy as jnp
        >>> model = LSTMModel(vocab_size=10, embed_dim=8, hidden_size=16, num_layers=2)
        >>> params = model.init(jax.random.key(0), jnp.zeros((1, 5), jnp.int32))
        >>> carry = model.init_carry(3)
        >>> logits, carry = model.apply(params, carry, jnp.array([1, 1, 2]), method="step")
        >>> logits.shape, [h.shape for h, c in carry]
        ((3, 10), [(3, 16), (3, 16)])
        """
        x = self.embed(token)
        features = self._checked(features)
        if features is not None:
            x = x + self.features_in(features)
        new: list[tuple[jax.Array, jax.Array]] = []
        for layer, state in zip(self.layers, carry, strict=True):
            x, state = layer.step(x, state)
            new.append(state)
        return self._logits(x, self._copies(copies, time_major=False)), tuple(new)

    def make_step(self, params: Any) -> StepFn:
        """The fast generation step of :func:`make_step` (its example shows it at work).

        ```python
        step = model.make_step(params)
        logits, carry = step(model.init_carry(3), jnp.array([1, 1, 2]))  # logits: [3, vocab]
        ```
        """
        return make_step(self, params)


def make_step(model: LSTMModel, params: Any) -> StepFn:
    """A fast pure step function for generation, equal to ``LSTMModel.step``.

    Work that does not depend on the step is done once, here: the first
    layer's input projection of every token becomes a table
    (``embedding @ W_in + b``, ``float32[vocab, 4*hidden]``), so reading a
    token is a row lookup; every further layer multiplies ``[x, h]`` by its
    stacked ``[W_in; W_h]`` in one product. Call it inside ``jax.jit`` so the
    table is built once per call, outside the generation loop. The gate
    arithmetic is :func:`lstm_update`, as in training.

    Args:
        model: the model.
        params: its parameters (``{"params": ...}`` as from ``model.init``).

    Returns:
        ``step(carry, token: int32[batch]) -> (logits: float32[batch, vocab], carry)``.

    >>> import jax, jax.numpy as jnp
    >>> model = LSTMModel(vocab_size=10, embed_dim=8, hidden_size=16, num_layers=2)
    >>> params = model.init(jax.random.key(0), jnp.zeros((1, 5), jnp.int32))
    >>> logits, carry = make_step(model, params)(model.init_carry(2), jnp.array([1, 1]))
    >>> slow, _ = model.apply(params, model.init_carry(2), jnp.array([1, 1]), method="step")
    >>> bool(jnp.allclose(logits, slow, atol=1e-5)), logits.shape
    (True, (2, 10))
    """
    p = params["params"]
    first = p["layers_0"]
    table = p["embed"]["embedding"] @ first["w_in"] + first["b"]
    stacked = []
    for i in range(1, model.num_layers):
        layer = p[f"layers_{i}"]
        stacked.append((jnp.concatenate([layer["w_in"], layer["w_h"]]), layer["b"]))
    head_w, head_b = p["head"]["kernel"], p["head"]["bias"]
    gate = (p["copy_gate"]["kernel"], p["copy_gate"]["bias"]) if model.copy_heads else None
    # a step's features reach the first layer's gates through one [features, 4*hidden] matrix
    feature_gates = p["features_in"]["kernel"] @ first["w_in"] if model.feature_dim else None

    def step(
        carry: Carry,
        token: jax.Array,
        features: jax.Array | None = None,
        copies: jax.Array | None = None,
    ) -> tuple[jax.Array, Carry]:
        gates = table[token]
        if feature_gates is not None:
            if features is None:
                raise ValueError(f"this model reads {model.feature_dim} step features; give them")
            gates = gates + features @ feature_gates
        h, c = lstm_cell(gates, carry[0], first["w_h"])
        new = [(h, c)]
        for (w, b), (h_prev, c_prev) in zip(stacked, carry[1:], strict=True):
            h, c = lstm_update(jnp.concatenate([h, h_prev], axis=-1) @ w + b, c_prev)
            new.append((h, c))
        logits: jax.Array = h @ head_w + head_b
        candidates = checked_copies(copies, model.copy_heads)
        if gate is not None and candidates is not None:
            logits = copy_logits(logits, h @ gate[0] + gate[1], candidates)
        return logits, tuple(new)

    return step
