"""``popgen arrange``: chords and an accompaniment for a given melody, the melody kept as is."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from popgen.cli.generate import (
    add_output_flags,
    add_strategy_flags,
    seed_from,
    strategy_from,
    write_song,
)
from popgen.cli.options import RUN_HELP, positive_int
from popgen.cli.safe_output import check_song_size

if TYPE_CHECKING:
    from popgen.cli.options import Subcommands

__all__ = ["add_parser", "run"]


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    """Add the ``arrange`` command to ``popgen``'s subcommands.

    >>> from popgen.cli import build_parser
    >>> args = build_parser().parse_args(["arrange", "run/", "tune.mid", "--out", "song.mid"])
    >>> args.command, args.melody, args.chords, args.infer_chords
    ('arrange', PosixPath('tune.mid'), None, True)
    """
    parser = sub.add_parser(
        "arrange",
        help="write chords and an accompaniment for a melody (a run trained with --tokenizer pop)",
        description="The melody comes out note for note; its chords are the ones given "
        "(--chords), else the file's own (chord symbols of a score, POP909 annotations), "
        "else inferred from the melody; the model writes the accompaniment bar by bar.",
    )
    parser.add_argument("run", type=Path, help=RUN_HELP)
    parser.add_argument(
        "melody",
        type=Path,
        help="the melody: a MIDI file or a score (MusicXML, ABC, ...) with one line, or "
        "with a track whose name says melody (e.g. 'Melody', 'Vocal')",
    )
    parser.add_argument("--out", type=Path, required=True, help="MIDI file to write")
    parser.add_argument(
        "--chords", help="the chords to use instead, e.g. 'C G Am F' (see popgen generate)"
    )
    parser.add_argument(
        "--chords-file", type=Path, help="the chords in a text file, one bar a line"
    )
    parser.add_argument(
        "--no-infer-chords",
        dest="infer_chords",
        action="store_false",
        help="when the melody has no chords, let the model choose them instead of inferring "
        "them from the melody",
    )
    parser.add_argument("--tokens", type=positive_int, help="tokens per song (default: enough)")
    add_strategy_flags(parser)
    add_output_flags(parser)
    return parser


def run(args: argparse.Namespace) -> None:
    """Read the melody, build the controls, generate, check the melody, write the songs.

    ```text
    $ popgen arrange runs/pop tune.musicxml --out songs/tune.mid --batch-size 3 --png
    ```
    """
    from popgen.corpus.corpus import Corpus
    from popgen.music.chords import transpose_chords
    from popgen.music.melody import melody_line
    from popgen.music.progression import parse_progression, read_progression
    from popgen.runs.load import load_run
    from popgen.sampling import Sampler
    from popgen.sampling.controls import Controls

    if args.chords is not None and args.chords_file is not None:
        raise ValueError("give the chords once: --chords or --chords-file")
    run = load_run(args.run)
    trained = run.usage.reading
    # read the melody as the training songs were, but keep its key and its own chords only
    reading = None if trained is None else trained.replace(
        transpose_to=None, tracks=None, programs=None,
        chords="none" if trained.chords == "none" else "given",
    )  # fmt: skip
    song = Corpus.from_paths([args.melody], reading, cache_dir=None, workers=1).songs[0]
    line = melody_line(song)
    sig = song.time_signatures[0]
    meter = (sig.numerator, sig.denominator)
    chords = song.chords if len(song.chords) else None
    if args.chords_file is not None:
        chords = read_progression(args.chords_file, meter=meter)
    elif args.chords is not None:
        chords = parse_progression(args.chords, meter=meter)
    shift = 0  # move the melody to the key family the run was trained in, and back after
    if trained is not None and trained.transpose_to is not None:
        moved = Corpus([line]).transposed_to(trained.transpose_to).songs[0]
        shift = int(moved.notes["pitch"][0]) - int(line.notes["pitch"][0])
    if chords is not None:
        chords = transpose_chords(chords, shift)
    controls = Controls.for_melody(line.transpose(shift), chords=chords, infer=args.infer_chords)
    check_song_size(tokens=args.tokens, bars=controls.bars)
    sampler = Sampler.from_run(run, strategy_from(args, run))
    songs = sampler.generate(
        args.tokens, batch_size=args.batch_size, seed=seed_from(args), best_of=args.best_of,
        controls=controls,
    )  # fmt: skip
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    for i, arranged in enumerate(songs):
        arranged = arranged.transpose(-shift).replace(title=song.title, key=song.key)
        kept = arranged.notes[arranged.notes["track"] == 0]
        if kept.tolist() != line.notes.tolist():  # a guard: the melody must come out as it went in
            raise RuntimeError(f"{args.melody}: the arranged melody differs from the given one")
        path = out if len(songs) == 1 else out.with_name(f"{out.stem}-{i}{out.suffix}")
        write_song(arranged, path, args)
