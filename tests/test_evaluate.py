"""`popgen evaluate` and `popgen.evaluation.compute`: metrics, likelihood against an n-gram,
copying."""

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import make_midi

import popgen
from popgen.cli import main
from popgen.evaluation.compute import EvaluationConfig, evaluate, split_reference

SCALE = [60, 62, 64, 65, 67, 69, 71, 72]


def tune(rng: np.random.Generator, bars: int = 8) -> list[tuple[int, float, float, int]]:
    """A random-walk melody in C major, eighths and quarters."""
    notes, beat, step = [], 0.0, 3
    while beat < 4 * bars:
        step = int(np.clip(step + rng.integers(-2, 3), 0, len(SCALE) - 1))
        length = float(rng.choice([0.5, 1.0]))
        notes.append((SCALE[step], beat, length, int(rng.choice([64, 96]))))
        beat += length
    return notes


@pytest.fixture(scope="module")
def songs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tunes")
    rng = np.random.default_rng(0)
    for i in range(12):
        make_midi(folder / f"tune{i:02d}.mid", tune(rng))
    return folder


@pytest.fixture(scope="module")
def run_dir(songs_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    args = ["train", str(songs_dir), "--out", str(out), "--epochs", "2", "--seq-len", "16"]
    args += ["--hidden-size", "16", "--embed-dim", "8", "--num-layers", "1", "--batch-size", "4"]
    args += ["--valid-fraction", "0.25", "--no-cache", "--workers", "1", "--quiet"]
    assert main(args) == 0
    return out


def test_the_run_records_its_split_and_evaluation_finds_it(run_dir: Path, songs_dir: Path) -> None:
    run = popgen.load_run(run_dir)
    recorded = run.state.to_dict()["songs"]  # as written in popgen.json
    assert len(recorded["train"]) == 9 and len(recorded["valid"]) == 3
    assert list(run.state.valid_songs) == recorded["valid"]
    songs = list(popgen.Corpus.from_paths([songs_dir], cache_dir=None, workers=1))
    train, held = split_reference(run, songs)
    assert sorted(Path(s.source).name for s in held) == recorded["valid"]
    assert len(train) == 9


def test_split_falls_back_to_the_runs_seed(run_dir: Path, songs_dir: Path) -> None:
    run = popgen.load_run(run_dir)
    run.state = dataclasses.replace(run.state, train_songs=(), valid_songs=())
    songs = list(popgen.Corpus.from_paths([songs_dir], cache_dir=None, workers=1))
    with pytest.warns(UserWarning, match="splitting them by the run's seed"):
        train, held = split_reference(run, songs)
    assert len(train) == 9 and len(held) == 3  # train() splits a corpus the same way


def test_evaluate_measures_music_likelihood_and_copying(run_dir: Path, songs_dir: Path) -> None:
    run = popgen.load_run(run_dir)
    songs = list(popgen.Corpus.from_paths([songs_dir], cache_dir=None, workers=1))
    report = evaluate(run, songs, EvaluationConfig(samples=4, tokens=60, ngram_order=3))
    assert len(report.songs) == 4
    assert set(report.generated) == set(report.ranges) == set(report.reference)
    low, high = report.ranges["pitch_range"]
    assert low <= high
    assert report.lstm is not None and report.ngram is not None
    assert report.lstm.tokens == report.ngram.tokens > 0  # the same targets
    held_songs = split_reference(run, songs)[1]
    assert report.lstm.notes == sum(s.num_notes for s in held_songs)
    assert math.isfinite(report.nll_gain)
    held = report.copying["held_out"]
    assert held is not None and 0 <= held.copied_share <= 1
    text = report.table()
    assert "held-out NLL per token" in text and "copying, generated songs" in text
    data = report.to_dict()
    assert data["likelihood"]["ngram_order"] == 3
    assert 0 <= data["goal_share"] <= 1


def test_tokens_default_to_the_held_out_songs_length(run_dir: Path, songs_dir: Path) -> None:
    run = popgen.load_run(run_dir)
    songs = list(popgen.Corpus.from_paths([songs_dir], cache_dir=None, workers=1))
    report = evaluate(run, songs, EvaluationConfig(samples=2))
    _, held = split_reference(run, songs)
    notes = np.median([s.num_notes for s in held])
    generated = np.median([s.num_notes for s in report.songs])
    assert 0.5 * notes <= generated <= 1.5 * notes


def test_cli_evaluate_writes_json_and_png(
    run_dir: Path, songs_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "eval.json"
    png = tmp_path / "eval.png"
    args = ["evaluate", str(run_dir), "--reference", str(songs_dir), "--samples", "3"]
    args += ["--tokens", "40", "--json", str(out), "--png", str(png)]
    args += ["--no-cache", "--workers", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "pitch_class_entropy" in printed and "reference 5-95%" in printed
    data = json.loads(out.read_text())
    assert data["config"]["samples"] == 3
    assert data["metrics"]["longest_pitch_run"]["reference_range"][0] >= 1
    assert data["copying"]["generated"]["copied_share"] is not None
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_multitrack_reference_needs_a_track_choice(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "band"
    folder.mkdir()
    make_midi(folder / "band.mid", [(60, 0, 1, 80, 0), (48, 0, 2, 80, 1)])
    args = ["evaluate", str(run_dir), "--reference", str(folder), "--samples", "2"]
    args += ["--tokens", "20", "--no-cache", "--workers", "1"]
    assert main(args) == 1
    assert "merge" in capsys.readouterr().err
    assert main([*args, "--track", "merge"]) == 0


def test_bad_settings_are_errors() -> None:
    with pytest.raises(ValueError, match="samples"):
        EvaluationConfig(samples=0)
    with pytest.raises(ValueError, match="copy_n"):
        EvaluationConfig(copy_n=0)


def test_write_png_leaves_the_matplotlib_backend_alone(tmp_path: Path) -> None:
    import matplotlib

    from popgen.evaluation.report import Evaluation

    values = {"pitch_range": np.array([3.0, 5.0, 8.0]), "polyphony": np.array([1.0, math.nan])}
    report = Evaluation(
        config=EvaluationConfig(),
        ranges={"pitch_range": (3.2, 7.7), "polyphony": (1.0, 1.0)},
        generated=values,
        held_out=values,
        reference=values,
        comparisons={},
        lstm=None,
        ngram=None,
        copying={},
    )
    before = matplotlib.get_backend()
    matplotlib.use("svg")  # a backend the user chose, say in a notebook
    try:
        report.write_png(tmp_path / "evaluation.png")
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)
    assert (tmp_path / "evaluation.png").read_bytes()[:4] == b"\x89PNG"


def test_a_pop_run_is_scored_on_every_part_and_measured_on_the_chosen_one() -> None:
    """Likelihood on what the run was trained on; metrics on melody against melody."""
    import jax
    import jax.numpy as jnp

    from popgen.metrics.likelihood import encode_songs
    from popgen.metrics.music import choose_track
    from popgen.metrics.sets import metric_table
    from popgen.music.song import Song, Track, make_notes
    from popgen.runs.run import Run

    rng = np.random.default_rng(1)
    tracks = (Track("MELODY", role="melody"), Track("PIANO", role="accompaniment"))
    songs = []
    for i in range(4):
        melody = tune(rng, bars=4)
        chords = [(p - 12, 4.0 * bar, 4.0, 70) for bar in range(4) for p in (48, 52, 55)]
        rows = [(*n, 0) for n in melody] + [(*n, 1) for n in chords]
        pitch, start, length, velocity, track = zip(*rows, strict=True)
        notes = make_notes(pitch, start, length, velocity, track=track)
        songs.append(Song(notes, tracks=tracks, source=f"{i}.mid"))
    tok = popgen.get_tokenizer("pop").fit(songs)
    model = popgen.LSTMModel(vocab_size=tok.vocab_size, embed_dim=4, hidden_size=8, num_layers=1)
    run = Run(model, tok, model.init(jax.random.key(0), jnp.zeros((1, 4), jnp.int32)))
    config = EvaluationConfig(samples=2, tokens=40, track=0)
    report = evaluate(run, songs, config, train_songs=songs[:3], held_out=songs[3:])
    assert report.lstm is not None
    assert report.lstm.tokens == len(encode_songs(tok, songs[3:]).ids[0]) - 1  # both parts
    melodies = [choose_track(s, 0) for s in report.songs if len(s.tracks) > 1]
    assert melodies, "the generated songs have melody and accompaniment"
    table = metric_table(melodies)
    measured = report.generated["pitches_used"][[len(s.tracks) > 1 for s in report.songs]]
    assert np.allclose(table["pitches_used"], measured)
