"""Arrange a melody written in a score editor: chords and an accompaniment, the tune kept as is.

Writes a short tune with chord symbols as MusicXML (as MuseScore or any
score editor would), trains a small ``pop`` model on Bach chorales bundled
with music21 with the ``popgen`` command (soprano as the melody, the lower
voices as the accompaniment), and runs ``popgen arrange``: the score's chord
symbols are forced bar by bar, the melody comes out note for note, the model
writes the accompaniment. Without chord symbols, ``popgen arrange`` infers
the chords from the melody.

    python examples/arrange_melody.py [OUT_DIR]
"""

import sys
import tempfile
from pathlib import Path

import music21

import popgen
from popgen.cli import main as popgen_command

out = Path(sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp())
out.mkdir(parents=True, exist_ok=True)

# the tune: four bars of 4/4 with a chord symbol on each bar
tune = music21.stream.Part()
tune.append(music21.meter.TimeSignature("4/4"))
for symbol, pitches in [("C", "E4 G4 C5 G4"), ("G", "D5 B4 G4 B4"),
                        ("Am", "C5 A4 E4 A4"), ("F", "F4 A4 C5 A4")]:  # fmt: skip
    tune.append(music21.harmony.ChordSymbol(symbol))
    for name in pitches.split():
        tune.append(music21.note.Note(name, quarterLength=1))
score = music21.stream.Score([tune])
score.write("musicxml", fp=out / "tune.musicxml")

chorales = [f"music21:bach/bwv{n}" for n in ("66.6", "26.6", "253", "269", "347", "367")]
roles = ["--role", "Soprano=melody"] + [
    f"--role={v}=accompaniment" for v in ("Alto", "Tenor", "Bass")
]
status = popgen_command(["train", *chorales, "--tokenizer", "pop", "--transpose-to", "C",
                         *roles, "--workers", "1", "--epochs", "3", "--seq-len", "64",
                         "--batch-size", "8", "--hidden-size", "64", "--num-layers", "1",
                         "--embed-dim", "32", "--valid-fraction", "0", "--quiet",
                         "--out", str(out / "run")])  # fmt: skip
assert status == 0, "training failed"
status = popgen_command(["arrange", str(out / "run"), str(out / "tune.musicxml"),
                         "--out", str(out / "arranged.mid")])  # fmt: skip
assert status == 0, "arranging failed"

song = popgen.read_midi(out / "arranged.mid")
melody = next(i for i, t in enumerate(song.tracks) if t.name == "Melody")
print(f"melody pitches: {song.select_tracks([melody]).notes['pitch'].tolist()}")
print(f"parts: {[t.name for t in song.tracks]}, {song.num_notes} notes")
