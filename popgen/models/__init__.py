"""Neural network models."""

from popgen.models.lstm import Carry, LSTMModel, lstm_cell

__all__ = ["Carry", "LSTMModel", "lstm_cell"]
