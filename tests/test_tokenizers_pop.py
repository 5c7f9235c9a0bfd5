"""The ``pop`` and ``lead`` encodings: bars, chords and one section per track role."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.music.chords import chord_labels, make_chords
from popgen.music.sections import Section
from popgen.music.song import Song, Track, make_notes
from popgen.music.time import TimeSignature
from popgen.tokenizers import LeadTokenizer, PopTokenizer, get_tokenizer
from popgen.tokenizers.base import BOS
from popgen.tokenizers.pop import LAYOUTS

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pop909"
ROLE_SETS = [("melody", "accompaniment"), ("melody",), ("melody", "second", "accompaniment")]
LABELS = ["C", "G", "Am", "F", "N", "Dm7", "G7/B", "Ebmaj7", "Bdim"]


@st.composite
def pop_songs(draw: st.DrawFn) -> Song:
    """Songs with roled tracks (some unknown), chords, bars or time signatures."""
    roles = draw(st.lists(st.sampled_from(["melody", "second", "accompaniment", "", "drums"]),
                          min_size=1, max_size=4))  # fmt: skip
    tracks = tuple(Track(name=f"t{i}", role=r, is_drum=r == "drums") for i, r in enumerate(roles))
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(0, 127),
                st.integers(0, 24 * 8),  # onset in 1/8 beats
                st.integers(1, 12 * 8),
                st.integers(1, 127),
                st.integers(0, len(tracks) - 1),
            ),
            max_size=30,
        )
    )
    notes = make_notes(
        [r[0] for r in rows], [r[1] / 8 for r in rows], [r[2] / 8 for r in rows],
        [r[3] for r in rows], [r[4] for r in rows],
    )  # fmt: skip
    chord_times = sorted(set(draw(st.lists(st.integers(0, 48), max_size=8))))
    chords = make_chords(
        [draw(st.sampled_from(LABELS)) for _ in chord_times],
        [t / 2 for t in chord_times],
        [
            (b - a) / 2 if draw(st.booleans()) else (b - a) / 4  # some gaps
            for a, b in zip(chord_times, [*chord_times[1:], chord_times[-1] + 4] if chord_times
                            else [], strict=False)
        ],
    )  # fmt: skip
    meter = draw(st.sampled_from([(4, 4), (3, 4), (6, 8), (2, 4)]))
    sigs = [TimeSignature(0, *meter)]
    if draw(st.booleans()):
        sigs.append(TimeSignature(8.0, 3, 4))
    bars = np.array([1.0, 5.0, 9.0]) if draw(st.booleans()) else np.zeros(0)
    song = Song(notes, tracks=tracks, time_signatures=tuple(sigs), chords=chords, bars=bars)
    bar = draw(st.integers(0, 3))  # sections from here, some bars apart
    sections = []
    while bar < len(song.bar_lines()) - 1 and draw(st.booleans()):
        length = draw(st.integers(1, 4))
        if bar + length > len(song.bar_lines()) - 1:
            break
        sections.append(Section(draw(st.sampled_from("AABix")), bar, length))
        bar += length + draw(st.integers(0, 1))
    return song.replace(sections=tuple(sections))


@settings(deadline=None, max_examples=150)
@given(pop_songs(), st.sampled_from(ROLE_SETS), st.sampled_from([4, 3, 12]), st.booleans(),
       st.booleans(), st.sampled_from(LAYOUTS))  # fmt: skip
def test_round_trip_after_documented_loss(
    song: Song, roles: tuple[str, ...], spb: int, chords: bool, sections: bool, layout: str
) -> None:
    tok = PopTokenizer(roles=roles, steps_per_beat=spb, chords=chords, sections=sections,
                       layout=layout)  # fmt: skip
    names = tok.song_to_names(song)
    decoded = tok.names_to_song(names)
    prepared = tok.prepare(song)
    assert decoded.notes.tolist() == prepared.notes.tolist()
    assert decoded.tracks == prepared.tracks
    assert [t.role for t in decoded.tracks] == list(roles)
    if len(prepared.notes):
        assert decoded.time_signatures == prepared.time_signatures
        assert decoded.chords.tolist() == prepared.chords.tolist()
    assert decoded.sections == prepared.sections
    if not sections:
        assert not prepared.sections and not any(n.startswith("SECTION_") for n in names)
    grammar = tok.fit([song]).grammar()
    assert grammar is not None
    ids = tok.encode(song)
    assert grammar.accepts(ids[1:].tolist())  # BOS ... EOS


@settings(deadline=None, max_examples=50)
@given(pop_songs())
def test_encoding_is_idempotent_on_prepared_songs(song: Song) -> None:
    tok = PopTokenizer(roles=("melody", "accompaniment"), sections=True)
    prepared = tok.prepare(song)
    assert tok.song_to_names(prepared) == tok.song_to_names(song)


def test_every_bar_has_its_chords_then_every_role() -> None:
    song = Song(
        make_notes([72, 48, 74], [1, 0, 5], [1, 4, 1], 88, track=[0, 1, 0]),
        tracks=(Track("Vocal", role="melody"), Track("Piano", role="accompaniment")),
        chords=make_chords(["C", "G", "Am"], [0, 2, 4], [2, 2, 4]),
    )
    names = PopTokenizer().song_to_names(song)
    assert " ".join(names) == (
        "BAR CHORD_C:maj BEAT_2 CHORD_G:maj MELODY POSITION_4 PITCH_72 VELOCITY_88 DURATION_1 "
        "ACCOMPANIMENT POSITION_0 PITCH_48 VELOCITY_88 DURATION_4 "
        "BAR CHORD_A:min MELODY POSITION_4 PITCH_74 VELOCITY_88 DURATION_1 ACCOMPANIMENT"
    )
    decoded = PopTokenizer().names_to_song(names)
    assert [t.name for t in decoded.tracks] == ["Melody", "Accompaniment"]
    assert chord_labels(decoded.chords) == ["C:maj", "G:maj", "A:min"]
    assert decoded.chords["duration"].tolist() == [2.0, 2.0, 4.0]


def test_the_beat_layout_gives_each_beat_its_parts_in_turn() -> None:
    notes = make_notes([72, 48, 74, 52, 76], [0, 0, 1.5, 1, 6], [1, 2, 1, 1, 1], 88,
                       track=[0, 1, 0, 1, 0])  # fmt: skip
    song = Song(
        notes,
        tracks=(Track("Vocal", role="melody"), Track("Piano", role="accompaniment")),
        chords=make_chords(["C", "G"], [0, 4], [4, 4]),
    )
    tok = PopTokenizer(layout="beat")
    names = tok.song_to_names(song)
    assert " ".join(names) == (
        "BAR CHORD_C:maj MELODY POSITION_0 PITCH_72 VELOCITY_88 DURATION_1 "
        "ACCOMPANIMENT POSITION_0 PITCH_48 VELOCITY_88 DURATION_2 "
        "MELODY POSITION_6 PITCH_74 VELOCITY_88 DURATION_1 "
        "ACCOMPANIMENT POSITION_4 PITCH_52 VELOCITY_88 DURATION_1 "
        "BAR CHORD_G:maj MELODY POSITION_8 PITCH_76 VELOCITY_88 DURATION_1"
    )
    assert tok.names_to_song(names).notes.tolist() == tok.prepare(song).notes.tolist()
    grammar = tok.grammar()
    assert grammar is not None and grammar.accepts([tok.token_id(n) for n in names])
    empty = ["BAR", "CHORD_C:maj", "MELODY", "BAR"]  # a beat's part holds a note
    assert not grammar.accepts([tok.token_id(n) for n in empty])
    # generation over chords forces each bar's head only; a given melody needs layout="bar"
    assert tok.bar_prefixes(song, bars=2) == [["BAR", "CHORD_C:maj"], ["BAR", "CHORD_G:maj"]]
    with pytest.raises(ValueError, match="beat layout"):
        tok.bar_prefixes(song, bars=2, given=1)
    with pytest.raises(ValueError, match="layout must be one of"):
        PopTokenizer(layout="song")


def test_songs_without_roles_are_one_part_and_unknown_roles_drop() -> None:
    plain = Song(make_notes([60, 64], [0, 1], [1, 1], track=[0, 1]), tracks=(Track(), Track()))
    assert set(PopTokenizer().prepare(plain).notes["track"].tolist()) == {0}
    mixed = plain.replace(tracks=(Track(role="accompaniment"), Track(role="")))
    prepared = PopTokenizer().prepare(mixed)
    assert prepared.notes["pitch"].tolist() == [60] and prepared.notes["track"].tolist() == [1]


def test_bass_notes_of_chords_are_dropped_and_no_chord_fills_gaps() -> None:
    song = Song(make_notes([60], [0], [8]), chords=make_chords(["C/E", "G"], [0, 6], [2, 2]))
    prepared = LeadTokenizer().prepare(song)
    assert chord_labels(prepared.chords) == ["C:maj", "N", "G:maj"]
    assert prepared.chords["start"].tolist() == [0.0, 2.0, 6.0]


def test_decoding_is_tolerant() -> None:
    tok = PopTokenizer()
    names = ["PITCH_60", "BAR", "CHORD_X:bad", "TIMESIG_0/4", "MELODY", "PITCH_61",
             "VELOCITY_80", "POSITION_3", "PITCH_62", "VELOCITY_80", "DURATION_1",
             "DURATION_1", "BEAT_x"]  # fmt: skip
    song = tok.names_to_song(names)
    assert song.notes[["pitch", "start"]].tolist() == [(62, 0.75)]


def test_grammar_puts_roles_in_order() -> None:
    tok = PopTokenizer(roles=("melody", "second", "accompaniment"))
    grammar = tok.grammar()
    assert grammar is not None
    ids = [tok.token_id(n) for n in ["BAR", "CHORD_C:maj", "MELODY", "SECOND", "ACCOMPANIMENT"]]
    assert grammar.accepts(ids)
    assert not grammar.accepts([tok.token_id(n) for n in ["BAR", "CHORD_C:maj", "SECOND"]])
    assert not grammar.accepts([tok.token_id(n) for n in ["BAR", "MELODY", "CHORD_C:maj"]])
    assert tok.token_id("BAR") != BOS


def test_sections_open_their_first_bar_and_last_until_the_next() -> None:
    from popgen.music.sections import parse_form

    song = Song(
        make_notes([72, 74, 76, 77], [0, 4, 8, 12], [1, 1, 1, 1]), sections=parse_form("A1 -1 B2")
    )
    tok = LeadTokenizer(sections=True)
    names = tok.song_to_names(song)
    assert [n for n in names if n in ("BAR", "SECTION_A", "SECTION_B")] == [
        "BAR", "SECTION_A", "BAR", "BAR", "SECTION_B", "BAR"]  # fmt: skip
    assert names.index("SECTION_A") < names.index("MELODY")  # in the bar's head
    # the bar between A and B joins A
    assert tok.names_to_song(names).sections == parse_form("A2 B2")
    assert tok.prepare(song).sections == parse_form("A2 B2")
    assert "SECTION_z" in tok.base_vocabulary() and "SECTION_A" not in LeadTokenizer().vocab


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="roles"):
        PopTokenizer(roles=("melody", "melody"))
    with pytest.raises(ValueError, match="programs"):
        PopTokenizer(programs=(0,))
    song = PopTokenizer(programs=(73, 0)).names_to_song(["BAR", "MELODY"])
    assert [t.program for t in song.tracks] == [73, 0]


def test_lead_is_registered_and_saves() -> None:
    tok = get_tokenizer("lead")
    assert isinstance(tok, LeadTokenizer) and tok.config.roles == ("melody",)
    again = type(tok).from_dict(tok.to_dict())
    assert again.config == tok.config and again.vocab == tok.vocab


@pytest.mark.skipif(not DATA.is_dir(), reason="shared POP909 data not present")
def test_pop909_songs_round_trip() -> None:
    from popgen import Corpus

    files = sorted(DATA.glob("*/*.mid"))[:3]
    assert files
    corpus: Any = Corpus.from_paths(files, workers=1)
    tok = PopTokenizer(roles=("melody", "second", "accompaniment"))
    for song in corpus.songs:
        prepared = tok.prepare(song)
        assert prepared.num_notes > 0.95 * song.num_notes
        decoded = tok.names_to_song(tok.song_to_names(song))
        assert decoded.notes.tolist() == prepared.notes.tolist()
        assert decoded.chords.tolist() == prepared.chords.tolist()
        assert len(decoded.chords) > 10


def _bar_chords_by_beat(chords: Any, edges: Any, spb: int) -> list[list[tuple[int, Any]]]:
    """The bar chords as first written, one beat at a time (quadratic): the reference."""
    from popgen.music.chords import NO_CHORD, Chord

    start = np.asarray(chords["start"], dtype=np.float64)
    stop = start + chords["duration"]
    out = []
    for a, b in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        bar: dict[int, Any] = {}
        for k in range(max(1, -(-(b - a) // spb))):
            at = a / spb + k
            changes = np.concatenate([start, stop])
            if k and not ((changes > at - 0.5) & (changes <= at + 0.5)).any():
                continue
            sounding = np.flatnonzero((start <= at + 0.5) & (stop > at + 0.5 - 1e-9))
            chord = NO_CHORD
            if len(sounding):
                r = chords[sounding[-1]]
                chord = Chord(int(r["root"]), int(r["quality"]), int(r["root"]))
            if not bar or list(bar.values())[-1] != chord or k == 0:
                bar[k] = chord
        out.append(list(bar.items()))
    return out


@settings(deadline=None, max_examples=200)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["C", "G", "Am", "F7", "N", "Bdim/D"]),
            st.integers(0, 80),  # start, half beats
            st.integers(1, 16),  # duration, half beats
        ),
        min_size=1,
        max_size=12,
    ),
    st.lists(st.integers(1, 30), min_size=1, max_size=8),  # bar lengths in steps
    st.sampled_from([1, 2, 4, 12]),
)
def test_bar_chords_match_the_beat_by_beat_reading(
    rows: list[tuple[str, int, int]], bars: list[int], spb: int
) -> None:
    from popgen.tokenizers.pop import _bar_chords

    chords = Song(
        make_notes([], [], []),
        chords=make_chords(
            [r[0] for r in rows], [r[1] / 2 for r in rows], [r[2] / 2 for r in rows]
        ),
    ).chords  # sorted by onset; they may overlap
    edges = np.concatenate([[0], np.cumsum(bars)]).astype(np.int64)
    assert _bar_chords(chords, edges, spb) == _bar_chords_by_beat(chords, edges, spb)


def test_bar_chords_take_time_in_bars_not_bars_times_chords() -> None:
    import time

    from popgen.tokenizers.pop import _bar_chords

    n = 20_000  # bars of 4/4, a chord each
    chords = make_chords(["C", "G", "Am", "F"] * (n // 4), np.arange(n) * 4.0, [4.0] * n)
    edges = np.arange(n + 1, dtype=np.int64) * 48
    began = time.process_time()
    out = _bar_chords(chords, edges, 12)
    assert len(out) == n and [(k, c.label) for k, c in out[1]] == [(0, "G:maj")]
    assert time.process_time() - began < 10  # beat by beat: minutes


def test_sections_keep_their_beats_when_snapping_merges_bars() -> None:
    from popgen.music.sections import parse_form

    # bar lines 0.1 beat off the grid: the first bar (0..0.1) vanishes on the grid
    song = Song(make_notes([72] * 6, [0.5, 4.5, 8.5, 12.5, 16.5, 20.5], [1] * 6),
                bars=np.arange(0.1, 25, 4.0), sections=parse_form("-1 A2 B3"))  # fmt: skip
    prepared = LeadTokenizer(sections=True).prepare(song)
    starts = [float(prepared.bar_lines()[x.first_bar]) for x in prepared.sections]
    assert starts == [0.0, 8.0]  # A at beat 0.1 and B at 8.1, snapped to the grid


def test_odd_section_tokens_decode_without_error() -> None:
    tok = PopTokenizer(sections=True)
    song = tok.names_to_song(["SECTION_A", "BAR", "SECTION_AB", "SECTION_", "SECTION_é", "MELODY"])
    assert song.sections == (Section("A", 0, 1),)  # only the one-letter label counts
