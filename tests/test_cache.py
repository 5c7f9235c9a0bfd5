from pathlib import Path

import numpy as np
import pytest

from popgen.corpus.cache import SongCache, decode_songs, encode_songs
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


@pytest.mark.parametrize("damage", ["truncate", "garbage", "pickle", "wrong-dtype", "version"])
def test_damaged_entries_are_misses(tmp_path: Path, damage: str) -> None:
    cache = SongCache(tmp_path)
    key = cache.key(b"x", {})
    cache.put(key, [song()])
    (path,) = tmp_path.rglob("*.npz")
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "garbage":
        path.write_bytes(b"not a zip file")
    elif damage == "pickle":  # an object array would need pickle to load: refused
        np.savez(path, meta=np.array([{"a": 1}], dtype=object), notes_0=song().notes)
    elif damage == "wrong-dtype":
        arrays = encode_songs([song()])
        np.savez(path, meta=arrays["meta"], notes_0=np.zeros(3))
    else:
        arrays = encode_songs([song()])
        meta = str(arrays["meta"][()]).replace('"version": 1', '"version": 99')
        np.savez(path, meta=np.array(meta), notes_0=arrays["notes_0"])
    assert cache.get(key) is None


def test_unwritable_cache_warns_once_and_reading_goes_on(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    cache = SongCache(blocker / "cache")
    with pytest.warns(UserWarning, match="cannot write the song cache") as caught:
        cache.put(cache.key(b"a", {}), [song()])
        cache.put(cache.key(b"b", {}), [song()])
    assert len(caught) == 1
    assert cache.get(cache.key(b"a", {})) is None
