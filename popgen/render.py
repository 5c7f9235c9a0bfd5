"""Pictures of songs: a piano-roll PNG drawn with matplotlib.

matplotlib is imported inside :func:`piano_roll`, and the figure is built with
``matplotlib.figure.Figure`` and the Agg canvas rather than ``pyplot``, so
drawing touches no global state and needs no display.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from popgen.music import PITCH_CLASSES

if TYPE_CHECKING:
    from popgen.music import Song

__all__ = ["piano_roll"]


def piano_roll(song: Song, path: str | os.PathLike[str], *, title: str | None = None) -> None:
    """Draw a song as a piano roll and save it as a PNG file.

    Each note is a horizontal bar: x is time in beats, y is MIDI pitch, and the
    colour is the velocity (with a colour bar). The pitch axis covers the
    pitches used, plus two semitones either side, labelled with note names
    (``C4`` = 60; only the C's when the range is wide). Drum notes are
    outlined in black. A song
    without notes gives an empty grid with a note saying so.

    Args:
        song: the song to draw.
        path: the PNG file to write.
        title: the figure's title; defaults to the song's title, or its source.

    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    notes = song.notes
    end = max(song.end, 1.0)
    width = float(np.clip(4.0 + end / 8.0, 6.0, 24.0))
    fig = Figure(figsize=(width, 5.0), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    cmap = colormaps["viridis"]
    norm = Normalize(vmin=1, vmax=127)
    if len(notes):
        low, high = int(notes["pitch"].min()) - 2, int(notes["pitch"].max()) + 2
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
    else:
        low, high = 58, 74
        ax.text(0.5, 0.5, "no notes", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlim(0.0, end)
    ax.set_ylim(low - 0.5, high + 0.5)
    ticks = [p for p in range(low, high + 1) if high - low <= 24 or p % 12 == 0]
    ax.set_yticks(ticks, [f"{PITCH_CLASSES[p % 12]}{p // 12 - 1}" for p in ticks])
    ax.set_yticks(range(low, high + 1), minor=True)
    ax.grid(axis="x", alpha=0.3)
    ax.grid(axis="y", which="minor", alpha=0.08)
    ax.set_xlabel("time (beats)")
    ax.set_ylabel("pitch")
    text = title if title is not None else (song.title or song.source or "piano roll")
    ax.set_title("".join(ch for ch in text if ch.isprintable()))
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="velocity", pad=0.01)
    fig.savefig(os.fspath(path), format="png")
