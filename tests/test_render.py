from __future__ import annotations

from pathlib import Path

import pytest

from popgen.formats.midi_reading import read_midi
from popgen.music.song import Song, Track, make_notes
from popgen.outputs.piano_roll import piano_roll

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_piano_roll_writes_png(tmp_path: Path, midi_dir: Path) -> None:
    song = read_midi(midi_dir / "band.mid")
    path = tmp_path / "band.png"
    piano_roll(song, path, title="Band")
    width, height = png_size(path)
    assert path.stat().st_size > 1000 and width > 300 and height > 200


def test_song_write_png_and_default_title(tmp_path: Path) -> None:
    song = Song(
        make_notes([60, 64, 67, 36], [0, 1, 2, 0], [1, 1, 2, 0.5], [20, 60, 127, 90], [0, 0, 0, 1]),
        tracks=(Track("piano"), Track("drums", 0, True)),
        title="tit\x84le",  # an unprintable character is left out of the title
    )
    song.write_png(tmp_path / "s.png")
    png_size(tmp_path / "s.png")


def test_empty_song(tmp_path: Path) -> None:
    path = tmp_path / "empty.png"
    piano_roll(Song(make_notes([], [], [])), path)
    png_size(path)


@pytest.mark.parametrize("end", [0.25, 4000.0])
def test_short_and_long_songs(tmp_path: Path, end: float) -> None:
    path = tmp_path / "x.png"
    piano_roll(Song(make_notes([0, 127], [0, end - 0.25], [0.25, 0.25])), path)
    width, _ = png_size(path)
    assert width <= 2500  # the figure width is capped


def test_sections_are_marked_on_the_roll(tmp_path: Path) -> None:
    from popgen.music.sections import parse_form

    song = Song(make_notes([60, 62, 64, 65], [0, 4, 8, 12], [4, 4, 4, 4]))
    plain, marked = tmp_path / "plain.png", tmp_path / "marked.png"
    piano_roll(song, plain, size=(4, 2))
    piano_roll(song.replace(sections=parse_form("A2 B2")), marked, size=(4, 2))
    import matplotlib.image

    a, b = matplotlib.image.imread(plain), matplotlib.image.imread(marked)
    assert a.shape == b.shape
    # the second section's band darkens the right half a little; the first is left as it was
    half = a.shape[1] // 2
    assert b[:, half + 20 :].mean() < a[:, half + 20 :].mean()
