"""See and hear songs in a notebook: a piano roll and an audio player as plain HTML.

A :class:`~popgen.music.song.Song` shown in Jupyter or VS Code (the last value of a
cell, or ``display(song)``) calls :func:`song_html`: its piano roll as an
inline PNG and an HTML5 ``<audio controls>`` player with the audio inline,
from :func:`popgen.outputs.audio.to_audio` (FluidSynth when installed, otherwise
popgen's own synthesizer). Everything is in the HTML as ``data:`` URIs: no
network, no JavaScript, no widget extension, and a saved notebook keeps
playing.

The audio is a 16-bit mono WAV file at :data:`DISPLAY_SAMPLE_RATE` (16 kHz:
32 kB a second, about 25.6 MB of HTML for a ten-minute song once base64
encoded). :func:`gallery` shows several songs side by side, each a smaller
piano roll with its player.

>>> from popgen.music.song import Song, make_notes
>>> page = song_html(Song(make_notes([60, 64, 67], [0, 1, 2], [1, 1, 2]), title="arpeggio"))
>>> '<img src="data:image/png;base64,' in page, '<audio controls' in page
(True, True)
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from popgen.checks import whole_number
from popgen.music import limits

if TYPE_CHECKING:
    from popgen.music.song import Song

__all__ = ["DISPLAY_SAMPLE_RATE", "MAX_DISPLAY_SECONDS", "Gallery", "gallery", "song_html"]

DISPLAY_SAMPLE_RATE = 16000
"""Samples per second of the audio in the HTML: 16-bit mono at 16 kHz is 32 kB a second."""
#: A song shown in a notebook plays its first ten minutes at most (a ten-minute
#: player is already about 26 MB of page); the piano roll shows all of it.
MAX_DISPLAY_SECONDS = limits.MAX_DISPLAY_SECONDS
_SMALL = (5.0, 2.4)  # inches: a gallery's piano rolls
_STYLE = "font-family:sans-serif;font-size:13px;margin:4px 0"


def song_html(
    song: Song,
    *,
    title: str | None = None,
    sample_rate: int = DISPLAY_SAMPLE_RATE,
    synth: str = "auto",
    small: bool = False,
) -> str:
    """A song as an HTML fragment: a caption, its piano roll (inline PNG) and an audio player.

    Args:
        song: the song to show.
        title: the caption; defaults to the song's title, or its source.
        sample_rate: samples per second of the inline WAV.
        synth: which synthesizer plays it (see :func:`popgen.outputs.audio.choose_synth`).
        small: a smaller piano roll (5 by 2.4 inches), as in a gallery.

    Returns:
        A ``<div>`` holding ``<img src="data:image/png;base64,...">`` and
        ``<audio controls>`` whose ``<source>`` is ``data:audio/wav;base64,...`` (a song without
        notes gets a line saying so instead of a player).

    >>> from popgen.music.song import Song, make_notes
    >>> page = song_html(Song(make_notes([], [], [])), title="nothing yet")
    >>> "no notes to play" in page, "<audio" in page
    (True, False)
    """
    from popgen.music.time import seconds_to_beats
    from popgen.outputs.audio import to_audio, wav_bytes
    from popgen.outputs.piano_roll import piano_roll

    name = title if title is not None else (song.title or song.source or "")
    png = io.BytesIO()
    piano_roll(song, png, title=name or "piano roll", size=_SMALL if small else None)
    image = base64.b64encode(png.getvalue()).decode("ascii")
    parts = [
        f'<div class="popgen-song" style="{_STYLE}">',
        f'<div style="font-weight:bold">{html.escape(name)}</div>' if name else "",
        f'<div style="color:#666">{html.escape(_summary(song))}</div>',
        f'<img src="data:image/png;base64,{image}" alt="piano roll {html.escape(name)}"'
        ' style="max-width:100%;height:auto;display:block">',
    ]
    if song.num_notes:
        heard = song
        if song.seconds() > MAX_DISPLAY_SECONDS:  # a player, not a file: the start is enough
            end = float(seconds_to_beats(np.array([MAX_DISPLAY_SECONDS], float), song.tempos)[0])
            heard = song.slice(0.0, end)
            parts.append(f"<div><i>playing the first {MAX_DISPLAY_SECONDS // 60} minutes of "
                         f"{song.seconds() / 60:.0f}</i></div>")  # fmt: skip
        audio = to_audio(heard, sample_rate=sample_rate, synth=synth)
        sound = base64.b64encode(wav_bytes(audio, sample_rate)).decode("ascii")
        parts.append(  # as IPython.display.Audio writes it: a <source> with its type
            '<audio controls preload="metadata" style="width:100%">'
            f'<source src="data:audio/wav;base64,{sound}" type="audio/wav">'
            "your browser cannot play WAV audio</audio>"
        )
    else:
        parts.append("<div><i>no notes to play</i></div>")
    parts.append("</div>")
    return "".join(parts)


@dataclass(frozen=True)
class Gallery:
    """Several songs side by side, for a notebook: each a small piano roll and a player.

    Rendered when shown (``_repr_html_``), not when made. Build it with :func:`gallery`.

    Attributes:
        songs: the songs, in order.
        titles: one caption per song.
        sample_rate: samples per second of each inline WAV.
        synth: which synthesizer plays them (see :func:`popgen.outputs.audio.choose_synth`).
        columns: how many songs a row holds.

    >>> from popgen.music.song import Song, make_notes
    >>> songs = [Song(make_notes([60 + i], [0], [1])) for i in range(3)]
    >>> gallery(songs).to_html().count("<audio controls")
    3
    """

    songs: tuple[Song, ...]
    titles: tuple[str, ...]
    sample_rate: int = DISPLAY_SAMPLE_RATE
    synth: str = "auto"
    columns: int = 3

    def to_html(self) -> str:
        """The gallery as an HTML fragment: a grid of :func:`song_html` cards.

        >>> gallery([]).to_html()
        '<div style="font-family:sans-serif;font-size:13px;margin:4px 0"><i>no songs</i></div>'
        """
        if not self.songs:
            return f'<div style="{_STYLE}"><i>no songs</i></div>'
        cards = "".join(
            f'<div style="min-width:0">{self._card(song, title)}</div>'
            for song, title in zip(self.songs, self.titles, strict=True)
        )
        columns = min(self.columns, len(self.songs))
        grid = f"display:grid;gap:12px;grid-template-columns:repeat({columns},minmax(0,1fr))"
        return f'<div class="popgen-gallery" style="{grid}">{cards}</div>'

    def _card(self, song: Song, title: str) -> str:
        return song_html(
            song, title=title, sample_rate=self.sample_rate, synth=self.synth, small=True
        )

    def _repr_html_(self) -> str:
        return self.to_html()


def gallery(
    songs: Iterable[Song],
    *,
    titles: Sequence[str] | None = None,
    sample_rate: int = DISPLAY_SAMPLE_RATE,
    synth: str = "auto",
    columns: int = 3,
) -> Gallery:
    """Several songs side by side in a notebook (the last value of a cell, or ``display(...)``).

    Args:
        songs: the songs.
        titles: one caption per song; by default each song's title, its
            source, or ``"song 1"``, ``"song 2"``, ...
        sample_rate: samples per second of each inline WAV.
        synth: which synthesizer plays them (see :func:`popgen.outputs.audio.choose_synth`).
        columns: how many songs a row holds.

    Raises:
        ValueError: ``titles`` of another length than ``songs``, or ``columns`` below 1.

    >>> from popgen.music.song import Song, make_notes
    >>> shown = gallery([Song(make_notes([60], [0], [1]))] * 2, titles=["take 1", "take 2"])
    >>> shown.titles
    ('take 1', 'take 2')
    """
    kept = tuple(songs)
    if titles is None:
        names = tuple(s.title or s.source or f"song {i + 1}" for i, s in enumerate(kept))
    else:
        names = tuple(titles)
        if len(names) != len(kept):
            raise ValueError(f"gallery: {len(names)} titles for {len(kept)} songs; give one each")
    whole_number(columns, "gallery: columns")
    return Gallery(kept, names, sample_rate, synth, columns)


def _summary(song: Song) -> str:
    """``"3 notes · 1 track · 4 beats · 2.0 s · 120 bpm"``, and the key and chords when known."""
    tracks = len({int(t) for t in song.notes["track"]}) if song.num_notes else 0
    words = [
        f"{song.num_notes} notes",
        f"{tracks} track" + ("s" if tracks != 1 else ""),
        f"{song.end:g} beats",
        f"{song.seconds():.1f} s",
        f"{song.bpm:g} bpm",
    ]
    if song.key:
        words.append(song.key)
    if len(song.chords):
        words.append(f"{len(song.chords)} chords")
    return " · ".join(words)
