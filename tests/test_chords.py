"""popgen.music.chords: Harte labels and lead-sheet symbols, chord arrays and their helpers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen.music.chords import (
    CHORD_DTYPE,
    NO_CHORD,
    QUALITIES,
    Chord,
    chord_labels,
    chord_tone_mask,
    chords_in,
    make_chords,
    parse_chord,
    sorted_chords,
    transpose_chords,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NAMES = [q.name for q in QUALITIES]


def q(name: str) -> int:
    return NAMES.index(name)


# ------------------------------------------------------------ Harte labels
@pytest.mark.parametrize("index", range(len(QUALITIES)))
def test_every_quality_parses_from_its_harte_name(index: int) -> None:
    quality = QUALITIES[index]
    chord = parse_chord(f"D:{quality.name}")
    assert chord == Chord(2, index, 2)
    assert chord.label == f"D:{quality.name}"
    assert chord.pitch_classes == tuple(sorted({(2 + i) % 12 for i in quality.intervals}))
    assert chord.triad == quality.triad


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("C:maj", Chord(0, q("maj"), 0)),
        ("C:maj/3", Chord(0, q("maj"), 4)),
        ("C:maj/5", Chord(0, q("maj"), 7)),
        ("A:min7/b7", Chord(9, q("min7"), 7)),
        ("Bb:min7/b3", Chord(10, q("min7"), 1)),
        ("G:7/3", Chord(7, q("7"), 11)),
        ("C#:min", Chord(1, q("min"), 1)),
        ("Db:min", Chord(1, q("min"), 1)),
        ("E:sus4(b7)/b7", Chord(4, q("sus4(b7)"), 2)),
        ("F:maj/b2", Chord(5, q("maj"), 6)),
        ("C:", Chord(0, q("maj"), 0)),  # Harte's bare root is a major triad
        ("N", NO_CHORD),
        ("X", NO_CHORD),
        ("  N  ", NO_CHORD),
    ],
)
def test_harte_labels(label: str, expected: Chord) -> None:
    assert parse_chord(label) == expected


def test_inversion_bass_belongs_to_pitch_classes() -> None:
    chord = parse_chord("C:maj7/b7")  # b7 is not a tone of Cmaj7: the bass is added
    assert chord.bass == 10
    assert chord.pitch_classes == (0, 4, 7, 10, 11)
    assert chord.label == "C:maj7/b7"
    assert chord.symbol == "Cmaj7/Bb"


def test_no_chord() -> None:
    assert NO_CHORD.is_none and not parse_chord("C").is_none
    assert NO_CHORD.label == "N" and NO_CHORD.symbol == "N.C."
    assert NO_CHORD.pitch_classes == () and NO_CHORD.triad is None
    for text in ("N", "N.C.", "NC", "X"):
        assert parse_chord(text) == NO_CHORD


# ------------------------------------------------------- lead-sheet symbols
@pytest.mark.parametrize(
    ("symbol", "label"),
    [
        ("C", "C:maj"),
        ("Am", "A:min"),
        ("G7", "G:7"),
        ("Fmaj7", "F:maj7"),
        ("F/A", "F:maj/3"),
        ("Bdim", "B:dim"),
        ("Dsus4", "D:sus4"),
        ("E-7", "D#:7"),  # music21 writes flats as '-'
        ("B-m", "A#:min"),
        ("Bbm7/Db", "A#:min7/b3"),
        ("Dbm7", "C#:min7"),
        ("C/G", "C:maj/5"),
        ("Cm7b5", "C:hdim7"),
        ("Cø", "C:hdim7"),
        ("C°7", "C:dim7"),
        ("CM7", "C:maj7"),
        ("CΔ", "C:maj7"),
        ("Cmaj", "C:maj"),
        ("Cmin7", "C:min7"),
        ("C+", "C:aug"),
        ("Csus", "C:sus4"),
        ("C7sus4", "C:sus4(b7)"),
        ("CmM7", "C:minmaj7"),
        ("Cm(maj7)", "C:minmaj7"),
        ("C6", "C:maj6"),
        ("Cm6", "C:min6"),
        ("C9", "C:9"),
        ("CM9", "C:maj9"),
        ("Cm9", "C:min9"),
        ("C5", "C:5"),
        ("Cb", "B:maj"),
        ("B#", "C:maj"),
    ],
)
def test_lead_sheet_symbols(symbol: str, label: str) -> None:
    assert parse_chord(symbol).label == label


@pytest.mark.parametrize("index", range(len(QUALITIES)))
def test_every_quality_parses_from_its_symbol(index: int) -> None:
    symbol = "A" + QUALITIES[index].symbol
    assert parse_chord(symbol) == Chord(9, index, 9)
    assert parse_chord(symbol).symbol == symbol


def test_symbols_and_labels_print() -> None:
    assert parse_chord("A:min7/b7").symbol == "Am7/G"
    assert parse_chord("Bb:maj7/3").symbol == "Bbmaj7/D"
    assert parse_chord("F#:hdim7").symbol == "F#m7b5"
    assert parse_chord("Ab").label == "G#:maj"
    assert parse_chord("G7").pitch_classes == (2, 5, 7, 11)
    assert parse_chord("Am7").triad == "min" and parse_chord("Bdim").triad is None


# ------------------------------------------------------------ round trips
chords_st = st.builds(
    Chord,
    st.integers(0, 11),
    st.integers(0, len(QUALITIES) - 1),
    st.integers(0, 11),
)


@given(chords_st)
@settings(max_examples=300, deadline=None)
def test_label_and_symbol_round_trip(chord: Chord) -> None:
    assert parse_chord(chord.label) == chord
    assert parse_chord(chord.symbol) == chord
    assert chord.bass in chord.pitch_classes and chord.root in chord.pitch_classes


@given(st.integers(0, 11), st.integers(0, len(QUALITIES) - 1))
@settings(max_examples=100, deadline=None)
def test_root_position_has_no_slash(root: int, quality: int) -> None:
    chord = Chord(root, quality, root)
    assert "/" not in chord.label and "/" not in chord.symbol


# ------------------------------------------------------------- bad labels
@pytest.mark.parametrize(
    "label",
    ["", "H7", "C:foo", "Cfoo", "C/H", "C:maj/x", "C/Gx", "C:maj/b", "C#:min7/10", "n", "7"],
)
def test_bad_labels_raise_naming_the_label(label: str) -> None:
    with pytest.raises(ValueError, match=re.escape(f"unknown chord {label!r}")):
        parse_chord(label)


def test_bad_quality_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: maj, min, dim"):
        parse_chord("C:maj13")


# -------------------------------------------------------------- arrays
def test_make_chords_and_labels() -> None:
    chords = make_chords(["C", "G/B", "Am", "N", parse_chord("F:maj7")], range(0, 20, 4), [4] * 5)
    assert chords.dtype == CHORD_DTYPE
    assert chords["start"].tolist() == [0, 4, 8, 12, 16]
    assert chord_labels(chords) == ["C:maj", "G:maj/3", "A:min", "N", "F:maj7"]
    assert chord_labels(chords, style="symbol") == ["C", "G/B", "Am", "N.C.", "Fmaj7"]
    assert chords[3][["root", "quality", "bass"]].tolist() == (-1, -1, -1)
    with pytest.raises(ValueError, match="style"):
        chord_labels(chords, style="roman")
    with pytest.raises(ValueError, match="unknown chord 'Q'"):
        make_chords(["Q"], [0], [1])
    assert len(make_chords([], [], [])) == 0


def test_chord_tone_mask() -> None:
    chords = make_chords(["C", "Am7", "N", "G/F", "D:5"], range(5), [1] * 5)
    mask = chord_tone_mask(chords)
    assert mask.shape == (5, 12) and mask.dtype == bool
    assert [row.nonzero()[0].tolist() for row in mask] == [
        [0, 4, 7],
        [0, 4, 7, 9],
        [],
        [2, 5, 7, 11],  # the bass F joins G's triad
        [2, 9],
    ]
    assert chord_tone_mask(make_chords([], [], [])).shape == (0, 12)


@given(st.lists(chords_st | st.just(NO_CHORD), max_size=8))
@settings(max_examples=100, deadline=None)
def test_chord_tone_mask_matches_pitch_classes(chords: list[Chord]) -> None:
    mask = chord_tone_mask(make_chords(chords, range(len(chords)), [1] * len(chords)))
    for row, chord in zip(mask, chords, strict=True):
        assert tuple(row.nonzero()[0].tolist()) == chord.pitch_classes


def test_transpose_chords() -> None:
    chords = make_chords(["C/E", "N", "B:min7"], [0, 4, 8], [4, 4, 4])
    up = transpose_chords(chords, 2)
    assert chord_labels(up) == ["D:maj/3", "N", "C#:min7"]
    assert chord_labels(transpose_chords(chords, -13)) == ["B:maj/3", "N", "A#:min7"]
    assert chord_labels(chords) == ["C:maj/3", "N", "B:min7"]  # the input is not changed
    assert up["start"].tolist() == chords["start"].tolist()


@given(st.lists(chords_st | st.just(NO_CHORD), max_size=6), st.integers(-30, 30))
@settings(max_examples=100, deadline=None)
def test_transpose_chords_round_trips(chords: list[Chord], k: int) -> None:
    array = make_chords(chords, range(len(chords)), [1] * len(chords))
    back = transpose_chords(transpose_chords(array, k), -k)
    assert np.array_equal(back, array)
    assert np.array_equal(transpose_chords(array, 12 * (k % 3)), array)


def test_chords_in() -> None:
    chords = make_chords(["C", "G", "Am", "F"], [0, 4, 8, 12], [4, 4, 4, 4])
    part = chords_in(chords, 2, 10)
    assert chord_labels(part) == ["C:maj", "G:maj", "A:min"]
    assert part[["start", "duration"]].tolist() == [(0.0, 2.0), (2.0, 4.0), (6.0, 2.0)]
    assert len(chords_in(chords, 4, 4)) == 0
    assert len(chords_in(chords, 16, 20)) == 0  # after the last chord
    assert chords_in(chords, 4, 8)[["start", "duration"]].tolist() == [(0.0, 4.0)]
    assert chords_in(chords, -2, 30)["start"].tolist() == [2.0, 6.0, 10.0, 14.0]


def test_sorted_chords() -> None:
    chords = sorted_chords(make_chords(["G", "C", "Am"], [4, 0, 4], [4, 4, 4]))
    assert chords["start"].tolist() == [0, 4, 4]
    assert chord_labels(chords) == ["C:maj", "G:maj", "A:min"]  # stable for equal onsets
    assert not chords.flags.writeable
    from_rows = sorted_chords([(4.0, 2.0, 7, 0, 7), (0.0, 4.0, 0, 0, 0)])
    assert from_rows.dtype == CHORD_DTYPE and from_rows["root"].tolist() == [0, 7]
    assert len(sorted_chords([])) == 0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(0.0, 0.0, 0, 0, 0)], "durations must be > 0"),
        ([(0.0, -1.0, 0, 0, 0)], "durations must be > 0"),
        ([(0.0, 1.0, 12, 0, 0)], "pitch classes 0..11"),
        ([(0.0, 1.0, 0, len(QUALITIES), 0)], "qualities indices"),
    ],
)
def test_sorted_chords_errors(rows: list[tuple[float, float, int, int, int]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sorted_chords(rows)


@pytest.mark.parametrize(
    "row",
    [
        (0.0, 1.0, 0, 0, 12),  # chord_labels / chord_tone_mask then raise IndexError
        (0.0, 1.0, 0, 0, -1),  # reads as C:maj/7 (bass -1 indexes B)
        (0.0, 1.0, 0, -1, 0),  # reads as C:5 (quality -1 indexes the last quality)
        (0.0, 1.0, -1, 0, 3),  # reads as N
        (np.nan, 1.0, 0, 0, 0),
        (0.0, np.inf, 0, 0, 0),
    ],
)
def test_sorted_chords_rejects_inconsistent_rows(row: tuple[float, float, int, int, int]) -> None:
    with pytest.raises(ValueError, match="chord"):
        sorted_chords([row])


POP909_CHORDS = sorted(DATA.glob("pop909/*/chord_midi.txt"))


@pytest.mark.skipif(not POP909_CHORDS, reason=f"no shared POP909 data in {DATA}")
def test_every_pop909_label_parses_and_round_trips() -> None:
    labels = {
        line.split()[2]
        for path in POP909_CHORDS
        for line in path.read_text().splitlines()
        if len(line.split()) >= 3
    }
    assert len(labels) > 50
    for label in labels:
        chord = parse_chord(label)
        assert parse_chord(chord.label) == chord, label
