"""The warm read (issue 30): the song cache's keyed digest, its key, and how files are read."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import make_pop909_midi

from popgen.corpus import reading
from popgen.corpus.cache import SongCache, pack_songs, unpack_songs
from popgen.corpus.files import file_bytes, regular_file_bytes
from popgen.corpus.options import CorpusOptions
from popgen.music.chords import make_chords
from popgen.music.sections import parse_form
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TempoChange, TimeSignature


def full_song() -> Song:
    """A song with every field set: sections, chords, bars, tempos, counts."""
    return Song(
        make_notes([60, 64, 67, 36], [0, 0, 4.5, 8], [4, 2, 1, 4], [90, 70, 60, 110], [0, 0, 0, 1]),
        tracks=(Track("Lead", 81, role="melody"), Track("Drums", 0, True, "drums")),
        tempos=(TempoChange(0.0, 97.5), TempoChange(4.0, 120.0)),
        time_signatures=(TimeSignature(0.0, 3, 4), TimeSignature(3.0, 4, 4)),
        key="F# minor",
        title="t",
        source="x.mid#1",
        chords=make_chords(["C", "G"], [0, 4], [4, 8]),
        bars=np.array([0.0, 3.0, 7.0]),
        merged_notes=2,
        shortened_silences=1,
        cut_notes=3,
        sections=parse_form("A1 B2"),
    )


def fields(song: Song) -> list[Any]:
    out: list[Any] = []
    for field in dataclasses.fields(song):
        value = getattr(song, field.name)
        if isinstance(value, np.ndarray):
            out.append((value.dtype, value.shape, value.tobytes(), value.flags.writeable))
        else:
            out.append((type(value), value))
    return out


def test_an_intact_entry_gives_the_songs_that_checking_gives() -> None:
    data = pack_songs([full_song(), full_song().replace(title="u", sections=())])
    trusted = unpack_songs(data)  # the checksum matches: built as written
    checked = unpack_songs(data[:-16] + bytes(b ^ 0xFF for b in data[-16:]))  # checked again
    assert [fields(s) for s in trusted] == [fields(s) for s in checked]
    assert fields(trusted[0]) == fields(full_song())
    with pytest.raises(ValueError, match="read-only"):
        trusted[0].notes["pitch"][0] = 1


def test_an_edited_entry_is_checked_and_a_bad_one_is_a_miss(tmp_path: Path) -> None:
    cache = SongCache(tmp_path)
    cache.put("ab", [full_song()])
    (path,) = tmp_path.rglob("*.songs")
    data = bytearray(path.read_bytes())
    at = bytes(data).index(full_song().notes.tobytes())
    data[at : at + 2] = (200).to_bytes(2, "little")  # the first pitch: 200, checksum unchanged
    path.write_bytes(bytes(data))
    assert cache.get("ab") is None  # checked (the checksum no longer matches): refused
    with pytest.raises(ValueError, match="pitches must be in 0..127"):
        unpack_songs(bytes(data))


def test_an_entry_sealed_with_another_key_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from popgen.corpus import cache as cache_module

    bad = full_song().notes.copy()
    data = pack_songs([full_song()])
    at = data.index(bad.tobytes())
    forged = bytearray(data[:-16])
    forged[at : at + 2] = (200).to_bytes(2, "little")  # pitch 200
    stranger = hashlib.blake2b(bytes(forged), key=b"k" * 32, digest_size=16).digest()
    with pytest.raises(ValueError, match="pitches must be in 0..127"):  # not trusted: checked
        unpack_songs(bytes(forged) + stranger)
    mine = hashlib.blake2b(bytes(forged), key=cache_module.entry_key(), digest_size=16).digest()
    assert mine != stranger


def test_the_entry_key_is_made_once_private_and_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from popgen.corpus import cache as cache_module

    path = tmp_path / "config" / "entry-key"
    monkeypatch.setenv("POPGEN_KEY_FILE", str(path))
    cache_module.entry_key.cache_clear()
    try:
        key = cache_module.entry_key()
        assert path.read_bytes() == key and len(key) == 32
        assert path.stat().st_mode & 0o777 == 0o600
        cache_module.entry_key.cache_clear()
        assert cache_module.entry_key() == key  # read again, not made again
        path.write_bytes(b"short")  # a damaged key file: a key for this process alone
        cache_module.entry_key.cache_clear()
        assert len(cache_module.entry_key()) == 32 and cache_module.entry_key() != key
    finally:
        cache_module.entry_key.cache_clear()


def test_songs_from_a_bytearray_do_not_share_its_memory() -> None:
    data = bytearray(pack_songs([full_song()]))
    (song,) = unpack_songs(data)  # type: ignore[arg-type]
    data[:] = bytes(len(data))
    assert fields(song) == fields(full_song())


def pop909_folder(root: Path) -> Path:
    folder = root / "001"
    folder.mkdir()
    notes = [(60 + i % 5, i, 1.0, 80, 0) for i in range(16)]
    path = make_pop909_midi(folder / "001.mid", notes, 100.0)
    beats = "".join(f"{i * 0.6:.6f} 0.0 {float(i % 4 == 0)}\n" for i in range(16))
    (folder / "beat_midi.txt").write_text(beats)
    (folder / "chord_midi.txt").write_text("0.0\t2.4\tC:maj\n2.4\t9.6\tG:maj\n")
    (folder / "phrases_1.txt").write_text("A2B2\n")
    (folder / "phrases_2.txt").write_text("A4\n")
    (folder / "phrases_melody.txt").write_text("60 16\n62 16\n")
    return path


def key(path: Path, options: CorpusOptions | None = None) -> str:
    return SongCache("unused").key(
        path.read_bytes(), reading._settings(path, options or CorpusOptions())
    )


@pytest.mark.parametrize("name", ["phrases_1.txt", "phrases_2.txt", "phrases_melody.txt"])
def test_cache_key_changes_with_each_phrase_file(tmp_path: Path, name: str) -> None:
    path = pop909_folder(tmp_path)
    before = key(path)
    with (path.parent / name).open("a") as file:
        file.write("\n")
    edited = key(path)
    (path.parent / name).unlink()
    gone = key(path)
    assert len({before, edited, gone}) == 3
    (path.parent / name).mkdir()  # a folder of that name: as if there were no file
    assert key(path) == gone
    # phrase files count only where the sections rule reads them
    assert key(path, CorpusOptions(sections="infer")) != key(path)


def test_cache_key_is_the_same_in_a_new_process_for_the_same_files(tmp_path: Path) -> None:
    path = pop909_folder(tmp_path)
    reading._plain_limits.cache_clear()
    assert key(path) == key(path)
    assert reading._settings(path, CorpusOptions())["limits"] == dataclasses.asdict(
        CorpusOptions().limits
    )


def test_file_bytes_reads_as_read_bytes(tmp_path: Path) -> None:
    big = os.urandom(200_000)
    for name, data in (("empty", b""), ("small", b"abc"), ("big", big)):
        (tmp_path / name).write_bytes(data)
        assert file_bytes(tmp_path / name) == data == regular_file_bytes(tmp_path / name)
    with pytest.raises(FileNotFoundError) as missing:
        file_bytes(tmp_path / "missing")
    assert missing.value.filename == str(tmp_path / "missing")
    with pytest.raises(IsADirectoryError):
        file_bytes(tmp_path)
    assert regular_file_bytes(tmp_path / "missing") is None
    assert regular_file_bytes(tmp_path) is None
    assert regular_file_bytes(tmp_path / "small" / "under") is None  # not a folder


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")
def test_regular_file_bytes_does_not_wait_on_a_fifo(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    os.symlink(tmp_path / "gone", tmp_path / "dangling")
    assert regular_file_bytes(tmp_path / "fifo") is None
    assert regular_file_bytes(tmp_path / "dangling") is None
