"""popgen.data.usage: what a run records about its songs, and who reads it back.

A tiny run is trained once per module on four POP909-like three-track songs
read with ``tracks=["MELODY"], transpose_to="C"``; the tests check what it
recorded, that ``Sampler.from_run`` samples with the recorded strategy and
meter, and that ``popgen evaluate`` reads three-track reference songs as the
training songs were read.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from conftest import make_pop909_midi

import popgen
from popgen.cli import main
from popgen.corpus.options import CorpusOptions
from popgen.data.usage import RunUsage, usage_for
from popgen.music.chords import chord_labels
from popgen.music.keys import PITCH_CLASSES
from popgen.music.song import Song, make_notes
from popgen.music.time import TimeSignature
from popgen.sampling import Sampler
from popgen.sampling.recipe import DEFAULT_STRATEGY
from popgen.sampling.strategies import History

BPM = 120.0
SPB = 60.0 / BPM
OFFSET = 0.25  # notes and annotated beats lie this far off MIDI's beat grid
BARS = 8
MOTIF = [0, 2, 4, 5, 7, 5, 4, 2]  # scale steps of a melody bar, eighth notes
KEYS = {"001": 0, "002": 7, "003": 5, "004": 2}  # C, G, F, D major


# ------------------------------------------------------------- RunUsage
def test_round_trip() -> None:
    usage = RunUsage(
        reading=CorpusOptions(
            tracks=["MELODY", 2], transpose_to="C", chords="given", roles={"BRIDGE": "second"}
        ),
        meter=(3, 4),
        strategy="top_p=0.9",
    )
    assert RunUsage.from_dict(usage.to_dict()) == usage
    as_json = json.loads(json.dumps(usage.to_dict()))  # as popgen.json holds it
    assert RunUsage.from_dict(as_json) == usage
    assert as_json["meter"] == [3, 4] and as_json["strategy"] == "top_p=0.9"
    assert as_json["reading"]["tracks"] == ["MELODY", 2]
    assert RunUsage.from_dict(RunUsage().to_dict()) == RunUsage()


def test_defaults_for_old_runs() -> None:
    assert RunUsage.from_dict(None) == RunUsage() == RunUsage.from_dict({})
    default = RunUsage()
    assert default.reading is None and default.meter == (4, 4)
    assert default.strategy is None  # the recipe of the run's encoding, chosen when sampling
    assert RunUsage.from_dict({"meter": [6, 8]}).meter == (6, 8)


def test_unknown_reading_options_are_ignored() -> None:
    data = RunUsage(reading=CorpusOptions(tracks=["MELODY"])).to_dict()
    data["reading"]["option_from_the_future"] = 7
    data["something_else"] = {"x": 1}
    usage = RunUsage.from_dict(data)
    assert usage.reading == CorpusOptions(tracks=["MELODY"])


def test_meter_is_checked() -> None:
    assert RunUsage(meter=(np.int64(6), np.int64(8))).meter == (6, 8)
    assert type(RunUsage(meter=(np.int64(6), 8)).meter[0]) is int
    for bad in ((0, 4), (4, 0), (-3, 4)):
        with pytest.raises(ValueError, match="meter"):
            RunUsage(meter=bad)


def test_usage_for_takes_the_common_meter() -> None:
    waltz = Song(make_notes([60], [0], [12]), time_signatures=[TimeSignature(0, 3, 4)])
    barred = Song(make_notes([60], [0], [12]), bars=[0.0, 6.0, 12.0])
    options = CorpusOptions(tracks=["MELODY"])
    assert usage_for([waltz], options).meter == (3, 4)
    assert usage_for([waltz], options).reading == options
    assert usage_for([barred, waltz], None).meter == (3, 4)  # 4 bars of 3/4, 2 of 6/4
    assert usage_for([barred], None).meter == (6, 4)
    assert usage_for([], None).meter == (4, 4)


# ------------------------------------------------------------ a tiny run
def write_song(root: Path, name: str, tonic: int) -> None:
    """A POP909 song folder: MELODY, BRIDGE and PIANO off the beat grid, 2/4 declared."""
    scale = [0, 2, 4, 5, 7, 9, 11, 12, 14]
    turn = int(name) % len(MOTIF)
    motif = MOTIF[turn:] + MOTIF[:turn]  # each song its own tune
    notes = []
    for bar in range(BARS):
        shift = (bar % 4) * (1 if bar < 4 else -1)
        for i, step in enumerate(motif):
            pitch = 60 + tonic + scale[min(max(step + shift, 0), len(scale) - 1)]
            notes.append((pitch, 4 * bar + i / 2 + OFFSET, 0.5, 90, 0))
        notes.append((55 + tonic, 4 * bar + OFFSET, 4.0, 70, 1))
        for pitch in (48, 52, 55):
            notes.append((pitch + tonic, 4 * bar + OFFSET, 4.0, 60, 2))
    folder = root / name
    folder.mkdir()
    make_pop909_midi(folder / f"{name}.mid", notes, BPM)
    beats = [f"{(i + OFFSET) * SPB:.6f} 1.0 {float(i % 4 == 0)}" for i in range(4 * BARS)]
    (folder / "beat_midi.txt").write_text("\n".join(beats) + "\n")
    label = f"{PITCH_CLASSES[tonic]}:maj"
    chords = [
        f"{(4 * b + OFFSET) * SPB:.6f}\t{(4 * b + 4 + OFFSET) * SPB:.6f}\t{label}"
        for b in range(BARS)
    ]
    (folder / "chord_midi.txt").write_text("\n".join(chords) + "\n")


@pytest.fixture(scope="module")
def songs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pop909")
    for name, tonic in KEYS.items():
        write_song(root, name, tonic)
    return root


@pytest.fixture(scope="module")
def corpus(songs_dir: Path) -> popgen.Corpus:
    return popgen.Corpus.from_paths(
        [songs_dir], tracks=["MELODY"], transpose_to="C", cache_dir=None, workers=1
    )


@pytest.fixture(scope="module")
def run_dir(corpus: popgen.Corpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    tok = popgen.get_tokenizer("note").fit(list(corpus))
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    config = popgen.TrainConfig(epochs=1, batch_size=2, seq_len=8, max_steps=2, valid_fraction=0.0)
    popgen.train(model, tok, corpus, config, out=out, progress=False)
    return out


def test_the_corpus_is_read_as_asked(corpus: popgen.Corpus) -> None:
    assert len(corpus) == 4
    assert corpus.options == CorpusOptions(tracks=["MELODY"], transpose_to="C")
    for song in corpus:
        assert [t.name for t in song.tracks] == ["MELODY"]
        assert song.key in ("C major", "A minor")
        assert song.bars.tolist() == [4.0 * b for b in range(BARS)]
        assert song.notes["start"].min() == 0.0
        assert set(chord_labels(song.chords)) == {"C:maj"}  # the chords moved with the notes


def test_the_run_records_how_its_songs_were_read(run_dir: Path) -> None:
    meta = json.loads((run_dir / "popgen.json").read_text())
    usage = meta["usage"]
    assert usage["reading"]["tracks"] == ["MELODY"]
    assert usage["reading"]["transpose_to"] == "C"
    assert usage["meter"] == [4, 4]
    assert usage["strategy"] == DEFAULT_STRATEGY
    run = popgen.load_run(run_dir)
    assert run.usage.reading == CorpusOptions(tracks=["MELODY"], transpose_to="C")
    assert run.usage.meter == (4, 4)
    assert run.usage == RunUsage.from_dict(usage)


def allowed_pitches(sampler: Sampler) -> set[int]:
    """The pitches ``sampler``'s strategy (grammar included) allows as a song's first token."""
    vocab = sampler.tokenizer.vocab_size
    strategy = sampler.strategy
    logits, _ = strategy.apply(jnp.zeros((1, vocab)), strategy.init(1), History.empty(1, 8))
    pitches = sampler.tokenizer.token_pitches()
    return set(pitches[np.isfinite(np.asarray(logits[0])) & (pitches >= 0)].tolist())


def test_sampler_from_run_uses_the_recorded_strategy_and_meter(run_dir: Path) -> None:
    run = popgen.load_run(run_dir)
    assert Sampler.from_run(run).meter == (4, 4)
    assert Sampler.from_run(run, meter=(6, 8)).meter == (6, 8)  # a meter given wins
    run.usage = dataclasses.replace(run.usage, strategy="pitch_range(60, 62)", meter=(3, 4))
    assert allowed_pitches(Sampler.from_run(run)) == {60, 61, 62}
    assert len(allowed_pitches(Sampler.from_run(run, ""))) > 3  # "" samples plainly
    songs = Sampler.from_run(run).generate(num_tokens=45, batch_size=4, seed=0)
    pitches = np.concatenate([s.notes["pitch"] for s in songs])
    assert len(pitches) >= 40 and set(pitches.tolist()) <= {60, 61, 62}
    for song in songs:
        assert song.time_signatures[0] == TimeSignature(0.0, 3, 4)
        assert song.bar_lines()[1] == 3.0


def test_evaluate_reads_three_track_references_as_the_run_did(
    run_dir: Path, songs_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["evaluate", str(run_dir), "--reference", str(songs_dir)]
    args += ["--samples", "4", "--tokens", "16"]  # no reading flags: the run's are used
    assert main(args) == 0, capsys.readouterr().err
    out, err = capsys.readouterr()
    assert "bars: generated 4/4, reference 4/4" in out
    assert "pass a track index" not in err
    # flags still win over the recorded reading: all three tracks are now too many
    assert main([*args, "--tracks", "MELODY", "BRIDGE", "PIANO"]) == 1
    assert "has 3 tracks" in capsys.readouterr().err
