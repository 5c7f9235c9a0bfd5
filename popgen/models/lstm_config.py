"""LSTMConfig: the LSTM's settings, in a module that loads no JAX (the command line reads it)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LSTMConfig"]


@dataclass(frozen=True)
class LSTMConfig:
    """The settings of :class:`LSTMModel`; the defaults are docs/experiments.md's recipe.

    >>> LSTMConfig(vocab_size=10)
    LSTMConfig(vocab_size=10, embed_dim=128, hidden_size=512, num_layers=2, dropout=0.2,
               feature_dim=0, copy_heads=0)
    >>> LSTMConfig(vocab_size=10, num_layers=0)
    Traceback (most recent call last):
    ValueError: num_layers must be >= 1, got 0
    """

    vocab_size: int  # number of tokens, special tokens included
    embed_dim: int = 128  # size of each token's learned vector
    hidden_size: int = 512  # LSTM state size of every layer (the sweep's best of 128/256/512)
    num_layers: int = 2  # stacked LSTM layers (2 beat 1 and 3 in the sweep)
    dropout: float = 0.2  # after the embedding and after each layer, training only
    # step features read beside each token (its encoding's StepFeatures.size, e.g. the
    # position in the bar and the chord now); 0: tokens only
    feature_dim: int = 0
    # copy heads over the tokens the step features name (StepFeatures.copies; see
    # popgen.models.copying); 0: none. Needs step features.
    copy_heads: int = 0

    def __post_init__(self) -> None:
        if self.vocab_size < 1 or self.embed_dim < 1 or self.hidden_size < 1:
            raise ValueError(
                f"vocab_size, embed_dim and hidden_size must be >= 1, got "
                f"{self.vocab_size}, {self.embed_dim}, {self.hidden_size}"
            )
        if self.num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {self.num_layers}")
        if self.feature_dim < 0:
            raise ValueError(f"feature_dim must be >= 0, got {self.feature_dim}")
        if self.copy_heads < 0 or (self.copy_heads and not self.feature_dim):
            raise ValueError(
                f"copy_heads must be >= 0, and needs step features (feature_dim > 0), got "
                f"{self.copy_heads} with feature_dim={self.feature_dim}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
