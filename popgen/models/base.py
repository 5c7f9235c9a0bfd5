"""The model interface: what training, checkpoints, likelihood and the sampler use.

Every part of popgen that touches a network speaks only
:class:`SequenceModel`, a small protocol:

- ``config()`` / ``from_config(config)``: the model as a frozen dataclass of
  its settings (``config_class``), saved in a run's ``popgen.json`` under the
  name the class is registered with (:func:`popgen.models.register_model`);
- ``init_params(key=...)``: fresh parameters, a pytree;
- ``logits(params, tokens, key=...)``: the sequence call, next-token logits
  for every position (dropout on when a key is given);
- ``init_carry(batch_size)`` and ``make_step(params)``: the state and the
  one-token step function the sampler scans.

:class:`AbstractFlaxModel` implements the protocol for a Flax ``linen``
module from its ``__call__``, ``init_carry`` and ``step``, so a new model
is one class (``examples/custom_model.py`` adds a GRU).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, ClassVar, Protocol, Self, runtime_checkable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["AbstractFlaxModel", "Carry", "Params", "SequenceModel", "StepFn"]

#: A model's parameters: any pytree of arrays (``{"params": ...}`` for Flax).
Params = Any
#: A model's recurrent state: a pytree of arrays, each with the batch as its first axis.
Carry = Any
#: ``step(carry, token: int32[batch]) -> (logits: float32[batch, vocab], carry)``.
StepFn = Callable[[Carry, jax.Array], tuple[jax.Array, Carry]]


@runtime_checkable
class SequenceModel(Protocol):
    """What popgen needs from a next-token model; :class:`popgen.LSTMModel` is one.

    Implementations are immutable and hashable (Flax modules are), so that
    one model value can be closed over by jit-compiled functions.

    >>> from popgen import LSTMModel
    >>> isinstance(LSTMModel(vocab_size=10), SequenceModel)
    True
    """

    #: The name the class is registered under, stored in ``popgen.json``.
    model_type: ClassVar[str]
    #: The frozen dataclass of the model's settings.
    config_class: ClassVar[type[Any]]

    @property
    def vocab_size(self) -> int:
        """Number of token ids the model reads and predicts.

        ```python
        from popgen import LSTMModel
        LSTMModel(vocab_size=10).vocab_size
        # 10
        ```
        """
        ...

    def config(self) -> Any:
        """The model's settings, an instance of ``config_class``.

        ```python
        from popgen import LSTMModel
        LSTMModel(vocab_size=10, num_layers=1).config().num_layers
        # 1
        ```
        """
        ...

    @classmethod
    def from_config(cls, config: Any) -> Self:
        """The model with these settings: ``cls.from_config(model.config()) == model``.

        ```python
        from popgen import LSTMConfig
        from popgen import LSTMModel
        LSTMModel.from_config(LSTMConfig(vocab_size=10)) == LSTMModel(vocab_size=10)
        # True
        ```
        """
        ...

    def init_params(self, *, key: jax.Array) -> Params:
        """Fresh parameters drawn with ``key``.

        ```python
        import jax
        from popgen import LSTMModel
        params = LSTMModel(vocab_size=10, num_layers=1).init_params(key=jax.random.key(0))
        params["params"]["head"]["kernel"].shape
        # (512, 10)
        ```
        """
        ...

    def logits(self, params: Params, tokens: jax.Array, *, key: jax.Array | None = None) -> Any:
        """``int32[batch, time]`` -> ``float32[batch, time, vocab]``; dropout when ``key``.

        ```python
        import jax, jax.numpy as jnp
        from popgen import LSTMModel
        model = LSTMModel(vocab_size=10, embed_dim=4, hidden_size=8, num_layers=1)
        params = model.init_params(key=jax.random.key(0))
        model.logits(params, jnp.zeros((2, 3), jnp.int32)).shape
        # (2, 3, 10)
        ```
        """
        ...

    def init_carry(self, batch_size: int) -> Carry:
        """The state before the first token, for ``batch_size`` sequences.

        ```python
        from popgen import LSTMModel
        [h.shape for h, c in LSTMModel(vocab_size=10, hidden_size=8).init_carry(3)]
        # [(3, 8), (3, 8)]
        ```
        """
        ...

    def make_step(self, params: Params) -> StepFn:
        """The one-token step function with these parameters (call it inside ``jit``).

        ```python
        import jax, jax.numpy as jnp
        from popgen import LSTMModel
        model = LSTMModel(vocab_size=10, embed_dim=4, hidden_size=8, num_layers=1)
        step = model.make_step(model.init_params(key=jax.random.key(0)))
        logits, carry = step(model.init_carry(2), jnp.array([1, 1]))
        logits.shape
        # (2, 10)
        ```
        """
        ...


class AbstractFlaxModel(nn.Module):
    """Base of Flax models: the protocol from three methods the subclass writes.

    A subclass is a ``linen`` module whose fields are exactly those of its
    ``config_class`` and which defines:

    - ``__call__(tokens: int32[batch, time], *, deterministic: bool)``
      returning ``float32[batch, time, vocab]``;
    - ``init_carry(batch_size)``;
    - ``step(carry, token: int32[batch])`` returning ``(logits, carry)``.

    ``make_step`` applies ``step``; a subclass may override it with a faster
    pure function (the LSTM does).

    >>> import dataclasses, jax, jax.numpy as jnp, flax.linen as nn
    >>> @dataclasses.dataclass(frozen=True)
    ... class BigramConfig:
    ...     vocab_size: int
    >>> class Bigram(AbstractFlaxModel):  # next token from the current one alone
    ...     config_class = BigramConfig
    ...     vocab_size: int
    ...     @nn.compact
    ...     def __call__(self, tokens, *, deterministic=True):
    ...         return nn.Embed(self.vocab_size, self.vocab_size, name="table")(tokens)
    ...     def init_carry(self, batch_size):
    ...         return ()
    ...     def step(self, carry, token):
    ...         return self(token[:, None])[:, 0], carry
    >>> model = Bigram.from_config(BigramConfig(vocab_size=5))
    >>> params = model.init_params(key=jax.random.key(0))
    >>> model.logits(params, jnp.zeros((2, 3), jnp.int32)).shape
    (2, 3, 5)
    >>> logits, carry = model.make_step(params)(model.init_carry(2), jnp.array([1, 4]))
    >>> logits.shape, model.config()
    ((2, 5), BigramConfig(vocab_size=5))
    """

    #: Set by :func:`popgen.models.register_model`.
    model_type: ClassVar[str] = ""
    #: The frozen dataclass of the model's settings; its fields are the module's.
    config_class: ClassVar[type[Any]]

    def config(self) -> Any:
        """The model's settings as its ``config_class`` (see the class example).

        ```python
        from popgen import LSTMModel
        LSTMModel(vocab_size=10, dropout=0.0).config().dropout
        # 0.0
        ```
        """
        names = [f.name for f in dataclasses.fields(self.config_class)]
        return self.config_class(**{name: getattr(self, name) for name in names})

    @classmethod
    def from_config(cls, config: Any) -> Self:
        """The module with the fields of ``config``.

        ```python
        from popgen import LSTMConfig
        from popgen import LSTMModel
        LSTMModel.from_config(LSTMConfig(vocab_size=10, hidden_size=8)).hidden_size
        # 8
        ```
        """
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(config)})

    def init_params(self, *, key: jax.Array) -> Params:
        """Fresh parameters, ``{"params": ...}``, from a one-token call.

        ```python
        import jax
        from popgen import LSTMModel
        model = LSTMModel(vocab_size=10, embed_dim=4, hidden_size=8, num_layers=1)
        sorted(model.init_params(key=jax.random.key(0))["params"])
        # ['embed', 'head', 'layers_0']
        ```
        """
        size = int(getattr(self, "feature_dim", 0))
        heads = int(getattr(self, "copy_heads", 0))
        if size:  # a model that reads step features builds their weights from a first call
            features = jnp.zeros((1, 1, size), jnp.float32)
            tokens = jnp.zeros((1, 1), jnp.int32)
            if heads:
                copies = np.full((1, 1, heads), -1, np.int32)  # numpy: no eager JAX op
                return self.init(key, tokens, features=features, copies=copies)
            return self.init(key, tokens, features=features)
        return self.init(key, jnp.zeros((1, 1), jnp.int32))

    def logits(
        self,
        params: Params,
        tokens: jax.Array,
        *,
        key: jax.Array | None = None,
        features: jax.Array | None = None,
        copies: jax.Array | None = None,
    ) -> Any:
        """The sequence call; a ``key`` turns dropout on (``"dropout"`` rng).

        ``features`` (``float32[batch, time, size]``) go to a model that reads
        step features, as ``__call__``'s keyword, and so do ``copies``
        (``int32[batch, time, heads]``) to one with copy heads.

        ```python
        import jax, jax.numpy as jnp
        from popgen import LSTMModel
        model = LSTMModel(vocab_size=10, embed_dim=4, hidden_size=8, num_layers=1)
        params, tokens = model.init_params(key=jax.random.key(0)), jnp.ones((1, 4), int)
        same = model.logits(params, tokens) == model.logits(params, tokens)
        dropped = model.logits(params, tokens, key=jax.random.key(1))
        bool(same.all()), bool((dropped == model.logits(params, tokens)).all())
        # (True, False)
        ```
        """
        rngs = {"dropout": key} if key is not None else {}
        if copies is not None:
            return self.apply(params, tokens, deterministic=key is None, rngs=rngs,
                              features=features, copies=copies)  # fmt: skip
        if features is not None:
            return self.apply(
                params, tokens, deterministic=key is None, rngs=rngs, features=features
            )
        return self.apply(params, tokens, deterministic=key is None, rngs=rngs)

    def make_step(self, params: Params) -> StepFn:
        """``step`` applied with ``params`` (the class example uses it).

        ```python
        import jax, jax.numpy as jnp
        from popgen import LSTMModel
        model = LSTMModel(vocab_size=10, embed_dim=4, hidden_size=8, num_layers=1)
        params = model.init_params(key=jax.random.key(0))
        slow = AbstractFlaxModel.make_step(model, params)  # the generic step
        fast = model.make_step(params)  # the LSTM's own
        a, _ = slow(model.init_carry(1), jnp.array([3]))
        b, _ = fast(model.init_carry(1), jnp.array([3]))
        bool(jnp.allclose(a, b, atol=1e-5))
        # True
        ```
        """

        def step(
            carry: Carry,
            token: jax.Array,
            features: jax.Array | None = None,
            copies: jax.Array | None = None,
        ) -> tuple[jax.Array, Carry]:
            extra: tuple[jax.Array, ...] = (features,) if features is not None else ()
            extra += (copies,) if copies is not None else ()
            logits, carry = self.apply(params, carry, token, *extra, method="step")
            return logits, carry

        return step
