import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import popgen
from popgen.errors import UnknownNameError, VocabularyError
from popgen.music.song import Song, Track, make_notes
from popgen.tokenizers import (
    BOS,
    EOS,
    UNK,
    ChordTokenizer,
    NoteTokenizer,
    Tokenizer,
    get_tokenizer,
    list_tokenizers,
)

GRID = 12


@st.composite
def songs(draw: st.DrawFn, max_notes: int = 40, tracks: int = 2) -> Song:
    n = draw(st.integers(0, max_notes))
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(0, 127),  # pitch
                st.integers(0, 20 * GRID),  # start in steps
                st.integers(1, 12 * GRID),  # duration in steps (up to 12 beats)
                st.integers(1, 127),  # velocity
                st.integers(0, tracks - 1),
            ),
            min_size=n,
            max_size=n,
        )
    )
    notes = make_notes(
        [r[0] for r in rows],
        [r[1] / GRID for r in rows],
        [r[2] / GRID for r in rows],
        [r[3] for r in rows],
        [r[4] for r in rows],
    )
    return Song(notes, tracks=tuple(Track(name=f"t{i}") for i in range(tracks)))


def melody() -> Song:
    return Song(
        make_notes(
            [60, 62, 64, 60, 67], [0, 1, 2, 4, 4], [1, 1, 1.5, 2, 0.5], [90, 70, 50, 100, 30]
        )
    )


def test_registry_lists_builtins_and_names_known_ones_on_error() -> None:
    assert {"chord", "note"} <= set(list_tokenizers())
    with pytest.raises(UnknownNameError, match="known: .*chord.*note"):
        get_tokenizer("nope")
    with pytest.raises(KeyError):  # still a KeyError for callers that expect one
        get_tokenizer("nope")


def test_bad_option_names_the_options() -> None:
    with pytest.raises(ValueError, match="steps_per_beat"):
        get_tokenizer("note", grid=3)
    with pytest.raises(ValueError, match="velocity_bins"):
        get_tokenizer("note", velocity_bins=0)


@settings(max_examples=60, deadline=None)
@given(songs())
def test_note_round_trip_equals_song_after_documented_loss(song: Song) -> None:
    tok = NoteTokenizer(steps_per_beat=GRID).fit([song])
    decoded = tok.decode(tok.encode(song))
    expected = tok.prepare(song).notes
    np.testing.assert_array_equal(decoded.notes, expected)


@settings(max_examples=60, deadline=None)
@given(songs())
def test_note_encode_of_decode_is_identity_on_encoded_tokens(song: Song) -> None:
    tok = NoteTokenizer(steps_per_beat=GRID)
    names = tok.song_to_names(song)
    assert tok.song_to_names(tok.names_to_song(names)) == names


def test_note_tokens_for_a_melody() -> None:
    tok = NoteTokenizer(steps_per_beat=4, velocity_bins=8)
    names = tok.song_to_names(melody())
    assert names[:3] == ["PITCH_60", "DUR_1", "VEL_88"]
    assert "REST_1/2" in names  # 64 ends at 3.5, the chord starts at 4
    assert names.count("AND") == 1  # 60 and 67 share beat 4
    assert tok.pitch_of("PITCH_64") == 64 and tok.pitch_of("DUR_1") is None


def test_note_velocity_bins_of_one_drop_dynamics() -> None:
    tok = NoteTokenizer(velocity_bins=1)
    assert {n for n in tok.song_to_names(melody()) if n.startswith("VEL")} == {"VEL_64"}


def test_note_decode_skips_malformed_fragments() -> None:
    tok = NoteTokenizer()
    song = tok.names_to_song(["DUR_1", "VEL_88", "PITCH_60", "PITCH_62", "DUR_1", "VEL_88", "AND"])
    assert song.notes["pitch"].tolist() == [62]


@settings(max_examples=40, deadline=None)
@given(songs(tracks=1))
def test_chord_round_trip_equals_song_after_documented_loss(song: Song) -> None:
    tok = ChordTokenizer(step=0.5, velocity=90).fit([song])
    decoded = tok.decode(tok.encode(song, bos=False, eos=False))
    slots = np.round(song.notes["start"] / 0.5).astype(int)
    groups = [sorted({int(p) for p in song.notes["pitch"][slots == s]}) for s in np.unique(slots)]
    expected = [(p, i * 0.5) for i, g in enumerate(groups) for p in g]
    got = list(zip(decoded.notes["pitch"].tolist(), decoded.notes["start"].tolist(), strict=True))
    assert sorted(got) == sorted(expected)
    assert set(decoded.notes["duration"].tolist()) <= {0.5}
    assert set(decoded.notes["velocity"].tolist()) <= {90}


def test_chord_tokens() -> None:
    tok = ChordTokenizer()
    assert tok.song_to_names(melody()) == ["NOTE_60", "NOTE_62", "NOTE_64", "CHORD_60.67"]
    assert tok.pitch_of("NOTE_62") == 62 and tok.pitch_of("CHORD_60.67") is None


def test_fit_is_deterministic_and_sorted_numerically() -> None:
    a = NoteTokenizer().fit([melody()])
    b = NoteTokenizer().fit([melody()])
    assert a.vocab == b.vocab
    assert a.vocab[:4] == ["PAD", "BOS", "EOS", "UNK"]
    durs = [n for n in a.vocab if n.startswith("DUR_")]
    assert durs == ["DUR_1/2", "DUR_1", "DUR_3/2", "DUR_2"]
    with pytest.raises(VocabularyError, match="no songs"):
        NoteTokenizer().fit([])


def test_encode_frames_with_bos_eos_and_warns_once_on_unknown() -> None:
    tok = NoteTokenizer().fit([Song(make_notes([60], [0], [1]))])
    ids = tok.encode(Song(make_notes([60], [0], [1])))
    assert ids[0] == BOS and ids[-1] == EOS and ids.dtype == np.int32
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ids = tok.encode(Song(make_notes([60, 62], [0, 3], [3, 3]), source="x.mid"))
    assert len(caught) == 1 and "x.mid" in str(caught[0].message)
    assert (ids == UNK).sum() == 2  # DUR_3 was never seen


def test_save_load_round_trip_and_bad_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    tok = NoteTokenizer(steps_per_beat=4).fit([melody()])
    tok.save(tmp_path / "tok.json")
    back = popgen.load_tokenizer(tmp_path / "tok.json")
    assert isinstance(back, NoteTokenizer)
    assert back.vocab == tok.vocab and back.config == tok.config
    assert NoteTokenizer.load(tmp_path / "tok.json").vocab == tok.vocab
    with pytest.raises(VocabularyError, match="encoding 'note', expected 'chord'"):
        ChordTokenizer.load(tmp_path / "tok.json")
    data = json.loads((tmp_path / "tok.json").read_text())
    data["version"] = 99
    (tmp_path / "v99.json").write_text(json.dumps(data))
    with pytest.raises(VocabularyError, match="version 99"):
        Tokenizer.load(tmp_path / "v99.json")
    (tmp_path / "junk.json").write_text("{not json")
    with pytest.raises(VocabularyError, match="junk.json"):
        Tokenizer.load(tmp_path / "junk.json")
    with pytest.raises(VocabularyError, match="no such file"):
        Tokenizer.load(tmp_path / "missing.json")


def test_token_pitches_table() -> None:
    tok = NoteTokenizer().fit([melody()])
    table = tok.token_pitches()
    assert table.shape == (tok.vocab_size,)
    assert table[tok.token_id("PITCH_64")] == 64
    assert table[tok.token_id("DUR_1")] == -1


def test_user_registered_encoding() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class PitchOnlyConfig:
        pass

    @popgen.register_tokenizer("test-pitch-only", replace=True)
    class PitchOnly(Tokenizer):
        config_class = PitchOnlyConfig

        def song_to_names(self, song: Song) -> list[str]:
            return [f"P_{p}" for p in song.notes["pitch"].tolist()]

        def names_to_song(self, names):  # type: ignore[no-untyped-def]
            pitches = [int(n[2:]) for n in names]
            return Song(make_notes(pitches, range(len(pitches)), [1.0] * len(pitches)))

    tok = get_tokenizer("test-pitch-only").fit([melody()])
    assert tok.decode(tok.encode(melody())).notes["pitch"].tolist() == [60, 62, 64, 60, 67]
    with pytest.raises(ValueError, match="already registered"):
        popgen.register_tokenizer("test-pitch-only")(PitchOnly)


@settings(max_examples=40, deadline=None)
@given(songs())
def test_note_grammar_accepts_every_encoded_song(song: Song) -> None:
    tok = NoteTokenizer(steps_per_beat=GRID).fit([song])
    grammar = tok.grammar()
    assert grammar is not None
    assert grammar.accepts(tok.encode(song)[1:].tolist())


def test_note_grammar_rejects_broken_orders() -> None:
    tok = NoteTokenizer().fit([melody()])
    grammar = tok.grammar()
    assert grammar is not None
    ids = [tok.token_id(n) for n in ("PITCH_60", "VEL_88")]  # no duration
    assert not grammar.accepts(ids)
    ids = [tok.token_id(n) for n in ("AND", "PITCH_60", "DUR_1", "VEL_88")]  # AND first
    assert not grammar.accepts(ids)
    assert ChordTokenizer().grammar() is None  # any order of chord tokens decodes
