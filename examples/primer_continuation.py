"""Continue the opening of a song: a primer keeps its tempo, key and meter.

python examples/primer_continuation.py [OUT_DIR]
"""

import sys
import tempfile
from pathlib import Path

import popgen

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
out.mkdir(parents=True, exist_ok=True)

corpus = popgen.Corpus.from_music21("essenFolksong/test0")
tokenizer = popgen.get_tokenizer("note").fit(corpus)
model = popgen.LSTMModel(
    vocab_size=tokenizer.vocab_size, embed_dim=32, hidden_size=64, num_layers=1
)
run = popgen.train(
    model, tokenizer, corpus, popgen.TrainConfig(seq_len=32, epochs=3), progress=False
)

opening = corpus[0].slice(0, 8)  # the first eight beats of the first song
opening.write_midi(out / "opening.mid")
sampler = popgen.Sampler(
    run.model,
    run.params,
    run.tokenizer,
    popgen.sampling.chain(popgen.sampling.temperature(0.8), popgen.sampling.top_k(10)),
)
(whole,) = sampler.generate(num_tokens=90, primer=opening, seed=0)
(tail,) = sampler.generate(num_tokens=90, primer=opening, seed=0, include_primer=False)
whole.write_midi(out / "continued.mid")
tail.write_midi(out / "continuation-only.mid")
print(
    f"primer {opening.num_notes} notes in {opening.key}; with continuation "
    f"{whole.num_notes} notes, continuation alone {tail.num_notes}; tempo {whole.bpm} bpm"
)
