"""Pictures and sound of songs: a piano-roll PNG (matplotlib), a WAV file (FluidSynth).

matplotlib is imported inside :func:`piano_roll`, and the figure is built with
``matplotlib.figure.Figure`` and the Agg canvas rather than ``pyplot``, so
drawing touches no global state and needs no display. :func:`write_wav` runs
the ``fluidsynth`` program with a General MIDI soundfont; when either is
missing it says how to install them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from popgen.limits import bound_song
from popgen.music import PITCH_CLASSES

if TYPE_CHECKING:
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

    >>> import tempfile
    >>> from popgen.music import Song, make_notes
    >>> song = Song(make_notes([60, 64, 67, 72], [0, 1, 2, 3], [1, 1, 1, 2]), title="arpeggio")
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     piano_roll(song, f"{tmp}/roll.png")
    ...     Path(tmp, "roll.png").read_bytes()[1:4]
    b'PNG'

    """
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.collections import PolyCollection
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
        # one collection of rectangles, not a patch per note (barh): linear and fast
        x0, x1 = notes["start"], notes["start"] + notes["duration"]
        y0, y1 = notes["pitch"] - 0.4, notes["pitch"] + 0.4
        corners = np.stack([np.stack(c, axis=-1) for c in ((x0, y0), (x0, y1), (x1, y1), (x1, y0))])
        edges = np.zeros((len(notes), 4))
        edges[drum] = (0.0, 0.0, 0.0, 1.0)  # drums outlined in black
        ax.add_collection(
            PolyCollection(
                list(corners.transpose(1, 0, 2)),  # one (4, 2) array of corners per note
                facecolors=cmap(norm(notes["velocity"])),
                edgecolors=edges,
                linewidths=0.6,
            )
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


def write_wav(
    song: Song,
    path: str | os.PathLike[str],
    *,
    soundfont: str | os.PathLike[str] | None = None,
    sample_rate: int = 44100,
) -> None:
    """Render a song to a WAV file with FluidSynth and a General MIDI soundfont.

    Each track sounds with its General MIDI program; drum tracks on channel 10.
    The song is bounded first (:func:`popgen.limits.bound_song` with the
    default limits, which warns when it changes anything), so a silence of a
    billion beats renders as 256 beats, not as years of audio.

    Args:
        song: the song to render.
        path: the WAV file to write.
        soundfont: a ``.sf2`` file; by default ``$POPGEN_SOUNDFONT`` or the first
            of :data:`SOUNDFONT_PATHS` that exists.
        sample_rate: samples per second.

    Raises:
        FileNotFoundError: the ``fluidsynth`` program or the soundfont is
            missing; the message says how to install them.
        OSError: FluidSynth failed (its last message is included).

    >>> from popgen.music import Song, make_notes
    >>> song = Song(make_notes([60, 64, 67], [0, 1, 2], [1, 1, 2]))
    >>> write_wav(song, "arpeggio.wav", sample_rate=22050)  # doctest: +SKIP

    """
    program, font = find_fluidsynth(soundfont)
    target = Path(path)
    song = bound_song(song)
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
