"""Score files from strangers (issue 29): zip bombs, huge tunes and slow parses are bounded.

Every file is made in code. Each case is one ``CorpusError`` line naming the
file and the cap, from :func:`popgen.corpus.reading.read_file` and from ``popgen
corpus`` (exit 1 when nothing is read, one warning line per file skipped).
"""

from __future__ import annotations

import resource
import struct
import sys
import time
import zipfile
from pathlib import Path

import pytest

from popgen.corpus.options import CorpusOptions
from popgen.corpus.reading import read_file, read_files
from popgen.errors import CorpusError
from popgen.formats.score_guard import check_archive, check_score, count_score_notes, time_limit
from popgen.formats.score_reading import music21_root
from popgen.music.limits import Limits

_CONTAINER = (
    b'<?xml version="1.0"?><container><rootfiles>'
    b'<rootfile full-path="score.xml"/></rootfiles></container>'
)


def _tune(notes: int) -> bytes:
    """An ABC tune of ``notes`` eighth notes, 72 to a line."""
    body = b" ".join(b"CDEF GABc" for _ in range(notes // 8))
    lines = [body[i : i + 72] for i in range(0, len(body), 72)]
    return b"X:1\nT:big\nM:4/4\nL:1/8\nK:C\n" + b"\n".join(lines) + b"\n"


def _mxl(path: Path, xml: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("META-INF/container.xml", _CONTAINER)
        archive.writestr("score.xml", xml)
    return path


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def test_zip_bomb_refused_before_unpacking(tmp_path: Path) -> None:
    # 64 MB of XML packs into about 64 KB: over max_file_bytes and the ratio cap
    bomb = _mxl(
        tmp_path / "bomb.mxl", b"<score-partwise>" + b" " * 64_000_000 + b"</score-partwise>"
    )
    assert bomb.stat().st_size < 200_000
    before = _peak_mb()
    with pytest.raises(CorpusError, match=r"bomb\.mxl: zip member 'score\.xml' unpacks to"):
        read_file(bomb)
    assert _peak_mb() - before < 50  # nothing was unpacked


def test_compression_ratio_cap(tmp_path: Path) -> None:
    packed = _mxl(tmp_path / "dense.mxl", b"<a>" + b"x" * 1_000_000 + b"</a>")
    with pytest.raises(CorpusError, match=r"dense\.mxl: .* Limits\.max_compression_ratio \(200\)"):
        check_archive(packed)
    check_archive(packed, Limits(max_compression_ratio=10_000))  # raised: read


def test_zip_members_summed(tmp_path: Path) -> None:
    path = tmp_path / "many.mxl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for i in range(5):
            archive.writestr(f"part{i}.xml", bytes(300))
    with pytest.raises(CorpusError, match=r"many\.mxl: the zip's 5 members unpack to 1500 bytes"):
        check_archive(path, Limits(max_file_bytes=1000))


def test_zip_lying_about_sizes_is_bounded(tmp_path: Path) -> None:
    """A directory that declares 1 KB for 50 MB: zipfile unpacks only what it declares."""
    path = _mxl(
        tmp_path / "liar.mxl", b"<score-partwise>" + b" " * 50_000_000 + b"</score-partwise>"
    )
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.rfind(signature)  # the last member: score.xml
        data[at + offset : at + offset + 4] = struct.pack("<I", 1000)
    path.write_bytes(bytes(data))
    before = _peak_mb()
    with pytest.raises(CorpusError, match=r"liar\.mxl: "):
        read_file(path)
    assert _peak_mb() - before < 100


def test_huge_abc_refused_fast(tmp_path: Path) -> None:
    """Issue 29: a 2 MB tune of 1.6 M notes took 85 s of music21, then SystemError."""
    path = tmp_path / "huge.abc"
    path.write_bytes(_tune(1_600_000))
    assert path.stat().st_size < 2_500_000
    started = time.perf_counter()
    with pytest.raises(
        CorpusError, match=r"huge\.abc: about 1600000 notes, .*Limits\.max_score_notes"
    ):
        read_file(path)
    assert time.perf_counter() - started < 5


def test_note_count_is_not_low() -> None:
    """The estimate counts at least the notes music21 finds, on real scores."""
    from popgen.formats.score_reading import read_score

    for rel in ("bach/bwv66.6.mxl", "essenFolksong/kinder0.abc"):
        path = music21_root() / rel
        if path.suffix == ".mxl":
            with zipfile.ZipFile(path) as archive:
                count = sum(
                    count_score_notes(archive.read(m), Path(m).suffix) for m in archive.namelist()
                )
        else:
            count = count_score_notes(path.read_bytes(), path.suffix)
        notes = sum(song.num_notes for song in read_score(path, accents=False))
        assert notes <= count <= 1.3 * notes + 10, rel


def test_kern_count() -> None:
    kern = b"**kern\n*M4/4\n=1\n4c\n4d 4f\n4r\n.\n*-\n"
    assert count_score_notes(kern, ".krn") == 3


def test_time_limit(tmp_path: Path) -> None:
    path = tmp_path / "slow.abc"
    path.write_bytes(_tune(40_000))  # about 1.5 s of music21
    with pytest.raises(
        CorpusError,
        match=r"slow\.abc: music21 took more than 0\.2 s \(Limits\.max_seconds_per_file\)",
    ):
        read_file(path, CorpusOptions(limits=Limits(max_seconds_per_file=0.2)))


def test_time_limit_restores_the_previous_handler() -> None:
    import signal

    before = signal.getsignal(signal.SIGALRM)
    with time_limit(5, "x"):
        pass
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_a_good_score_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "tune.abc"
    path.write_bytes(_tune(64))
    [song] = read_file(path)
    assert song.num_notes == 64
    check_score(music21_root() / "bach" / "bwv66.6.mxl")


def test_workers_name_the_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.abc"
    path.write_bytes(_tune(300_000))
    _mxl(tmp_path / "bomb.mxl", b"<a>" + b" " * 20_000_000 + b"</a>")
    results = dict(read_files([path, tmp_path / "bomb.mxl"], workers=1))
    assert all(isinstance(r, str) for r in results.values())
    assert "Limits.max_score_notes" in str(results[path])
    assert "Limits.max_file_bytes" in str(results[tmp_path / "bomb.mxl"])


def test_corpus_cli_one_line_per_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from popgen.cli import main

    _mxl(tmp_path / "bomb.mxl", b"<a>" + b" " * 20_000_000 + b"</a>")
    (tmp_path / "huge.abc").write_bytes(_tune(300_000))
    assert main(["corpus", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "bomb.mxl: zip member 'score.xml' unpacks to" in err
    assert "huge.abc: about 300000 notes" in err


def test_time_limit_survives_a_swallowed_alarm() -> None:
    """Fuzzing found it: the alarm's exception raised inside a garbage-collection callback
    was swallowed there, and the parse then ran on unbounded. The alarm now fires again."""
    swallowed: list[int] = []
    started = time.perf_counter()
    with (
        pytest.raises(CorpusError, match=r"x: music21 took more than 0\.05 s"),
        time_limit(0.05, "x"),
    ):
        while time.perf_counter() - started < 5:
            try:
                time.sleep(0.01)
            except BaseException:
                if swallowed:
                    raise
                swallowed.append(1)  # the first one is lost, as in a gc callback
    assert swallowed == [1]
    assert time.perf_counter() - started < 1


def test_a_swallowed_alarm_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """An alarm landing in a garbage-collection callback says nothing ("Exception ignored")."""
    import gc

    def collect(phase: str, info: dict[str, int]) -> None:
        time.sleep(0.002)  # an alarm may land here, where Python swallows exceptions

    before = sys.unraisablehook
    gc.callbacks.append(collect)
    started = time.perf_counter()
    try:
        with pytest.raises(CorpusError), time_limit(0.05, "x"):
            while time.perf_counter() - started < 30:  # without the alarm again: 30 s
                gc.collect(0)
                time.sleep(0.005)
    finally:
        gc.callbacks.remove(collect)
    assert time.perf_counter() - started < 10
    assert "Exception ignored" not in capsys.readouterr().err
    assert sys.unraisablehook is before
