"""Piano rolls and notebook display: popgen against the way it was done before, in the same run.

Piano rolls: popgen's one collection of rectangles against a bar patch per
note (``barh``), the same songs both ways, with the same figure, axes and
colours, each saved as PNG: a POP909 song (all tracks) and the ten thousand
one-note tracks of ``tests/test_limits.py``'s crafted file.

Notebook display: a ten-minute song shown as ``Song._repr_html_`` shows it
(piano roll PNG, 16 kHz audio, HTML with both inline), with popgen's own
synthesizer and, when installed, with FluidSynth; and the audio alone at
44.1 kHz from each. The ten-minute songs: POP909 songs (with their chord
annotations) one after another, each at its own tempo, cut at 600 s; and a
song made in code (melody, chords, bass, drums; a tempo change every 32
beats), so the figure exists without the data.

Reports the median wall time of ``--repeats`` runs; for the notebook display
also the median CPU time (user + system, FluidSynth's included), which does
not grow when other work shares the machine.

    python benchmarks/render_speed.py [--pop909 DIR] [--repeats 3] [--part rolls|notebook|all]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from popgen.corpus.corpus import Corpus
from popgen.music.chords import make_chords
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TempoChange, seconds_to_beats
from popgen.outputs.audio import choose_synth, to_audio
from popgen.outputs.notebook import song_html
from popgen.outputs.piano_roll import piano_roll

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from test_limits import many_tracks_file  # noqa: E402  (the crafted file, built in code)


def barh_roll(song: Song, path: Path) -> None:
    """The piano roll as popgen drew it before: one ``barh`` patch per note."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    notes = song.notes
    fig = Figure(figsize=(float(np.clip(4.0 + song.end / 8.0, 6.0, 24.0)), 5.0), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap, norm = colormaps["viridis"], Normalize(vmin=1, vmax=127)
    drum = np.array([t.is_drum for t in song.tracks], dtype=bool)[notes["track"]]
    ax.barh(
        notes["pitch"],
        notes["duration"],
        left=notes["start"],
        height=0.8,
        color=cmap(norm(notes["velocity"])),
        edgecolor=np.where(drum, "black", "none").tolist(),
        linewidth=0.6,
    )
    ax.set_xlim(0.0, max(song.end, 1.0))
    fig.savefig(path, format="png")


def median_seconds(draw: object, song: Song, path: Path, repeats: int) -> float:
    """The median wall time of drawing ``song`` to ``path``."""
    return timed(lambda: draw(song, path), repeats)[0]  # type: ignore[operator]


def timed(work: object, repeats: int) -> tuple[float, float]:
    """(median, fastest) wall time of ``work()`` over ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def cpu_timed(work: object, repeats: int) -> tuple[float, float]:
    """(median wall time, median CPU time of this process and its children) of ``work()``.

    On a machine shared with other work the wall time grows with the load;
    the CPU time is what the work itself costs (FluidSynth runs as a child).
    """
    walls, cpus = [], []
    for _ in range(repeats):
        before, start = os.times(), time.perf_counter()
        work()  # type: ignore[operator]
        walls.append(time.perf_counter() - start)
        after = os.times()
        cpus.append(sum(after[:4]) - sum(before[:4]))  # user + system, self + children
    return statistics.median(walls), statistics.median(cpus)


def pop909_ten_minutes(folder: Path) -> Song | None:
    """POP909 songs one after another (each at its own tempo, with its chords), cut at 600 s."""
    paths = sorted(folder.glob("*/*.mid"))[:6]
    if len(paths) < 4:
        return None
    parts = Corpus.from_paths(paths, cache_dir=None).songs
    notes, chords, tempos, at = [], [], [], 0.0
    for song in parts:
        moved = song.notes.copy()
        moved["start"] += at
        notes.append(moved)
        if len(song.chords):
            shifted = song.chords.copy()
            shifted["start"] += at
            chords.append(shifted)
        tempos += [TempoChange(at + t.beat, t.bpm) for t in song.tempos]
        at += np.ceil(song.end / 4) * 4
    joined = Song(
        np.concatenate(notes),
        tracks=parts[0].tracks,
        tempos=tuple(tempos),
        chords=np.concatenate(chords) if chords else make_chords([], [], []),
        title="POP909, six songs",
    )
    stop = float(seconds_to_beats(np.array([600.0]), joined.tempos)[0])
    return joined.slice(0.0, stop)


def made_ten_minutes(seed: int = 0) -> Song:
    """Ten minutes made in code: melody, chords, bass and drums, the tempo moving every 32 beats."""
    rng = np.random.default_rng(seed)
    beats = 1200  # 600 s at 120 bpm on average
    roots = rng.choice([0, 5, 7, 9], size=beats // 4)  # a chord a bar
    melody_at = np.arange(0, beats, 0.5)
    melody = 72 + rng.integers(-7, 8, len(melody_at))
    chord_at = np.repeat(np.arange(0, beats, 2.0), 3)
    chord = 60 + np.repeat(roots, 6) + np.tile([0, 4, 7], beats // 2)
    bass_at = np.arange(0.0, beats)
    bass = 36 + np.repeat(roots, 4)
    drum_at = np.concatenate([np.arange(0.0, beats, 2), np.arange(1.0, beats, 2), melody_at])
    drum = np.repeat([36, 38, 42], [beats // 2, beats // 2, len(melody_at)])
    pitch = np.concatenate([melody, chord, bass, drum])
    start = np.concatenate([melody_at, chord_at, bass_at, drum_at])
    lengths = [(melody_at, 0.45), (chord_at, 1.9), (bass_at, 0.9), (drum_at, 0.25)]
    duration = np.concatenate([np.full(len(at), length) for at, length in lengths])
    track = np.repeat([0, 1, 2, 3], [len(melody_at), len(chord_at), len(bass_at), len(drum_at)])
    velocity = rng.integers(50, 120, len(pitch))
    tracks = (Track("melody"), Track("chords"), Track("bass", 33), Track("drums", is_drum=True))
    tempos = tuple(
        TempoChange(b, 110.0 + 20.0 * (i % 2)) for i, b in enumerate(range(0, beats, 32))
    )
    symbols = [["C", "F", "G", "Am"][[0, 5, 7, 9].index(r)] for r in roots.tolist()]
    chords = make_chords(symbols, np.arange(0, beats, 4.0), [4.0] * len(symbols))
    song = Song(
        make_notes(pitch, start, duration, velocity, track),
        tracks=tracks, tempos=tempos, chords=chords, title="made in code",
    )  # fmt: skip
    stop = float(seconds_to_beats(np.array([600.0]), song.tempos)[0])
    return song.slice(0.0, stop)


def rolls(args: argparse.Namespace, folder: Path) -> None:
    """Piano rolls: one collection of rectangles against a patch per note."""
    songs = {}
    first = sorted(args.pop909.glob("*/*.mid"))[:1]
    if first:
        songs[f"POP909 {first[0].stem}"] = Corpus.from_paths(first, cache_dir=None)[0]
    many_tracks_file(folder / "tracks.mid")
    songs["10 000 one-note tracks"] = Corpus.from_paths([folder / "tracks.mid"], cache_dir=None)[0]
    for name, song in songs.items():
        new = median_seconds(piano_roll, song, folder / "new.png", args.repeats)
        old = median_seconds(barh_roll, song, folder / "old.png", args.repeats)
        print(
            f"{name} ({song.num_notes} notes): barh {old:.2f} s, popgen {new:.2f} s "
            f"({old / new:.1f}x faster)",
            flush=True,
        )


def notebook(args: argparse.Namespace) -> None:
    """A ten-minute song as a notebook shows it, with each synthesizer; and its audio alone."""
    songs = [made_ten_minutes()]
    real = pop909_ten_minutes(args.pop909)
    if real is not None:
        songs.insert(0, real)
    synths = ["builtin"] + (["fluidsynth"] if choose_synth() == "fluidsynth" else [])
    for song in songs:
        print(
            f"{song.title}: {song.seconds():.0f} s, {song.num_notes} notes, "
            f"{len(song.tempos)} tempos, {len(song.chords)} chords",
            flush=True,
        )
        roll = cpu_timed(lambda s=song: piano_roll(s, io.BytesIO()), args.repeats)
        print(f"  piano roll PNG: {roll[0]:.2f} s wall, {roll[1]:.2f} s CPU", flush=True)
        for synth in synths:
            page = song_html(song, synth=synth)
            html = cpu_timed(lambda s=song, y=synth: song_html(s, synth=y), args.repeats)
            audio = cpu_timed(
                lambda s=song, y=synth: to_audio(s, sample_rate=44100, synth=y), args.repeats
            )
            print(
                f"  {synth}: HTML (piano roll + 16 kHz audio) {html[0]:.2f} s wall, "
                f"{html[1]:.2f} s CPU, {len(page) / 1e6:.1f} MB; "
                f"audio alone at 44.1 kHz {audio[0]:.2f} s wall, {audio[1]:.2f} s CPU",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pop909", type=Path, default=ROOT.parent / "shared/data/pop909")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--part", choices=["rolls", "notebook", "all"], default="all")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)", flush=True)
    print(
        f"{'FluidSynth found' if choose_synth() == 'fluidsynth' else 'no FluidSynth'}", flush=True
    )
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.part in ("rolls", "all"):
            rolls(args, Path(tmp))
        if args.part in ("notebook", "all"):
            notebook(args)
    print(f"load average after: {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
