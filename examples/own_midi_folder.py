"""Train on a folder of your own MIDI files and write a new song.

Without a folder argument it first writes a small one from folk songs bundled
with music21, so the script runs anywhere:

    python examples/own_midi_folder.py [OUT_DIR] [MIDI_FOLDER]
"""

import sys
import tempfile
from pathlib import Path

import popgen

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
out.mkdir(parents=True, exist_ok=True)
if len(sys.argv) > 2:
    folder = Path(sys.argv[2])
else:
    folder = out / "songs"
    folder.mkdir(exist_ok=True)
    for i, song in enumerate(popgen.Corpus.from_music21("essenFolksong/test0")):
        song.write_midi(folder / f"song{i:02d}.mid")

# read every MIDI file below the folder (in parallel, cached), all in C major / A minor
corpus = popgen.Corpus.from_paths([folder], transpose_to="C")
print(corpus.describe())
train_songs, valid_songs, _ = corpus.split(valid=0.2, seed=0)  # by song

tokenizer = popgen.get_tokenizer("note").fit(corpus)
model = popgen.LSTMModel(
    vocab_size=tokenizer.vocab_size, embed_dim=32, hidden_size=64, num_layers=1
)
config = popgen.TrainConfig(seq_len=32, epochs=3, learning_rate=5e-3)
run = popgen.train(
    model, tokenizer, train_songs, config, valid=valid_songs, out=out / "run", progress=False
)
print(f"validation loss {run.history[-1]['valid_loss']:.3f} nats per token")

strategy = popgen.sampling.parse_strategy("temperature=0.9,top_p=0.95", tokenizer)
song = popgen.Sampler.from_run(out / "run", strategy).generate(num_tokens=120, seed=1)[0]
song.write_midi(out / "song.mid")
song.write_png(out / "song.png")
print(f"wrote {out / 'song.mid'}: {song.num_notes} notes")
