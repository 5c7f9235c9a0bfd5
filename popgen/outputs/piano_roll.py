"""Pictures and sound of songs: a piano-roll PNG (matplotlib), a WAV file.

matplotlib is imported inside :func:`piano_roll`, and the figure is built with
``matplotlib.figure.Figure`` and the Agg canvas rather than ``pyplot``, so
drawing touches no global state and needs no display. :func:`write_wav` runs
the ``fluidsynth`` program with a General MIDI soundfont when both are
installed, and popgen's own synthesizer (:mod:`popgen.outputs.audio`) otherwise.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import numpy as np

from popgen.music.keys import PITCH_CLASSES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from popgen.music.song import Song

__all__ = [
    "piano_roll",
]


def piano_roll(
    song: Song,
    path: str | os.PathLike[str] | BinaryIO,
    *,
    title: str | None = None,
    size: tuple[float, float] | None = None,
    dpi: int = 100,
) -> None:
    """Draw a song as a piano roll and save it as a PNG file.

    Each note is a horizontal bar: x is time in beats, y is MIDI pitch. Each
    track has its own colour (named in a legend when there are several), and
    the velocity sets the shade: quiet notes pale, loud notes full. The pitch
    axis covers the pitches used, plus two semitones either side, labelled
    with note names (``C4`` = 60; only the C's when the range is wide). Drum
    notes are outlined in black. When the song has chords, their symbols run
    along the top (as many as fit); when it has sections, each is a shaded
    band (every other one) with its label and bars at its start (``A8``). A
    song without notes gives an empty grid with a note saying so. All notes
    are one collection of rectangles, so drawing stays fast for songs of tens
    of thousands of notes.

    Args:
        song: the song to draw.
        path: the PNG file to write, or a binary file object to write it to.
        title: the figure's title; defaults to the song's title, or its source.
        size: ``(width, height)`` in inches; by default the width grows with
            the song, from 6 to 24 inches, and the height is 5.
        dpi: pixels per inch.

    >>> import io
    >>> from popgen.music.chords import make_chords
    >>> from popgen.music.song import Song, make_notes
    >>> chords = make_chords(["C", "Am"], [0, 2], [2, 2])
    >>> song = Song(make_notes([60, 64, 67, 69], [0, 1, 2, 3], [1, 1, 1, 1]), chords=chords)
    >>> png = io.BytesIO()
    >>> piano_roll(song, png, title="arpeggio", size=(4, 2))
    >>> png.getvalue()[1:4]
    b'PNG'

    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    notes = song.notes
    end = max(song.end, 1.0)
    width, height = size or (float(np.clip(4.0 + end / 8.0, 6.0, 24.0)), 5.0)
    fig = Figure(figsize=(width, height), dpi=dpi, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    palette = colormaps["tab10"](np.arange(10))[:, :3]
    if len(notes):
        low, high = int(notes["pitch"].min()) - 2, int(notes["pitch"].max()) + 2
        drum = np.array([t.is_drum for t in song.tracks], dtype=bool)[notes["track"]]
        # one collection of rectangles, not a patch per note (barh): linear and fast
        x0, x1 = notes["start"], notes["start"] + notes["duration"]
        y0, y1 = notes["pitch"] - 0.4, notes["pitch"] + 0.4
        corners = np.stack([np.stack(c, axis=-1) for c in ((x0, y0), (x0, y1), (x1, y1), (x1, y0))])
        base = palette[notes["track"] % len(palette)]
        shade = 0.2 + 0.8 * (notes["velocity"][:, None] / 127.0)  # velocity: pale to full
        faces = np.concatenate([1.0 - shade * (1.0 - base), np.ones((len(notes), 1))], axis=1)
        edges = np.zeros((len(notes), 4))
        edges[drum] = (0.0, 0.0, 0.0, 1.0)  # drums outlined in black
        # [notes, 4, 2] as one array: matplotlib's fast path (a list of arrays is 7x slower)
        polygons = cast("Sequence[Any]", corners.transpose(1, 0, 2))
        ax.add_collection(
            PolyCollection(
                polygons,
                facecolors=faces,
                edgecolors=edges,
                linewidths=0.6,
            )
        )
        used = np.unique(notes["track"]).tolist()
        if len(used) > 1:
            handles = [
                Patch(
                    color=palette[t % len(palette)],
                    label=_printable(song.tracks[t].name) or f"track {t}",
                )
                for t in used[:12]
            ]
            ax.legend(
                handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small"
            )
    else:
        low, high = 58, 74
        ax.text(0.5, 0.5, "no notes", transform=ax.transAxes, ha="center", va="center")
    ax.set_xlim(0.0, end)
    ax.set_ylim(low - 0.5, high + 0.5)
    ticks = [p for p in range(low, high + 1) if high - low <= 24 or p % 12 == 0]
    ax.set_yticks(ticks, [f"{PITCH_CLASSES[p % 12]}{p // 12 - 1}" for p in ticks])
    ax.grid(axis="x", alpha=0.3)
    # a faint line per pitch: one collection, not a minor tick (dozens of artists) per pitch
    ax.hlines(
        np.arange(low, high + 1), 0.0, end, colors="0.0", alpha=0.08, linewidths=0.8, zorder=0
    )
    ax.set_xlabel("time (beats)")
    ax.set_ylabel("pitch")
    _chord_labels(ax, song, end, width * dpi)
    _section_bands(ax, song)
    text = title if title is not None else (song.title or song.source or "piano roll")
    ax.set_title(_printable(text), pad=14 if len(song.chords) else 6)
    fig.savefig(path if hasattr(path, "write") else os.fspath(path), format="png")


def _printable(text: str) -> str:
    """``text`` as matplotlib should print it: unprintable characters out, ``$`` not math."""
    return "".join(ch for ch in text if ch.isprintable()).replace("$", r"\$")


def _section_bands(ax: Any, song: Song) -> None:
    """The song's sections as bands, every other one shaded, each labelled at its start."""
    from matplotlib.transforms import blended_transform_factory

    if not song.sections:
        return
    edges = song.bar_lines()
    at = blended_transform_factory(ax.transData, ax.transAxes)
    for i, section in enumerate(song.sections):
        start = float(edges[section.first_bar])
        stop = float(edges[min(section.end_bar, len(edges) - 1)])
        if i % 2:
            ax.axvspan(start, stop, color="0.5", alpha=0.08, zorder=0, lw=0)
        ax.axvline(start, color="0.2", alpha=0.5, linewidth=0.9, zorder=0)
        label = ax.text(start, 0.99, f" {section.label}{section.num_bars}", transform=at,
                        fontsize="small", fontweight="bold", va="top")  # fmt: skip
        label.set_in_layout(False)


def _chord_labels(ax: Any, song: Song, end: float, pixels: float) -> None:
    """The song's chord symbols along the top of ``ax``, at their onsets, as many as fit."""
    from matplotlib.transforms import blended_transform_factory

    from popgen.music.chords import chord_labels

    chords = song.chords[song.chords["start"] < end]
    if not len(chords):
        return
    labels = chord_labels(chords, style="symbol")
    room = 34.0 * end / (0.8 * pixels)  # beats taken by one label (about 34 pixels)
    at = blended_transform_factory(ax.transData, ax.transAxes)
    last, shown = -np.inf, []
    for start, label in zip(chords["start"].tolist(), labels, strict=True):
        if start - last < room or label == "N.C.":
            continue
        text = ax.text(start, 1.005, label, transform=at, fontsize="small", va="bottom")
        text.set_in_layout(False)  # the title's pad leaves room; layout need not measure each
        shown.append(start)
        last = start
    ax.vlines(shown, 0, 1, transform=at, colors="0.5", alpha=0.25, linewidths=0.6)


