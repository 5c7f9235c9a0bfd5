"""``popgen generate``: write songs sampled from a trained run, in MIDI and other formats.

Every song goes through one write path, which warns on stderr (and still
writes the file, exit status 0) when a song has no notes.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from popgen.cli.options import RUN_HELP, positive_int
from popgen.cli.safe_output import check_song_size, interruptible, written_whole
from popgen.sampling.recipe import DEFAULT_STRATEGY, run_recipe, strategy_spec

if TYPE_CHECKING:
    from typing import Any

    from numpy.typing import NDArray

    from popgen.cli.options import Subcommands
    from popgen.music.song import Song
    from popgen.runs.run import Run
    from popgen.sampling import Strategy
    from popgen.sampling.controls import Controls

__all__ = [
    "add_output_flags",
    "add_parser",
    "add_strategy_flags",
    "run",
    "seed_from",
    "strategy_from",
    "write_song",
]

#: The most tokens in a row a beam may take without a pitch token (``max_gap``): the
#: likeliest path of a melody model is often all rests, which would make an empty song.
_BEAM_MAX_GAP = 16


#: From this many tokens (or bars of controls) on, generation shows a progress bar.
_BAR_TOKENS = 4096
_BAR_BARS = 128


def add_parser(sub: Subcommands) -> argparse.ArgumentParser:
    """Add the ``generate`` command to ``popgen``'s subcommands.

    >>> from popgen.cli import build_parser
    >>> args = build_parser().parse_args(["generate", "run/", "--out", "song.mid"])
    >>> args.command, args.tokens, args.batch_size, args.strategy
    ('generate', None, 1, None)
    """
    parser = sub.add_parser("generate", help="generate songs from a trained run")
    parser.add_argument("run", type=Path, help=RUN_HELP)
    parser.add_argument("--out", type=Path, required=True, help="MIDI file to write")
    parser.add_argument(
        "--tokens",
        type=positive_int,
        help="tokens per song (default: 400; with --chords, enough for every bar)",
    )
    add_strategy_flags(parser)
    controls = parser.add_argument_group(
        "controls",
        "a song skeleton to follow, for runs trained with --tokenizer pop or lead: the bars "
        "and chords are forced, the model writes the melody (and the accompaniment)",
    )
    controls.add_argument(
        "--chords",
        help="a chord progression: 'C G Am F' (one chord per bar), 'C G | Am F' (bars split "
        "by |, their chords sharing the bar), 'C . . G7' ('.' holds a chord for a beat)",
    )
    controls.add_argument(
        "--chords-file",
        type=Path,
        help="the progression in a text file, one bar per line; with --form, a progression "
        "per section may be given, one per line: 'A: C G Am F', 'B: F G Em Am', '*: C' "
        "(every other section)",
    )
    controls.add_argument(
        "--bars",
        type=positive_int,
        help="bars to write (default: the progression's; a shorter progression that divides "
        "it repeats); the song gets 8-bar sections A B A B ... (see --form)",
    )
    controls.add_argument(
        "--form",
        help="the song's form, sections of a letter and a number of bars: 'i4 A8 B8 A8 B8 o4' "
        "(capitals have melody; the same letter, the same material); the progression loops "
        "over each section; the MIDI file carries the sections as markers",
    )
    parser.add_argument(
        "--beam-size",
        type=int,
        help="beam search instead of sampling (one song), with the same strategy; beams also "
        f"take a note at least every {_BEAM_MAX_GAP} tokens (max_gap, fewer for short songs)",
    )
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
    add_output_flags(parser)
    return parser


def add_strategy_flags(parser: argparse.ArgumentParser) -> None:
    """The sampling flags ``generate`` and ``arrange`` share (see :func:`strategy_from`).

    >>> parser = argparse.ArgumentParser()
    >>> add_strategy_flags(parser)
    >>> parser.parse_args(["--top-p", "0.9"]).top_p
    0.9
    """
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
    parser.add_argument(
        "--seed",
        type=int,
        help="seed of the random draws: the same seed, model and flags give the same songs "
        "(default: a fresh seed each run, printed so the songs can be made again)",
    )


def seed_from(args: argparse.Namespace) -> int:
    """``--seed``, or a fresh seed drawn from the system and printed: ``seed 1234 (repeat ...)``.

    >>> seed_from(argparse.Namespace(seed=7))
    7
    >>> seed = seed_from(argparse.Namespace(seed=None))  # doctest: +ELLIPSIS
    seed ... (repeat with --seed ...)
    """
    if args.seed is not None:
        return int(args.seed)
    import secrets

    seed = secrets.randbelow(2**31)
    print(f"seed {seed} (repeat with --seed {seed})", flush=True)
    return seed


def add_output_flags(parser: argparse.ArgumentParser) -> None:
    """The ``--png``, ``--musicxml`` and ``--wav`` flags (see :func:`write_song`).

    >>> parser = argparse.ArgumentParser()
    >>> add_output_flags(parser)
    >>> parser.parse_args(["--png"]).png
    True
    """
    parser.add_argument("--png", action="store_true", help="also write a piano-roll PNG")
    parser.add_argument("--musicxml", action="store_true", help="also write MusicXML")
    parser.add_argument(
        "--wav",
        action="store_true",
        help="also write WAV (FluidSynth if installed, else the built-in synth)",
    )


def strategy_from(args: argparse.Namespace, run: Run) -> Strategy:
    """The strategy of ``--temperature``, ``--top-k``, ``--top-p``, then ``--strategy``.

    Without any of them, the run's recorded recipe (:attr:`popgen.Run.usage`).

    ```python
    args = build_parser().parse_args(["generate", "runs/pop", "--out", "a.mid", "--top-p", "0.9"])
    strategy = strategy_from(args, load_run("runs/pop"))  # top_p(0.9), then nothing more
    ```
    """
    from popgen.sampling import parse_strategy

    spec = strategy_spec(
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        strategy=args.strategy,
        recipe=run_recipe(run),
    )
    return parse_strategy(spec, run.tokenizer)


def run(args: argparse.Namespace) -> None:
    """Sample the songs and write them, with the PNG, MusicXML and WAV asked for.

    ```text
    $ popgen generate runs/folk --out songs/folk.mid --batch-size 4 --png
    ```
    """
    from popgen.runs.load import load_run
    from popgen.sampling import Sampler, chain

    if args.program is not None and not 0 <= args.program <= 127:
        raise ValueError(f"--program must be a General MIDI program in 0..127, got {args.program}")
    if args.beam_size is not None and (args.batch_size > 1 or args.best_of > 1):
        raise ValueError("--beam-size writes one song, the best beam; drop --batch-size/--best-of")
    check_song_size(tokens=args.tokens, bars=args.bars)
    steering = any(x is not None for x in (args.chords, args.chords_file, args.bars, args.form))
    if steering:
        _check_controls(args)
    primer = _read_primer(args.primer) if args.primer else None
    run = load_run(args.run)
    controls = _controls(args, run) if steering else None
    if controls is not None:
        check_song_size(bars=controls.bars)  # a progression's own bars
    strategy = strategy_from(args, run)
    tokens = args.tokens if args.tokens is not None or steering else 400
    if args.beam_size is not None:  # constraint first, so truncations choose among its tokens
        strategy = chain(_beam_notes(run, _beam_gap(tokens)), strategy)
    # a bar for long songs only: a program with the bar's host callback is not kept in the
    # persistent compilation cache, and short songs are done before a bar would show
    long = (tokens or 0) >= _BAR_TOKENS or (controls is not None and controls.bars >= _BAR_BARS)
    sampler = Sampler.from_run(run, strategy, progress=long)
    keep = not args.continuation_only
    seed = 0 if args.beam_size is not None else seed_from(args)  # beams draw nothing
    if controls is not None:
        songs = interruptible(
            lambda: sampler.generate(
                tokens, batch_size=args.batch_size, seed=seed, best_of=args.best_of,
                controls=controls,
            )
        )  # fmt: skip
    elif args.beam_size is not None:
        beams = interruptible(
            lambda: sampler.beam_search(
                tokens, beam_size=args.beam_size, primer=primer, include_primer=keep
            )
        )
        songs = beams[:1]
    else:
        songs = interruptible(
            lambda: sampler.generate(
                tokens,
                batch_size=args.batch_size,
                seed=seed,
                primer=primer,
                include_primer=keep,
                best_of=args.best_of,
            )
        )
    out: Path = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    for i, song in enumerate(songs):
        if primer is None and controls is None and not args.keep_leading_silence:
            song = song.without_leading_silence()
        if args.program is not None:
            tracks = tuple(dataclasses.replace(t, program=args.program) for t in song.tracks)
            song = song.replace(tracks=tracks)
        path = out if len(songs) == 1 else out.with_name(f"{out.stem}-{i}{out.suffix}")
        write_song(song, path, args)


def _read_primer(path: Path) -> Song:
    """The primer file, within the default limits (its size first, then its song)."""
    from popgen.formats.midi_reading import read_midi
    from popgen.music.limits import bound_song, check_file_size

    if path.is_file():  # a missing one: read_midi names it
        check_file_size(path)
    return bound_song(read_midi(path))


def _check_controls(args: argparse.Namespace) -> None:
    """Refuse flags that cannot go with controls, before anything is loaded."""
    if args.chords is not None and args.chords_file is not None:
        raise ValueError("give the chords once: --chords or --chords-file")
    if args.chords is None and args.chords_file is None:
        flag = "--form" if args.form is not None else "--bars"
        raise ValueError(f"{flag} needs chords to follow: give --chords or --chords-file")
    if args.primer is not None or args.beam_size is not None:
        raise ValueError("--chords cannot go with --primer or --beam-size (yet); drop them")


def _controls(args: argparse.Namespace, run: Run) -> Controls:
    """The controls of ``--chords``/``--chords-file``, ``--bars`` and ``--form`` (run's meter)."""
    from popgen.music.form import read_progressions
    from popgen.music.progression import read_progression
    from popgen.sampling.controls import Controls

    meter = run.usage.meter
    chords: str | NDArray[Any] | dict[str, str] = args.chords
    if args.chords_file is not None and args.form:  # a file may give each section its own
        chords = read_progressions(args.chords_file)
    elif args.chords_file is not None:
        chords = read_progression(args.chords_file, meter=meter, bars=args.bars)
    return Controls.for_song(chords, bars=args.bars, form=args.form, meter=meter)


def _beam_notes(run: Run, gap: int) -> Strategy:
    """What makes a beam write notes: through the grammar to a pitch, else ``max_gap``.

    In an encoding with a grammar (``pop``: a pitch comes only after a bar, a chord,
    a part and a position) ``max_gap`` alone cannot force one, and the likeliest
    path is empty bars; :func:`popgen.sampling.reach.reach_pitch` follows the grammar.
    """
    from popgen.sampling import max_gap
    from popgen.sampling.reach import reach_pitch

    pitches = run.tokenizer.token_pitches()
    grammar = run.tokenizer.grammar()
    if grammar is None:
        return max_gap(gap, pitches)
    return reach_pitch(gap, pitches, grammar.table, grammar.start)


def _beam_gap(num_tokens: int) -> int:
    """``max_gap``'s limit for beams of ``num_tokens`` tokens: room for a whole note after it.

    >>> _beam_gap(400), _beam_gap(10), _beam_gap(1)
    (16, 5, 1)
    """
    return max(1, min(_BEAM_MAX_GAP, num_tokens // 2))


def write_song(song: Song, path: Path, args: argparse.Namespace) -> None:
    """Write ``song`` as MIDI and the formats asked for; warn on stderr if it has no notes.

    ```python
    write_song(song, Path("songs/a.mid"), args)  # also songs/a.png with --png
    ```
    """
    from popgen.formats.score_writing import write_musicxml
    from popgen.outputs.audio import write_wav

    with written_whole(path) as part:  # Ctrl-C or a failure leaves no half-written file
        song.write_midi(part)
    written = [path]
    if args.png:
        written.append(path.with_suffix(".png"))
        with written_whole(written[-1]) as part:
            song.write_png(part)
    if args.musicxml:
        written.append(path.with_suffix(".musicxml"))
        with written_whole(written[-1]) as part:
            write_musicxml(song, part)
    if args.wav:
        written.append(path.with_suffix(".wav"))
        with written_whole(written[-1]) as part:
            write_wav(song, part)
    names = ", ".join(str(p) for p in written)
    print(f"wrote {names} ({song.num_notes} notes, {song.end:.1f} beats)")
    if song.num_notes == 0:
        if getattr(args, "beam_size", None) is not None:
            hint = "the likeliest tokens make no note; try sampling, or a smaller max_gap"
        else:
            hint = "no note was drawn; try more --tokens, another --seed, or max_gap=16"
        print(f"warning: {path} has no notes ({hint} in --strategy)", file=sys.stderr)
