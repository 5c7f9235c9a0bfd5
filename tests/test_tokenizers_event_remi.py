"""The ``event`` and ``remi`` encodings, ``chord`` with music21 names, and real-file round trips."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import popgen
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TempoChange, TimeSignature
from popgen.sampling import Sampler, temperature
from popgen.tokenizers import UNK, ChordTokenizer, EventTokenizer, RemiTokenizer, Tokenizer
from popgen.tokenizers.bins import bin_velocities

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)
FINE = 48  # the strategy's time grid: finer than the encodings', so snapping is exercised


@st.composite
def songs(draw: st.DrawFn, max_notes: int = 30) -> Song:
    """Songs with several tracks (maybe drums), off-grid times, tempo and meter changes."""
    n_tracks = draw(st.integers(1, 3))
    tracks = [Track(name=f"t{i}") for i in range(n_tracks)]
    if draw(st.booleans()):
        tracks[-1] = Track(name="drums", is_drum=True)
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(0, 127) | st.integers(60, 62),  # often the same pitch
                st.integers(0, 24 * FINE),  # onset, up to 24 beats
                st.integers(1, 10 * FINE),  # duration, up to 10 beats (some clipped)
                st.integers(1, 127),
                st.integers(0, n_tracks - 1),
            ),
            max_size=max_notes,
        )
    )
    beats = st.integers(0, 24 * FINE).map(lambda t: t / FINE)
    sigs = draw(st.lists(st.tuples(beats, st.integers(1, 12), st.sampled_from([2, 4, 8, 16]))))
    tempos = draw(st.lists(st.tuples(beats, st.integers(30, 300))))
    first_sig = draw(st.tuples(st.integers(1, 7), st.sampled_from([4, 8])))
    notes = make_notes(
        [r[0] for r in rows],
        [r[1] / FINE for r in rows],
        [r[2] / FINE for r in rows],
        [r[3] for r in rows],
        [r[4] for r in rows],
    )
    return Song(
        notes,
        tracks=tuple(tracks),
        tempos=tuple(TempoChange(b, float(t)) for b, t in sorted([(0.0, 100), *tempos])),
        time_signatures=tuple(
            TimeSignature(b, n, d) for b, n, d in sorted([(0.0, *first_sig), *sigs])
        ),
    )


def assert_round_trip(tok: Any, song: Song) -> None:
    """decode(encode(song)) == prepare(song); encode(decode(names)) == names; grammar accepts."""
    tok.fit([song])
    expected = tok.prepare(song)
    decoded = tok.decode(tok.encode(song))
    np.testing.assert_array_equal(decoded.notes, expected.notes)
    if isinstance(tok, RemiTokenizer):
        assert decoded.time_signatures == expected.time_signatures
        assert decoded.tempos == expected.tempos
    names = tok.song_to_names(song)
    if isinstance(tok, ChordTokenizer) and tok.config.names == "music21":
        names = [n for n in names if not n.isdigit()]  # "0" decodes to one note, "C4"
    assert tok.song_to_names(tok.names_to_song(names)) == names
    grammar = tok.grammar()
    if grammar is not None:
        assert grammar.accepts(tok.encode(song)[1:].tolist())


# ------------------------------------------------------------------ event
@SETTINGS
@given(songs(), st.sampled_from([(12, 1.0, 32), (4, 2.0, 8), (3, 0.5, 1)]))
def test_event_round_trip_after_documented_loss(song: Song, cfg: tuple[int, float, int]) -> None:
    tok = EventTokenizer(steps_per_beat=cfg[0], max_shift=cfg[1], velocity_bins=cfg[2])
    assert_round_trip(tok, song)


def test_event_tokens() -> None:
    tok = EventTokenizer(steps_per_beat=4, velocity_bins=8)
    song = Song(make_notes([64, 60, 67], [0, 0, 1], [1, 2.5, 0.25], [88, 88, 30]))
    assert tok.song_to_names(song) == [
        "VELOCITY_88", "NOTE-ON_60", "NOTE-ON_64",  # one VELOCITY for both
        "TIME-SHIFT_1", "NOTE-OFF_64", "VELOCITY_24", "NOTE-ON_67",  # OFF before ON
        "TIME-SHIFT_1/4", "NOTE-OFF_67",
        "TIME-SHIFT_1", "TIME-SHIFT_1/4", "NOTE-OFF_60",  # a gap longer than max_shift
    ]  # fmt: skip
    assert tok.pitch_of("NOTE-ON_67") == 67 and tok.pitch_of("NOTE-OFF_67") is None
    assert tok.vocab_size == 4 + 256 + 4 + 8  # complete without fitting
    assert tok.encode(Song(make_notes([], [], [])), bos=False, eos=False).size == 0


def test_event_decoding_is_tolerant() -> None:
    tok = EventTokenizer(steps_per_beat=4)
    song = tok.names_to_song(
        [
            *("NOTE-OFF_50", "NOTE-ON_60", "NOTE-OFF_60", "NOTE-ON_60", "TIME-SHIFT_1"),
            *("NOTE-ON_60", "NOTE-ON_62", "TIME-SHIFT_1/2", "NOTE-OFF_61", "NOTE-ON_64"),
        ]
    )
    rows = [(int(n["pitch"]), float(n["start"]), float(n["duration"])) for n in song.notes]
    # the silent 50 and 61 offs, the zero-length off and the repeated on are skipped;
    # the re-struck 60 ends the first; notes still on end at the last time (>= 1 step)
    assert rows == [(60, 0.0, 1.0), (60, 1.0, 0.5), (62, 1.0, 0.5), (64, 1.5, 0.25)]


def test_event_grammar() -> None:
    tok = EventTokenizer()
    grammar = tok.grammar()
    assert grammar is not None

    def ok(*names: str) -> bool:
        ids = [tok.token_id(n) for n in names]
        assert UNK not in ids
        return grammar.accepts(ids)

    assert ok("TIME-SHIFT_1", "VELOCITY_62", "NOTE-ON_60", "NOTE-OFF_60", "NOTE-ON_62")
    assert not ok("NOTE-ON_60")  # the first note needs a velocity
    assert not ok("NOTE-OFF_60")  # nothing sounds yet
    assert not ok("VELOCITY_62", "TIME-SHIFT_1")  # a velocity is followed by a note
    assert not ok("VELOCITY_62", "NOTE-ON_60", "VELOCITY_62", "VELOCITY_66")


def test_event_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="max_shift"):
        EventTokenizer(steps_per_beat=4, max_shift=0.1)
    with pytest.raises(ValueError, match="velocity_bins"):
        popgen.get_tokenizer("event", velocity_bins=0)


def test_bin_velocities_are_equal_bins_whose_centres_map_to_themselves() -> None:
    v = np.arange(1, 128)
    for bins in range(1, 128):
        centres = bin_velocities(v, bins)
        assert len(np.unique(centres)) == bins
        np.testing.assert_array_equal(bin_velocities(centres, bins), centres)
        members = np.minimum((v - 1) * bins // 127, bins - 1)  # each velocity's bin
        assert (np.diff(members) >= 0).all() and (np.diff(centres) >= 0).all()


# ------------------------------------------------------------------- remi
REMI_CONFIGS = [
    {},
    {"tempos": True, "chords": True},
    {"time_signatures": False, "steps_per_beat": 4, "velocity_bins": 1, "max_duration": 2.0},
    {"steps_per_beat": 5, "tempos": True, "tempo_bins": 4},
]


@SETTINGS
@given(songs(), st.sampled_from(REMI_CONFIGS))
def test_remi_round_trip_after_documented_loss(song: Song, options: dict[str, Any]) -> None:
    assert_round_trip(RemiTokenizer(**options), song)


def test_remi_bars_follow_time_signatures() -> None:
    tok = RemiTokenizer(steps_per_beat=4, velocity_bins=1)
    song = Song(
        make_notes([60, 62, 64], [0, 3.5, 7.25], [1, 0.5, 1]),
        time_signatures=((0, 3, 4), (5.0, 2, 4)),  # 2/4 from inside bar 2: moves to beat 6
    )
    names = tok.song_to_names(song)
    assert [n for n in names if n.startswith(("BAR", "TIMESIG", "POSITION"))] == [
        "BAR", "TIMESIG_3/4", "POSITION_0",
        "BAR", "POSITION_2",
        "BAR", "TIMESIG_2/4", "POSITION_5",
    ]  # fmt: skip
    assert tok.prepare(song).time_signatures == ((0, 3, 4), (6.0, 2, 4))
    assert tok.decode(tok.fit([song]).encode(song)).time_signatures == ((0, 3, 4), (6.0, 2, 4))


def test_remi_tempo_and_chord_tokens() -> None:
    tok = RemiTokenizer(steps_per_beat=4, velocity_bins=1, tempos=True, chords=True)
    song = Song(
        make_notes([57, 60, 64, 60, 64, 67, 62, 65], [0, 0, 0, 1, 1, 1, 2, 4], [1] * 8),
        tempos=((0.0, 118.0), (2.0, 117.0), (3.0, 90.0), (9.0, 60.0)),
    )
    names = tok.song_to_names(song)
    assert names[:4] == ["BAR", "POSITION_0", "TEMPO_116", "CHORD_A:min"]
    assert names[13:15] == ["POSITION_4", "CHORD_C:maj"]
    assert names[24:27] == ["POSITION_8", "PITCH_62", "VELOCITY_64"]  # one pitch: no chord
    assert names[28:31] == ["POSITION_12", "TEMPO_92", "BAR"]  # 117 bins as 116: no token
    assert "TEMPO_61" not in names  # a change after the last onset is dropped
    assert tok.decode(tok.fit([song]).encode(song)).tempos == ((0.0, 116.0), (3.0, 92.0))


def test_remi_decoding_is_tolerant() -> None:
    tok = RemiTokenizer(steps_per_beat=4)
    song = tok.names_to_song(
        [
            *("PITCH_60", "VELOCITY_64", "DURATION_1", "BAR", "PITCH_61", "DURATION_1"),
            *("POSITION_20", "PITCH_62", "VELOCITY_64", "DURATION_1/2", "TEMPO_0", "NONSENSE_3"),
        ]
    )
    rows = [(int(n["pitch"]), float(n["start"])) for n in song.notes]
    assert rows == [(60, 0.0), (62, 5.0)]  # 61 has no velocity; position 20 spills over


def test_remi_grammar() -> None:
    tok = RemiTokenizer(tempos=True, chords=True)
    grammar = tok.grammar()
    assert grammar is not None

    def ok(*names: str) -> bool:
        ids = [tok.token_id(n) for n in names]
        assert UNK not in ids
        return grammar.accepts(ids)

    note = ("PITCH_60", "VELOCITY_62", "DURATION_1")
    assert ok("BAR", "BAR", "POSITION_3", "TEMPO_123", "CHORD_C:maj", *note, *note, "BAR")
    assert not ok("POSITION_3", *note)  # a bar comes first
    assert not ok("BAR", *note)  # a note needs a position
    assert not ok("BAR", "POSITION_3", "PITCH_60", "DURATION_1")
    assert not ok("BAR", "POSITION_3", "POSITION_4")
    assert not ok("BAR", "POSITION_3", "CHORD_C:maj", "BAR")


def test_remi_save_load_keeps_options(tmp_path: Path) -> None:
    tok = RemiTokenizer(tempos=True, tempo_min=50.0).fit([Song(make_notes([60], [0], [1]))])
    tok.save(tmp_path / "remi.json")
    back = popgen.load_tokenizer(tmp_path / "remi.json")
    assert isinstance(back, RemiTokenizer)
    assert back.config == tok.config and back.vocab == tok.vocab


# ------------------------------------------------------- chord, music21 names
def baseline_expected(song: Song, step: float) -> list[tuple[int, float]]:
    """What the 2017 script plays back: one token per slot, chords as pitch classes in octave 4."""
    notes = song.drop_drums().notes
    slots = np.round(notes["start"] / step).astype(int)
    out = []
    for i, slot in enumerate(np.unique(slots)):
        pitches = sorted({int(p) for p in notes["pitch"][slots == slot]})
        group = pitches if len(pitches) == 1 else sorted({60 + p % 12 for p in pitches})
        out += [(p, i * step) for p in group]
    return out


def test_chord_music21_names_are_the_baseline_names() -> None:
    tok = ChordTokenizer(names="music21")
    song = Song(make_notes([61, 70, 64, 67, 71, 60, 72, 4, 59, 60], [0, 1, 2, 2, 2, 3, 3, 4, 5, 5],
                           [1] * 10))  # fmt: skip
    assert tok.song_to_names(song) == ["C#4", "B-4", "4.7.11", "0", "MIDI_4", "11.0"]
    assert len(set(tok.vocab)) == tok.vocab_size == 4 + 128
    assert tok.pitch_of("B-4") == 70 and tok.pitch_of("D-4") == 61 and tok.pitch_of("4.7") is None
    decoded = tok.names_to_song(["4.7.11", "D-4", "nonsense", "B-1", "C#4"])
    assert decoded.notes["pitch"].tolist() == [64, 67, 71, 61, 34, 61]
    assert decoded.notes["start"].tolist() == [0, 0, 0, 0.5, 1.0, 1.5]
    assert ChordTokenizer().config.names == "pitches"  # the default is unchanged
    with pytest.raises(ValueError, match="names"):
        ChordTokenizer(names="keras")


@SETTINGS
@given(songs(), st.sampled_from([0.5, 0.25]))
def test_chord_music21_round_trip_after_documented_loss(song: Song, step: float) -> None:
    tok = ChordTokenizer(names="music21", step=step)
    decoded = tok.decode(tok.fit([song]).encode(song))
    got = list(zip(decoded.notes["pitch"].tolist(), decoded.notes["start"].tolist(), strict=True))
    assert sorted(got) == sorted(baseline_expected(song, step))
    np.testing.assert_array_equal(decoded.notes, tok.prepare(song).notes)
    # identity on encoded tokens, except one-class chords ("0" decodes to one note, "C4")
    names = [n for n in tok.song_to_names(song) if not n.isdigit()]
    assert tok.song_to_names(tok.names_to_song(names)) == names


@SETTINGS
@given(songs())
def test_chord_prepare_is_the_documented_loss(song: Song) -> None:
    assert_round_trip(ChordTokenizer(), song)


# --------------------------------------------------- sampled output decodes
@pytest.mark.parametrize("name", ["event", "remi"])
def test_sampled_output_follows_the_grammar_and_decodes(name: str) -> None:
    song = Song(make_notes([60, 64, 67, 72], [0, 0, 1.5, 3], [1, 2, 0.5, 1], [40, 80, 100, 60]))
    tok = popgen.get_tokenizer(name).fit([song])
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    params = model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))
    ids = Sampler(model, params, tok, temperature(2.0)).generate_ids(120, batch_size=4, seed=0)
    grammar = tok.grammar()
    assert grammar is not None
    for row in ids:
        assert grammar.accepts(row[1:].tolist())
        names = [tok.token_name(int(t)) for t in row[1:]]
        decoded = tok.decode(row)
        if name == "remi":  # every PITCH is a complete note
            assert decoded.num_notes == sum(n.startswith("DURATION_") for n in names)
        else:  # every NOTE-ON is a note, but for a re-strike at the same time
            assert 0 < decoded.num_notes <= sum(n.startswith("NOTE-ON_") for n in names)


# ------------------------------------------------------------- real files
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def real_files() -> list[Any]:
    """Every 40th POP909 song and 10 ff-piano files, ids set to file names."""
    if not DATA.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{DATA} is absent"))]
    pop = sorted(DATA.glob("pop909/*/*.mid"))[::40]
    piano = sorted(DATA.glob("ff-piano/*.mid"))[::9][:10]
    return [pytest.param(p, id=p.name) for p in pop + piano]


ENCODINGS: dict[str, Callable[[], Tokenizer]] = {
    "note": lambda: popgen.get_tokenizer("note"),
    "chord": lambda: popgen.get_tokenizer("chord"),
    "chord-music21": lambda: popgen.get_tokenizer("chord", names="music21"),
    "event": lambda: popgen.get_tokenizer("event"),
    "remi": lambda: popgen.get_tokenizer("remi", tempos=True, chords=True),
}


@pytest.mark.parametrize("path", real_files())
def test_real_file_round_trips_in_every_encoding(path: Path) -> None:
    song = popgen.read_midi(path)
    for make in ENCODINGS.values():
        assert_round_trip(make(), song)
