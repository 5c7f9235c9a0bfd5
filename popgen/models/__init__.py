"""Neural network models."""

from popgen.models.lstm import Carry, LSTMModel, lstm_cell, lstm_update, make_step

__all__ = ["Carry", "LSTMModel", "lstm_cell", "lstm_update", "make_step"]
