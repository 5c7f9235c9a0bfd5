"""POP909-style beat and chord annotations beside a MIDI file, read through the corpus."""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from conftest import make_midi, make_pop909_midi

import popgen
from popgen.formats.annotations import (
    annotation_files,
    apply_annotations,
    read_beat_file,
    read_chord_file,
)
from popgen.music.chords import chord_labels
from popgen.music.song import Song, make_notes
from popgen.music.time import TempoChange, TimeSignature

BPM = 100.0
SPB = 60.0 / BPM  # seconds per MIDI beat
OFFSET = 0.25  # the notes (and the annotated beats) lie this far after MIDI's beat grid
BEATS = 16  # four bars of four beats
#: (pitch, MIDI beat, beats) of each track before the offset: melody, second voice, piano
MELODY = [(72, 0, 1), (74, 1, 1), (76, 2, 2), (74, 4, 2), (71, 6, 2), (72, 8, 4), (77, 12, 4)]
BRIDGE = [(67, 0, 4), (67, 4, 4), (69, 8, 4), (69, 12, 4)]
PIANO = [
    *((p, 0, 4) for p in (48, 52, 55)),  # C
    *((p, 4, 4) for p in (47, 50, 55)),  # G/B
    *((p, 8, 4) for p in (45, 48, 52, 55)),  # Am7
    *((p, 12, 4) for p in (41, 45, 48)),  # F
]
CHORDS = ["C:maj", "G:maj/3", "A:min7", "F:maj"]


def beat_lines(count: int = BEATS, offset: float = OFFSET, first_down: int = 0) -> list[str]:
    """POP909's beat_midi.txt lines: time (s), a 0/1 marker, downbeat 0/1."""
    return [
        f"{(i + offset) * SPB:.6f} {float(i % 2 == 0)} {float((i - first_down) % 4 == 0)}"
        for i in range(count)
    ]


def chord_lines(labels: Sequence[str] = CHORDS, offset: float = OFFSET) -> list[str]:
    """POP909's chord_midi.txt lines: start (s), end (s), label; one chord per bar."""
    return [
        f"{(4 * i + offset) * SPB:.6f}\t{(4 * i + 4 + offset) * SPB:.6f}\t{label}"
        for i, label in enumerate(labels)
    ]


def write_song(
    root: Path,
    name: str = "001",
    *,
    beats: Sequence[str] | None = None,
    chords: Sequence[str] | None = None,
    copies: int = 1,
    offset: float = OFFSET,
) -> Path:
    """A POP909 song folder ``root/name/name.mid`` (2/4 declared) with its annotations.

    ``copies`` writes every melody note that many times; ``None`` annotations
    are the regular ones, ``[]`` an empty file.
    """
    folder = root / name
    folder.mkdir(parents=True)
    notes = [
        (p, b + offset, d, 80, track)
        for track, part in enumerate((MELODY, BRIDGE, PIANO))
        for p, b, d in part
        for _ in range(copies if track == 0 else 1)
    ]
    make_pop909_midi(folder / f"{name}.mid", notes, BPM)
    lines = {"beat_midi.txt": beats, "chord_midi.txt": chords}
    defaults = {"beat_midi.txt": beat_lines(), "chord_midi.txt": chord_lines()}
    for file, given in lines.items():
        text = "\n".join(defaults[file] if given is None else given)
        (folder / file).write_text(text + "\n" if text else "")
    return folder


def read(folder: Path, **options: object) -> Song:
    corpus = popgen.Corpus.from_paths([folder], cache_dir=None, workers=1, **options)
    assert len(corpus) == 1
    return corpus[0]


def expected_notes() -> list[tuple[int, float, float, int]]:
    rows = [
        (p, float(b), float(d), track)
        for track, part in enumerate((MELODY, BRIDGE, PIANO))
        for p, b, d in part
    ]
    return sorted(rows, key=lambda r: (r[1], r[3], r[0]))


def note_rows(song: Song) -> list[tuple[int, float, float, int]]:
    return [
        (int(p), s, d, int(t))
        for p, s, d, t in song.notes[["pitch", "start", "duration", "track"]].tolist()
    ]


# ---------------------------------------------------------- the whole path
def test_annotated_song_reads_onto_its_beats_bars_and_chords(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # good annotations read without a warning
        song = read(write_song(tmp_path))
    assert note_rows(song) == expected_notes()  # moved 0.25 beats earlier, onto the beats
    assert song.bars.tolist() == [0.0, 4.0, 8.0, 12.0]
    assert song.time_signatures == (TimeSignature(0.0, 4, 4),)  # not the file's 2/4
    assert song.bar_lines().tolist() == [0, 4, 8, 12, 16]
    assert chord_labels(song.chords) == CHORDS
    assert song.chords[["start", "duration"]].tolist() == [(0, 4), (4, 4), (8, 4), (12, 4)]
    assert [t.name for t in song.tracks] == ["MELODY", "BRIDGE", "PIANO"]
    assert [t.role for t in song.tracks] == ["melody", "second", "accompaniment"]
    assert song.tempos[0] == TempoChange(0.0, BPM)
    assert song.merged_notes == 0


def test_pickup_before_the_first_downbeat(tmp_path: Path) -> None:
    song = read(write_song(tmp_path, beats=beat_lines(first_down=1)))
    assert song.bars.tolist() == [1.0, 5.0, 9.0, 13.0]
    assert song.time_signatures == (TimeSignature(0.0, 1, 4), TimeSignature(1.0, 4, 4))
    assert song.bar_lines().tolist() == [0, 1, 5, 9, 13, 17]


def test_a_note_before_the_first_beat_moves_the_song_later(tmp_path: Path) -> None:
    folder = write_song(tmp_path)
    midi = folder / "001.mid"
    notes = [
        (p, b + OFFSET, d, 80, t)
        for t, part in enumerate((MELODY, BRIDGE, PIANO))
        for p, b, d in part
    ]
    make_midi(
        midi,
        [*notes, (36, 0.0, 0.25, 80, 2)],  # a note at MIDI beat 0, before the first beat
        tempos=[(0.0, BPM)],
        time_signatures=[(0.0, 2, 4)],
        track_names=["MELODY", "BRIDGE", "PIANO"],
    )
    song = read(folder)
    assert song.notes["start"].min() == pytest.approx(0.75)  # 0.75 later: nothing before 0
    assert song.bars.tolist() == [1.0, 5.0, 9.0, 13.0]
    assert song.chords["start"].tolist() == [1.0, 5.0, 9.0, 13.0]
    melody = song.notes[song.notes["track"] == 0]
    assert melody["start"].tolist() == [b + 1.0 for _, b, _ in MELODY]


def test_tempo_change_is_followed(tmp_path: Path) -> None:
    """Beats and chords in seconds go through the tempo map (100 bpm, then 60 at beat 8)."""
    folder = tmp_path / "002"
    folder.mkdir()
    notes = [
        (p, b + OFFSET, d, 80, t)
        for t, part in enumerate((MELODY, BRIDGE, PIANO))
        for p, b, d in part
    ]
    make_midi(
        folder / "002.mid",
        notes,
        tempos=[(0.0, BPM), (8.0, 60.0)],
        track_names=["MELODY", "BRIDGE", "PIANO"],
    )

    def seconds(beat: float) -> float:
        return beat * SPB if beat <= 8 else 8 * SPB + (beat - 8) * 1.0

    beats = [f"{seconds(i + OFFSET):.6f} 1 {int(i % 4 == 0)}" for i in range(BEATS)]
    chords = [
        f"{seconds(4 * i + OFFSET):.6f} {seconds(4 * i + 4 + OFFSET):.6f} {label}"
        for i, label in enumerate(CHORDS)
    ]
    (folder / "beat_midi.txt").write_text("\n".join(beats))
    (folder / "chord_midi.txt").write_text("\n".join(chords))
    song = read(folder)
    assert note_rows(song) == expected_notes()
    assert song.bars.tolist() == [0.0, 4.0, 8.0, 12.0]
    assert song.chords[["start", "duration"]].tolist() == [(0, 4), (4, 4), (8, 4), (12, 4)]
    assert [(t.beat, t.bpm) for t in song.tempos] == [(0.0, BPM), (7.75, 60.0)]


# ------------------------------------------------------------ the options
def test_chords_infer_ignores_the_chord_file(tmp_path: Path) -> None:
    song = read(write_song(tmp_path), chords="infer")
    labels = chord_labels(song.chords)
    assert labels and labels != CHORDS
    assert "G:maj/3" not in labels  # inference gives no inversions
    assert song.bars.tolist() == [0.0, 4.0, 8.0, 12.0]  # the beats are still read
    assert note_rows(song) == expected_notes()


def test_chords_none_and_given(tmp_path: Path) -> None:
    folder = write_song(tmp_path)
    none = read(folder, chords="none")
    assert len(none.chords) == 0 and none.bars.tolist() == [0.0, 4.0, 8.0, 12.0]
    given = read(folder, chords="given")
    assert chord_labels(given.chords) == CHORDS


def test_annotations_off_reads_the_midi_as_it_is(tmp_path: Path) -> None:
    song = read(write_song(tmp_path), annotations=False)
    assert len(song.bars) == 0
    assert song.time_signatures == (TimeSignature(0.0, 2, 4),)
    assert song.notes["start"].min() == OFFSET  # not moved
    assert "G:maj/3" not in chord_labels(song.chords)  # chords: inferred, not read
    off = read(tmp_path / "001", annotations=False, chords="given")
    assert len(off.chords) == 0


def test_tracks_option_keeps_bars_and_chords(tmp_path: Path) -> None:
    song = read(write_song(tmp_path), tracks=["MELODY"])
    assert [t.role for t in song.tracks] == ["melody"]
    assert chord_labels(song.chords) == CHORDS
    assert song.bars.tolist() == [0.0, 4.0, 8.0, 12.0]


# -------------------------------------------------------------- the cache
def test_cache_gives_the_same_songs_and_notices_a_changed_chord_file(tmp_path: Path) -> None:
    folder = write_song(tmp_path / "songs")
    cache = tmp_path / "cache"

    def cached() -> Song:
        corpus = popgen.Corpus.from_paths([folder], cache_dir=cache, workers=1)
        return corpus[0]

    first, second = cached(), cached()
    assert len(list(cache.rglob("*.songs"))) == 1
    for a, b in ((first, second), (first, read(folder))):
        assert np.array_equal(a.notes, b.notes)
        assert np.array_equal(a.chords, b.chords)
        assert a.bars.tolist() == b.bars.tolist()
        assert a.tracks == b.tracks and a.time_signatures == b.time_signatures
        assert a.tempos == b.tempos and a.key == b.key and a.source == b.source
    (folder / "chord_midi.txt").write_text("\n".join(chord_lines(["D:min", "G:7", "C:maj", "N"])))
    changed = cached()
    assert chord_labels(changed.chords) == ["D:min", "G:7", "C:maj", "N"]
    assert len(list(cache.rglob("*.songs"))) == 2
    (folder / "beat_midi.txt").write_text("\n".join(beat_lines(first_down=1)))
    assert cached().bars.tolist() == [1.0, 5.0, 9.0, 13.0]


# -------------------------------------------------------------- bad input
def warns_about(path: Path, what: str):  # type: ignore[no-untyped-def]
    return pytest.warns(UserWarning, match=re.escape(str(path)) + ".*" + what)


def test_chords_past_the_end_are_cut(tmp_path: Path) -> None:
    lines = [*chord_lines(), f"{(16 + OFFSET) * SPB:.6f} {(40 + OFFSET) * SPB:.6f} C:maj"]
    folder = write_song(tmp_path, chords=lines)
    with warns_about(folder / "chord_midi.txt", "after the song's end"):
        song = read(folder)
    assert song.chords["start"][-1] + song.chords["duration"][-1] <= song.end + 1.0
    assert chord_labels(song.chords)[:4] == CHORDS


def test_overlapping_chords_are_cut_at_the_next(tmp_path: Path) -> None:
    lines = chord_lines()
    lines[0] = f"{OFFSET * SPB:.6f} {(6 + OFFSET) * SPB:.6f} C:maj"  # runs 2 beats into G/B
    folder = write_song(tmp_path, chords=lines)
    with warns_about(folder / "chord_midi.txt", "overlap"):
        song = read(folder)
    assert song.chords[["start", "duration"]].tolist() == [(0, 4), (4, 4), (8, 4), (12, 4)]
    assert chord_labels(song.chords) == CHORDS


def test_beats_out_of_order_are_sorted(tmp_path: Path) -> None:
    lines = beat_lines()
    lines[3], lines[4] = lines[4], lines[3]
    lines.append(lines[7])  # and one repeated
    folder = write_song(tmp_path, beats=lines)
    with warns_about(folder / "beat_midi.txt", "out of order"):
        song = read(folder)
    assert song.bars.tolist() == [0.0, 4.0, 8.0, 12.0]
    assert note_rows(song) == expected_notes()


def test_unknown_chord_label_reads_as_no_chord(tmp_path: Path) -> None:
    folder = write_song(tmp_path, chords=chord_lines(["C:maj", "G:foo13", "A:min7", "F:maj"]))
    with warns_about(folder / "chord_midi.txt", r"unknown chord labels \(G:foo13\)"):
        song = read(folder)
    assert chord_labels(song.chords) == ["C:maj", "N", "A:min7", "F:maj"]


def test_beats_not_one_midi_beat_apart_are_kept_where_they_are(tmp_path: Path) -> None:
    lines = [f"{(i / 2 + OFFSET) * SPB:.6f} 1 {int(i % 8 == 0)}" for i in range(2 * BEATS)]
    folder = write_song(tmp_path, beats=lines)
    with warns_about(folder / "beat_midi.txt", "not one MIDI beat apart"):
        song = read(folder)
    assert song.notes["start"].min() == OFFSET  # not moved
    assert song.bars.tolist() == pytest.approx([OFFSET, 4 + OFFSET, 8 + OFFSET, 12 + OFFSET])
    assert song.bar_lines()[:3].tolist() == pytest.approx([0, OFFSET, 4 + OFFSET])


def test_a_chord_starting_before_the_first_beat_is_clipped_not_dropped(tmp_path: Path) -> None:
    lines = chord_lines()
    lines[0] = f"0.0 {(4 + OFFSET) * SPB:.6f} C:maj"
    song = read(write_song(tmp_path, chords=lines))
    assert chord_labels(song.chords) == CHORDS
    assert song.chords[["start", "duration"]].tolist() == [(0, 4), (4, 4), (8, 4), (12, 4)]


def test_empty_beat_file(tmp_path: Path) -> None:
    folder = write_song(tmp_path, beats=[])
    with warns_about(folder / "beat_midi.txt", "no beats"):
        song = read(folder)
    assert len(song.bars) == 0
    assert song.time_signatures == (TimeSignature(0.0, 2, 4),)
    assert song.notes["start"].min() == OFFSET
    assert chord_labels(song.chords) == CHORDS  # the chords are still read
    assert song.chords["start"].tolist() == [OFFSET + 4 * i for i in range(4)]


def test_beat_file_without_downbeats(tmp_path: Path) -> None:
    lines = [f"{(i + OFFSET) * SPB:.6f} 1.0 0.0" for i in range(BEATS)]
    folder = write_song(tmp_path, beats=lines)
    with warns_about(folder / "beat_midi.txt", "no downbeats"):
        song = read(folder)
    assert len(song.bars) == 0
    assert note_rows(song) == expected_notes()  # still moved onto the beats
    assert chord_labels(song.chords) == CHORDS


def test_garbage_lines_are_skipped(tmp_path: Path) -> None:
    beats = ["# beats", *beat_lines()[:8], "oops", "nan 0 0", "-1 0 1", *beat_lines()[8:]]
    chords = ["start end label", *chord_lines(), "1.0", "2.0 x C:maj", "5.0 4.0 G:maj"]
    folder = write_song(tmp_path, beats=beats, chords=chords)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        song = read(folder)
    messages = [str(w.message) for w in caught]
    assert any(
        f"{folder / 'beat_midi.txt'}: skipped 4 unreadable beat lines" in m for m in messages
    )
    assert any(f"{folder / 'chord_midi.txt'}: skipped 4 unreadable" in m for m in messages)
    assert song.bars.tolist() == [0.0, 4.0, 8.0, 12.0]
    assert chord_labels(song.chords) == CHORDS


def test_binary_garbage_does_not_crash(tmp_path: Path) -> None:
    folder = write_song(tmp_path)
    (folder / "beat_midi.txt").write_bytes(b"\xff\xfe\x00garbage\x00\n\x80\x81")
    (folder / "chord_midi.txt").write_bytes(b"\x00\x01\x02 \xff\n")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        song = read(folder)
    messages = " ".join(str(w.message) for w in caught)
    assert "beat_midi.txt" in messages and "chord_midi.txt" in messages
    assert len(song.bars) == 0 and song.num_notes == len(expected_notes())


def test_two_midi_files_in_a_folder_ignore_the_annotations(tmp_path: Path) -> None:
    folder = write_song(tmp_path)
    Song(make_notes([60, 64], [0, 1], [1, 1])).write_midi(folder / "other.mid")
    assert annotation_files(folder / "001.mid") == (None, None)
    corpus = popgen.Corpus.from_paths([folder], cache_dir=None, workers=1, chords="given")
    assert len(corpus) == 2
    for song in corpus:
        assert len(song.bars) == 0 and len(song.chords) == 0
    song = next(s for s in corpus if s.title == "001")
    assert song.time_signatures == (TimeSignature(0.0, 2, 4),)
    assert song.notes["start"].min() == OFFSET


def test_annotation_files_found_alone(tmp_path: Path) -> None:
    folder = write_song(tmp_path)
    beat, chord = annotation_files(folder / "001.mid")
    assert beat == folder / "beat_midi.txt" and chord == folder / "chord_midi.txt"
    (folder / "beat_midi.txt").unlink()
    assert annotation_files(folder / "001.mid") == (None, folder / "chord_midi.txt")
    song = read(folder)  # chords without beats: in MIDI beats, not moved
    assert len(song.bars) == 0
    assert song.chords["start"].tolist() == [OFFSET + 4 * i for i in range(4)]


# ------------------------------------------------------- the module itself
def test_read_beat_and_chord_files(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("0.0 1 1\n0.5 0 0\n1.0 1 0\n\n1.5 0 0\n2.0\n")
    times, down = read_beat_file(tmp_path / "b.txt")
    assert times.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert down.tolist() == [True, False, False, False, False]
    (tmp_path / "c.txt").write_text("0 2 C:maj\n2 4 Bb:min7/b3\n4 4 G:maj\n")
    with pytest.warns(UserWarning, match=r"c\.txt: skipped 1"):
        segments = read_chord_file(tmp_path / "c.txt")
    assert [(a, b, c.label) for a, b, c in segments] == [(0, 2, "C:maj"), (2, 4, "A#:min7/b3")]


def test_apply_annotations_merges_repeated_no_chords(tmp_path: Path) -> None:
    song = Song(make_notes([60, 64], [0.5, 4.5], [4, 4]), tempos=[TempoChange(0, 60)])
    beats = "".join(f"{0.5 + i} 0 {int(i % 4 == 0)}\n" for i in range(8))
    (tmp_path / "beat_midi.txt").write_text(beats)
    chords = "".join(f"{0.5 + i} {1.5 + i} N\n" for i in range(4)) + "4.5 8.5 A:min\n"
    (tmp_path / "chord_midi.txt").write_text(chords)
    out = apply_annotations(song, tmp_path / "beat_midi.txt", tmp_path / "chord_midi.txt")
    assert out.notes["start"].tolist() == [0.0, 4.0]
    assert chord_labels(out.chords) == ["N", "A:min"]
    assert out.chords[["start", "duration"]].tolist() == [(0.0, 4.0), (4.0, 4.0)]
    assert apply_annotations(song, None, None) is song


# --------------------------------------------------------- duplicate notes
def test_duplicate_melody_notes_are_merged_and_counted(tmp_path: Path) -> None:
    write_song(tmp_path, "001", copies=3)
    write_song(tmp_path, "002")
    corpus = popgen.Corpus.from_paths([tmp_path], cache_dir=None, workers=1)
    tripled, plain = corpus
    assert tripled.merged_notes == 2 * len(MELODY) and plain.merged_notes == 0
    assert note_rows(tripled) == note_rows(plain) == expected_notes()
    assert f"{2 * len(MELODY)} duplicate notes merged in 1 songs" in corpus.describe()
    assert "chords in 2 songs; annotated bars in 2 songs" in corpus.describe(details=True)
    cached = popgen.Corpus.from_paths([tmp_path], cache_dir=tmp_path / "c", workers=1)
    again = popgen.Corpus.from_paths([tmp_path], cache_dir=tmp_path / "c", workers=1)
    assert [s.merged_notes for s in again] == [s.merged_notes for s in cached] == [14, 0]


# ------------------------------------------------------------- real songs
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
POP909 = sorted(p for p in DATA.glob("pop909/00[1-3]") if p.is_dir())


@pytest.mark.skipif(not POP909, reason=f"no shared POP909 data in {DATA}")
def test_real_pop909_songs_land_on_their_beats() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        read_as_is = popgen.Corpus.from_paths(POP909, cache_dir=None, workers=1, annotations=False)
        corpus = popgen.Corpus.from_paths(POP909, cache_dir=None, workers=1)
    for plain, song in zip(read_as_is, corpus, strict=True):
        starts = song.notes["start"]
        on_grid = np.abs(starts * 4 - np.round(starts * 4)) < 0.02
        assert on_grid.mean() > 0.85, song.title  # sixteenth-note grid after the move
        assert song.num_notes == plain.num_notes
        lengths = np.diff(song.bars)
        assert np.mean(lengths == 4.0) > 0.9 and len(song.bars) > 40
        assert len(song.chords) > 40 and song.chords["start"].min() >= 0
        assert np.all(np.diff(song.chords["start"]) > 0)
        assert [t.role for t in song.tracks] == ["melody", "second", "accompaniment"]
        assert len(plain.bars) == 0
    assert "annotated bars in 3 songs" in corpus.describe(details=True)
