"""A user-defined encoding in a few dozen lines: a melody as intervals and durations.

Registers the encoding ``"interval"``, fits it on 16 folk songs bundled with
music21, trains a tiny LSTM for two epochs and writes a sampled melody.

    python examples/custom_tokenizer.py [OUT_DIR]
"""

import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

import popgen
from popgen.sampling import chain, temperature, top_k


@dataclass(frozen=True)
class IntervalConfig:
    """Options of the ``interval`` encoding (saved with the vocabulary)."""

    first_pitch: int = 60  # the first interval is measured from this pitch
    steps_per_beat: int = 4  # durations on a sixteenth-note grid


@popgen.register_tokenizer("interval")
class IntervalTokenizer(popgen.Tokenizer):
    """The top line of a song: each note as ``INT_+2`` (from the previous pitch) and ``DUR_1/2``.

    Loss: only the highest note of each onset is kept; rests are dropped (a
    note starts when the previous one ends); durations snap to the grid.
    """

    config_class = IntervalConfig
    config: IntervalConfig

    def song_to_names(self, song: popgen.Song) -> list[str]:
        spb = self.config.steps_per_beat
        notes = song.drop_drums().quantize(spb).notes
        top = notes[np.lexsort((-notes["pitch"], notes["start"]))]  # highest first per onset
        top = top[np.unique(top["start"], return_index=True)[1]]
        names, previous = [], self.config.first_pitch
        for pitch, duration in zip(top["pitch"].tolist(), top["duration"].tolist(), strict=True):
            beats = Fraction(round(duration * spb), spb)
            names += [f"INT_{pitch - previous:+d}", f"DUR_{beats}"]
            previous = pitch
        return names

    def names_to_song(self, names: Sequence[str]) -> popgen.Song:
        pitch, now, interval = self.config.first_pitch, 0.0, None
        pitches, starts, durations = [], [], []
        for name in names:
            family, _, value = name.partition("_")
            if family == "INT":
                interval = int(value)
            elif family == "DUR" and interval is not None:  # a note is INT then DUR
                pitch = min(max(pitch + interval, 0), 127)
                pitches.append(pitch)
                starts.append(now)
                durations.append(float(Fraction(value)))
                now += durations[-1]
                interval = None
        return popgen.Song(popgen.make_notes(pitches, starts, durations))

    def grammar_rules(self) -> tuple[str, dict[str, dict[str, str]]]:
        return "start", {"start": {"INT": "interval", "EOS": "start"}, "interval": {"DUR": "start"}}


def main(out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    corpus = popgen.Corpus.from_music21("essenFolksong/test0")
    tokenizer = popgen.get_tokenizer("interval").fit(corpus)
    model = popgen.LSTMModel(
        vocab_size=tokenizer.vocab_size, embed_dim=32, hidden_size=64, num_layers=1
    )
    config = popgen.TrainConfig(seq_len=32, epochs=2)
    run = popgen.train(model, tokenizer, corpus, config, progress=False)
    sampler = popgen.Sampler.from_run(run, chain(temperature(0.9), top_k(10)))
    song = sampler.generate(96, seed=0)[0]
    path = out / "interval.mid"
    song.write_midi(path)
    print(f"vocabulary {tokenizer.vocab_size} tokens; wrote {song.num_notes} notes to {path}")
    return path


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp()))
