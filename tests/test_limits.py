"""Hostile input (issue #18): every stage costs memory and time in notes and bars, not silences.

The files are built in code (``make_raw_midi``) and are valid MIDI: long
delta times, a note held for 2**32 ticks, absurd tempi and resolutions, time
signatures with no bar, ten thousand tracks. Each goes through reading,
every encoding, decoding, MIDI, metrics and the piano roll; the caps of
:mod:`popgen.music.limits` are checked on their own with hypothesis, and on a
million notes for linearity (tracemalloc peaks, loose bounds).
"""

from __future__ import annotations

import math
import time
import tracemalloc
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pytest
from conftest import make_midi, make_raw_midi
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.corpus.corpus import Corpus
from popgen.corpus.options import CorpusOptions
from popgen.corpus.reading import read_file
from popgen.errors import CorpusError
from popgen.metrics import song_metrics
from popgen.music.limits import (
    DEFAULT_LIMITS,
    Limits,
    bound_song,
    check_file_size,
    clamp_tempos,
    cut_song,
    drop_short_bars,
    shorten_silences,
)
from popgen.music.song import NOTE_DTYPE, Song, Track, make_notes
from popgen.music.time import TempoChange, TimeSignature
from popgen.tokenizers import get_tokenizer, list_tokenizers

GAP = 0x0FFFFFFF  # the longest delta time a MIDI file can hold
#: Beats any single token may move time by: the longest bar MIDI can declare (255/1).
PER_TOKEN = 1024.0


# ----------------------------------------------------------------- the files
def issue_file(path: Path) -> Path:
    """The issue's file: 21 notes, twenty gaps of 0x0FFFFFFF ticks, one tick per beat."""
    events: list[tuple[int, Any]] = []
    tick = 0
    for i in range(21):
        pitch = 60 + i % 12
        events.append((tick, mido.Message("note_on", note=pitch, velocity=80)))
        events.append((tick + 1, mido.Message("note_off", note=pitch)))
        tick += 1 + GAP
    return make_raw_midi(path, [events], ticks_per_beat=1, midi_type=0)


def held_file(path: Path) -> Path:
    """A note held for 2**32 ticks (text events keep each delta time in range), then another."""
    events: list[tuple[int, Any]] = [(0, mido.Message("note_on", note=60, velocity=80))]
    events += [(k * GAP, mido.MetaMessage("text", text=f"{k}")) for k in range(1, 17)]
    events += [
        (2**32, mido.Message("note_off", note=60)),
        (2**32, mido.Message("note_on", note=64, velocity=80)),
        (2**32 + 480, mido.Message("note_off", note=64)),
    ]
    return make_raw_midi(path, [events], ticks_per_beat=480, midi_type=0)


def tempo_file(path: Path, tempo: int) -> Path:
    """Four quarter notes at ``tempo`` microseconds per beat."""
    notes = [(60 + i, i * 480, 480) for i in range(4)]
    events: list[tuple[int, Any]] = [(0, mido.MetaMessage("set_tempo", tempo=tempo))]
    for pitch, on, length in notes:
        events.append((on, mido.Message("note_on", note=pitch, velocity=80)))
        events.append((on + length, mido.Message("note_off", note=pitch)))
    return make_raw_midi(path, [events], ticks_per_beat=480, midi_type=0)


def meter_file(path: Path, numerator: int, log2_denominator: int) -> Path:
    """One note under a time signature written byte by byte (mido checks what it writes)."""
    track = bytes([0x00, 0xFF, 0x58, 0x04, numerator, log2_denominator, 0x18, 0x08]) + bytes(
        [0x00, 0x90, 0x3C, 0x40, 0x60, 0x80, 0x3C, 0x40, 0x00, 0xFF, 0x2F, 0x00]
    )
    header = b"MThd" + (6).to_bytes(4, "big") + bytes([0, 0, 0, 1, 0, 96])
    path.write_bytes(header + b"MTrk" + len(track).to_bytes(4, "big") + track)
    return path


def many_tracks_file(path: Path, count: int = 10_000) -> Path:
    """``count`` tracks of one short note each, with their own programs."""
    tracks = []
    for i in range(count):
        channel, pitch, on = (i % 15) + (i % 15 >= 9), 40 + i % 40, (i % 8) * 24  # no drums
        tracks.append(
            [
                (0, mido.Message("program_change", channel=channel, program=i % 128)),
                (on, mido.Message("note_on", channel=channel, note=pitch, velocity=80)),
                (on + 96, mido.Message("note_off", channel=channel, note=pitch)),
            ]
        )
    return make_raw_midi(path, tracks, ticks_per_beat=96)


def resolution_file(path: Path, ticks_per_beat: int) -> Path:
    """Notes of one tick and of a few beats at ``ticks_per_beat``."""
    notes = [(60, 0.0, 1.0), (64, 1.0, 0.5), (67, 2.0, 3.0)]
    if ticks_per_beat > 1:
        notes.append((72, 5.0, 1 / ticks_per_beat))  # one tick
    return make_midi(path, notes, ticks_per_beat=ticks_per_beat)


HOSTILE: dict[str, Callable[[Path], Path]] = {
    "issue-gaps.mid": issue_file,
    "held-2**32-ticks.mid": held_file,
    "tempo-1us.mid": lambda p: tempo_file(p, 1),
    "tempo-16777215us.mid": lambda p: tempo_file(p, 0xFFFFFF),
    "ticks-per-beat-1.mid": lambda p: resolution_file(p, 1),
    "ticks-per-beat-32767.mid": lambda p: resolution_file(p, 32767),
    "meter-0-4.mid": lambda p: meter_file(p, 0, 2),
    "meter-1-2**40.mid": lambda p: meter_file(p, 1, 40),
    "meter-4-2**255.mid": lambda p: meter_file(p, 4, 255),
    "10000-tracks.mid": many_tracks_file,
}


@pytest.fixture(scope="module")
def hostile_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name, build in HOSTILE.items():
        build(folder / name)
    return folder


@pytest.fixture(scope="module")
def hostile_songs(hostile_dir: Path) -> dict[str, Song]:
    """Each file read as the corpus reads it, once for the module."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus = Corpus.from_paths([hostile_dir], cache_dir=None, workers=1)
    assert not corpus.skipped
    return {Path(s.source).name: s for s in corpus}


@pytest.fixture(scope="module")
def hand_made() -> Song:
    """A song no file reads as: a billion-beat rest, a note held a billion beats, 0.6 bpm."""
    notes = make_notes([60, 62, 64, 67], [0, 10**9, 2 * 10**9 + 0.5, 4 * 10**9], [1, 10**9, 1, 2])
    return Song(notes, tempos=(TempoChange(0, 0.6),), source="hand-made")


@pytest.fixture(params=[*sorted(HOSTILE), "hand-made"])
def hostile(
    request: pytest.FixtureRequest, hostile_songs: dict[str, Song], hand_made: Song
) -> Song:
    if request.param == "hand-made":
        return hand_made
    return hostile_songs[request.param]


@pytest.fixture
def peak() -> Iterator[Callable[[], float]]:
    """The tracemalloc peak so far, in MB; tracing runs for the test."""
    tracemalloc.start()
    yield lambda: tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()


# ------------------------------------------------------------------- reading
def test_issue_file_reads_small_with_a_warning_and_is_counted(tmp_path: Path) -> None:
    path = issue_file(tmp_path / "gaps.mid")
    assert path.stat().st_size < 300  # a few hundred bytes of valid MIDI
    with pytest.warns(UserWarning, match=r"gaps\.mid: 20 silences longer than 256 beats"):
        corpus = Corpus.from_paths([path], cache_dir=None, workers=1)
    song = corpus[0]
    assert song.num_notes == 21 and song.shortened_silences == 20
    assert song.end <= 20 * 256 + 1
    assert np.array_equal(song.notes["start"] % 4, np.zeros(21))  # whole bars out: on the beat
    assert len(song.bar_lines()) < 2000
    assert "20 long silences shortened in 1 songs" in corpus.describe()


def test_the_corpus_command_names_each_shortened_and_cut_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from popgen.cli import main

    path = issue_file(tmp_path / "gaps.mid")
    code = main(["corpus", str(path), "--no-cache", "--limit", "max_notes=5"])
    out, err = capsys.readouterr()
    assert code == 0 and f"popgen: warning: {path}: 20 silences longer than 256" in err
    assert f"shortened {path}: 20 silences (popgen.music.limits.Limits.max_silence)" in out
    assert f"cut {path}: 16 notes left out" in out
    with pytest.raises(SystemExit):
        main(["corpus", str(path), "--limit", "max_silences=5"])
    assert "unknown limit 'max_silences'" in capsys.readouterr().err


def test_shortened_songs_come_back_from_the_cache_with_their_counts(tmp_path: Path) -> None:
    path = issue_file(tmp_path / "gaps.mid")
    cache = tmp_path / "cache"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = Corpus.from_paths([path], cache_dir=cache, workers=1)
    again = Corpus.from_paths([path], cache_dir=cache, workers=1)  # a hit: read no more
    assert again[0].shortened_silences == 20
    assert np.array_equal(again[0].notes, first[0].notes)
    assert again.describe() == first.describe()


def test_other_limits_read_the_file_differently(tmp_path: Path) -> None:
    path = issue_file(tmp_path / "gaps.mid")
    cache = tmp_path / "cache"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = Corpus.from_paths([path], cache_dir=cache, workers=1)
        tight = Corpus.from_paths(
            [path], cache_dir=cache, workers=1, limits=Limits(max_silence=16, max_notes=5)
        )
    assert plain[0].end > 5000 and tight[0].end <= 4 * 16 + 1  # not the cached entry
    assert tight[0].num_notes == 5 and tight[0].cut_notes == 16
    assert "1 too long songs cut (16 notes left out)" in tight.describe()


def test_hostile_files_read_with_bounded_bars(hostile_songs: dict[str, Song]) -> None:
    assert sorted(hostile_songs) == sorted(HOSTILE)
    for name, song in hostile_songs.items():
        assert song.end <= min(DEFAULT_LIMITS.max_beats, (2 * song.num_notes + 1) * 256), name
        bars = [4 * s.numerator / s.denominator for s in song.time_signatures]
        assert min(bars) >= DEFAULT_LIMITS.min_bar, name
        assert len(song.bar_lines()) <= song.end / min(bars) + 2, name


def test_a_note_held_2_to_the_32_ticks_is_held_at_most_the_cap(
    hostile_songs: dict[str, Song],
) -> None:
    song = hostile_songs["held-2**32-ticks.mid"]
    held = 2**32 / 480  # beats
    pitch, start, duration = song.notes[["pitch", "start", "duration"]].tolist()[0]
    assert (pitch, start) == (60, 0.0) and 252 < duration <= 256  # whole bars taken out
    assert song.notes["start"][1] == pytest.approx(duration)
    assert (held - duration) % 4 == pytest.approx(0.0, abs=1e-6)


def test_absurd_tempi_and_resolutions_read_as_written(hostile_songs: dict[str, Song]) -> None:
    fast, slow = hostile_songs["tempo-1us.mid"], hostile_songs["tempo-16777215us.mid"]
    assert fast.bpm == 60_000_000 and fast.notes["start"].tolist() == [0, 1, 2, 3]
    assert slow.bpm == DEFAULT_LIMITS.min_bpm  # 3.58 bpm, the slowest MIDI has, made 4
    coarse, fine = hostile_songs["ticks-per-beat-1.mid"], hostile_songs["ticks-per-beat-32767.mid"]
    assert coarse.notes["duration"].tolist() == [1.0, 1.0, 3.0]  # half a tick rounds to one
    assert fine.notes["duration"].min() == pytest.approx(1 / 32767)


def test_time_signatures_without_a_bar_are_dropped(hostile_songs: dict[str, Song]) -> None:
    for name in ("meter-0-4.mid", "meter-1-2**40.mid", "meter-4-2**255.mid"):
        song = hostile_songs[name]
        assert song.time_signatures == (TimeSignature(0.0, 4, 4),), name
        assert song.bar_lines().tolist() == [0.0, 4.0], name


@pytest.mark.parametrize("meter", [(0, 1), (1, 2**40), (3, 0)])
def test_a_silence_under_a_meter_without_a_bar_is_shortened_to_the_cap(
    meter: tuple[int, int],
) -> None:
    """Found by benchmarks/fuzz.py: a 0/1 meter made bars of 0 beats; such a meter is ignored."""
    song = Song(
        make_notes([60, 62, 64], [0, 1, 21_489], [0.5, 0.5, 0.5]),
        time_signatures=(TimeSignature(0.0, *meter),),
    )
    short, count = shorten_silences(song, 256)
    assert count == 1 and short.notes["start"].tolist() == [0.0, 1.0, 257.0]  # 4/4 bars out
    for name in list_tokenizers():
        tokenizer = get_tokenizer(name).fit([song])
        assert len(tokenizer.encode(song)) < 2000, name


def test_a_gap_too_long_for_float_precision_is_shortened_to_the_cap() -> None:
    """Found by benchmarks/fuzz.py: delta times of 1e40 beats; tempo changes came out of order."""
    far = 5.807485728784016e40
    song = Song(
        make_notes([74, 60], [0, far], [0.5, 16.5]),
        tempos=(TempoChange(0, 85.714), TempoChange(6, 150.0), TempoChange(far, 85.714)),
    )
    short, count = shorten_silences(song, 256)
    assert count == 1
    assert short.notes[["start", "duration"]].tolist() == [(0.0, 0.5), (256.5, 16.5)]
    assert [t.beat for t in short.tempos] == [0.0, 0.5, 256.5]


def test_ten_thousand_tracks(hostile_songs: dict[str, Song]) -> None:
    song = hostile_songs["10000-tracks.mid"]
    assert len(song.tracks) == 10_000 and song.num_notes == 10_000


def test_files_bigger_than_the_cap_are_skipped_and_named(tmp_path: Path) -> None:
    make_midi(tmp_path / "small.mid", [(60, 0, 1)])
    make_midi(tmp_path / "big.mid", [(60 + i % 12, i, 1) for i in range(200)])
    limits = Limits(max_file_bytes=500)
    for cache in (None, tmp_path / "cache"):  # hashing for the cache must not read it either
        with pytest.warns(UserWarning, match=r"skipping .*big\.mid: \d+ bytes, more than"):
            corpus = Corpus.from_paths([tmp_path], cache_dir=cache, workers=1, limits=limits)
        assert [Path(s.source).name for s in corpus] == ["small.mid"]
        assert [Path(source).name for source, _ in corpus.skipped] == ["big.mid"]
    with pytest.raises(CorpusError, match=r"big\.mid: \d+ bytes, more than the largest"):
        read_file(tmp_path / "big.mid", CorpusOptions(limits=limits))
    check_file_size(tmp_path / "big.mid")  # the default cap is far above it


def test_intact_songs_are_read_exactly_as_without_limits(midi_dir: Path) -> None:
    no_caps = Limits(max_silence=math.inf, max_beats=math.inf, min_bar=0.0, min_bpm=0.0)
    for path in sorted(midi_dir.iterdir()):
        [capped] = read_file(path)
        [free] = read_file(path, CorpusOptions(limits=no_caps))
        assert np.array_equal(capped.notes, free.notes)
        assert (capped.tempos, capped.time_signatures) == (free.tempos, free.time_signatures)
        assert np.array_equal(capped.chords, free.chords)
        assert capped.shortened_silences == capped.cut_notes == 0


# ----------------------------------------------- every encoding, and after it
@pytest.mark.parametrize("encoding", list_tokenizers())
def test_every_stage_is_bounded(
    encoding: str, hostile: Song, tmp_path: Path, peak: Callable[[], float]
) -> None:
    began = time.process_time()
    tok = get_tokenizer(encoding).fit([hostile])
    ids = tok.encode(hostile)
    assert len(ids) < 64 * (hostile.num_notes + 300)  # notes and bounded silences, not beats
    back = tok.decode(ids)
    assert np.array_equal(back.notes, tok.prepare(hostile).notes)  # the documented loss
    back.write_midi(tmp_path / "back.mid")
    song_metrics(back, "merge")
    assert peak() < 200, f"{peak():.0f} MB"
    assert time.process_time() - began < 60


def test_metrics_and_pictures_of_raw_hostile_songs_are_bounded(
    hostile: Song, tmp_path: Path, peak: Callable[[], float]
) -> None:
    values = song_metrics(hostile, "merge")
    assert values["notes_per_bar"] > 0
    hostile.write_png(tmp_path / "roll.png")
    assert peak() < 300, f"{peak():.0f} MB"


def test_a_hand_made_song_is_bounded_before_it_is_written(hand_made: Song, tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match=r"hand-made: 1 tempos slower than 4 bpm .* 3 silences"):
        bounded = bound_song(hand_made)
    bounded.write_midi(tmp_path / "slow.mid")  # 0.6 bpm has no MIDI tempo; 4 bpm has
    [back] = read_file(tmp_path / "slow.mid")
    assert back.bpm == 4.0 and back.end <= 3 * 256 + 2
    with pytest.warns(UserWarning, match="silences longer than 256 beats"):
        hand_made.write_musicxml(tmp_path / "song.musicxml")
    assert (tmp_path / "song.musicxml").stat().st_size < 2_000_000


def test_wav_is_rendered_from_the_bounded_song(
    hand_made: Song, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[Song] = []

    def fake_midi(song: Song, path: Any) -> None:
        written.append(song)
        raise OSError("no synthesis in tests")

    fake = lambda font=None: ("fs", Path("x.sf2"))  # noqa: E731
    monkeypatch.setattr("popgen.outputs.audio.find_fluidsynth", fake)
    monkeypatch.setattr(Song, "write_midi", fake_midi)
    with pytest.raises(OSError, match="no synthesis"), pytest.warns(UserWarning):
        hand_made.write_wav(tmp_path / "a.wav")
    assert written[0].end <= 3 * 256 + 2 and written[0].bpm == 4.0


@pytest.mark.parametrize("encoding", list_tokenizers())
def test_decoding_moves_time_a_bounded_amount_per_token(encoding: str, tmp_path: Path) -> None:
    tok = get_tokenizer(encoding).fit([issue_song(tmp_path)])
    one_note = tok.encode(Song(make_notes([60], [0], [1])), bos=False, eos=False).tolist()
    for token in range(tok.vocab_size):  # the same token 64 times, then a note
        song = tok.decode([token] * 64 + one_note)
        assert song.end <= (64 + len(one_note)) * PER_TOKEN, tok.token_name(token)


def issue_song(tmp_path: Path) -> Song:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_file(issue_file(tmp_path / "gaps.mid"))[0]


# ---------------------------------------------------------------- the caps
@st.composite
def spread_songs(draw: st.DrawFn) -> Song:
    """Notes on a quarter-beat grid spread over up to 2**40 beats, in 4/4 or 3/4."""
    n = draw(st.integers(1, 30))
    quarter = st.integers(0, 2**42)
    starts = draw(st.lists(quarter, min_size=n, max_size=n))
    lengths = draw(st.lists(st.integers(1, 2**36), min_size=n, max_size=n))
    pitches = draw(st.lists(st.integers(0, 127), min_size=n, max_size=n))
    meter = draw(st.sampled_from([4, 3]))
    notes = make_notes(pitches, [s / 4 for s in starts], [d / 4 for d in lengths])
    return Song(notes, time_signatures=(TimeSignature(0, meter, 4),))


def boundaries(song: Song) -> Any:
    notes = song.notes
    return np.unique(np.concatenate([[0.0], notes["start"], notes["start"] + notes["duration"]]))


@settings(max_examples=150, deadline=None)
@given(spread_songs(), st.sampled_from([8.0, 16.0, 64.0, 256.0]))
def test_shorten_silences_caps_every_stretch_and_keeps_the_bar(song: Song, cap: float) -> None:
    long_before = int((np.diff(boundaries(song)) > cap).sum())
    short, count = shorten_silences(song, cap)
    assert count == long_before
    if not count:
        assert short is song
        return
    assert np.diff(boundaries(short)).max() <= cap * (1 + 1e-9)
    assert short.notes["pitch"].tolist() == song.notes["pitch"].tolist()  # same order
    assert (short.notes["duration"] <= song.notes["duration"]).all()
    bar = song.time_signatures[0].numerator  # quarter-note beats
    assert ((song.notes["start"] - short.notes["start"]) % bar == 0).all()
    assert shorten_silences(short, cap) == (short, 0)  # nothing left to shorten


@settings(max_examples=100, deadline=None)
@given(spread_songs(), st.integers(1, 40), st.sampled_from([math.inf, 1.0, 100.0, 1e9]))
def test_cut_song_keeps_a_bounded_start(song: Song, max_notes: int, max_beats: float) -> None:
    short, left_out = cut_song(song, max_notes=max_notes, max_beats=max_beats)
    assert short.num_notes <= max_notes and short.end <= max_beats
    assert short.num_notes + left_out == song.num_notes
    kept = song.notes[: short.num_notes]
    assert np.array_equal(short.notes["start"], kept["start"])  # a prefix, in time order
    assert (short.notes["duration"] <= kept["duration"]).all()
    if song.num_notes <= max_notes and song.end <= max_beats:
        assert short is song


def test_chords_bars_tempi_and_meters_move_with_the_notes() -> None:
    from popgen.music.chords import make_chords

    notes = make_notes([60, 62], [0, 1000], [1, 1])
    song = Song(
        notes,
        chords=make_chords(["C", "G", "F"], [0, 400, 1000], [400, 600, 1]),
        bars=np.array([0.0, 4.0, 500.0, 996.0, 1000.0]),
        tempos=(TempoChange(0, 100), TempoChange(500, 90), TempoChange(1000, 80)),
        time_signatures=(TimeSignature(0, 4, 4), TimeSignature(600, 3, 4)),
    )
    short, count = shorten_silences(song, 16)
    # the stretch 1 -> 1000 starts in a bar of 4 beats: it loses 246 of them, 984 beats,
    # right after beat 1; what lay in beats 1..985 happens at beat 1
    assert count == 1 and short.notes["start"].tolist() == [0.0, 16.0]
    assert short.chords[["start", "duration"]].tolist() == [(0.0, 1.0), (1.0, 15.0), (16.0, 1.0)]
    assert short.bars.tolist() == [0.0, 1.0, 12.0, 16.0]
    assert short.tempos == (TempoChange(0, 100), TempoChange(1, 90), TempoChange(16, 80))
    assert short.time_signatures == (TimeSignature(0, 4, 4), TimeSignature(1, 3, 4))


def test_helpers_report_nothing_to_do_on_ordinary_songs() -> None:
    song = Song(make_notes([60, 64, 67], [0, 1, 2], [1, 1, 2]), source="plain.mid")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning either
        assert bound_song(song) is song
    assert drop_short_bars(song, 1 / 16) == (song, 0)
    assert clamp_tempos(song, 4.0) == (song, 0)
    assert cut_song(song, max_notes=3) == (song, 0)


def test_limits_check_their_values_and_round_trip_through_options() -> None:
    with pytest.raises(ValueError, match="max_silence must be a number of beats > 0.*got -1"):
        Limits(max_silence=-1)
    with pytest.raises(ValueError, match="max_file_bytes must be a whole number >= 1, got 1.5"):
        Limits(max_file_bytes=1.5)  # type: ignore[arg-type]
    options = CorpusOptions(limits=Limits(max_silence=64))
    from popgen.data.usage import RunUsage

    again = RunUsage.from_dict(RunUsage(reading=options).to_dict()).reading
    assert again == options and again is not None and again.limits.max_silence == 64
    with pytest.raises(TypeError, match="unknown limit 'silence'"):
        CorpusOptions(limits={"silence": 3})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_beats must be > 0"):
        shorten_silences(Song(make_notes([60], [0], [1])), 0)


# ------------------------------------------------------------ a million notes
def spread(n: int, gap: float) -> Song:
    """``n`` sixteenth notes, a gap of ``gap`` beats after every thousand."""
    rng = np.random.default_rng(0)
    notes = np.zeros(n, NOTE_DTYPE)
    notes["pitch"] = rng.integers(40, 90, n)
    notes["start"] = np.arange(n) * 0.25 + (np.arange(n) // 1000) * gap
    notes["duration"] = 0.25
    notes["velocity"] = 80
    return Song(notes, tracks=(Track("Piano"),))


def bounded_cost(song: Song, limits: Limits) -> tuple[Song, float, float]:
    """The bounded song, tracemalloc's peak (MB) and the CPU seconds of bounding it."""
    tracemalloc.start()
    began = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = bound_song(song, limits)
    seconds = time.process_time() - began
    megabytes = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, megabytes, seconds


def test_a_million_notes_cost_linear_memory_and_little_time() -> None:
    limits = Limits(max_beats=math.inf)
    _, small_mb, _ = bounded_cost(spread(100_000, 10**9), limits)
    big, big_mb, seconds = bounded_cost(spread(1_000_000, 10**9), limits)
    assert big.shortened_silences == 999 and big.num_notes == 1_000_000
    assert big.end <= 1_000_000 * 0.25 + 999 * 256
    assert big_mb < 20 * small_mb and big_mb < 400, (small_mb, big_mb)  # linear: about 10x
    assert seconds < 30
    cut, _, _ = bounded_cost(spread(1_000_000, 10**9), DEFAULT_LIMITS)  # and past max_beats
    assert cut.end <= DEFAULT_LIMITS.max_beats and cut.cut_notes > 0
    over, _, _ = bounded_cost(spread(1_000_010, 0), limits)  # past max_notes
    assert over.num_notes == DEFAULT_LIMITS.max_notes and over.cut_notes == 10


def test_a_million_notes_encode_in_linear_memory(peak: Callable[[], float]) -> None:
    song = spread(1_000_000, 10**9)
    began = time.process_time()
    names = get_tokenizer("event").song_to_names(song)  # the vectorised encoding
    assert 3_000_000 < len(names) < 4_000_000
    assert peak() < 600, f"{peak():.0f} MB"
    assert time.process_time() - began < 60
