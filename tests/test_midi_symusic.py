"""The symusic reader gives the songs of the mido reader; choosing a reader; the fast key finder."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Any

import mido
import numpy as np
import pytest
from conftest import make_midi, make_raw_midi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from popgen.cli.options import add_corpus_arguments, corpus_options
from popgen.corpus.corpus import Corpus
from popgen.corpus.options import READERS, CorpusOptions
from popgen.corpus.reading import _midi_reader, read_file
from popgen.formats import midi_symusic
from popgen.formats.midi_reading import read_midi
from popgen.formats.midi_symusic import read_midi_symusic, symusic_available
from popgen.formats.score_reading import _music21_key
from popgen.music.keys import music21_duration, profile_key
from popgen.music.song import Song

#: Tests that read with symusic; CI installs it (the dev extra), and the rest run without it.
needs_symusic = pytest.mark.skipif(not symusic_available(), reason="symusic not installed")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SHARED = sorted(DATA.glob("pop909/*/*.mid")) + sorted(DATA.glob("ff-piano/*.mid"))


def _fields(song: Song) -> dict[str, Any]:
    """Everything a Song holds, in comparable form."""
    return {
        "notes": song.notes.tolist(),
        "chords": song.chords.tolist(),
        "bars": song.bars.tolist(),
        "tracks": song.tracks,
        "tempos": song.tempos,
        "time_signatures": song.time_signatures,
        "key": song.key,
        "title": song.title,
        "source": song.source,
        "merged_notes": song.merged_notes,
        "sections": song.sections,
    }


def _read_both(path: Path) -> tuple[Any, Any]:
    """Each reader's song (or its error, as text) and warnings."""
    out = []
    for reader in (read_midi, read_midi_symusic):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result: Any = _fields(reader(path))
            except Exception as exc:  # compared, not hidden
                result = f"{type(exc).__name__}: {exc}"
        out.append((result, [str(w.message) for w in caught]))
    return out[0], out[1]


@needs_symusic
def test_plain_file_reads_alike(tmp_path: Path) -> None:
    path = make_midi(
        tmp_path / "a.mid",
        [(60, 0, 1, 90), (64, 1, 0.5, 70, 1), (67, 1.5, 2, 100, 1, 3)],
        tempos=((0.0, 97.0), (2.0, 140.0)),
        time_signatures=((0.0, 3, 4),),
        key="F#m",
        track_names=("Lead", "Keys"),
        programs={(1, 3): 41},
    )
    mido_song, fast_song = _read_both(path)
    assert fast_song == mido_song
    assert fast_song[0]["key"] == "F# minor"


@needs_symusic
def test_parsed_by_symusic_not_by_mido(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain file is read by symusic alone: mido's parser is never called."""
    path = make_midi(tmp_path / "a.mid", [(60, 0, 1), (62, 1, 1)], track_names=("Lead",))
    expected = _fields(read_midi(path))

    def no_mido(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("mido was used")

    monkeypatch.setattr(mido, "MidiFile", no_mido)
    assert _fields(read_midi_symusic(path)) == expected


@needs_symusic
@pytest.mark.parametrize(
    "events",
    [
        # struck again before its note-off: one note-off ends both (popgen), symusic ends one
        [[(0, "on", 0, 60), (240, "on", 0, 60), (480, "off", 0, 60), (960, "off", 0, 60)]],
        # struck again and never ended: mido keeps both notes ended by the one note-off
        [[(0, "on", 0, 60), (240, "on", 0, 60), (480, "off", 0, 60)]],
        # note-on and note-off at one tick: no note for popgen, a note of no length for symusic
        [[(0, "on", 0, 60), (0, "off", 0, 60), (480, "on", 0, 62), (960, "off", 0, 62)]],
        # two channels in one track (a type-0 file): ordered by first note, not by channel
        [[(0, "on", 5, 60), (0, "on", 1, 64), (480, "off", 5, 60), (480, "off", 1, 64)]],
        # the program is set in another track
        [[(0, "pc", 2, 33)], [(0, "on", 2, 40), (480, "off", 2, 40)]],
        # a program change between notes of one track
        [
            [
                (0, "on", 0, 60),
                (480, "off", 0, 60),
                (480, "pc", 0, 20),
                (480, "on", 0, 62),
                (960, "off", 0, 62),
            ]
        ],
        # two names: mido keeps the first, symusic the last
        [
            [
                (0, "name", 0, "First"),
                (0, "name", 0, "Second"),
                (0, "on", 0, 60),
                (480, "off", 0, 60),
            ]
        ],
        # a name that is not ASCII (mido reads Latin-1)
        [[(0, "name", 0, "Caf\u00e9"), (0, "on", 0, 60), (480, "off", 0, 60)]],
        # two tempos at one tick: the later one wins
        [[(0, "tempo", 0, 500000), (0, "tempo", 0, 400000), (0, "on", 0, 60), (480, "off", 0, 60)]],
        # two key signatures at one tick: the first one counts
        [[(0, "key", 0, "E"), (0, "key", 0, "Bbm"), (0, "on", 0, 60), (480, "off", 0, 60)]],
        # chord markers at one tick: the later one wins
        [[(0, "marker", 0, "C"), (0, "marker", 0, "Am"), (0, "on", 0, 60), (960, "off", 0, 60)]],
        # no notes at all: mido's error
        [[(0, "tempo", 0, 500000)]],
    ],
    ids=[
        "restruck",
        "restruck-unended",
        "zero-length",
        "two-channels",
        "program-elsewhere",
        "program-change",
        "two-names",
        "latin1-name",
        "tempo-tie",
        "key-tie",
        "marker-tie",
        "no-notes",
    ],
)
def test_where_the_rules_differ_reads_as_mido(tmp_path: Path, events: list[Any]) -> None:
    path = make_raw_midi(tmp_path / "odd.mid", [[_message(e) for e in track] for track in events])
    mido_song, fast_song = _read_both(path)
    assert fast_song == mido_song


@needs_symusic
def test_damaged_file_falls_back_to_salvage(tmp_path: Path) -> None:
    path = make_midi(tmp_path / "a.mid", [(60, 0, 1), (62, 1, 1), (64, 2, 1)])
    data = path.read_bytes()
    damaged = tmp_path / "cut.mid"
    damaged.write_bytes(data[: len(data) - 9])  # the last track cut short
    mido_song, fast_song = _read_both(damaged)
    assert fast_song == mido_song
    assert any("cut short" in w for w in fast_song[1])
    # bytes symusic reads past but mido rejects: a system real-time status, and a data
    # byte above 127 in an aftertouch message (which neither reader keeps)
    status = data.index(bytes([0x90, 60]))
    stop = tmp_path / "stop.mid"
    stop.write_bytes(data[:status] + b"\xfc" + data[status + 1 :])
    touched = make_raw_midi(
        tmp_path / "touch.mid",
        [
            [
                (0, mido.Message("note_on", note=60)),
                (10, mido.Message("polytouch", note=60, value=5)),
                (480, mido.Message("note_off", note=60)),
                (480, mido.Message("note_on", note=62)),
                (960, mido.Message("note_off", note=62)),
            ]
        ],
    )
    raw = touched.read_bytes()
    at = raw.index(bytes([0xA0, 60, 5]))
    touched.write_bytes(raw[: at + 2] + b"\x85" + raw[at + 3 :])
    for path in (stop, touched):
        mido_song, fast_song = _read_both(path)
        assert fast_song == mido_song
        assert isinstance(fast_song[0], str) or fast_song[1], "mido salvages or refuses it"
    garbage = tmp_path / "bad.mid"
    garbage.write_bytes(b"not midi at all")
    assert _read_both(garbage)[1] == _read_both(garbage)[0]
    assert "not a valid MIDI file" in _read_both(garbage)[1][0]


_KINDS = st.sampled_from(["on", "on", "on", "off", "off", "pc", "name", "tempo", "marker", "key"])


@st.composite
def _raw_tracks(draw: st.DrawFn) -> list[list[Any]]:
    tracks = []
    for _ in range(draw(st.integers(1, 3))):
        events = []
        for _ in range(draw(st.integers(0, 14))):
            kind = draw(_KINDS)
            tick = draw(st.integers(0, 8)) * 120
            channel = draw(st.sampled_from([0, 0, 1, 9]))
            value: Any = draw(st.integers(58, 62))
            if kind == "pc":
                value = draw(st.sampled_from([0, 5]))
            elif kind == "name":
                value = draw(st.sampled_from(["Lead", "Bass", ""]))
            elif kind == "tempo":
                value = draw(st.sampled_from([500000, 600000]))
            elif kind == "marker":
                value = draw(st.sampled_from(["C", "Am", "G7", "intro"]))
            elif kind == "key":
                value = draw(st.sampled_from(["C", "Am", "D"]))
            events.append((tick, kind, channel, value))
        tracks.append(events)
    return tracks


@needs_symusic
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(tracks=_raw_tracks(), midi_type=st.sampled_from([0, 1]))
def test_any_file_reads_alike(tmp_path: Path, tracks: list[list[Any]], midi_type: int) -> None:
    """Varied files, odd ones included: the symusic reader gives mido's song, warnings, errors."""
    if midi_type == 0:
        tracks = [[e for t in tracks for e in t]]
    path = make_raw_midi(
        tmp_path / "h.mid", [[_message(e) for e in t] for t in tracks], midi_type=midi_type
    )
    mido_song, fast_song = _read_both(path)
    assert fast_song == mido_song


def _message(event: tuple[int, str, int, Any]) -> tuple[int, Any]:
    tick, kind, channel, value = event
    messages = {
        "on": lambda: mido.Message("note_on", channel=channel, note=value, velocity=90),
        "off": lambda: mido.Message("note_off", channel=channel, note=value),
        "pc": lambda: mido.Message("program_change", channel=channel, program=value),
        "name": lambda: mido.MetaMessage("track_name", name=value),
        "tempo": lambda: mido.MetaMessage("set_tempo", tempo=value),
        "marker": lambda: mido.MetaMessage("marker", text=value),
        "key": lambda: mido.MetaMessage("key_signature", key=value),
    }
    return tick, messages[kind]()


# ----------------------------------------------------------------- choosing
def test_reader_option_and_flag() -> None:
    assert CorpusOptions().reader == "auto"
    assert READERS == ("auto", "mido", "symusic")
    with pytest.raises(ValueError, match="'auto', 'mido', 'symusic', got 'fast'"):
        CorpusOptions(reader="fast")
    import argparse

    parser = argparse.ArgumentParser()
    add_corpus_arguments(parser)
    assert corpus_options(parser.parse_args(["--reader", "mido"])).reader == "mido"
    assert corpus_options(parser.parse_args([])).reader == "auto"
    with pytest.raises(SystemExit):
        parser.parse_args(["--reader", "pretty_midi"])


@needs_symusic
def test_auto_picks_symusic_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _midi_reader("auto") is read_midi_symusic
    assert _midi_reader("mido") is read_midi
    assert _midi_reader("symusic") is read_midi_symusic
    monkeypatch.setitem(sys.modules, "symusic", None)  # as if not installed
    assert _midi_reader("auto") is read_midi


def test_symusic_missing_says_how_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = make_midi(tmp_path / "a.mid", [(60, 0, 1)])
    monkeypatch.setitem(sys.modules, "symusic", None)
    midi_symusic._score_class.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"pip install 'popgen\[fast\]'"):
            read_file(path, CorpusOptions(reader="symusic"))
        assert read_file(path, CorpusOptions(reader="auto"))[0].num_notes == 1
    finally:
        midi_symusic._score_class.cache_clear()


@needs_symusic
def test_corpus_reads_alike(tmp_path: Path) -> None:
    for i in range(3):
        make_midi(tmp_path / f"{i}.mid", [(60 + i, 0, 1), (64, 1, 2, 70, 1)], key="G")
    fast, slow = (
        Corpus.from_paths([tmp_path], reader=r, cache_dir=None, workers=1)
        for r in ("symusic", "mido")
    )
    assert [_fields(s) for s in fast] == [_fields(s) for s in slow]


# ------------------------------------------------------------ shared files
@needs_symusic
@pytest.mark.skipif(not SHARED, reason="shared MIDI data not present")
@pytest.mark.parametrize("path", SHARED[::8], ids=lambda p: p.name)
def test_shared_file_reads_alike(path: Path) -> None:
    mido_song, fast_song = _read_both(path)
    assert fast_song == mido_song


# ----------------------------------------------------------------- key finder
@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 2000), min_size=12, max_size=12),
    st.sampled_from([1, 3, 7, 96, 480]),
)
def test_fast_key_is_music21s(counts: list[int], per_beat: int) -> None:
    weights = np.array(counts, dtype=np.float64) / per_beat
    if not weights.any():
        return
    found = profile_key(weights)
    assert found is None or found == _music21_key(weights)


def test_fast_key_leaves_ties_to_music21() -> None:
    assert profile_key(np.ones(12)) is None  # every key correlates 0: music21 breaks the tie
    assert profile_key(np.array([1.0] + [0.0] * 11)) == _music21_key(np.array([1.0] + [0.0] * 11))


@given(
    st.one_of(
        st.floats(min_value=1e-6, max_value=1e7, allow_nan=False),
        st.builds(
            lambda n, d: n / d, st.integers(1, 10**8), st.sampled_from([3, 7, 96, 480, 1000])
        ),
    )
)
def test_durations_round_as_music21s(value: float) -> None:
    from music21.common.numberTools import opFrac

    assert music21_duration(value) == float(opFrac(value))
