"""Track chunks the header miscounts, and notes that never end, are read (issue 29)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import mido
import pytest

from popgen.formats.midi_reading import read_midi
from popgen.formats.midi_salvage import count_track_chunks, salvage_midi
from popgen.formats.midi_symusic import read_midi_symusic, symusic_available

needs_symusic = pytest.mark.skipif(not symusic_available(), reason="symusic not installed")


def _tracks(count: int, *, ended: bool = True) -> bytes:
    """``count`` tracks of one note each (pitches 60..71, channels 0..8)."""
    mid = mido.MidiFile(type=1, ticks_per_beat=96)
    for t in range(count):
        track = mido.MidiTrack()
        track.append(mido.Message("note_on", note=60 + t % 12, velocity=80, channel=t % 9))
        end = mido.Message("note_off", note=60 + t % 12, channel=t % 9, time=96)
        track.append(end if ended else mido.MetaMessage("text", text="-", time=96))
        mid.tracks.append(track)
    out = io.BytesIO()
    mid.save(file=out)
    return out.getvalue()


def _declares(data: bytes, count: int) -> bytes:
    return data[:10] + count.to_bytes(2, "big") + data[12:]


def _read(path: Path, reader: object = read_midi) -> tuple[object, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        song = reader(path)  # type: ignore[operator]
    return song, [str(w.message) for w in caught]


@pytest.mark.parametrize(
    ("declared", "said"),
    [
        (100, "the header declares 100 track(s); found 32"),
        (65535, "the header declares 65535 track(s); found 32"),  # mido reads -1: none
        (1, "the header declares 1 track(s); read all 32 found"),
        (0, "the header declares 0 track(s); read all 32 found"),
    ],
)
def test_every_track_is_read(tmp_path: Path, declared: int, said: str) -> None:
    path = tmp_path / "count.mid"
    path.write_bytes(_declares(_tracks(32), declared))
    song, messages = _read(path)
    assert song.num_notes == 32  # type: ignore[attr-defined]
    assert messages == [f"{path}: {said}"]


def test_count_track_chunks() -> None:
    data = _tracks(5)
    assert count_track_chunks(data) == (5, 5)
    assert count_track_chunks(_declares(data, 2)) == (2, 5)
    assert count_track_chunks(data[:-3]) == (5, 4)  # the last chunk runs past the end
    assert count_track_chunks(b"RIFF") == (0, 0)
    assert len(salvage_midi(_declares(data, 2)).midi.tracks) == 5


def test_intact_file_reads_without_warnings(tmp_path: Path) -> None:
    path = tmp_path / "ok.mid"
    path.write_bytes(_tracks(4))
    song, messages = _read(path)
    assert song.num_notes == 4 and messages == []  # type: ignore[attr-defined]


def test_notes_never_ended_end_at_the_track_end(tmp_path: Path) -> None:
    path = tmp_path / "hang.mid"
    path.write_bytes(_tracks(3, ended=False))
    song, messages = _read(path)
    assert song.notes["duration"].tolist() == [1.0, 1.0, 1.0]  # type: ignore[attr-defined]
    assert messages == [f"{path}: 3 notes had no note-off; each ends at its track's end"]


@needs_symusic
@pytest.mark.parametrize("case", ["more", "fewer", "none", "65535", "hang", "ok"])
def test_symusic_reader_reads_as_mido(tmp_path: Path, case: str) -> None:
    data = {
        "more": _declares(_tracks(8), 20),
        "fewer": _declares(_tracks(8), 3),
        "none": _declares(_tracks(8), 0),
        "65535": _declares(_tracks(8), 65535),
        "hang": _tracks(4, ended=False),
        "ok": _tracks(4),
    }[case]
    path = tmp_path / f"{case}.mid"
    path.write_bytes(data)
    (fast, fast_said), (slow, slow_said) = _read(path, read_midi_symusic), _read(path, read_midi)
    assert fast_said == slow_said
    for name in ("notes", "tracks", "tempos", "time_signatures", "key", "chords"):
        a, b = getattr(fast, name), getattr(slow, name)
        assert (a.tolist() if hasattr(a, "tolist") else a) == (
            b.tolist() if hasattr(b, "tolist") else b
        ), name


@needs_symusic
def test_a_step_beyond_symusic_and_pretty_midi(tmp_path: Path) -> None:
    """symusic and pretty_midi drop notes with no note-off and tracks past the count."""
    import symusic

    hang, fewer = tmp_path / "hang.mid", tmp_path / "fewer.mid"
    hang.write_bytes(_tracks(4, ended=False))
    fewer.write_bytes(_declares(_tracks(8), 1))
    assert sum(len(t.notes) for t in symusic.Score(str(hang)).tracks) == 0
    assert sum(len(t.notes) for t in symusic.Score(str(fewer)).tracks) == 1
    assert _read(hang)[0].num_notes == 4  # type: ignore[attr-defined]
    assert _read(fewer)[0].num_notes == 8  # type: ignore[attr-defined]
