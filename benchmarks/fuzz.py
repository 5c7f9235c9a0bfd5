"""Coverage-guided fuzzing of everything a stranger's file or a model's tokens reach.

Two targets, each run by atheris (libFuzzer for Python) with popgen's modules
instrumented for coverage:

``midi``    bytes -> ``read_midi`` -> ``Song`` -> every encoding's ``encode`` ->
            ``decode`` -> ``write_midi``; the corpus starts from small MIDI files
            made in code (several tracks, tempo and meter changes, chords as
            markers, drums) and libFuzzer mutates them.
``tokens``  random token ids -> every encoding's ``decode`` -> ``write_midi``
            (each tokenizer fitted on the seed songs, so every id is in range
            and many decode to notes).
``score``   bytes -> a MusicXML, ``.mxl`` (the bytes zipped as its score) or ABC
            file (the first byte chooses) -> ``read_file`` (the score guards of
            :mod:`popgen.formats.score_guard`, music21, ``score_to_song``, the limits);
            seeds: the seed songs written as MusicXML and an ABC tune.
``header``  bytes -> the popgen description in a model file's safetensors
            header (beside the shipped ``pop909-songs`` tensors) ->
            ``read_model_card`` and ``load_model_file``; seeds: both shipped
            models' descriptions.

Only popgen's documented errors (:class:`popgen.PopgenError` and its
subclasses) may escape; anything else, an input slower than ``-timeout``
seconds or one using more than ``-rss_limit_mb`` MB is a crash that libFuzzer
reports with the input that caused it (saved as ``crash-*``).

    python benchmarks/fuzz.py midi -runs=100000 -timeout=5 -rss_limit_mb=2048
    python benchmarks/fuzz.py tokens -runs=100000 -timeout=5 -rss_limit_mb=2048
    python benchmarks/fuzz.py score -max_total_time=3600 -timeout=10 -rss_limit_mb=2048
    python benchmarks/fuzz.py header -max_total_time=3600 -timeout=10 -rss_limit_mb=2048
    python benchmarks/fuzz.py midi --replay /tmp/fuzz-midi-XXXX   # each input alone

The fuzzing process's resident memory grows with libFuzzer's and atheris's
own bookkeeping (about 500 MB after 30 000 inputs here, while the same inputs
in a plain loop keep popgen's process at 39 MB), so the run's limits are
loose, and ``--replay`` then runs every input of the final corpus alone and
reports the slowest and the largest ``tracemalloc`` peak: the figures for the
one-second, 500 MB promise.

Needs ``pip install atheris`` (in the ``bench`` extra). The tests run a small
hypothesis version of both targets (tests/test_fuzz_small.py).
"""

from __future__ import annotations

import io
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import atheris
import mido

with atheris.instrument_imports(include=["popgen"]):  # popgen imports lazily: name them all
    import popgen
    import popgen.corpus.options
    import popgen.corpus.reading
    import popgen.formats.score_guard
    import popgen.formats.score_reading
    import popgen.music.bars
    import popgen.music.chords
    import popgen.music.limits
    import popgen.music.song
    import popgen.runs.model_file
    import popgen.tokenizers
    import popgen.tokenizers.chord
    import popgen.tokenizers.event
    import popgen.tokenizers.grammar
    import popgen.tokenizers.note
    import popgen.tokenizers.pop
    import popgen.tokenizers.remi
    from popgen.errors import PopgenError
    from popgen.formats.midi_reading import read_midi
    from popgen.formats.midi_writing import write_midi

SCRATCH = Path(
    os.environ.get(
        "FUZZ_SCRATCH", "/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir()
    )
)


def seed_files() -> list[bytes]:
    """Small valid MIDI files: melody + chords + drums, tempo and meter changes, markers."""
    seeds = []
    for variant in range(4):
        mid = mido.MidiFile(type=1, ticks_per_beat=[96, 480, 24, 2][variant])
        tpb = mid.ticks_per_beat
        conductor = mido.MidiTrack(
            [
                mido.MetaMessage("set_tempo", tempo=500_000 + 100_000 * variant, time=0),
                mido.MetaMessage("time_signature", numerator=3 + variant % 2, denominator=4),
                mido.MetaMessage("key_signature", key=["C", "Am", "Eb", "F#m"][variant]),
                mido.MetaMessage("marker", text="C:maj", time=0),
                mido.MetaMessage("marker", text="G:7", time=4 * tpb),
                mido.MetaMessage("set_tempo", tempo=400_000, time=2 * tpb),
            ]
        )
        mid.tracks.append(conductor)
        for channel, base in ((0, 72), (1, 48), (9, 36)):
            track = mido.MidiTrack([mido.MetaMessage("track_name", name=f"part{channel}")])
            for i in range(8):
                pitch = base + (i * 5 + variant) % 12
                track.append(
                    mido.Message(
                        "note_on",
                        channel=channel,
                        note=pitch,
                        velocity=40 + 9 * i,
                        time=0 if i == 0 else tpb // 2,
                    )
                )
                track.append(
                    mido.Message("note_off", channel=channel, note=pitch, velocity=0, time=tpb // 2)
                )
            mid.tracks.append(track)
        out = io.BytesIO()
        mid.save(file=out)
        seeds.append(out.getvalue())
    return seeds


def _tokenizers(songs: list[popgen.Song]) -> list[popgen.Tokenizer]:
    return [popgen.get_tokenizer(name).fit(songs) for name in popgen.list_tokenizers()]


def midi_target(data: bytes) -> None:
    """bytes -> read -> every encoding -> decode -> write; only popgen's errors may escape."""
    path = SCRATCH / f"fuzz-{os.getpid()}.mid"
    path.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            song = read_midi(path)
            for tokenizer in TOKENIZERS:
                ids = tokenizer.encode(song)
                write_midi(tokenizer.decode(ids), path)
    except PopgenError:
        pass


def tokens_target(data: bytes) -> None:
    """Token ids -> every encoding's decode -> write; only popgen's errors may escape."""
    fdp = atheris.FuzzedDataProvider(data)
    path = SCRATCH / f"fuzz-{os.getpid()}.mid"
    for tokenizer in TOKENIZERS:
        ids = [
            fdp.ConsumeIntInRange(0, tokenizer.vocab_size - 1)
            for _ in range(fdp.ConsumeIntInRange(0, 400))
        ]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                write_midi(tokenizer.decode(ids), path)
        except PopgenError:
            pass


_SCORE_KINDS = (".musicxml", ".mxl", ".abc")
#: Score files parse in at most 5 s (libFuzzer's -timeout catches any slower input).
_SCORE_OPTIONS = popgen.corpus.options.CorpusOptions(
    limits=popgen.music.limits.Limits(max_seconds_per_file=5.0), keys="file"
)
_CONTAINER = (
    b'<?xml version="1.0"?><container><rootfiles>'
    b'<rootfile full-path="score.xml"/></rootfiles></container>'
)
_ABC_SEED = b"X:1\nT:Seed\nM:3/4\nL:1/8\nK:G\n|:GAB c2d|e2d c2B|A2G F2D|G6:|\n"


def score_target(data: bytes) -> None:
    """bytes -> a score file of the kind the first byte picks -> read_file; popgen's errors only."""
    import zipfile

    kind = _SCORE_KINDS[data[0] % 3] if data else ".abc"
    path = SCRATCH / f"fuzz-{os.getpid()}{kind}"
    if kind == ".mxl":
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("META-INF/container.xml", _CONTAINER)
            archive.writestr("score.xml", data[1:])
    else:
        path.write_bytes(data[1:])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            popgen.corpus.reading.read_file(path, _SCORE_OPTIONS)
    except PopgenError:
        pass


def score_seeds(songs: list[popgen.Song]) -> list[bytes]:
    """The seed songs as MusicXML (plain and to be zipped), and an ABC tune."""
    seeds = [bytes([2]) + _ABC_SEED]
    with tempfile.TemporaryDirectory() as tmp:
        for i, song in enumerate(songs[:2]):
            path = Path(tmp, f"{i}.musicxml")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                popgen.formats.score_writing.write_musicxml(song, path)
            seeds += [bytes([0]) + path.read_bytes(), bytes([1]) + path.read_bytes()]
    return seeds


_TENSORS: dict[str, object] = {}


def header_target(data: bytes) -> None:
    """bytes -> a model file's popgen header -> its card and the model; popgen's errors only."""
    from safetensors.numpy import save_file

    path = SCRATCH / f"fuzz-{os.getpid()}.safetensors"
    text = data.decode("utf-8", "replace")
    save_file(_TENSORS, str(path), metadata={"format": "popgen.model", "popgen": text})  # type: ignore[arg-type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            popgen.runs.model_file.read_model_card(path)
            popgen.runs.model_file.load_model_file(path)
    except PopgenError:
        pass


def header_seeds() -> list[bytes]:
    """The shipped models' popgen descriptions; the tensors of ``pop909-songs`` kept."""
    from safetensors import safe_open

    from popgen.runs.pretrained import builtin_folder

    seeds = []
    for name in ("pop909-songs", "pop909-melody"):
        with safe_open(str(builtin_folder() / f"{name}.safetensors"), framework="numpy") as f:
            seeds.append(f.metadata()["popgen"].encode())
            if not _TENSORS:
                _TENSORS.update({key: f.get_tensor(key) for key in f.keys()})  # noqa: SIM118
    return seeds


SEED_SONGS: list[popgen.Song] = []
TOKENIZERS: list[popgen.Tokenizer] = []


def replay(target: str, folder: Path) -> None:
    """Run every input of a corpus folder once, alone: the slowest and the most memory.

    libFuzzer's ``-rss_limit_mb`` watches the whole process, whose resident
    memory grows with the fuzzer's own bookkeeping over a long run (popgen's
    stays flat when the same inputs run in a plain loop); this measures each
    input's own peak (``tracemalloc``) and time instead.
    """
    import tracemalloc

    run = _target(target)
    worst_time, worst_memory, count = (0.0, ""), (0.0, ""), 0
    for path in sorted(folder.iterdir()):
        data = path.read_bytes()
        started = time.perf_counter()
        run(data)
        seconds = time.perf_counter() - started  # untraced: tracemalloc slows allocation
        tracemalloc.start()
        run(data)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        worst_time = max(worst_time, (seconds, path.name))
        worst_memory = max(worst_memory, (peak, path.name))
        count += 1
    print(
        f"replayed {count} inputs of {folder}: slowest {worst_time[0]:.3f} s ({worst_time[1]}), "
        f"largest peak {worst_memory[0]:.1f} MB ({worst_memory[1]})",
        flush=True,
    )


def _target(name: str) -> Callable[[bytes], None]:
    targets = {
        "midi": midi_target,
        "tokens": tokens_target,
        "score": score_target,
        "header": header_target,
    }
    if name not in targets:
        raise SystemExit(f"unknown target {name!r}; the targets: {', '.join(targets)}")
    return targets[name]


def main() -> None:
    target = sys.argv.pop(1) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "midi"
    corpus = Path(tempfile.mkdtemp(prefix=f"fuzz-{target}-"))
    seeds = seed_files()
    for i, data in enumerate(seeds):
        (corpus / f"seed{i}.mid").write_bytes(data)
        SEED_SONGS.append(read_midi(corpus / f"seed{i}.mid"))
    TOKENIZERS.extend(_tokenizers(SEED_SONGS))
    if target == "tokens":
        for i in range(4):
            (corpus / f"seed{i}.mid").write_bytes(os.urandom(256))
    if target in ("score", "header"):
        for path in corpus.iterdir():
            path.unlink()
        extra = score_seeds(SEED_SONGS) if target == "score" else header_seeds()
        for i, data in enumerate(extra):
            (corpus / f"seed{i}").write_bytes(data)
    if len(sys.argv) > 2 and sys.argv[1] == "--replay":
        replay(target, Path(sys.argv[2]))
        return
    print(f"target {target}, {len(TOKENIZERS)} encodings, seed corpus {corpus}", flush=True)
    started = time.perf_counter()
    atheris.Setup([sys.argv[0], str(corpus), *sys.argv[1:]], _target(target))
    try:
        atheris.Fuzz()
    finally:
        print(f"wall time {time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
