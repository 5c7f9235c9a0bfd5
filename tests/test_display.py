from __future__ import annotations

import base64
import io
import re
import wave
from pathlib import Path

import numpy as np
import pytest

import popgen
from popgen.music.chords import make_chords
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TempoChange
from popgen.outputs import audio as render
from popgen.outputs.notebook import Gallery, gallery, song_html
from popgen.outputs.piano_roll import piano_roll

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def builtin_synth(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same sound on every machine: FluidSynth, when installed, is not used here."""

    def missing(soundfont: object = None) -> tuple[str, Path]:
        raise FileNotFoundError("no fluidsynth in these tests")

    monkeypatch.setattr(render, "find_fluidsynth", missing)


def images(page: str) -> list[bytes]:
    found = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    return [base64.b64decode(data, validate=True) for data in found]


def sounds(page: str) -> list[tuple[int, int, np.ndarray]]:
    """(channels, rate, samples) of each ``<audio controls>`` with a WAV ``<source>``."""
    player = r'<audio controls[^>]*><source src="data:audio/wav;base64,([A-Za-z0-9+/=]+)"'
    found = re.findall(player + ' type="audio/wav">', page)
    out = []
    for data in found:
        with wave.open(io.BytesIO(base64.b64decode(data, validate=True))) as wav:
            frames = np.frombuffer(wav.readframes(wav.getnframes()), "<i2")
            out.append((wav.getnchannels(), wav.getframerate(), frames))
    return out


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def band() -> Song:
    notes = make_notes(
        [60, 64, 67, 72, 36, 42], [0, 1, 2, 3, 0, 1], [1, 1, 1, 2, 0.5, 0.5],
        [40, 70, 100, 127, 90, 60], [0, 0, 0, 1, 2, 2],
    )  # fmt: skip
    tracks = (Track("lead"), Track("bass", 33), Track("drums", is_drum=True))
    return Song(notes, tracks=tracks, tempos=[TempoChange(0, 100)], title="Band <1>")


def test_song_html_holds_a_png_and_a_wav() -> None:
    song = band()
    page = song._repr_html_()
    [png] = images(page)
    width, height = png_size(png)
    assert width > 300 and height > 200
    [(channels, rate, frames)] = sounds(page)
    assert (channels, rate) == (1, popgen.outputs.notebook.DISPLAY_SAMPLE_RATE)
    assert len(frames) == int(np.ceil((song.seconds() + 0.1) * rate))
    assert np.abs(frames).max() > 0.8 * 32767  # normalised to 0.9
    assert "Band &lt;1&gt;" in page and "<1>" not in page  # the title is escaped
    assert "6 notes · 3 tracks" in page
    assert "<script" not in page and "http" not in page  # no JavaScript, no network


def test_audio_matches_to_audio() -> None:
    song = band()
    [(_, rate, frames)] = sounds(song_html(song, sample_rate=8000))
    expected = song.to_audio(sample_rate=8000) * 32767
    assert rate == 8000 and len(frames) == len(expected)
    assert np.abs(frames - expected).max() <= 0.5 + 1e-3  # rounded to 16 bits


def test_chords_are_labelled() -> None:
    # the chord symbols are drawn as text: the picture differs from the same song without them
    notes = make_notes([60, 64, 67, 57, 60, 64], [0, 0, 0, 4, 4, 4], [4] * 6)
    plain = Song(notes, title="chords")
    chords = plain.replace(chords=make_chords(["C", "Am"], [0, 4], [4, 4]))
    with_labels, without = images(song_html(chords))[0], images(song_html(plain))[0]
    assert with_labels != without
    assert "2 chords" in song_html(chords)
    drawn: list[str] = []
    from matplotlib.axes import Axes

    original = Axes.text

    def spy(self: Axes, x: float, y: float, s: str, *args: object, **kwargs: object) -> object:
        drawn.append(s)
        return original(self, x, y, s, *args, **kwargs)  # type: ignore[arg-type]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Axes, "text", spy)
        piano_roll(chords, io.BytesIO())
    assert drawn == ["C", "Am"]


def test_empty_song() -> None:
    page = Song(make_notes([], [], [])).replace(title="nothing")._repr_html_()
    [png] = images(page)
    png_size(png)
    assert sounds(page) == [] and "no notes to play" in page


def test_gallery_of_several_songs() -> None:
    songs = [band(), Song(make_notes([72, 74], [0, 1], [1, 1])), Song(make_notes([], [], []))]
    shown = gallery(songs)
    assert isinstance(shown, Gallery) and shown.titles == ("Band <1>", "song 2", "song 3")
    page = shown._repr_html_()
    assert page.count('class="popgen-song"') == 3 and "repeat(3," in page
    assert len(images(page)) == 3 and len(sounds(page)) == 2  # the empty song has no player
    small = png_size(images(page)[0])
    assert small[1] < png_size(images(song_html(band()))[0])[1]  # thumbnails are smaller
    assert popgen.gallery is gallery


def test_gallery_options_and_errors() -> None:
    songs = [band(), band()]
    page = gallery(songs, titles=["take 1", "take 2"], columns=1, sample_rate=8000).to_html()
    assert "take 1" in page and "take 2" in page and "repeat(1," in page
    assert {rate for _, rate, _ in sounds(page)} == {8000}
    with pytest.raises(ValueError, match="1 titles for 2 songs"):
        gallery(songs, titles=["one"])
    with pytest.raises(ValueError, match="columns must be a whole number >= 1, got 0"):
        gallery(songs, columns=0)
    assert "no songs" in gallery([])._repr_html_()


def test_names_are_text_not_markup() -> None:
    # a title or track name with $...$ is not matplotlib math, nor HTML
    notes = make_notes([60, 62], [0, 1], [1, 1], track=[0, 1])
    tracks = (Track(r"$\frac$ lead"), Track("<b>bass</b>"))
    page = song_html(Song(notes, tracks=tracks, title=r"price $\unknown{"))
    assert len(images(page)) == 1 and len(sounds(page)) == 1
    assert "<b>" not in page and r"price $\unknown{" in page


def test_a_long_song_plays_its_first_minutes_only() -> None:
    from popgen.outputs.notebook import MAX_DISPLAY_SECONDS

    beats = MAX_DISPLAY_SECONDS * 2 + 240  # two beats a second: two minutes too long
    starts = list(range(0, beats, 4))  # a note every two seconds, to the end
    song = Song(make_notes([60] * len(starts), starts, [1] * len(starts)),
                tempos=[TempoChange(0, 120)])
    page = song_html(song)
    assert "playing the first 10 minutes of 12" in page
    [(_, rate, samples)] = sounds(page)
    assert MAX_DISPLAY_SECONDS - 5 <= len(samples) / rate <= MAX_DISPLAY_SECONDS + 2
