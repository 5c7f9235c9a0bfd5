"""Write a song over a chord progression: a melody and an accompaniment that follow "C G Am F".

Trains a small ``pop`` model (each bar: its chords, then the melody's notes,
then the accompaniment's) on Bach chorales bundled with music21, the soprano
as the melody and the lower voices as the accompaniment, their chords
inferred from the notes. Then it writes 8 bars over a four-chord loop: the
bars and chords are forced, the model writes the rest. With POP909 and the
recipe of docs/experiments.md the same code writes pop songs.

    python examples/over_chords.py [OUT_DIR]
"""

import sys
import tempfile
from pathlib import Path

import popgen
from popgen.metrics import chord_tone_share
from popgen.music.chords import chord_labels
from popgen.sampling import chain, temperature, top_p

out = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
out.mkdir(parents=True, exist_ok=True)

voices = {"soprano": "melody", "alto": "accompaniment", "tenor": "accompaniment",
          "bass": "accompaniment"}  # fmt: skip
chorales = [f"music21:bach/bwv{n}" for n in ("66.6", "26.6", "253", "269", "347", "367")]
corpus = popgen.Corpus.from_sources(chorales, popgen.CorpusOptions(roles=voices,
                                    transpose_to="C", quantize=4), workers=1)  # fmt: skip
tokenizer = popgen.get_tokenizer("pop").fit(corpus)
model = popgen.LSTMModel(tokenizer.vocab_size, embed_dim=32, hidden_size=64, num_layers=1)
config = popgen.TrainConfig(seq_len=64, batch_size=8, epochs=3, valid_fraction=0.0, seed=0)
run = popgen.train(model, tokenizer, corpus, config, out=out / "run", progress=False)

controls = popgen.Controls.over_chords("C G Am F", bars=8)  # the loop twice
sampler = popgen.Sampler.from_run(run, chain(temperature(0.9), top_p(0.95)))
song = sampler.generate(controls=controls, seed=0)[0]
song.write_midi(out / "over_chords.mid")

melody = song.select_tracks([0])
print(f"tracks: {[t.name for t in song.tracks]}, {song.num_notes} notes in {song.end:g} beats")
print(f"chords: {' '.join(chord_labels(song.chords, style='symbol'))}")
print(f"melody on chord tones: {chord_tone_share(melody):.0%} of its note-time")
print(f"wrote {out / 'over_chords.mid'}")
