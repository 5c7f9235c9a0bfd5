"""Piano rolls: popgen's one collection of rectangles against a bar patch per note (``barh``).

Draws the same songs both ways in the same run, with the same figure, axes
and colours, and saves each as PNG: a POP909 song (all tracks) and the ten
thousand one-note tracks of ``tests/test_limits.py``'s crafted file. Reports
the median wall time of ``--repeats`` drawings.

    python benchmarks/render_speed.py [--pop909 DIR] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from popgen.corpus import Corpus
from popgen.music import Song
from popgen.render import piano_roll

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
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        draw(song, path)  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pop909", type=Path, default=ROOT.parent / "shared/data/pop909")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = Path(tmp)
        songs = {}
        first = sorted(args.pop909.glob("*/*.mid"))[:1]
        if first:
            songs[f"POP909 {first[0].stem}"] = Corpus.from_paths(first, cache_dir=None)[0]
        many_tracks_file(folder / "tracks.mid")
        songs["10 000 one-note tracks"] = Corpus.from_paths(
            [folder / "tracks.mid"], cache_dir=None
        )[0]
        for name, song in songs.items():
            new = median_seconds(piano_roll, song, folder / "new.png", args.repeats)
            old = median_seconds(barh_roll, song, folder / "old.png", args.repeats)
            print(
                f"{name} ({song.num_notes} notes): barh {old:.2f} s, popgen {new:.2f} s "
                f"({old / new:.1f}x faster)",
                flush=True,
            )


if __name__ == "__main__":
    main()
