"""Evaluate a run: metrics against real songs, likelihood against an n-gram, copying.

    python examples/evaluate_run.py [OUT_DIR]

It trains a tiny run on 40 Essen folk songs (10 held out, split by song) and
measures 8 generated songs against all 40. With your own run, pass the songs
you trained on as the reference, read the same way: the run recorded which
of them it trained on, and the rest count as held out.
"""

import sys
import tempfile
from pathlib import Path

import popgen
from popgen.evaluation.compute import EvaluationConfig, evaluate

out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
out.mkdir(parents=True, exist_ok=True)

songs = popgen.Corpus.from_music21("essenFolksong/kinder0", limit=40)
tokenizer = popgen.get_tokenizer("note").fit(songs)
model = popgen.LSTMModel(
    vocab_size=tokenizer.vocab_size, embed_dim=32, hidden_size=64, num_layers=1
)
config = popgen.TrainConfig(seq_len=32, epochs=10, learning_rate=5e-3, valid_fraction=0.25)
run = popgen.train(model, tokenizer, songs, config, out=out / "run", progress=False)

report = evaluate(run, songs, EvaluationConfig(samples=8, ngram_order=3))
print(report.table())  # metrics beside the songs' 5th-95th percentiles, NLL, copying
report.write_json(out / "evaluation.json")  # every figure, for scripts
report.write_png(out / "evaluation.png")  # histograms: generated against reference

# the same from the command line:
#   popgen evaluate RUN --reference SONGS... --samples 8 --json evaluation.json --png evaluation.png
gain = report.nll_gain
print(
    f"the run's held-out NLL is {gain:.0%} below the 3-gram's"
    if gain > 0
    else f"the 3-gram still beats the run by {-gain:.0%}: train longer"
)
