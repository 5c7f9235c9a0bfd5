"""popgen's song metrics against muspy's (the reference implementation) on real music.

muspy (https://salu133445.github.io/muspy/) defines several of the metrics of
:mod:`popgen.metrics`. Each popgen song is converted to a ``muspy.Music`` in
ticks (every onset and offset lands exactly on a tick, so beat positions are
identical) and both libraries measure it. The songs:

* the MELODY track of POP909 songs 781-800 from ``../shared/data/pop909``
  (skipped when the shared data is absent, as in a user's clone);
* tunes and chorales of music21's bundled corpus (always available): the
  Essen folk songs of ``essenFolksong/kinder0`` (one voice, 2/4, 3/4, 3/8,
  6/8 and 4/4) and two four-part Bach chorales.

Metrics defined the same way, compared directly (``popgen`` = ``muspy``):

* ``pitch_class_entropy`` = ``pitch_class_entropy``
* ``scale_consistency`` = ``scale_consistency``
* ``pitch_range`` = ``pitch_range`` (apart from an empty song: ``nan`` vs 0)
* ``pitches_used`` = ``n_pitches_used``

Metrics whose definitions differ in a stated way, compared after translating
one convention into the other (see each test):

* ``polyphony``: popgen counts *notes* sounding, muspy counts distinct
  *pitches* sounding (a boolean pianoroll), so two notes of one pitch that
  overlap in time count twice in popgen and once in muspy.
* ``empty_beat_rate``: popgen takes a note's span as ``[start, end)``; muspy
  as the closed ``[start, end]`` in ticks, so a note ending exactly on a beat
  line also marks the next beat sounding, and muspy's song is
  ``end // resolution + 1`` beats long (one more than popgen's when the song
  ends on a beat line).
* ``groove_consistency``: muspy measures onsets at the music's own tick
  resolution in bars of ``measure_resolution`` ticks, and has
  ``length // measure_resolution + 1`` bars (closed end again); popgen rounds
  onsets to a 1/4-beat grid and follows :meth:`popgen.music.song.Song.bar_lines`,
  skipping pairs of bars of different lengths. Compared on songs whose bars
  all have one length.

Left out:

* ``polyphony_rate``: popgen is the share of *sounding* 1/4-beat steps with at
  least two notes; muspy's is the share of *all* ticks from 0 to the end
  (silent ones included) with more than ``threshold`` (default 2, so at least
  three) distinct pitches. The grid, the denominator and the threshold all
  differ, so no translation gives one from the other.
* muspy metrics popgen does not define: ``pitch_entropy``,
  ``n_pitch_classes_used``, ``empty_measure_rate``, ``pitch_in_scale_rate``
  and the drum metrics.

muspy is a ``dev`` extra; the module is skipped without it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from popgen.formats.midi_reading import read_midi
from popgen.formats.score_reading import load_music21_corpus
from popgen.metrics import (
    empty_beat_rate,
    groove_consistency,
    pitch_class_entropy,
    pitch_range,
    pitches_used,
    polyphony,
    scale_consistency,
)
from popgen.music.song import Song, make_notes

muspy = pytest.importorskip("muspy")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
POP909 = [DATA / "pop909" / f"{i:03d}" / f"{i:03d}.mid" for i in range(781, 801)]
MUSIC21 = ["essenFolksong/kinder0", "bach/bwv66.6", "bach/bwv4.8"]

#: Ticks per beat: POP909's own, and a multiple of 3, 4, 5, 8 and 16 so that the
#: music21 pieces' onsets and durations (triplets included) land on ticks.
RESOLUTION = 480
#: Both sides compute the same sums in floating point, in different orders.
TOLERANCE = 1e-9


# ------------------------------------------------------------------ the songs
def load_songs() -> list[tuple[str, Song]]:
    """(name, song) of every song compared: the POP909 melodies present, then music21's."""
    out: list[tuple[str, Song]] = []
    for path in POP909:
        if not path.exists():
            continue
        song = read_midi(path)
        melody = [i for i, track in enumerate(song.tracks) if track.name == "MELODY"]
        assert len(melody) == 1, f"{path.name}: tracks {[t.name for t in song.tracks]}"
        out.append((f"pop909/{path.stem}", song.select_tracks(melody)))
    for name in MUSIC21:
        out += [(song.source, song) for song in load_music21_corpus(name)]
    assert all(not track.is_drum for _, song in out for track in song.tracks)  # muspy skips drums
    return out


@pytest.fixture(scope="module")
def songs() -> list[tuple[str, Song]]:
    return load_songs()


def test_pop909_songs_present_when_the_shared_data_is() -> None:
    if not (DATA / "pop909").is_dir():
        pytest.skip(f"no shared POP909 data in {DATA}")
    missing = [path.name for path in POP909 if not path.exists()]
    assert not missing, missing


def to_music(
    song: Song, resolution: int = RESOLUTION, *, closed: bool = False, grid: bool = False
) -> Any:
    """``song`` as a ``muspy.Music`` of ``resolution`` ticks per beat, one muspy track per track.

    Args:
        song: the song.
        resolution: ticks per beat.
        closed: end every note one tick early, so that muspy's closed note
            spans ``[start, end]`` cover the ticks of popgen's ``[start, end)``.
        grid: round onsets to the nearest tick (as numpy does, half to even)
            and offsets up to a tick; without it every time must already lie
            on a tick.
    """
    start = song.notes["start"] * resolution
    end = (song.notes["start"] + song.notes["duration"]) * resolution
    if grid:
        on = np.round(start).astype(np.int64)
        off = np.maximum(np.ceil(end - 1e-6).astype(np.int64), on + 1)
    else:
        on, off = np.round(start).astype(np.int64), np.round(end).astype(np.int64)
        assert np.abs(start - on).max() < 1e-6, f"{song.source}: onsets off the tick grid"
        assert np.abs(end - off).max() < 1e-6, f"{song.source}: offsets off the tick grid"
    off = off - 1 if closed else off
    tracks = [
        muspy.Track(program=track.program or 0, is_drum=track.is_drum, name=track.name, notes=[])
        for track in song.tracks
    ]
    for note, t, e in zip(song.notes, on.tolist(), off.tolist(), strict=True):
        tracks[int(note["track"])].notes.append(
            muspy.Note(
                time=t,
                pitch=int(note["pitch"]),
                duration=max(e - t, 0),
                velocity=int(note["velocity"]),
            )
        )
    return muspy.Music(resolution=resolution, tracks=tracks)


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) <= TOLERANCE


# ------------------------------------------------------------ same definition
SAME: dict[str, tuple[Callable[[Song], float], str]] = {
    "pitch_class_entropy": (pitch_class_entropy, "pitch_class_entropy"),
    "scale_consistency": (scale_consistency, "scale_consistency"),
    "pitch_range": (pitch_range, "pitch_range"),
    "pitches_used": (pitches_used, "n_pitches_used"),
}


@pytest.mark.parametrize("name", list(SAME))
def test_same_definition_same_value(songs: list[tuple[str, Song]], name: str) -> None:
    ours, theirs = SAME[name][0], getattr(muspy, SAME[name][1])
    wrong = [
        f"{source}: popgen {a!r}, muspy {b!r}"
        for source, song in songs
        if not _close(a := ours(song), b := float(theirs(to_music(song))))
    ]
    assert not wrong, wrong


# ----------------------------------------------------- translated definitions
def _pitch_union(song: Song) -> Song:
    """``song`` with the overlapping notes of each pitch (any track) joined into one note."""
    pitch, start, end = [], [], []
    for p in np.unique(song.notes["pitch"]):
        mine = song.notes[song.notes["pitch"] == p]
        order = np.argsort(mine["start"], kind="stable")
        s, e = mine["start"][order], (mine["start"] + mine["duration"])[order]
        reach = np.maximum.accumulate(e)
        new = np.concatenate([[True], s[1:] >= reach[:-1]])  # starts after all before it end
        pitch += [int(p)] * int(new.sum())
        start += s[new].tolist()
        end += np.maximum.reduceat(e, np.flatnonzero(new)).tolist()
    durations = np.array(end) - np.array(start)
    return Song(make_notes(pitch, start, durations.tolist()), source=song.source)


def test_polyphony(songs: list[tuple[str, Song]]) -> None:
    """popgen counts notes, muspy distinct pitches: equal once same-pitch overlaps are joined.

    Where no two notes of one pitch overlap the values agree directly; where
    some do (a POP909 melody restriking a held note, two chorale voices in
    unison) popgen's is the larger, and popgen on the song with each pitch's
    overlapping notes joined gives muspy's value.
    """
    wrong, differ = [], 0
    for source, song in songs:
        ours, theirs = polyphony(song), float(muspy.polyphony(to_music(song)))
        joined = _pitch_union(song)
        if joined.num_notes == song.num_notes:  # no same-pitch overlap
            if not _close(ours, theirs):
                wrong.append(f"{source}: popgen {ours!r}, muspy {theirs!r}")
            continue
        differ += 1
        if not ours > theirs or not _close(polyphony(joined), theirs):
            wrong.append(
                f"{source}: popgen {ours!r} ({polyphony(joined)!r} with same-pitch overlaps "
                f"joined), muspy {theirs!r}"
            )
    assert not wrong, wrong
    assert differ < len(songs)  # most songs are compared directly


def test_empty_beat_rate(songs: list[tuple[str, Song]]) -> None:
    """popgen's half-open note spans are muspy's closed spans one tick shorter."""
    wrong = [
        f"{source}: popgen {a!r}, muspy {b!r}"
        for source, song in songs
        if not _close(
            a := empty_beat_rate(song),
            b := float(muspy.empty_beat_rate(to_music(song, closed=True))),
        )
    ]
    assert not wrong, wrong


def _bar_steps(song: Song) -> int | None:
    """1/4-beat steps per bar when every bar of the song has that length, else ``None``."""
    lengths = np.diff(song.bar_lines()) * 4
    steps = round(float(lengths[0]))
    return steps if np.allclose(lengths, steps, rtol=0, atol=1e-6) and steps > 0 else None


def test_groove_consistency(songs: list[tuple[str, Song]]) -> None:
    """Same on the 1/4-beat grid (resolution 4) with closed note ends, on one-meter songs."""
    wrong, compared = [], 0
    for source, song in songs:
        steps = _bar_steps(song)
        if steps is None:  # a change of meter or given irregular bars: muspy has one bar length
            continue
        compared += 1
        music = to_music(song, 4, closed=True, grid=True)
        a, b = groove_consistency(song), float(muspy.groove_consistency(music, steps))
        if not _close(a, b):
            wrong.append(f"{source}: popgen {a!r}, muspy {b!r} ({steps} steps a bar)")
    assert not wrong, wrong
    assert compared >= len(songs) // 2


def test_the_conventions_do_differ() -> None:
    """Without the translations above, the stated differences show on a tiny song."""
    # two beats, two one-beat notes of one pitch overlapping by half a beat
    song = Song(make_notes([60, 60], [0, 0.5], [1, 1]))
    music = to_music(song)
    assert polyphony(song) == 2 / 1.5
    assert float(muspy.polyphony(music)) == 1.0
    # one note on beat 0, one on beat 3: popgen 2 of 4 beats empty, muspy 1 of 5
    song = Song(make_notes([60, 62], [0, 3], [1, 1]))
    assert empty_beat_rate(song) == 0.5
    assert float(muspy.empty_beat_rate(to_music(song))) == pytest.approx(1 - 4 / 5)
    assert float(muspy.empty_beat_rate(to_music(song, closed=True))) == 0.5
