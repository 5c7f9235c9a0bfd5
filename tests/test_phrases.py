"""POP909 phrase labels: reading, aligning with the song's melody, attaching through the corpus."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import make_pop909_midi
from hypothesis import given
from hypothesis import strategies as st

import popgen
from popgen.corpus.options import CorpusOptions
from popgen.corpus.reading import read_file
from popgen.formats.phrases import (
    Alignment,
    align_phrases,
    melody_grid,
    melody_track,
    read_phrase_labels,
    read_phrase_melody,
    with_inferred_sections,
    with_phrase_sections,
)
from popgen.metrics import section_repetition
from popgen.music.sections import Section, format_form, parse_form
from popgen.music.song import Song, Track, make_notes

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "pop909"
BPM = 120.0
rng = np.random.default_rng(909)
PHRASE_A = rng.integers(60, 72, 16).tolist()  # four bars, a note a beat
PHRASE_B = rng.integers(72, 84, 16).tolist()
TUNE = PHRASE_A + PHRASE_B + PHRASE_A  # "A4 B4 A4"


def write_folder(
    root: Path, *, lead: int = 1, labels: str = "A4B4A4", tune: list[int] = TUNE, rest: int = 0
) -> Path:
    """A POP909-like folder: ``lead`` silent bars, then ``tune``; labels, their melody."""
    folder = root / "001"
    folder.mkdir(parents=True)
    start = 4 * lead
    notes = [(p, start + i, 1.0, 80, 0) for i, p in enumerate(tune)]
    notes += [(48, 4.0 * b, 4.0, 80, 2) for b in range(lead + len(tune) // 4)]  # the piano
    make_pop909_midi(folder / "001.mid", notes, BPM)
    beats = [
        f"{i * 60 / BPM:.6f} {float(i % 2 == 0)} {float(i % 4 == 0)}"
        for i in range(start + len(tune))
    ]
    (folder / "beat_midi.txt").write_text("\n".join(beats) + "\n")
    (folder / "phrases_1.txt").write_text(labels + "\n")
    (folder / "phrases_2.txt").write_text("A8A4\n")
    lines = [f"0 {16 * rest}\n"] * bool(rest) + [f"{p} 4\n" for p in tune]
    (folder / "phrases_melody.txt").write_text("".join(lines))
    return folder


def read_one(folder: Path, **options: object) -> Song:
    corpus = popgen.Corpus.from_paths([folder], cache_dir=None, workers=1, **options)
    assert len(corpus) == 1
    return corpus[0]


# ------------------------------------------------------------------ files
def test_read_phrase_labels_and_melody(tmp_path: Path) -> None:
    (tmp_path / "l.txt").write_text("i4A8B8x4A8B8o4\n")
    assert format_form(read_phrase_labels(tmp_path / "l.txt")) == "i4 A8 B8 x4 A8 B8 o4"
    (tmp_path / "bad.txt").write_text("i4A8?\n")
    with pytest.raises(ValueError, match=r"bad.txt: form: '\?' at 4 is not a section"):
        read_phrase_labels(tmp_path / "bad.txt")
    (tmp_path / "m.txt").write_text("0 2\n60 3\n\n62 1\n")
    assert read_phrase_melody(tmp_path / "m.txt").tolist() == [0, 0, 60, 60, 60, 62]
    for line in ("60", "60 x", "130 4", "60 -1", "60 4 1"):
        (tmp_path / "m.txt").write_text(f"0 4\n{line}\n")
        with pytest.raises(ValueError, match=r"m.txt, line 2: .* is not 'pitch length_in_16ths'"):
            read_phrase_melody(tmp_path / "m.txt")


def test_melody_grid_and_track() -> None:
    tracks = (Track("PIANO"), Track("MELODY"))
    song = Song(
        make_notes([48, 72, 74], [0, 0, 0.5], [2, 0.5, 0.25], track=[0, 1, 1]), tracks=tracks
    )
    assert melody_track(song) == 1
    assert melody_grid(song, 1).tolist() == [72, 72, 74, 0, 0, 0, 0, 0]
    assert melody_track(Song(song.notes, tracks=(Track("A"), Track("B")))) is None
    roles = (Track("PIANO", role="melody"), Track("MELODY"))  # the role wins
    assert melody_track(Song(song.notes, tracks=roles)) == 0


# ------------------------------------------------------------------ alignment
def test_align_follows_dropped_beats() -> None:
    tune = np.array(TUNE, dtype=np.int16).repeat(4)  # 16ths
    song = np.concatenate([np.zeros(16, np.int16), tune[:64], np.zeros(8, np.int16), tune[64:]])
    found = align_phrases(tune, song)
    assert found.shifts == (16,) * 4 + (24,) * 8 and found.agreement == 1.0 and found.accepted
    assert found.bar_lines()[[0, 4, 5, 12]].tolist() == [4.0, 22.0, 26.0, 54.0]


def test_align_rejects_another_melody() -> None:
    tune = np.array(TUNE, dtype=np.int16).repeat(4)
    other = np.random.default_rng(1).integers(60, 84, len(tune)).astype(np.int16).repeat(1)
    found = align_phrases(tune, other)
    assert not found.accepted and found.agreement < 0.5


@given(st.integers(-40, 40))
def test_align_finds_any_shift(shift: int) -> None:
    tune = np.array(TUNE, dtype=np.int16).repeat(4)
    song = np.concatenate([np.zeros(max(shift, 0), np.int16), tune[max(-shift, 0) :]])
    found = align_phrases(tune, song)
    assert found.shifts[-1] == shift and found.accepted


def test_alignment_acceptance() -> None:
    assert Alignment((0,), 0.9, 0.69).accepted
    assert not Alignment((0,), 0.9, 0.71).accepted  # not clear of another shift
    assert not Alignment((0,), 0.45, 0.0).accepted  # too little agreement


# ------------------------------------------------------------------ attaching
def test_labels_attach_where_the_melody_lies(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, lead=2)
    song = read_file(folder / "001.mid")[0]
    assert format_form(song.sections) == "-2 A4 B4 A4"
    assert section_repetition(song.select_tracks([0])) == 1.0
    second = with_phrase_sections(song.replace(sections=()), folder, labelling=2)
    assert format_form(second.sections) == "-2 A8 A4"
    with pytest.raises(ValueError, match="labelling must be 1 or 2"):
        with_phrase_sections(song, folder, labelling=3)


def test_labels_past_the_song_are_cut(tmp_path: Path) -> None:
    # the labels' bar 2 is the song's bar 0; o4 lies after the song's 12 bars
    folder = write_folder(tmp_path, lead=0, labels="i3A3B4A4o4", rest=2)
    song = read_file(folder / "001.mid")[0]
    assert format_form(song.sections) == "i1 A3 B4 A4"


def test_no_labels_no_sections_and_no_warning(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    for name in ("phrases_1.txt", "phrases_2.txt"):
        (folder / name).unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert read_file(folder / "001.mid")[0].sections == ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: (f / "phrases_melody.txt").unlink(), "no phrases_melody.txt"),
        (lambda f: (f / "phrases_1.txt").write_text("A4?"), "is not a section"),
        (lambda f: (f / "phrases_melody.txt").write_text("60 4 4\n"), "line 1"),
        (
            lambda f: (f / "phrases_melody.txt").write_text(
                "".join(f"{60 + i % 3} 4\n" for i in range(48))
            ),
            "phrase labels left out: their melody matches the song's at best",
        ),
    ],
)
def test_bad_labels_warn_and_leave_the_song(tmp_path: Path, change, message: str) -> None:  # type: ignore[no-untyped-def]
    folder = write_folder(tmp_path)
    change(folder)
    with pytest.warns(UserWarning, match=f"{folder}: .*{message}"):
        song = read_file(folder / "001.mid")[0]
    assert song.sections == ()


def test_no_melody_track_warns(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    song = read_file(folder / "001.mid", CorpusOptions(sections="none"))[0]
    two = song.replace(tracks=(Track("V1"), Track("V2"), Track("V3")))
    with pytest.warns(UserWarning, match="no melody track"):
        assert with_phrase_sections(two, folder).sections == ()


# ------------------------------------------------------------------ the corpus option
def test_section_rules(tmp_path: Path) -> None:
    folder = write_folder(tmp_path, lead=1)
    assert format_form(read_one(folder).sections) == "-1 A4 B4 A4"
    assert read_one(folder, sections="none").sections == ()
    inferred = read_one(folder, sections="infer").sections  # 8-bar phrases: A B, then A
    assert format_form(inferred) == "i1 A8 A4"
    for name in ("phrases_1.txt", "phrases_2.txt"):
        (folder / name).unlink()
    assert read_one(folder).sections == ()
    assert format_form(read_one(folder, sections="auto").sections) == "i1 A8 A4"
    with pytest.raises(ValueError, match="sections must be one of labels, auto, infer, none"):
        CorpusOptions(sections="guess")


def test_cache_notices_changed_labels(tmp_path: Path) -> None:
    folder = write_folder(tmp_path)
    cache = tmp_path / "cache"

    def cached() -> Song:
        return popgen.Corpus.from_paths([folder], cache_dir=cache, workers=1)[0]

    assert format_form(cached().sections) == "-1 A4 B4 A4"
    assert format_form(cached().sections) == "-1 A4 B4 A4"  # from the cache
    (folder / "phrases_1.txt").write_text("A8B4\n")
    assert format_form(cached().sections) == "-1 A8 B4"


def test_with_inferred_sections_needs_a_melody() -> None:
    song = Song(make_notes([60, 48], [0, 0], [1, 1], track=[0, 1]), tracks=(Track("a"), Track("b")))
    assert with_inferred_sections(song) is song
    one = Song(make_notes([60, 62, 64, 65] * 2, range(8), [1] * 8))
    assert with_inferred_sections(one, phrase_bars=1).sections == (
        Section("A", 0, 1),
        Section("A", 1, 1),
    )


# ------------------------------------------------------------------ POP909
@pytest.mark.skipif(not DATA.is_dir(), reason="POP909 not in ../shared/data")
@pytest.mark.parametrize("name", ["001", "002", "050", "301", "650"])
def test_pop909_labels_attach(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the files' own chord and beat warnings
        song = read_file(DATA / name / f"{name}.mid")[0]
    labels = read_phrase_labels(DATA / name / "phrases_1.txt")
    assert song.sections, name
    assert [s.label for s in song.sections] == [s.label for s in labels][: len(song.sections)]
    assert song.sections[-1].end_bar <= len(song.bar_lines()) - 1
    assert 0 <= section_repetition(song.select_tracks([melody_track(song) or 0])) <= 1
    assert parse_form(format_form(song.sections)) == song.sections
