"""The ``popgen`` command: parses arguments and calls the library, nothing more.

Bad input (a missing path, a corrupt file, an unknown name, impossible
settings) prints one line, ``popgen: error: ...``, and exits with status 1.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from popgen.errors import PopgenError

__all__ = ["build_parser", "main"]


#: popgen.sampling.DEFAULT_STRATEGY, spelled out so that building the parser needs no JAX
_RECIPE = "temperature=1.1,repeat_melody(4, 4.0),max_same_pitch_run=6"


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand.

    >>> args = build_parser().parse_args(["generate", "run/", "--out", "song.mid"])
    >>> args.command, args.tokens, args.batch_size
    ('generate', 400, 1)

    """
    parser = argparse.ArgumentParser(
        prog="popgen", description="Train LSTM music models and generate songs."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="train a small model on bundled folk songs, write a song")
    demo.add_argument("--out", type=Path, default=Path("demo"), help="output folder")
    demo.add_argument("--epochs", type=_positive_int, help="training epochs (default 8)")
    demo.add_argument("--seed", type=int, default=0, help="seed for training and sampling")

    co = sub.add_parser("corpus", help="read sources and describe them (fills the cache)")
    co.add_argument("sources", nargs="+", help="MIDI/score files, folders, globs, music21:NAME")
    _corpus_arguments(co)

    tr = sub.add_parser("train", help="train a model on MIDI files, folders or music21:NAME")
    tr.add_argument("sources", nargs="+", help="MIDI/score files, folders, globs, music21:NAME")
    tr.add_argument("--out", type=Path, required=True, help="run directory to write")
    tr.add_argument("--tokenizer", default="note", help="encoding name (default: note)")
    _corpus_arguments(tr)
    # the defaults are the best recipe of docs/experiments.md (POP909 melodies)
    tr.add_argument("--seq-len", type=_positive_int, default=32, help="tokens per window")
    tr.add_argument("--stride", type=_positive_int)
    tr.add_argument("--batch-size", type=_positive_int, default=32)
    tr.add_argument("--epochs", type=_positive_int, default=20)
    tr.add_argument("--max-steps", type=_positive_int)
    tr.add_argument("--lr", type=float, default=2e-3, help="peak learning rate")
    tr.add_argument("--embed-dim", type=_positive_int, default=128)
    tr.add_argument("--hidden-size", type=_positive_int, default=512)
    tr.add_argument("--num-layers", type=_positive_int, default=2)
    tr.add_argument("--dropout", type=float, default=0.2)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--optimizer", choices=["adam", "adamw", "rmsprop"], default="adam")
    tr.add_argument(
        "--lr-schedule", choices=["constant", "exponential", "cosine"], default="constant"
    )
    tr.add_argument(
        "--lr-decay",
        type=float,
        default=0.1,
        help="exponential schedule: the rate ends at lr * this",
    )
    tr.add_argument("--warmup-steps", type=int, default=0)
    tr.add_argument("--weight-decay", type=float, default=0.0, help="adamw only")
    tr.add_argument("--clip-norm", type=float, default=1.0, help="0 turns clipping off")
    tr.add_argument(
        "--valid-fraction", type=float, default=0.1, help="share of songs held out for validation"
    )
    tr.add_argument(
        "--patience",
        type=_positive_int,
        default=3,
        help="stop after this many epochs without a better validation loss (default 3)",
    )
    tr.add_argument(
        "--checkpoint-every",
        type=_positive_int,
        help="also checkpoint every N steps (default: every epoch)",
    )
    tr.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
    )
    tr.add_argument(
        "--init-from",
        type=Path,
        metavar="RUN",
        help="fine-tune: start from this run's parameters, tokenizer and model",
    )
    tr.add_argument("--quiet", action="store_true", help="no progress bar")

    gen = sub.add_parser("generate", help="generate songs from a trained run")
    gen.add_argument("run", type=Path, help="run directory written by 'popgen train'")
    gen.add_argument("--out", type=Path, required=True, help="MIDI file to write")
    gen.add_argument("--tokens", type=_positive_int, default=400, help="tokens per song")
    gen.add_argument("--batch-size", type=_positive_int, default=1, help="songs to write")
    gen.add_argument("--temperature", type=float, help="divide the logits by this (> 0)")
    gen.add_argument("--top-k", type=int, help="keep the k most likely tokens")
    gen.add_argument("--top-p", type=float, help="keep the nucleus of this probability")
    gen.add_argument(
        "--strategy",
        help="strategy chain applied after the flags above, e.g. "
        "'temperature=0.9,top_p=0.95,repetition_penalty=1.2' or 'in_key=C,pitch_range(48, 84),"
        "top_p=0.9' (constraints before truncations); '' samples plainly; default: without "
        f"the flags above, the recipe of docs/experiments.md, '{_RECIPE}'",
    )
    gen.add_argument("--best-of", type=int, default=1, help="draw N per song, keep the likeliest")
    gen.add_argument("--beam-size", type=int, help="beam search instead of sampling (one song)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--primer", type=Path, help="MIDI file the songs continue")
    gen.add_argument(
        "--continuation-only", action="store_true", help="write the songs without the primer"
    )
    gen.add_argument(
        "--keep-leading-silence",
        action="store_true",
        help="without a primer, keep the rests a song may start with (dropped by default, "
        "from the bar line before the first note)",
    )
    gen.add_argument("--program", type=int, help="General MIDI program of the track, 0..127")
    gen.add_argument("--png", action="store_true", help="also write a piano-roll PNG")
    gen.add_argument("--musicxml", action="store_true", help="also write MusicXML")
    gen.add_argument(
        "--wav", action="store_true", help="also write WAV (needs FluidSynth and a soundfont)"
    )
    ev = sub.add_parser("evaluate", help="measure a run's songs against real songs")
    ev.add_argument("run", type=Path, help="run directory written by 'popgen train'")
    ev.add_argument(
        "--reference",
        nargs="+",
        required=True,
        metavar="SOURCE",
        help="real songs, read as for training (the run's training songs among them)",
    )
    _corpus_arguments(ev)
    ev.add_argument("--samples", type=_positive_int, default=32, help="songs to generate")
    ev.add_argument(
        "--tokens",
        type=_positive_int,
        help="tokens per song (default: the held-out songs' median length)",
    )
    ev.add_argument(
        "--strategy",
        help=f"sampling strategy, as for 'generate' (default: '{_RECIPE}'; '' samples plainly)",
    )
    ev.add_argument("--seed", type=int, default=0)
    ev.add_argument(
        "--track", help="multitrack reference songs: a track index, a track name or 'merge'"
    )
    ev.add_argument("--ngram-order", type=_positive_int, default=4, help="n-gram baseline order")
    ev.add_argument("--json", type=Path, help="also write every figure as JSON")
    ev.add_argument("--png", type=Path, help="also write metric histograms as PNG")

    sw = sub.add_parser("sweep", help="train and evaluate a grid of runs from a TOML file")
    sw.add_argument("config", type=Path, help="sweep file (see examples/sweep-pop909.toml)")
    sw.add_argument("--out", type=Path, required=True, help="folder of the runs and results")
    sw.add_argument("--report", type=Path, help="also write a Markdown results page")
    sw.add_argument(
        "--report-block",
        default="results",
        help="which generated block of the page to write (default: results)",
    )
    sw.add_argument(
        "--reevaluate",
        action="store_true",
        help="evaluate finished runs again (after changing the [evaluate] settings)",
    )
    sw.add_argument("--quiet", action="store_true", help="no progress bars")
    return parser


def _corpus_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of reading a corpus, shared by ``corpus`` and ``train``."""
    parser.add_argument("--tracks", nargs="+", help="keep tracks with these names or indices")
    parser.add_argument("--drums", action="store_true", help="keep drum tracks")
    parser.add_argument("--transpose-to", help="move songs to this key's family, e.g. C")
    parser.add_argument(
        "--keys",
        choices=["auto", "file", "analysis"],
        default="auto",
        help="where song keys come from (default: auto)",
    )
    parser.add_argument("--no-cache", action="store_true", help="parse every file again")
    parser.add_argument(
        "--workers", type=_positive_int, help="reading processes (default: all cores)"
    )


def _read_corpus(args: argparse.Namespace) -> Any:
    from popgen.corpus import DEFAULT_CACHE, Corpus

    return Corpus.from_sources(
        args.sources,
        tracks=args.tracks,
        transpose_to=args.transpose_to,
        keys=args.keys,
        cache_dir=None if args.no_cache else DEFAULT_CACHE,
        workers=args.workers,
        progress=True,
        drums=args.drums,
    )


def _corpus(args: argparse.Namespace) -> None:
    print(_read_corpus(args).describe(details=True))


def _demo(args: argparse.Namespace) -> None:
    import dataclasses

    from popgen.demo import DemoConfig, run_demo

    config = DemoConfig(seed=args.seed)
    train_config = dataclasses.replace(config.train, seed=args.seed)
    if args.epochs:
        train_config = dataclasses.replace(train_config, epochs=args.epochs)
    config = dataclasses.replace(config, train=train_config)
    print(run_demo(args.out, config).summary())


def _train(args: argparse.Namespace) -> None:
    from popgen.checkpoint import load_run
    from popgen.models.lstm import LSTMModel
    from popgen.tokenizers.base import get_tokenizer
    from popgen.training import train
    from popgen.training_config import TrainConfig

    config = TrainConfig(
        seq_len=args.seq_len,
        stride=args.stride,
        batch_size=args.batch_size,
        epochs=args.epochs,
        max_steps=args.max_steps,
        optimizer=args.optimizer,
        learning_rate=args.lr,
        lr_schedule=args.lr_schedule,
        lr_decay=args.lr_decay,
        warmup_steps=args.warmup_steps,
        weight_decay=args.weight_decay,
        clip_norm=args.clip_norm,
        valid_fraction=args.valid_fraction,
        patience=args.patience,
        checkpoint_every=args.checkpoint_every,
        seed=args.seed,
    )
    corpus = _read_corpus(args)
    print(f"corpus: {corpus.describe()}")
    base = args.out if args.resume else args.init_from
    if base is not None:  # the run's own tokenizer and model (and, to resume, config)
        previous = load_run(base)
        tokenizer, model = previous.tokenizer, previous.model
        if args.resume and previous.config is not None:
            config = previous.config
    else:
        tokenizer = get_tokenizer(args.tokenizer).fit(corpus)
        model = LSTMModel(
            vocab_size=tokenizer.vocab_size,
            embed_dim=args.embed_dim,
            hidden_size=args.hidden_size,
            num_layers=args.num_layers,
            dropout=args.dropout,
        )
    run = train(
        model,
        tokenizer,
        corpus,
        config,
        out=args.out,
        resume=args.resume,
        init_from=args.init_from,
        progress=not args.quiet,
    )
    last = run.history[-1]
    stopped = " (stopped early)" if run.state.get("stopped_early") else ""
    print(
        f"saved {args.out}{stopped}: train loss {last['train_loss']:.3f}, "
        f"valid loss {last.get('valid_loss', float('nan')):.3f}, "
        f"{last['tokens_per_s'] or 0:,.0f} tokens/s"
    )


def _generate(args: argparse.Namespace) -> None:
    import dataclasses

    from popgen.checkpoint import load_run
    from popgen.midi import read_midi
    from popgen.render import find_fluidsynth, write_wav
    from popgen.sampling import (
        DEFAULT_STRATEGY,
        Sampler,
        Strategy,
        chain,
        parse_strategy,
        temperature,
        top_k,
        top_p,
    )
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
    spec = args.strategy if args.strategy is not None else ("" if parts else DEFAULT_STRATEGY)
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


def _evaluate(args: argparse.Namespace) -> None:
    from popgen.checkpoint import load_run
    from popgen.evaluate import EvaluationConfig, evaluate
    from popgen.sampling import DEFAULT_STRATEGY

    track: int | str | None = args.track
    if isinstance(track, str) and track.isdigit():
        track = int(track)
    config = EvaluationConfig(
        samples=args.samples,
        tokens=args.tokens,
        seed=args.seed,
        strategy=args.strategy if args.strategy is not None else DEFAULT_STRATEGY,
        ngram_order=args.ngram_order,
        track=track,
    )
    run = load_run(args.run)  # a bad run fails before reading the reference
    args.sources = args.reference
    report = evaluate(run, list(_read_corpus(args)), config)
    print(report.table())
    if args.json:
        report.write_json(args.json)
        print(f"wrote {args.json}")
    if args.png:
        report.write_png(args.png)
        print(f"wrote {args.png}")


def _sweep(args: argparse.Namespace) -> None:
    from popgen.sweep import SweepConfig, run_sweep
    from popgen.sweep_report import write_report

    config = SweepConfig.from_toml(args.config)
    results = run_sweep(config, args.out, progress=not args.quiet, reevaluate=args.reevaluate)
    for result in results:
        lik = result["evaluation"]["likelihood"]
        lstm = (lik["lstm"] or {}).get("per_note")
        print(f"{result['name']}: held-out NLL per note {lstm if lstm is None else round(lstm, 3)}")
    print(f"wrote {args.out / 'results.json'}")
    if args.report:
        print(f"wrote {write_report(results, args.report, block=args.report_block)}")


def _show_warning(message: Warning | str, *args: object, **kwargs: object) -> None:
    print(f"popgen: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Bad input prints one ``popgen: error: ...`` line on stderr and returns 1.

    >>> main(["corpus", "no/such/folder"])
    1

    """
    args = build_parser().parse_args(argv)
    commands = {
        "corpus": _corpus,
        "demo": _demo,
        "train": _train,
        "generate": _generate,
        "evaluate": _evaluate,
        "sweep": _sweep,
    }
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("always", UserWarning)
        warnings.showwarning = _show_warning
        try:
            commands[args.command](args)
        except (PopgenError, ValueError, OSError) as exc:
            print(f"popgen: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("popgen: interrupted", file=sys.stderr)
            return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
