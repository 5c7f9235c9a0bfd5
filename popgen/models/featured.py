"""A model bound to the step features its encoding computes, so callers pass tokens only.

A model that reads step features (``feature_dim > 0``, such as an
:class:`~popgen.LSTMModel` trained with ``popgen train --step-features``) needs
each step's features beside its token. :func:`with_step_features` binds it to
the encoding's :class:`~popgen.tokenizers.features.StepFeatures`: the bound
model computes them itself, so training, likelihood and the sampler use it as
any other model. Its ``logits`` runs the automaton over the tokens in one
scan, or takes the codes training computed over whole songs (``codes=``);
its ``make_step`` carries the automaton's state beside the model's and
updates it inside the sampler's own scan.

>>> import jax
>>> from popgen import LSTMModel
>>> from popgen.tokenizers import get_tokenizer
>>> tok = get_tokenizer("lead")
>>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1,
...                   feature_dim=tok.step_features().size)
>>> bound = with_step_features(model, tok)
>>> params = bound.init_params(key=jax.random.key(0))
>>> tokens = jax.numpy.array([[1, tok.token_id("BAR"), tok.token_id("MELODY")]])
>>> bound.logits(params, tokens).shape == (1, 3, tok.vocab_size)
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from popgen.models.base import Carry, Params, SequenceModel, StepFn
from popgen.tokenizers.features import StepFeatures, copy_candidates, expand, sequence_codes

if TYPE_CHECKING:
    import jax

    from popgen.tokenizers.base import Tokenizer

__all__ = ["FeaturedModel", "with_step_features"]


@dataclass(frozen=True, eq=False)
class FeaturedModel:
    """``model`` with ``features``: the protocol of :class:`~popgen.models.SequenceModel`.

    Hashable by identity, so one bound model can be closed over by jit.
    ``config()`` is the model's own (a run saves the model, not the binding).

    >>> from popgen import LSTMModel
    >>> from popgen.tokenizers import get_tokenizer
    >>> tok = get_tokenizer("pop")
    >>> size = tok.step_features().size
    >>> bound = with_step_features(LSTMModel(tok.vocab_size, feature_dim=size), tok)
    >>> bound.vocab_size == tok.vocab_size, bound.config().feature_dim == size
    (True, True)
    """

    model: SequenceModel
    features: StepFeatures

    @property
    def vocab_size(self) -> int:
        """The model's vocabulary size.

        >>> from popgen import LSTMModel
        >>> from popgen.tokenizers.features import counting_features
        >>> FeaturedModel(LSTMModel(10, feature_dim=2), counting_features(2)).vocab_size
        10
        """
        return self.model.vocab_size

    def config(self) -> Any:
        """The model's settings (the binding is rebuilt from the run's tokenizer).

        >>> from popgen import LSTMModel
        >>> from popgen.tokenizers.features import counting_features
        >>> FeaturedModel(LSTMModel(10, feature_dim=2), counting_features(2)).config().feature_dim
        2
        """
        return self.model.config()

    def init_params(self, *, key: jax.Array) -> Params:
        """The model's fresh parameters (its feature weights included).

        >>> import jax
        >>> from popgen import LSTMModel
        >>> from popgen.tokenizers.features import counting_features
        >>> bound = FeaturedModel(LSTMModel(10, embed_dim=4, feature_dim=2), counting_features(2))
        >>> bound.init_params(key=jax.random.key(0))["params"]["features_in"]["kernel"].shape
        (2, 4)
        """
        return self.model.init_params(key=key)

    def logits(
        self,
        params: Params,
        tokens: jax.Array,
        *,
        key: jax.Array | None = None,
        codes: jax.Array | None = None,
    ) -> Any:
        """Logits of every position; the features of ``tokens`` computed in one scan.

        ``codes``: ``int32[batch, time, width]``, the automaton's codes of
        each position computed beforehand, over the whole song the tokens
        were cut from (:func:`~popgen.tokenizers.features.song_codes`, as
        training does); without them the automaton starts at ``tokens[:, 0]``.

        >>> import jax, jax.numpy as jnp
        >>> from popgen import LSTMModel
        >>> from popgen.tokenizers.features import counting_features
        >>> bound = FeaturedModel(LSTMModel(10, embed_dim=4, hidden_size=8, feature_dim=2),
        ...                       counting_features(2))
        >>> params = bound.init_params(key=jax.random.key(0))
        >>> bound.logits(params, jnp.ones((2, 3), jnp.int32)).shape
        (2, 3, 10)
        """
        if codes is None:
            codes = sequence_codes(self.features, tokens)
        features = expand(self.features, codes)
        extra = {"copies": copy_candidates(self.features, codes)} if self._copying else {}
        return self.model.logits(params, tokens, key=key, features=features, **extra)  # type: ignore[call-arg]

    @property
    def _copying(self) -> bool:
        """Whether the model has copy heads (then it is given the features' candidates)."""
        return bool(getattr(self.model, "copy_heads", 0))

    def init_carry(self, batch_size: int) -> Carry:
        """The model's state and the automaton's, before the first token.

        >>> from popgen import LSTMModel
        >>> from popgen.tokenizers.features import counting_features
        >>> bound = FeaturedModel(LSTMModel(10, hidden_size=8, feature_dim=2), counting_features(2))
        >>> model_state, feature_state = bound.init_carry(3)
        >>> feature_state.shape
        (3,)
        """
        return (self.model.init_carry(batch_size), self.features.init(batch_size))

    def make_step(self, params: Params) -> StepFn:
        """A step that updates the features from each token, then runs the model on both.

        Equal, token by token, to :meth:`logits`:

        >>> import jax, jax.numpy as jnp
        >>> from popgen import LSTMModel
        >>> from popgen.tokenizers.features import counting_features
        >>> bound = FeaturedModel(LSTMModel(10, embed_dim=4, hidden_size=8, num_layers=1,
        ...                                 feature_dim=3), counting_features(3))
        >>> params = bound.init_params(key=jax.random.key(0))
        >>> tokens = jnp.array([[1, 4, 5]])
        >>> step, carry, rows = bound.make_step(params), bound.init_carry(1), []
        >>> for t in range(3):
        ...     logits, carry = step(carry, tokens[:, t])
        ...     rows.append(logits)
        >>> bool(jnp.allclose(jnp.stack(rows, 1), bound.logits(params, tokens), atol=1e-5))
        True
        """
        step = self.model.make_step(params)
        update, table, copying = self.features.update, self.features, self._copying

        def featured(carry: Carry, token: jax.Array) -> tuple[jax.Array, Carry]:
            model_carry, feature_state = carry
            feature_state, codes = update(feature_state, token)
            extra = (copy_candidates(table, codes),) if copying else ()
            logits, model_carry = step(model_carry, token, expand(table, codes), *extra)  # type: ignore[call-arg]
            return logits, (model_carry, feature_state)

        return featured


def with_step_features(model: SequenceModel, tokenizer: Tokenizer) -> SequenceModel:
    """``model`` bound to ``tokenizer``'s step features when it reads some, else ``model``.

    Raises:
        ValueError: the model reads features the encoding does not offer, or
            another number of them (a run of another encoding, or of another
            vocabulary).

    >>> from popgen import LSTMModel
    >>> from popgen.tokenizers import get_tokenizer
    >>> plain = LSTMModel(10)
    >>> with_step_features(plain, get_tokenizer("note")) is plain
    True
    """
    size = int(getattr(model, "feature_dim", 0))
    if not size:
        return model
    make = getattr(tokenizer, "step_features", None)
    if make is None:
        raise ValueError(
            f"the model reads {size} step features, but the encoding {tokenizer.name!r} computes "
            "none (pop and lead do)"
        )
    features: StepFeatures = make()
    if features.size != size:
        raise ValueError(
            f"the model reads {size} step features, the encoding {tokenizer.name!r} computes "
            f"{features.size} (a model trained on another vocabulary?)"
        )
    heads = int(getattr(model, "copy_heads", 0))
    if heads and heads != features.copies:
        raise ValueError(
            f"the model has {heads} copy heads, the encoding {tokenizer.name!r} names "
            f"{features.copies} copy candidates per step"
        )
    # everything training and sampling ask of a model; the registry's class-level
    # names (model_type, from_config) stay the wrapped model's
    return cast(SequenceModel, FeaturedModel(model, features))
