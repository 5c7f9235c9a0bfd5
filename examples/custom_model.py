"""A user-defined model in one file: a GRU, registered, trained, saved, loaded and sampled.

Registers the model class ``"gru"`` and then uses it as popgen's own LSTM is
used: ``popgen.train`` writes a run directory, ``popgen.load_run`` rebuilds
the model from it, ``Sampler`` generates, and the ``popgen`` command (run
here in-process, where the registration holds) trains and generates with
``--model gru``. A package would register it for every process with an
entry point instead (``[project.entry-points."popgen.models"] gru =
"my_package:GRUModel"``).

    python examples/custom_model.py [OUT_DIR]
"""

import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import flax.linen as nn
import jax
import jax.numpy as jnp

import popgen
from popgen.cli import main as popgen_command
from popgen.models import AbstractFlaxModel
from popgen.sampling import chain, temperature, top_k


@dataclass(frozen=True)
class GRUConfig:
    """The GRU's settings, saved in the run's popgen.json."""

    vocab_size: int  # tokens, special tokens included (the tokenizer's)
    embed_dim: int = 32  # size of each token's learned vector
    hidden_size: int = 64  # GRU state size


@popgen.register_model("gru")
class GRUModel(AbstractFlaxModel):
    """Embedding -> one GRU layer -> logits over the vocabulary."""

    config_class = GRUConfig

    vocab_size: int
    embed_dim: int = 32
    hidden_size: int = 64

    def setup(self) -> None:
        self.embed = nn.Embed(self.vocab_size, self.embed_dim)
        self.gru = nn.RNN(nn.GRUCell(features=self.hidden_size))
        self.head = nn.Dense(self.vocab_size)

    def __call__(self, tokens: jax.Array, *, deterministic: bool = True) -> jax.Array:
        """``int32[batch, time]`` -> ``float32[batch, time, vocab]`` (no dropout to switch)."""
        return self.head(self.gru(self.embed(tokens)))

    def init_carry(self, batch_size: int) -> jax.Array:
        """The GRU state before the first token."""
        return jnp.zeros((batch_size, self.hidden_size))

    def step(self, carry: jax.Array, token: jax.Array) -> tuple[jax.Array, jax.Array]:
        """One token for each sequence: ``int32[batch]`` -> (logits, new state)."""
        carry, h = self.gru.cell(carry, self.embed(token))
        return self.head(h), carry


def main(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    corpus = popgen.Corpus.from_music21("essenFolksong/test0")
    tokenizer = popgen.get_tokenizer("note").fit(corpus)

    # from Python: train, save, load, sample
    model = GRUModel(vocab_size=tokenizer.vocab_size)
    config = popgen.TrainConfig(seq_len=32, epochs=2)
    popgen.train(model, tokenizer, corpus, config, out=out / "gru-run", progress=False)
    run = popgen.load_run(out / "gru-run")  # rebuilt from popgen.json: a GRUModel
    assert isinstance(run.model, GRUModel), run.model
    sampler = popgen.Sampler.from_run(run, chain(temperature(0.9), top_k(10)))
    song = sampler.generate(120, seed=0)[0]
    song.write_midi(out / "gru.mid")
    print(f"{type(run.model).__name__} {run.model.config()}: wrote {song.num_notes} notes")

    # the same through the popgen command
    sources = ["music21:essenFolksong/test0"]
    cli_run = str(out / "gru-cli-run")
    train_args = ["--model", "gru", "--model-option", "hidden_size=48", "--epochs", "2"]
    assert popgen_command(["train", *sources, "--out", cli_run, *train_args, "--quiet"]) == 0
    assert popgen_command(["generate", cli_run, "--out", str(out / "gru-cli.mid")]) == 0
    return out / "gru-cli.mid"


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
