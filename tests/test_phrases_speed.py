"""POP909's phrase labels, placed fast, placed as before: issue 30.

:func:`align_phrases` (every shift at once), :func:`melody_grid` (no loop per
note) and :func:`read_phrase_melody` (one numpy pass for the usual file)
against the loops they replace, kept here as the reference.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from popgen.formats.phrases import (
    SHIFT_PENALTY,
    Alignment,
    _bar_counts,
    _number_pairs,
    align_phrases,
    melody_grid,
    read_phrase_melody,
)
from popgen.music.song import Song, Track, make_notes


# ------------------------------------------------------------ the reference loops
def align_loop(labels: np.ndarray, song: np.ndarray, window: int = 8) -> Alignment:
    """``align_phrases`` as it was: one shift at a time, the programme on float rows."""
    reach = 16 * window
    bars = max(1, -(-len(labels) // 16))
    mine = np.zeros(bars * 16, dtype=np.int16)
    mine[: len(labels)] = labels
    padded = np.zeros(len(mine) + 2 * reach, dtype=np.int16)
    padded[reach : reach + len(song[: len(mine) + reach])] = song[: len(mine) + reach]
    shifts = np.arange(-reach, reach + 1)
    same = np.zeros((bars, len(shifts)), dtype=np.int64)
    either = np.zeros((bars, len(shifts)), dtype=np.int64)
    for i, shift in enumerate(shifts.tolist()):
        other = padded[reach + shift : reach + shift + len(mine)]
        sounding = (mine > 0) | (other > 0)
        same[:, i] = ((mine == other) & sounding).reshape(bars, 16).sum(axis=1)
        either[:, i] = sounding.reshape(bars, 16).sum(axis=1)
    score = 2 * same - either
    total = score[0].astype(np.float64)
    back = np.zeros((bars, len(shifts)), dtype=np.int64)
    for bar in range(1, bars):
        best = int(np.argmax(total))
        stay = total >= total[best] - SHIFT_PENALTY
        back[bar] = np.where(stay, np.arange(len(shifts)), best)
        total = np.where(stay, total, total[best] - SHIFT_PENALTY) + score[bar]
    path = [int(np.argmax(total))]
    for bar in range(bars - 1, 0, -1):
        path.append(int(back[bar, path[-1]]))
    path.reverse()
    rows = np.arange(bars)
    matched, sounding_total = same[rows, path].sum(), either[rows, path].sum()
    agreement = float(matched / sounding_total) if sounding_total else 0.0
    constant = same.sum(axis=0) / np.maximum(either.sum(axis=0), 1)
    used = shifts[path]
    far = np.abs(shifts[:, None] - used[None, :]).min(axis=1) >= 8
    runner_up = float(constant[far].max()) if far.any() else 0.0
    return Alignment(tuple(int(s) for s in used), agreement, runner_up)


def grid_loop(song: Song, track: int) -> list[int]:
    """``melody_grid`` as it was: each note's steps raised to its pitch, one note at a time."""
    middles = (np.arange(int(np.ceil(song.end * 4))) + 0.5) / 4
    grid = np.zeros(len(middles), dtype=np.int16)
    notes = song.notes[song.notes["track"] == track]
    first = np.searchsorted(middles, notes["start"])
    last = np.searchsorted(middles, notes["start"] + notes["duration"])
    for pitch, a, b in zip(notes["pitch"].tolist(), first.tolist(), last.tolist(), strict=True):
        grid[a:b] = np.maximum(grid[a:b], pitch)
    return grid.tolist()


def melody_lines(text: str) -> list[int] | str:
    """``read_phrase_melody``'s line-by-line rule: the grid, or where the file is bad."""
    pitches, lengths = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        try:
            pitch, length = int(parts[0]), int(parts[1])
        except (IndexError, ValueError):
            pitch, length = -1, -1
        if len(parts) != 2 or not 0 <= pitch <= 127 or not 0 <= length <= 100_000:
            return f"line {number}"
        pitches.append(pitch)
        lengths.append(length)
    return np.repeat(np.array(pitches, dtype=np.int16), lengths).tolist()


# ------------------------------------------------------------------------- the tests
def random_pair(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A labels' melody and a song's: few pitches (many ties), sometimes the one in the other."""
    labels = (rng.integers(0, 3, rng.integers(0, 160)) * rng.integers(0, 2)).astype(np.int16)
    song = rng.integers(0, 3, rng.integers(0, 300)).astype(np.int16)
    if rng.random() < 0.5:
        song = np.concatenate([np.zeros(rng.integers(0, 40), np.int16), labels, song])
    return labels, song


@pytest.mark.parametrize("window", [0, 1, 8])
def test_align_phrases_is_the_loop_over_shifts(window: int) -> None:
    rng = np.random.default_rng(window)
    for _ in range(60):
        labels, song = random_pair(rng)
        assert align_phrases(labels, song, window=window) == align_loop(labels, song, window)


def test_bar_counts_add_up_each_bar() -> None:
    rng = np.random.default_rng(3)
    flags = rng.random((5, 7 * 16)) < 0.5
    expected = flags.reshape(5, 7, 16).sum(axis=2)
    assert _bar_counts(flags, 7).tolist() == expected.tolist()
    wide = rng.random((5, 9 * 16)) < 0.5  # a view whose rows are not contiguous
    assert _bar_counts(wide[:, :112], 7).tolist() == wide[:, :112].reshape(5, 7, 16).sum(2).tolist()


def test_melody_grid_is_the_loop_over_notes() -> None:
    rng = np.random.default_rng(5)
    for _ in range(30):
        count = int(rng.integers(1, 40))
        notes = make_notes(
            rng.integers(40, 90, count).tolist(),
            (rng.integers(0, 64, count) / 8).tolist(),  # overlapping, some shorter than a step
            (rng.integers(1, 24, count) / 8).tolist(),
            track=rng.integers(0, 2, count).tolist(),
        )
        song = Song(notes, tracks=(Track("MELODY"), Track("PIANO")))
        for track in (0, 1):
            grid = melody_grid(song, track)
            assert grid.dtype == np.int16
            assert grid.tolist() == grid_loop(song, track)


WORDS = ["0", "60", "127", "128", "4", "007", "100000", "100001", "1234567890", "-1", "+3", "1_0"]
JUNK = [" ", "\t", "\n", "\r\n", "\r", "x", "é", "\x0b", "\x1c", "60 4 1"]


def test_read_phrase_melody_reads_as_the_lines_do(tmp_path: Path) -> None:
    rng = random.Random(7)
    path = tmp_path / "phrases_melody.txt"
    texts = ["", "\n", "60 4", "60 4\r\n\r\n0 12\n", "60  4\n\t0\t2 \n"]
    for _ in range(400):
        lines = [f"{rng.choice(WORDS)} {rng.choice(WORDS)}" for _ in range(rng.randrange(6))]
        text = "\n".join(lines)
        at = rng.randrange(len(text) + 1)
        texts.append(text[:at] + "".join(rng.choices(JUNK, k=rng.randrange(3))) + text[at:])
    for text in texts:
        path.write_bytes(text.encode())
        expected = melody_lines(text)
        if isinstance(expected, str):
            with pytest.raises(ValueError, match=f"{path}, {expected}:"):
                read_phrase_melody(path)
        else:
            found = read_phrase_melody(path)
            assert found.dtype == np.int16
            assert found.tolist() == expected, repr(text)


def test_number_pairs_takes_only_plain_pairs() -> None:
    assert _number_pairs(b"").tolist() == []  # type: ignore[union-attr]
    assert _number_pairs(b"60 4\r\n\n 0\t12 \n").tolist() == [[60, 4], [0, 12]]  # type: ignore[union-attr]
    for text in (b"60 4 1", b"60\n4", b"60", b"+60 4", b"1_0 4", b"60 4x", b"1234567890 1"):
        assert _number_pairs(text) is None, text
