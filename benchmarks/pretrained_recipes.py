"""Rebuild the shipped models from their recipes: in full, or for a short budget.

Each recipe is the exact ``popgen train`` and ``popgen export`` command its
model card shows (songs 001-700 of the shared POP909 folder; 701-800 stay
held out for the card's figures). ``--short`` trains a few steps on a few
songs and checks the pipeline end to end (train, export, load by file,
generate); the full run trains as the shipped model was trained and compares
its held-out NLL with the shipped model's (the cards' goal: within 2 %).

    python benchmarks/pretrained_recipes.py [--short] [--only pop909-melody] [--out runs/rebuilt]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "pop909"
TRAIN_SONGS = [f"{DATA}/[0-6]*/*.mid", f"{DATA}/700"]

#: ``popgen train`` arguments of each shipped model (after the songs, before ``--out``).
RECIPES: dict[str, list[str]] = {
    "pop909-melody": ["--tracks", "MELODY", "--transpose-to", "C", "--epochs", "5"],
    "pop909-songs": [
        "--tokenizer", "pop", "--tokenizer-option", "sections=True", "--transpose-to", "C",
        "--step-features", "--seq-len", "256", "--batch-size", "16", "--epochs", "7",
        "--max-steps", "6000",
        "--lr-schedule", "cosine", "--warmup-steps", "50",
        "--hidden-size", "384", "--num-layers", "2", "--embed-dim", "64", "--dropout", "0.1",
        "--valid-fraction", "0.05", "--patience", "5",
    ],
}  # fmt: skip

#: ``popgen export`` card of each shipped model.
CARDS: dict[str, dict[str, str]] = {
    "pop909-melody": {
        "description": "Pop melodies in C major / A minor, 4/4, with dynamics and rests",
        "data": "POP909 songs 001-700, melody track (Wang et al., ISMIR 2020)",
        "licence": "MIT",
    },
    "pop909-songs": {
        "description": "Pop songs over a chord progression: melody and piano accompaniment",
        "data": "POP909 songs 001-700, all tracks, annotated chords (Wang et al., ISMIR 2020)",
        "licence": "MIT",
    },
}

#: The short budget: a few songs, a few steps.
SHORT_SONGS = [f"{DATA}/00[1-6]/*.mid"]
SHORT_FLAGS = ["--max-steps", "3", "--valid-fraction", "0.34", "--quiet"]


def train_command(name: str, out: Path, *, short: bool = False) -> list[str]:
    """The ``popgen train`` command of a recipe (the short one trains 3 steps on 6 songs)."""
    songs = SHORT_SONGS if short else TRAIN_SONGS
    flags = RECIPES[name] + (SHORT_FLAGS if short else [])
    return [sys.executable, "-m", "popgen.cli", "train", *songs, *flags, "--out", str(out)]


def export_command(name: str, run: Path, out: Path) -> list[str]:
    """The ``popgen export`` command that makes the shipped file from the run."""
    card = [f"--{key}={value}" for key, value in CARDS[name].items()]
    return [sys.executable, "-m", "popgen.cli", "export", str(run), "--out", str(out), *card]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--short", action="store_true", help="a few steps on a few songs")
    parser.add_argument("--only", choices=sorted(RECIPES), help="one model")
    parser.add_argument("--out", type=Path, default=Path("runs/rebuilt"))
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA}: the shared POP909 songs are needed")
    for name in [args.only] if args.only else sorted(RECIPES):
        run, file = args.out / name, args.out / f"{name}.safetensors"
        t0 = time.perf_counter()
        for command in (
            train_command(name, run, short=args.short),
            export_command(name, run, file),
        ):
            print("+", " ".join(command[2:]), flush=True)
            subprocess.run(command, check=True)
        print(f"{name}: trained and exported in {time.perf_counter() - t0:.0f} s", flush=True)
        from popgen.runs.model_file import read_model_card
        from popgen.runs.pretrained import available

        shipped_file = next(model.path for model in available() if model.name == name)
        rebuilt, shipped = read_model_card(file), read_model_card(shipped_file)
        if rebuilt["valid_loss"] and shipped["valid_loss"]:
            change = rebuilt["valid_loss"] / shipped["valid_loss"] - 1
            print(
                f"{name}: validation NLL {rebuilt['valid_loss']:.4f} against the shipped "
                f"{shipped['valid_loss']:.4f} ({change:+.2%})"
            )


if __name__ == "__main__":
    main()
