import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from popgen.corpus.cache import CACHE_FORMAT_VERSION, SongCache, decode_songs, encode_songs
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TempoChange, TimeSignature


def song() -> Song:
    return Song(
        make_notes([60, 64, 36], [0, 0.5, 1], [1, 0.25, 2], [90, 70, 110], [0, 0, 1]),
        tracks=(Track("Lead", 81), Track("Drums", 0, True)),
        tempos=((0.0, 97.5), (4.0, 120.0)),
        time_signatures=((0.0, 3, 4),),
        key="F# minor",
        title="t",
        source="x.mid",
    )


def test_encoding_round_trips_every_field() -> None:
    (back,) = decode_songs(encode_songs([song()]))
    np.testing.assert_array_equal(back.notes, song().notes)
    assert back.tracks == song().tracks and back.key == "F# minor"
    assert back.tempos == (TempoChange(0.0, 97.5), TempoChange(4.0, 120.0))
    assert back.time_signatures == (TimeSignature(0.0, 3, 4),)
    assert (back.title, back.source) == ("t", "x.mid")


def test_hit_miss_and_keys_depend_on_content_and_settings(tmp_path: Path) -> None:
    cache = SongCache(tmp_path)
    key = cache.key(b"file bytes", {"reader": "midi"})
    assert cache.get(key) is None
    cache.put(key, [song()])
    assert cache.get(key) is not None
    assert cache.key(b"file bytes", {"reader": "midi"}) == key
    assert cache.key(b"file bytes!", {"reader": "midi"}) != key
    assert cache.key(b"file bytes", {"reader": "music21"}) != key


@pytest.mark.parametrize(
    "damage",
    ["truncate", "longer", "garbage", "header", "meta", "wrong-dtype", "version", "byteorder"],
)
def test_damaged_entries_are_misses(tmp_path: Path, damage: str) -> None:
    cache = SongCache(tmp_path)
    key = cache.key(b"x", {})
    cache.put(key, [song()])
    (path,) = tmp_path.rglob("*.songs")
    data = path.read_bytes()
    start = len(b"popgen songs\n") + 8
    size = int.from_bytes(data[start - 8 : start], "little")
    header = json.loads(data[start : start + size])

    def with_header(changed: dict[str, Any]) -> bytes:
        head = json.dumps(changed).encode()
        return data[: start - 8] + len(head).to_bytes(8, "little") + head + data[start + size :]

    if damage == "truncate":
        path.write_bytes(data[:-5])
    elif damage == "longer":
        path.write_bytes(data + b"\0" * 8)
    elif damage == "garbage":
        path.write_bytes(b"not a song entry")
    elif damage == "header":
        path.write_bytes(data[: start + 3] + b"}" + data[start + 4 :])
    elif damage == "meta":
        header["meta"] = ["not", "a", "dict"]
        path.write_bytes(with_header(header))
    elif damage == "wrong-dtype":  # notes with a length no whole number of rows
        header["arrays"][0][1] -= 1
        path.write_bytes(with_header(header))
    elif damage == "version":
        assert header["meta"]["version"] == CACHE_FORMAT_VERSION
        header["meta"]["version"] = 99
        path.write_bytes(with_header(header))
    else:
        header["byteorder"] = "big" if header["byteorder"] == "little" else "little"
        path.write_bytes(with_header(header))
    assert cache.get(key) is None


def test_entries_hold_no_pickle_and_read_back_every_field(tmp_path: Path) -> None:
    cache = SongCache(tmp_path)
    cache.put("ab", [song(), song().replace(title="u")])
    (back, second) = cache.get("ab") or []
    np.testing.assert_array_equal(back.notes, song().notes)
    assert back.notes.flags.writeable is False and second.title == "u"
    assert (back.tracks, back.tempos, back.key) == (song().tracks, song().tempos, song().key)
    assert b"numpy" not in (tmp_path / "ab" / "ab.songs").read_bytes()  # no pickled objects


def test_unwritable_cache_warns_once_and_reading_goes_on(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    cache = SongCache(blocker / "cache")
    with pytest.warns(UserWarning, match="cannot write the song cache") as caught:
        cache.put(cache.key(b"a", {}), [song()])
        cache.put(cache.key(b"b", {}), [song()])
    assert len(caught) == 1
    assert cache.get(cache.key(b"a", {})) is None
