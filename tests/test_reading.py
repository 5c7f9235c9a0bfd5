import os
import warnings
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import popgen.corpus.reading as reading
from popgen.corpus.cache import SongCache
from popgen.corpus.options import CorpusOptions
from popgen.corpus.reading import expand_paths, read_files
from popgen.errors import MidiError
from popgen.formats.midi_reading import read_midi


def many_songs(folder: Path, make_midi: Any, n: int = 20) -> list[Path]:
    folder.mkdir()
    return [
        make_midi(folder / f"s{i:02d}.mid", [(60 + i % 12, b * 0.5, 0.5, 64 + i) for b in range(8)])
        for i in range(n)
    ]


def songs_of(results: list[tuple[Path, Any]]) -> list[list[tuple[int, ...]]]:
    return [[tuple(r) for r in s.notes.tolist()] for _, songs in results for s in songs]


def test_workers_give_the_same_songs_in_the_same_order(tmp_path: Path, make_midi: Any) -> None:
    files = many_songs(tmp_path / "m", make_midi)
    one = list(read_files(files, workers=1))
    two = list(read_files(files, workers=2))
    assert [p for p, _ in two] == files
    assert songs_of(one) == songs_of(two)


def test_cache_hits_parse_nothing(tmp_path: Path, make_midi: Any, monkeypatch: Any) -> None:
    files = many_songs(tmp_path / "m", make_midi, n=3)
    cache = SongCache(tmp_path / "cache")
    first = list(read_files(files, cache=cache, workers=1))

    def refuse(task: Any) -> Any:
        raise AssertionError(f"parsed {task[0]} although it is cached")

    monkeypatch.setattr(reading, "_read_task", refuse)
    monkeypatch.setattr(reading, "_read_here", refuse)
    again = list(read_files(files, cache=cache, workers=1))
    assert songs_of(first) == songs_of(again)
    assert [s.source for _, songs in again for s in songs] == [str(f) for f in files]


def test_damaged_cache_entries_are_read_again(tmp_path: Path, make_midi: Any) -> None:
    files = many_songs(tmp_path / "m", make_midi, n=3)
    cache = SongCache(tmp_path / "cache")
    first = list(read_files(files, cache=cache, workers=1))
    for entry in (tmp_path / "cache").rglob("*.songs"):
        entry.write_bytes(entry.read_bytes()[:50])
    again = list(read_files(files, cache=cache, workers=1))
    assert songs_of(first) == songs_of(again)
    for f in files:  # and written back whole
        assert cache.get(cache.key(f.read_bytes(), reading._settings(f, CorpusOptions())))


def test_a_changed_file_is_read_again(tmp_path: Path, make_midi: Any) -> None:
    cache = SongCache(tmp_path / "cache")
    path = make_midi(tmp_path / "a.mid", [(60, 0, 1)])
    ((_, (song,)),) = read_files([path], cache=cache)
    make_midi(path, [(62, 0, 1)])
    ((_, (song,)),) = read_files([path], cache=cache)
    assert song.notes["pitch"].tolist() == [62]


def test_bad_files_give_reasons(tmp_path: Path, make_midi: Any) -> None:
    good = make_midi(tmp_path / "good.mid", [(60, 0, 1)])
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "bad.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    results = dict(read_files([good, tmp_path / "notes.txt", tmp_path / "bad.mid"]))
    assert not isinstance(results[good], str)
    assert "unknown kind of file '.txt'" in str(results[tmp_path / "notes.txt"])
    assert "bad.mid: not a valid MIDI file" in str(results[tmp_path / "bad.mid"])


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_unreadable_file_gives_a_reason(tmp_path: Path, make_midi: Any) -> None:
    path = make_midi(tmp_path / "locked.mid", [(60, 0, 1)])
    path.chmod(0)
    ((_, reason),) = read_files([path], cache=SongCache(tmp_path / "c"))
    assert isinstance(reason, str) and "locked.mid: cannot read" in reason


def test_folders_list_only_music_files(tmp_path: Path, make_midi: Any) -> None:
    make_midi(tmp_path / "a.mid", [(60, 0, 1)])
    (tmp_path / "readme.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    make_midi(tmp_path / "sub" / "b.MIDI", [(60, 0, 1)])
    assert [p.name for p in expand_paths([tmp_path])] == ["a.mid", "b.MIDI"]


def test_key_rules(tmp_path: Path, make_midi: Any) -> None:
    # an A-minor tune in a file that claims C major (a common default)
    notes = [(p, i * 0.5, 0.5) for i, p in enumerate([57, 60, 64, 69, 64, 60, 57, 52, 57] * 3)]
    path = make_midi(tmp_path / "am.mid", notes, key="D")  # wrong signature: two sharps
    keys = {
        rule: read_files([path], options=CorpusOptions(keys=rule)).__next__()[1][0].key
        for rule in ("auto", "file", "analysis")
    }
    assert keys["file"] == "D major"
    assert keys["analysis"] == keys["auto"] == "A minor"
    with pytest.raises(ValueError, match="keys must be"):
        CorpusOptions(keys="guess")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_and_truncated_midi_raise_only_midi_error(data: st.DataObject) -> None:
    mid = mido.MidiFile(type=1, ticks_per_beat=96)
    track = mido.MidiTrack()
    for p in (60, 64, 67):
        track.append(mido.Message("note_on", note=p, velocity=80, time=0))
        track.append(mido.Message("note_off", note=p, time=96))
    track.append(mido.MetaMessage("set_tempo", tempo=500000, time=0))
    mid.tracks.append(track)
    import io

    buf = io.BytesIO()
    mid.save(file=buf)
    raw = bytearray(buf.getvalue())
    for _ in range(data.draw(st.integers(0, 6))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    raw = raw[: data.draw(st.integers(0, len(raw)))]
    path = Path(os.environ["POPGEN_CACHE_DIR"]) / "fuzz.mid"
    path.write_bytes(bytes(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            song = read_midi(path)
        except MidiError as exc:
            assert str(path) in str(exc)
        else:
            assert song.num_notes > 0 and np.isfinite(song.notes["start"]).all()


def test_unguarded_script_with_jax_loaded_still_reads(tmp_path: Path, make_midi: Any) -> None:
    import subprocess
    import sys

    many_songs(tmp_path / "m", make_midi)
    script = tmp_path / "unguarded.py"
    script.write_text(
        "import jax  # loaded first: workers must be spawned, and re-run this file\n"
        "import popgen\n"
        f"corpus = popgen.Corpus.from_paths([{str(tmp_path / 'm')!r}], cache_dir=None)\n"
        "print(len(corpus))\n"
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1] == "20"
    assert "if __name__" in proc.stderr  # the warning says how to read in parallel
