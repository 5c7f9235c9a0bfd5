"""``popgen generate``: write songs sampled from a trained run, in MIDI and other formats."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from popgen.cli.options import positive_int
from popgen.recipe import DEFAULT_STRATEGY

if TYPE_CHECKING:
    from popgen.cli.options import Subcommands

__all__ = ["add_parser", "run"]


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    """Add the ``generate`` command to ``popgen``'s subcommands.

    >>> from popgen.cli import build_parser
    >>> args = build_parser().parse_args(["generate", "run/", "--out", "song.mid"])
    >>> args.command, args.tokens, args.batch_size, args.strategy
    ('generate', 400, 1, None)
    """
    parser = sub.add_parser("generate", help="generate songs from a trained run")
    parser.add_argument("run", type=Path, help="run directory written by 'popgen train'")
    parser.add_argument("--out", type=Path, required=True, help="MIDI file to write")
    parser.add_argument("--tokens", type=positive_int, default=400, help="tokens per song")
    parser.add_argument("--batch-size", type=positive_int, default=1, help="songs to write")
    parser.add_argument("--temperature", type=float, help="divide the logits by this (> 0)")
    parser.add_argument("--top-k", type=int, help="keep the k most likely tokens")
    parser.add_argument("--top-p", type=float, help="keep the nucleus of this probability")
    parser.add_argument(
        "--strategy",
        help="strategy chain applied after the flags above, e.g. "
        "'temperature=0.9,top_p=0.95,repetition_penalty=1.2' or 'in_key=C,pitch_range(48, 84),"
        "top_p=0.9' (constraints before truncations); '' samples plainly; default: without "
        "the flags above, the recipe the run recorded (popgen's recipe, docs/experiments.md: "
        f"'{DEFAULT_STRATEGY}')",
    )
    parser.add_argument(
        "--best-of", type=int, default=1, help="draw N per song, keep the likeliest"
    )
    parser.add_argument("--beam-size", type=int, help="beam search instead of sampling (one song)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--primer", type=Path, help="MIDI file the songs continue")
    parser.add_argument(
        "--continuation-only", action="store_true", help="write the songs without the primer"
    )
    parser.add_argument(
        "--keep-leading-silence",
        action="store_true",
        help="without a primer, keep the rests a song may start with (dropped by default, "
        "from the bar line before the first note)",
    )
    parser.add_argument("--program", type=int, help="General MIDI program of the track, 0..127")
    parser.add_argument("--png", action="store_true", help="also write a piano-roll PNG")
    parser.add_argument("--musicxml", action="store_true", help="also write MusicXML")
    parser.add_argument(
        "--wav", action="store_true", help="also write WAV (needs FluidSynth and a soundfont)"
    )
    return parser


def run(args: argparse.Namespace) -> None:
    """Sample the songs and write them, with the PNG, MusicXML and WAV asked for.

    ```text
    $ popgen generate runs/folk --out songs/folk.mid --batch-size 4 --png
    ```
    """
    import dataclasses

    from popgen.checkpoint import load_run
    from popgen.midi import read_midi
    from popgen.render import find_fluidsynth, write_wav
    from popgen.sampling import Sampler, Strategy, chain, parse_strategy, temperature, top_k, top_p
    from popgen.scores import write_musicxml

    if args.program is not None and not 0 <= args.program <= 127:
        raise ValueError(f"--program must be a General MIDI program in 0..127, got {args.program}")
    if args.beam_size is not None and (args.batch_size > 1 or args.best_of > 1):
        raise ValueError("--beam-size writes one song, the best beam; drop --batch-size/--best-of")
    if args.wav:
        find_fluidsynth()  # fail before generating
    parts: list[Strategy] = []
    if args.temperature is not None:
        parts.append(temperature(args.temperature))
    if args.top_k is not None:
        parts.append(top_k(args.top_k))
    if args.top_p is not None:
        parts.append(top_p(args.top_p))
    primer = read_midi(args.primer) if args.primer else None
    run = load_run(args.run)
    spec = args.strategy if args.strategy is not None else ("" if parts else run.usage.strategy)
    sampler = Sampler.from_run(run, chain(*parts, parse_strategy(spec, run.tokenizer)))
    keep = not args.continuation_only
    if args.beam_size is not None:
        beams = sampler.beam_search(
            args.tokens, beam_size=args.beam_size, primer=primer, include_primer=keep
        )
        songs = beams[:1]
    else:
        songs = sampler.generate(
            args.tokens,
            batch_size=args.batch_size,
            seed=args.seed,
            primer=primer,
            include_primer=keep,
            best_of=args.best_of,
        )
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    for i, song in enumerate(songs):
        if primer is None and not args.keep_leading_silence:
            song = song.without_leading_silence()
        if args.program is not None:
            tracks = tuple(dataclasses.replace(t, program=args.program) for t in song.tracks)
            song = song.replace(tracks=tracks)
        path = out if len(songs) == 1 else out.with_name(f"{out.stem}-{i}{out.suffix}")
        song.write_midi(path)
        written = [path]
        if args.png:
            written.append(path.with_suffix(".png"))
            song.write_png(written[-1])
        if args.musicxml:
            written.append(path.with_suffix(".musicxml"))
            write_musicxml(song, written[-1])
        if args.wav:
            written.append(path.with_suffix(".wav"))
            write_wav(song, written[-1])
        names = ", ".join(str(p) for p in written)
        print(f"wrote {names} ({song.num_notes} notes, {song.end:.1f} beats)")
