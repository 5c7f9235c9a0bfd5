"""Pictures and sound of songs: a piano-roll PNG (matplotlib), a WAV file.

matplotlib is imported inside :func:`piano_roll`, and the figure is built with
``matplotlib.figure.Figure`` and the Agg canvas rather than ``pyplot``, so
drawing touches no global state and needs no display. :func:`write_wav` runs
the ``fluidsynth`` program with a General MIDI soundfont when both are
installed, and popgen's own synthesizer (:mod:`popgen.audio`) otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast

import numpy as np

from popgen.music import PITCH_CLASSES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from popgen.music import Song

__all__ = ["SOUNDFONT_PATHS", "find_fluidsynth", "piano_roll", "write_wav"]

#: Where :func:`write_wav` looks for a General MIDI soundfont, after ``$POPGEN_SOUNDFONT``.
SOUNDFONT_PATHS = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/soundfonts/default.sf2",
    "/usr/local/share/soundfonts/default.sf2",
    "/opt/homebrew/share/soundfonts/default.sf2",
)
_INSTALL = (
    "install FluidSynth and a General MIDI soundfont, e.g. 'apt install fluidsynth "
    "fluid-soundfont-gm' (Debian/Ubuntu) or 'brew install fluid-synth' plus a .sf2 file"
)


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
    along the top (as many as fit). A song without notes gives an empty grid
    with a note saying so. All notes are one collection of rectangles, so
    drawing stays fast for songs of tens of thousands of notes.

    Args:
        song: the song to draw.
        path: the PNG file to write, or a binary file object to write it to.
        title: the figure's title; defaults to the song's title, or its source.
        size: ``(width, height)`` in inches; by default the width grows with
            the song, from 6 to 24 inches, and the height is 5.
        dpi: pixels per inch.

    >>> import io
    >>> from popgen.chords import make_chords
    >>> from popgen.music import Song, make_notes
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
    text = title if title is not None else (song.title or song.source or "piano roll")
    ax.set_title(_printable(text), pad=14 if len(song.chords) else 6)
    fig.savefig(path if hasattr(path, "write") else os.fspath(path), format="png")


def _printable(text: str) -> str:
    """``text`` as matplotlib should print it: unprintable characters out, ``$`` not math."""
    return "".join(ch for ch in text if ch.isprintable()).replace("$", r"\$")


def _chord_labels(ax: Any, song: Song, end: float, pixels: float) -> None:
    """The song's chord symbols along the top of ``ax``, at their onsets, as many as fit."""
    from matplotlib.transforms import blended_transform_factory

    from popgen.chords import chord_labels

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


def write_wav(
    song: Song,
    path: str | os.PathLike[str],
    *,
    soundfont: str | os.PathLike[str] | None = None,
    sample_rate: int = 44100,
    synth: str = "auto",
) -> None:
    """Render a song to a WAV file: FluidSynth when installed, else popgen's own synthesizer.

    With FluidSynth and a General MIDI soundfont (``synth="auto"`` finds
    them, see :func:`popgen.audio.choose_synth`) each track sounds with its
    General MIDI program, drum tracks on channel 10, in a 16-bit stereo file.
    Without them, :func:`popgen.audio.synthesize` plays the song with a
    piano-like tone and drums, in a 16-bit mono file: every user hears
    something, with nothing to install. The song is bounded first
    (:func:`popgen.limits.bound_song` with the default limits, which warns
    when it changes anything, then cut at :data:`popgen.audio.MAX_SECONDS`),
    so a silence of a billion beats renders as 256 beats, not as years of audio.

    Args:
        song: the song to render.
        path: the WAV file to write.
        soundfont: a ``.sf2`` file for FluidSynth (then FluidSynth must be
            found); by default ``$POPGEN_SOUNDFONT`` or the first of
            :data:`SOUNDFONT_PATHS` that exists.
        sample_rate: samples per second.
        synth: ``"auto"``, ``"fluidsynth"`` or ``"builtin"`` (see :data:`popgen.audio.SYNTHS`).

    Raises:
        FileNotFoundError: FluidSynth asked for (``synth="fluidsynth"`` or a
            ``soundfont``) and the program or the soundfont is missing; the
            message says how to install them.
        OSError: FluidSynth failed (its last message is included).

    >>> import tempfile, wave
    >>> from popgen.music import Song, make_notes
    >>> song = Song(make_notes([60, 64, 67], [0, 1, 2], [1, 1, 2]))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     write_wav(song, f"{tmp}/arpeggio.wav", sample_rate=8000, synth="builtin")
    ...     with wave.open(f"{tmp}/arpeggio.wav") as wav:
    ...         wav.getnchannels(), wav.getframerate(), wav.getnframes()
    (1, 8000, 16800)

    """
    from popgen import audio

    target = Path(path)
    if audio.choose_synth(synth, soundfont) == "builtin":
        samples = audio.synthesize(song, sample_rate=sample_rate)
        target.write_bytes(audio.wav_bytes(samples, sample_rate))
        return
    program, font = find_fluidsynth(soundfont)
    song = audio.bounded(song)
    with tempfile.TemporaryDirectory() as tmp:
        midi = Path(tmp) / "song.mid"
        song.write_midi(midi)
        wav = Path(tmp) / "song.wav"
        command = [program, "-ni", "-F", str(wav), "-r", str(sample_rate), str(font), str(midi)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not wav.is_file():
            last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:] or ["?"]
            raise OSError(f"{target}: FluidSynth failed ({last[0]})")
        shutil.move(wav, target)


def find_fluidsynth(soundfont: str | os.PathLike[str] | None = None) -> tuple[str, Path]:
    """The ``fluidsynth`` program and the soundfont :func:`write_wav` would use.

    Call it to fail early, before generating anything.

    Args:
        soundfont: a ``.sf2`` file; by default ``$POPGEN_SOUNDFONT`` or the first
            of :data:`SOUNDFONT_PATHS` that exists.

    Raises:
        FileNotFoundError: either is missing; the message says how to install them.

    >>> find_fluidsynth()  # doctest: +SKIP
    ('/usr/bin/fluidsynth', PosixPath('/usr/share/sounds/sf2/FluidR3_GM.sf2'))

    """
    program = shutil.which("fluidsynth")
    if program is None:
        raise FileNotFoundError(f"writing WAV needs the 'fluidsynth' program; {_INSTALL}")
    if soundfont is not None:
        candidates = [Path(soundfont)]
    else:
        env = os.environ.get("POPGEN_SOUNDFONT")
        candidates = [Path(p) for p in ([env] if env else []) + list(SOUNDFONT_PATHS)]
    for candidate in candidates:
        if candidate.is_file():
            return program, candidate
    tried = ", ".join(str(c) for c in candidates)
    raise FileNotFoundError(
        f"no General MIDI soundfont found (tried {tried}); {_INSTALL}, "
        "or set $POPGEN_SOUNDFONT to a .sf2 file"
    )
