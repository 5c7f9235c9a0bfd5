"""The 2017 baseline's own Keras code, timed: training targets/s and generation ms per note.

The model and loops are those of Sigurður Skúli's "Classical-Piano-Composer"
(``lstm.py`` / ``predict.py``, the version with batch normalisation): three
512-unit LSTMs over a ``[100, 1]`` window of note indices divided by the
vocabulary size, two of them with ``recurrent_dropout=0.3``, then batch norm,
dropout, ``Dense(256)``, ReLU, batch norm, dropout, ``Dense(V)``, softmax;
categorical cross-entropy and RMSprop. It learns **one target per window**
(the note after it), so its rate is in targets/s, not tokens/s.

* training: ``train_on_batch`` at the script's batch 128 on random windows and
  one-hot targets; the first (compiling) batch is not timed;
* generation: the script's loop, per note ``model.predict`` on the last 100
  notes, ``numpy.argmax``, append, drop the first; 500 notes timed after a
  warm-up of a few notes (untrained weights: speed does not depend on them).

Keras 3 runs on the JAX backend (``KERAS_BACKEND=jax`` is set when this module
is imported, unless already set), so it shares JAX and XLA with popgen. On a
CPU every Keras LSTM runs the generic ``lax.scan`` loop; ``recurrent_dropout``
only matters on a GPU, where it rules out the cuDNN kernel
(``--recurrent-dropout 0`` times that variant).

    python benchmarks/keras_baseline.py [--vocab 512] [--steps 3] [--notes 500]

The other benchmark scripts import it (it sits beside them, so
``import keras_baseline`` works when they are run as scripts).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import time
from typing import Any

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "jax")  # before anything imports keras

SEQ_LEN = 100  # the script's sequence_length
BATCH = 128  # the script's model.fit batch_size
NOTES = 500  # predict.py generates 500 notes
RECURRENT_DROPOUT = 0.3  # the script's first two LSTMs


def available() -> bool:
    """Whether Keras is installed (``pip install keras``; extra ``bench``)."""
    return importlib.util.find_spec("keras") is not None


def describe() -> str:
    """Keras's version and backend, e.g. ``keras 3.15.1, jax backend``."""
    import keras

    return f"keras {keras.__version__}, {keras.backend.backend()} backend"


def build_model(
    vocab: int, *, seq_len: int = SEQ_LEN, recurrent_dropout: float = RECURRENT_DROPOUT
) -> Any:
    """The 2017 script's ``create_network``, compiled as it compiles it.

    Args:
        vocab: number of distinct notes/chords ``V``; the output is
            ``float32[batch, V]`` probabilities.
        seq_len: window length; the input is ``float32[batch, seq_len, 1]``
            note indices divided by ``V``.
        recurrent_dropout: of the first two LSTMs (0.3 in the script).
    """
    import keras
    from keras import layers

    model = keras.Sequential(
        [
            keras.Input((seq_len, 1)),
            layers.LSTM(512, recurrent_dropout=recurrent_dropout, return_sequences=True),
            layers.LSTM(512, return_sequences=True, recurrent_dropout=recurrent_dropout),
            layers.LSTM(512),
            layers.BatchNormalization(),
            layers.Dropout(0.3),
            layers.Dense(256),
            layers.Activation("relu"),
            layers.BatchNormalization(),
            layers.Dropout(0.3),
            layers.Dense(vocab),
            layers.Activation("softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
    return model


def train_targets_per_s(
    vocab: int,
    *,
    steps: int = 3,
    batch: int = BATCH,
    seq_len: int = SEQ_LEN,
    recurrent_dropout: float = RECURRENT_DROPOUT,
    seed: int = 0,
) -> tuple[float, float]:
    """Targets per second of the script's training step, and the first step's seconds.

    Random windows ``float32[batch, seq_len, 1]`` (indices / ``vocab``) and
    one-hot targets ``float32[batch, vocab]``, as ``prepare_sequences`` makes
    them. The first ``train_on_batch`` (compilation) is timed apart.
    """
    import keras

    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = (rng.integers(0, vocab, (batch, seq_len, 1)) / vocab).astype(np.float32)
    y = np.eye(vocab, dtype=np.float32)[rng.integers(0, vocab, batch)]
    model = build_model(vocab, seq_len=seq_len, recurrent_dropout=recurrent_dropout)
    t0 = time.perf_counter()
    model.train_on_batch(x, y)  # returns the loss as numpy: the step has finished
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return batch * steps / (time.perf_counter() - t0), first_s


def generate_ms_per_note(
    vocab: int,
    *,
    notes: int = NOTES,
    warmup: int = 5,
    seq_len: int = SEQ_LEN,
    recurrent_dropout: float = RECURRENT_DROPOUT,
    seed: int = 0,
) -> tuple[float, float]:
    """Milliseconds per note of ``predict.py``'s loop, and the warm-up's seconds.

    The warm-up (``warmup`` notes, the first one compiling) is timed apart;
    then ``notes`` notes are generated and timed.
    """
    import keras

    keras.utils.set_random_seed(seed)
    model = build_model(vocab, seq_len=seq_len, recurrent_dropout=recurrent_dropout)
    pattern = [int(i) for i in np.random.default_rng(seed).integers(0, vocab, seq_len)]

    def generate(pattern: list[int], n: int) -> list[int]:
        for _ in range(n):  # predict.py's generate_notes, less the note names
            prediction_input = np.reshape(pattern, (1, len(pattern), 1))
            prediction_input = prediction_input / float(vocab)
            prediction = model.predict(prediction_input, verbose=0)
            index = int(np.argmax(prediction))
            pattern.append(index)
            pattern = pattern[1 : len(pattern)]
        return pattern

    t0 = time.perf_counter()
    pattern = generate(pattern, warmup)
    warmup_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    generate(pattern, notes)
    return (time.perf_counter() - t0) / notes * 1e3, warmup_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=512, help="V (512: issue 6's model)")
    parser.add_argument("--steps", type=int, default=3, help="timed training batches")
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--notes", type=int, default=NOTES, help="timed generated notes")
    parser.add_argument("--recurrent-dropout", type=float, default=RECURRENT_DROPOUT)
    args = parser.parse_args()
    if not available():
        raise SystemExit("keras is not installed: pip install keras (or the 'bench' extra)")

    import jax

    print(
        f"{describe()}; jax {jax.__version__} on {jax.devices()[0].device_kind}; "
        f"{platform.machine()}, {os.cpu_count()} cores"
    )
    print(
        f"model: 2017 Classical-Piano-Composer, 3 x 512 LSTM over a {SEQ_LEN} x 1 window, "
        f"V = {args.vocab}, recurrent_dropout {args.recurrent_dropout}"
    )
    rate, first = train_targets_per_s(
        args.vocab, steps=args.steps, batch=args.batch, recurrent_dropout=args.recurrent_dropout
    )
    print(
        f"training: {rate:,.1f} targets/s at batch {args.batch} over {args.steps} batches "
        f"(first batch incl. compile {first:.1f} s)"
    )
    ms, warm = generate_ms_per_note(
        args.vocab, notes=args.notes, recurrent_dropout=args.recurrent_dropout
    )
    print(
        f"generation: {ms:.1f} ms/note over {args.notes} notes = {ms * NOTES / 1e3:.1f} s "
        f"per {NOTES} notes (warm-up incl. compile {warm:.1f} s)"
    )


if __name__ == "__main__":
    main()
