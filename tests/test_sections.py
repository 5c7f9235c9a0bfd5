"""Sections: the value, form strings, checks, transforms, the cache, MIDI markers, inference."""

from __future__ import annotations

import itertools
import math
import warnings
from pathlib import Path

import mido
import numpy as np
import pytest
from conftest import make_raw_midi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from popgen.corpus.cache import decode_songs, encode_songs
from popgen.formats.midi_reading import read_midi
from popgen.formats.midi_symusic import read_midi_symusic, symusic_available
from popgen.formats.midi_writing import song_to_midifile
from popgen.metrics import METRICS, section_repetition, song_metrics
from popgen.music.bars import signatures_from_bars
from popgen.music.limits import cut_song, shorten_silences
from popgen.music.sections import (
    Section,
    bar_labels,
    check_sections,
    format_form,
    infer_sections,
    moved_sections,
    parse_form,
    section_marker,
    section_per_bar,
    sections_from_markers,
)
from popgen.music.song import Song, make_notes

LABELS = st.sampled_from("ABCDXiobx")


@st.composite
def forms(draw: st.DrawFn, max_bars: int = 12) -> tuple[Section, ...]:
    """Sections in order, not overlapping, with gaps, from some bar."""
    sections = []
    bar = draw(st.integers(0, 3))
    for _ in range(draw(st.integers(0, 6))):
        bars = draw(st.integers(1, max_bars))
        sections.append(Section(draw(LABELS), bar, bars))
        bar += bars + draw(st.integers(0, 2))
    return tuple(sections)


def song_over(count: int, sections: tuple[Section, ...] = (), **options: object) -> Song:
    """A one-track song of ``count`` 4/4 bars, a quarter note on each beat."""
    beats = 4 * count
    notes = make_notes([60 + i % 12 for i in range(beats)], range(beats), [1] * beats)
    return Song(notes, sections=sections, **options)  # type: ignore[arg-type]


# ------------------------------------------------------------------ the value
def test_section_checks_its_fields() -> None:
    assert Section("A", 0, 8).end_bar == 8
    with pytest.raises(ValueError, match="not one letter"):
        Section("AB", 0, 8)
    with pytest.raises(ValueError, match="not one letter"):
        Section("", 0, 8)
    with pytest.raises(ValueError, match="before bar 0"):
        Section("A", -1, 8)
    with pytest.raises(ValueError, match="has 0 bars"):
        Section("A", 0, 0)
    with pytest.raises(TypeError, match="whole number"):
        Section("A", 0.5, 8)  # type: ignore[arg-type]
    assert Section("A", np.int64(2), 3).first_bar == 2  # type: ignore[arg-type]


# ------------------------------------------------------------------ form strings
def test_parse_form_spaced_and_unspaced() -> None:
    spaced = parse_form("i4 A8 B8 A8 B8 o4")
    assert parse_form("i4A8B8A8B8o4") == spaced
    assert [(s.label, s.first_bar, s.num_bars) for s in spaced[:3]] == [
        ("i", 0, 4),
        ("A", 4, 8),
        ("B", 12, 8),
    ]
    assert format_form(spaced) == "i4 A8 B8 A8 B8 o4"
    assert format_form(spaced, spaced=False) == "i4A8B8A8B8o4"
    assert parse_form("") == () and parse_form("   ") == ()
    assert parse_form("A2 -3 B1")[1] == Section("B", 5, 1)
    assert parse_form("A2", first_bar=3) == (Section("A", 3, 2),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("i4 Q A8", "form: 'Q' at 3 is not a section"),
        ("i4A8?B8", "form: '?' at 4 is not a section"),
        ("A8 8", "form: '8' at 3 is not a section"),
        ("A8 B", "form: 'B' at 3 is not a section"),
        ("A8 Bx4", "form: 'B' at 3 is not a section"),  # x4 is a section
        ("A0", "form: 'A0' at 0 has 0 bars"),
        ("A99999999999999999999", "form: 'A99999999999' at 0 has 99999999 bars"),
        ("-0", "form: '-0' at 0 has 0 bars"),
    ],
)
def test_parse_form_names_the_bad_part(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("?", r"\?")) as info:
        parse_form(text)
    assert "expected" in str(info.value)


@given(forms())
def test_form_round_trip(sections: tuple[Section, ...]) -> None:
    text = format_form(sections)
    assert parse_form(text) == sections
    assert parse_form(format_form(sections, spaced=False)) == sections


@given(st.text(max_size=20))
def test_parse_form_takes_any_text(text: str) -> None:
    try:
        sections = parse_form(text)
    except ValueError as exc:
        assert str(exc).startswith("form: ")
    else:
        assert parse_form(format_form(sections)) == sections


# ------------------------------------------------------------------ checks
def test_check_sections_names_the_problem() -> None:
    with pytest.raises(ValueError, match="B at bars 4..12 starts before A at bars 0..8 ends"):
        check_sections([Section("A", 0, 8), Section("B", 4, 8)])
    with pytest.raises(ValueError, match="B at bars 0..4 starts before A at bars 8..12"):
        check_sections([Section("A", 8, 4), Section("B", 0, 4)])
    with pytest.raises(ValueError, match="A at bars 0..8 ends after the song's 6 bars"):
        check_sections([Section("A", 0, 8)], num_bars=6)
    with pytest.raises(TypeError, match="Section values"):
        check_sections([("A", 0, 8)])  # type: ignore[list-item]


def test_song_checks_its_sections_in_one_place() -> None:
    song = song_over(4, parse_form("A2 B2"))
    assert song.sections == parse_form("A2 B2")
    with pytest.raises(
        ValueError, match="^tune.mid: section B at bars 2..6 ends after the song's 4"
    ):
        song_over(4, parse_form("A2 B4"), source="tune.mid")
    with pytest.raises(ValueError, match="overlap"):
        song_over(4, (Section("A", 0, 2), Section("B", 1, 2)))
    assert song_over(4, [Section("A", 0, 4)]).sections == (Section("A", 0, 4),)  # type: ignore[arg-type]


def test_per_bar_helpers() -> None:
    sections = parse_form("i1 A2 -1 B2")
    assert section_per_bar(sections, 7).tolist() == [0, 1, 1, -1, 2, 2, -1]
    assert bar_labels(sections, 5) == ["i", "A", "A", "", "B"]


# ------------------------------------------------------------------ transforms
def test_transpose_keeps_sections() -> None:
    song = song_over(4, parse_form("A2 B2"), key="C")
    assert song.transpose(5).sections == song.sections
    assert song.transpose(100).sections == (Section("A", 0, 1),)  # no notes left: one bar


@given(forms(max_bars=4), st.integers(0, 20), st.integers(1, 24))
@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
def test_slice_cuts_and_renumbers_sections(
    sections: tuple[Section, ...], start_bar: int, length: int
) -> None:
    bars = max([s.end_bar for s in sections] + [1])
    song = song_over(bars, sections)
    stop_bar = start_bar + length
    part = song.slice(4.0 * start_bar, 4.0 * stop_bar)
    expected = []
    kept = len(part.bar_lines()) - 1
    for s in sections:
        first, end = max(s.first_bar, start_bar) - start_bar, min(s.end_bar, stop_bar) - start_bar
        end = min(end, kept)
        if end > first:
            expected.append(Section(s.label, first, end - first))
    assert part.sections == tuple(expected)


def test_slice_off_the_bar_lines_rounds_to_the_nearest() -> None:
    song = song_over(8, parse_form("A4 B4"))
    assert format_form(song.slice(5.0, 32.0).sections) == "A3 B4"  # bar lines at 3, 7, ...
    assert format_form(song.slice(7.0, 32.0).sections) == "A2 B4"  # a one-beat pickup


def test_other_transforms_carry_sections() -> None:
    song = song_over(4, parse_form("A2 B2"))
    assert song.quantize(4).sections == song.sections
    assert song.replace(title="x").sections == song.sections
    assert song.cleaned().sections == song.sections
    assert song.without_leading_silence().sections == song.sections
    short, _ = cut_song(song, max_beats=10.0)
    assert format_form(short.sections) == "A2 B1"
    assert song.replace(notes=song.notes[:4]).sections == (Section("A", 0, 1),)


def test_shortened_silence_takes_bars_out_of_sections() -> None:
    notes = make_notes([60, 62, 64], [0, 4, 404], [1, 1, 1])  # 100 silent bars
    song = Song(notes, sections=parse_form("A1 B100 C1"))
    short, count = shorten_silences(song, 16.0)
    assert count == 1
    assert [s.label for s in short.sections] == ["A", "B", "C"]
    assert short.sections[-1].end_bar == len(short.bar_lines()) - 1


# ------------------------------------------------------------------ cache
@given(forms())
def test_cache_round_trip(sections: tuple[Section, ...]) -> None:
    bars = max([s.end_bar for s in sections] + [1])
    song = song_over(bars, sections)
    assert decode_songs(encode_songs([song, song_over(1)]))[0].sections == sections


# ------------------------------------------------------------------ MIDI
def test_markers_are_written_at_the_first_bar(tmp_path: Path) -> None:
    song = song_over(6, parse_form("-1 A2 b3"), bars=[1.0, 5, 9, 13, 17, 21])
    song = song.replace(time_signatures=signatures_from_bars(song.bars))
    mid = song_to_midifile(song, ticks_per_beat=4)
    ticks, markers = 0, []
    for msg in mid.tracks[0]:
        ticks += msg.time
        if msg.type == "marker":
            markers.append((ticks, msg.text))
    assert markers == [(4, section_marker(Section("A", 1, 2))), (36, "section:b3")]


def _read_both(path: Path) -> list[tuple[Section, ...]]:
    readers = [read_midi] + ([read_midi_symusic] if symusic_available() else [])
    return [reader(path).sections for reader in readers]


@given(
    forms(max_bars=3),
    st.lists(st.sampled_from([2, 3, 4, 6]), min_size=1, max_size=4),
    st.sampled_from(["C:maj", "Am", "intro", "Section A"]),
)
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_midi_round_trip_through_both_readers(
    tmp_path: Path, sections: tuple[Section, ...], meters: list[int], other: str
) -> None:
    bars = max([s.end_bar for s in sections] + [1])
    lengths = [meters[i % len(meters)] for i in range(bars)]
    edges = np.concatenate([[0.0], np.cumsum(lengths)])
    notes = make_notes([60 + i % 7 for i in range(bars)], edges[:-1], lengths)
    song = Song(notes, time_signatures=signatures_from_bars(edges[:-1]), sections=sections)
    mid = song_to_midifile(song)
    mid.tracks[0].insert(1, mido.MetaMessage("marker", text=other, time=0))  # not a section
    path = tmp_path / "form.mid"
    mid.save(str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a foreign marker reads silently
        assert all(found == sections for found in _read_both(path))


def test_bad_section_markers_are_left_out_with_a_warning(tmp_path: Path) -> None:
    tpb = 480
    events = [
        (0, mido.MetaMessage("marker", text="section:A2")),
        (2 * tpb, mido.MetaMessage("marker", text="section:B")),  # no bars
        (6 * tpb, mido.MetaMessage("marker", text="section:C1")),  # off the bar lines
        (8 * tpb, mido.MetaMessage("marker", text="section:D9")),  # past the end: cut
    ]
    notes = [(tick * tpb, mido.Message("note_on", note=60, velocity=80)) for tick in range(16)]
    notes += [((t + 1) * tpb - 1, mido.Message("note_off", note=60)) for t in range(16)]
    path = make_raw_midi(tmp_path / "bad.mid", [events + notes], ticks_per_beat=tpb)
    for reader in [read_midi] + ([read_midi_symusic] if symusic_available() else []):
        with pytest.warns(UserWarning) as caught:
            song = reader(path)
        messages = " ".join(str(w.message) for w in caught)
        assert "left out 2 section markers" in messages and "'section:B' at beat 2" in messages
        assert "read them as 'A2 D2'" in messages
        assert format_form(song.sections) == "A2 D2"


def test_sections_from_markers_sorts_and_cuts() -> None:
    edges = np.arange(0.0, 33.0, 4.0)
    with pytest.warns(
        UserWarning, match="overlap or run past the song's 8 bars; read them as 'A4 B2'"
    ):
        found = sections_from_markers([(16.0, "section:B2"), (0.0, "section:A8")], edges)
    assert found == (Section("A", 0, 4), Section("B", 4, 2))


# ------------------------------------------------------------------ moves
def test_moved_sections_drops_empty_and_clips() -> None:
    old = np.arange(0.0, 41.0, 4.0)
    new = np.arange(0.0, 21.0, 4.0)
    moved = moved_sections(parse_form("A2 B2 C6"), old, new)
    assert moved == (Section("A", 0, 2), Section("B", 2, 2), Section("C", 4, 1))
    assert moved_sections(parse_form("A2"), old, new, lambda b: b + 100.0) == ()
    assert moved_sections((), old, new) == ()


# ------------------------------------------------------------------ inference
def _melody(pitches_per_bar: list[list[int]]) -> np.ndarray:
    rows = [(b * 4.0 + i, p) for b, bar in enumerate(pitches_per_bar) for i, p in enumerate(bar)]
    out = np.zeros(len(rows), dtype=[("start", float), ("pitch", int)])
    out["start"], out["pitch"] = zip(*rows, strict=True) if rows else ((), ())
    return out


def test_infer_sections_labels_repeats() -> None:
    a1, a2, b1, b2 = [60, 62, 64, 65], [67, 65, 64, 62], [72, 71, 69, 67], [65, 64, 62, 60]
    bars = [[], a1, a2, b1, b2, [], [], a1, a2, b1, b2, []]
    edges = np.arange(0.0, 4 * len(bars) + 1, 4.0)
    found = infer_sections(edges, _melody(bars), phrase_bars=2)
    assert format_form(found) == "i1 A2 B2 x2 A2 B2 o1"
    near = [a1, [67, 65, 64, 63], b1, b2]  # one note differs: still A at threshold 0.5
    found = infer_sections(
        np.arange(0.0, 33.0, 4.0), _melody([a1, a2, b1, b2, *near]), phrase_bars=2
    )
    assert format_form(found) == "A2 B2 A2 B2"
    assert infer_sections(edges, _melody([]), phrase_bars=2) == ()
    with pytest.raises(ValueError, match="phrase_bars"):
        infer_sections(edges, _melody(bars), phrase_bars=0)
    with pytest.raises(ValueError, match="threshold"):
        infer_sections(edges, _melody(bars), threshold=2.0)


def test_infer_sections_pickup_starts_phrases_a_bar_later() -> None:
    melody = np.zeros(3, dtype=[("start", float), ("pitch", int)])
    melody["start"], melody["pitch"] = [3.0, 4.0, 8.0], [60, 62, 64]
    found = infer_sections(np.arange(0.0, 13.0, 4.0), melody, phrase_bars=2)
    assert format_form(found) == "i1 A2"


@given(
    st.lists(st.lists(st.integers(60, 64), max_size=4), min_size=1, max_size=12), st.integers(1, 8)
)
def test_inferred_sections_cover_every_bar(bars: list[list[int]], phrase: int) -> None:
    edges = np.arange(0.0, 4 * len(bars) + 1, 4.0)
    found = infer_sections(edges, _melody(bars), phrase_bars=phrase)
    if any(bars):
        assert found[0].first_bar == 0 and found[-1].end_bar == len(bars)
        assert all(a.end_bar == b.first_bar for a, b in itertools.pairwise(found))
    else:
        assert found == ()


# ------------------------------------------------------------------ the metric
def test_section_repetition() -> None:
    a, b = [60, 62, 64, 65], [67, 65, 64, 62]
    notes = make_notes(a + b + a + b + b + a, range(24), [1] * 24)
    song = Song(notes, sections=parse_form("A2 A2 A2"))
    assert section_repetition(song) == 0.5  # third A: the bars swapped
    assert section_repetition(song.replace(sections=parse_form("A2 B2 A2"))) == 0.0
    assert math.isnan(section_repetition(song.replace(sections=())))
    assert math.isnan(section_repetition(song.replace(sections=parse_form("X2 X2"))))
    assert math.isnan(section_repetition(song.replace(sections=parse_form("b2 b2"))))
    assert section_repetition(song.replace(sections=parse_form("A2 A4"))) == 1.0  # 2 bars compared
    assert section_repetition(song.transpose(3)) == 0.5
    assert METRICS["section_repetition"] is section_repetition
    assert song_metrics(song)["section_repetition"] == 0.5


def test_infer_sections_restarts_phrases_after_a_silence() -> None:
    a1, a2, b1 = [60, 62, 64, 65], [67, 65, 64, 62], [72, 71, 69, 67]
    bars = [a1, a2, b1, [], [], a1, a2, b1, [], a1, a2]  # one silent bar does not end a run
    found = infer_sections(np.arange(0.0, 4 * len(bars) + 1, 4.0), _melody(bars), phrase_bars=2)
    assert format_form(found) == "A2 B1 x2 A2 B2 A2"
    with pytest.raises(ValueError, match="min_gap"):
        infer_sections(np.arange(0.0, 9.0, 4.0), _melody([a1, a2]), min_gap=0)


def test_moved_sections_stay_in_order_when_the_move_goes_back() -> None:
    grid = np.arange(0.0, 7.0)
    lines = np.array([0.0, 2, 4, 3, 5, 6, 7]) * 4  # bar line 3 lies before bar line 2

    def move(bars: np.ndarray) -> np.ndarray:
        return np.asarray(lines[np.round(bars).astype(int)], dtype=np.float64)

    moved = moved_sections(parse_form("A2 B1 C3"), grid, np.arange(0.0, 29.0, 4.0), move)
    assert moved == (Section("A", 0, 4), Section("C", 4, 3))  # B went back: left out
    check_sections(moved, 7)


def test_markers_of_a_very_long_song_are_left_out(tmp_path: Path) -> None:
    tpb = 4
    events = [
        (0, mido.MetaMessage("marker", text="section:A2")),
        (0, mido.Message("note_on", note=60, velocity=80)),
        (200_000 * tpb, mido.Message("note_off", note=60)),  # 200 000 beats: 50 000 bars
    ]
    path = make_raw_midi(tmp_path / "long.mid", [events], ticks_per_beat=tpb)
    for reader in [read_midi] + ([read_midi_symusic] if symusic_available() else []):
        with pytest.warns(UserWarning, match="section markers left out: the song lasts 200000"):
            assert reader(path).sections == ()
