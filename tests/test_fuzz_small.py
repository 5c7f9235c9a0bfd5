"""A CI-sized fuzzing run: damaged MIDI bytes and random token ids reach only documented errors.

The full run is ``benchmarks/fuzz.py`` (atheris, coverage-guided, 100 000
inputs per target); this is the same two targets driven by hypothesis.
"""

import contextlib
import io
import warnings
from pathlib import Path

import mido
import pytest
from conftest import make_raw_midi
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import popgen
from popgen.errors import PopgenError
from popgen.formats.midi_reading import read_midi
from popgen.formats.midi_writing import write_midi


def seed_bytes() -> bytes:
    mid = mido.MidiFile(type=1, ticks_per_beat=96)
    mid.tracks.append(
        mido.MidiTrack(
            [
                mido.MetaMessage("set_tempo", tempo=500_000),
                mido.MetaMessage("time_signature", numerator=3, denominator=4),
                mido.MetaMessage("marker", text="C:maj"),
                mido.MetaMessage("marker", text="G:7", time=192),
            ]
        )
    )
    for channel, base in ((0, 72), (9, 36)):
        track = mido.MidiTrack()
        for i in range(6):
            pitch = base + (i * 5) % 12
            track.append(
                mido.Message("note_on", channel=channel, note=pitch, velocity=50 + 9 * i, time=48)
            )
            track.append(mido.Message("note_off", channel=channel, note=pitch, time=48))
        mid.tracks.append(track)
    out = io.BytesIO()
    mid.save(file=out)
    return out.getvalue()


SEED = seed_bytes()
TOKENIZERS = {name: popgen.get_tokenizer(name) for name in popgen.list_tokenizers()}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory) -> list[popgen.Tokenizer]:
    path = tmp_path_factory.mktemp("seed") / "seed.mid"
    path.write_bytes(SEED)
    song = read_midi(path)
    return [tokenizer.fit([song]) for tokenizer in TOKENIZERS.values()]


mutations = st.lists(
    st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), min_size=1, max_size=4
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=mutations, cut=st.one_of(st.none(), st.integers(0, len(SEED))))
@example(changes=[(34, 34)], cut=None)  # 3/2**34 time: bars of 2**-32 beats
@example(changes=[(34, 111)], cut=None)
def test_damaged_bytes_reach_only_documented_errors(
    fitted: list[popgen.Tokenizer], tmp_path: Path, changes: list[tuple[int, int]], cut: int | None
) -> None:
    data = bytearray(SEED)
    for index, value in changes:
        data[index] = value
    path = tmp_path / "damaged.mid"
    path.write_bytes(bytes(data[:cut]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            song = read_midi(path)
            for tokenizer in fitted:
                write_midi(tokenizer.decode(tokenizer.encode(song)), tmp_path / "out.mid")
        except PopgenError as exc:
            assert "damaged.mid" in str(exc) or "out.mid" not in str(exc)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_random_token_ids_decode_to_writable_songs(
    fitted: list[popgen.Tokenizer], tmp_path: Path, data: st.DataObject
) -> None:
    for tokenizer in fitted:
        ids = data.draw(st.lists(st.integers(0, tokenizer.vocab_size - 1), max_size=300))
        with warnings.catch_warnings(), contextlib.suppress(PopgenError):
            warnings.simplefilter("ignore")
            write_midi(tokenizer.decode(ids), tmp_path / "out.mid")


def on(pitch: int) -> mido.Message:
    """A note-on at velocity 80."""
    return mido.Message("note_on", note=pitch, velocity=80)


def off(pitch: int) -> mido.Message:
    """A note-off."""
    return mido.Message("note_off", note=pitch)


def test_a_note_at_a_huge_tick_keeps_its_length(tmp_path: Path) -> None:
    """Found by benchmarks/fuzz.py: at ~2**63 ticks, float64 tick differences rounded to 0."""
    far = 48 + 2**62
    events = [(0, on(60)), (48, off(60)), (far, on(62)), (far + 48, off(62))]
    make_raw_midi(tmp_path / "far.mid", [events], ticks_per_beat=96, midi_type=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        song = read_midi(tmp_path / "far.mid")
    assert song.notes["duration"].tolist() == [0.5, 0.5]


def test_a_tempo_of_zero_microseconds_is_no_tempo(tmp_path: Path) -> None:
    """Found by benchmarks/fuzz.py: ``set_tempo`` 0 (valid MIDI) divided by zero."""
    tempo = mido.MetaMessage("set_tempo", tempo=600_000)
    events = [(0, tempo), (96, tempo.copy(tempo=0)), (96, on(60)), (144, off(60))]
    make_raw_midi(tmp_path / "zero-tempo.mid", [events], ticks_per_beat=96, midi_type=0)
    song = read_midi(tmp_path / "zero-tempo.mid")
    assert [tuple(t) for t in song.tempos] == [(0.0, 100.0)]
    assert song.num_notes == 1


def test_events_past_tick_2_to_the_63_are_left_out(tmp_path: Path) -> None:
    """Found by benchmarks/fuzz.py: a 9-byte delta time (2**63 ticks) overflowed int64."""
    far = 48 + 2**63
    marker = mido.MetaMessage("marker", text="C:maj")
    events = [(0, on(60)), (48, off(60)), (far, marker), (far, on(62)), (far + 48, off(62))]
    make_raw_midi(tmp_path / "far.mid", [events], ticks_per_beat=96, midi_type=0)
    with pytest.warns(UserWarning, match=r"far\.mid: track 0 passes tick 2\*\*63"):
        song = read_midi(tmp_path / "far.mid")
    assert song.notes[["pitch", "start", "duration"]].tolist() == [(60, 0.0, 0.5)]


def test_a_chunk_length_of_gigabytes_allocates_nothing_like_it(tmp_path: Path) -> None:
    """Found by benchmarks/fuzz.py: mido asked the file for the header's 1.5 GB at once."""
    import tracemalloc

    data = bytearray(SEED)
    data[4:8] = (0x5902FD00).to_bytes(4, "big")  # the header chunk's length
    (tmp_path / "long.mid").write_bytes(bytes(data))
    tracemalloc.start()
    try:
        with warnings.catch_warnings(), contextlib.suppress(PopgenError):
            warnings.simplefilter("ignore")
            read_midi(tmp_path / "long.mid")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20, f"{peak / 2**20:.0f} MB"
