"""The README's quick start, sized to run in seconds: read, encode, train, sample.

    python examples/quick_start.py [OUT_DIR]

The README trains a larger model for five epochs on 200 songs; this one uses
twelve Essen folk songs that ship with music21 and a tiny model.
"""

import sys
import tempfile
from pathlib import Path

import popgen

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
out.mkdir(parents=True, exist_ok=True)

corpus = popgen.Corpus.from_music21("essenFolksong/kinder0", limit=12)  # or Corpus.from_paths
tokenizer = popgen.get_tokenizer("note").fit(corpus)
model = popgen.LSTMModel(
    vocab_size=tokenizer.vocab_size, embed_dim=32, hidden_size=64, num_layers=1, dropout=0.1
)
config = popgen.TrainConfig(seq_len=32, epochs=2, learning_rate=5e-3)
run = popgen.train(model, tokenizer, corpus, config, out=out / "run", progress=False)
sampler = popgen.Sampler.from_run(
    out / "run",
    strategy=popgen.sampling.chain(popgen.sampling.temperature(0.9), popgen.sampling.top_k(20)),
)
songs = sampler.generate(num_tokens=120, batch_size=2, seed=0)
songs[0].write_midi(out / "a.mid")
songs[0].write_png(out / "a.png")  # piano roll; also write_musicxml, write_wav (FluidSynth)
print(f"wrote {out / 'a.mid'}: {songs[0].num_notes} notes, {songs[0].end:.0f} beats")
