"""`popgen sweep`: a grid of runs on one split, resumable, with a Markdown report."""

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import make_midi
from test_evaluate import tune

import popgen.sweep.grid
from popgen.cli import main
from popgen.sweep.grid import SweepConfig, plan
from popgen.sweep.report import markers


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sweep")
    rng = np.random.default_rng(1)
    (root / "songs").mkdir()
    for i in range(10):
        make_midi(root / "songs" / f"t{i}.mid", tune(rng, bars=4))
    (root / "sweep.toml").write_text(
        """
[data]
sources = ["songs"]
limit = 8
valid_fraction = 0.25

[base]
tokenizer = "note"
seq_len = 16
embed_dim = 8
hidden_size = 16
num_layers = 1
batch_size = 4
epochs = 1

[grid]
dropout = [0.0, 0.1]
tokenizer = ["note", "chord"]

[evaluate]
samples = 2
tokens = 24
"""
    )
    return root / "sweep.toml"


def test_plan_one_at_a_time_skips_the_base_value(sweep_file: Path) -> None:
    config = SweepConfig.from_toml(sweep_file)
    assert [name for name, _ in plan(config)] == [
        "base",
        "dropout=0.0",
        "dropout=0.1",
        "tokenizer=chord",
    ]
    assert config.sources[0] == str(sweep_file.parent / "songs")


def test_sweep_trains_evaluates_resumes_and_reports(
    sweep_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    page = tmp_path / "docs" / "experiments.md"
    page.parent.mkdir()
    begin, end = markers("results")
    page.write_text(f"# Experiments\n\nWhat we learned.\n\n{begin}\nold\n{end}\n\nMore prose.\n")
    args = ["sweep", str(sweep_file), "--out", str(out), "--report", str(page), "--quiet"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())["runs"]
    assert [r["name"] for r in results] == ["base", "dropout=0.0", "dropout=0.1", "tokenizer=chord"]
    assert all(r["evaluation"]["likelihood"]["lstm"]["tokens"] > 0 for r in results)
    chord = popgen.load_run(out / "runs" / "tokenizer=chord")
    assert chord.tokenizer.name == "chord"
    text = page.read_text()
    assert "What we learned." in text and "More prose." in text and "\nold\n" not in text
    assert "`tokenizer=chord`" in text and "reference 5th-95th percentile" in text
    assert (page.parent / "img" / "experiments-results-nll.png").exists()

    # an interrupted sweep: one result lost, its run folder left behind
    (out / "results.json").write_text(json.dumps({"runs": results[:3]}))
    trained: list[str] = []
    original = popgen.sweep.grid._train_one

    def spy(settings, train, valid, folder, progress):  # type: ignore[no-untyped-def]
        trained.append(folder.name)
        return original(settings, train, valid, folder, progress)

    monkeypatch.setattr(popgen.sweep.grid, "_train_one", spy)
    assert main(args) == 0
    assert trained == ["tokenizer=chord"]  # resumed from its checkpoint, the others skipped
    again = json.loads((out / "results.json").read_text())["runs"]
    assert [r["name"] for r in again] == [r["name"] for r in results]

    # new [evaluate] settings: every finished run is evaluated again, none retrained
    trained.clear()
    text = sweep_file.read_text()
    sweep_file.write_text(text.replace("samples = 2", "samples = 3"))
    try:
        assert main([*args, "--reevaluate"]) == 0
    finally:
        sweep_file.write_text(text)
    assert trained == []
    rerun = json.loads((out / "results.json").read_text())["runs"]
    assert [r["evaluation"]["config"]["samples"] for r in rerun] == [3, 3, 3, 3]
    assert [r["train_seconds"] for r in rerun] == [r["train_seconds"] for r in again]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[data]\nsources = ['x']\n[base]\nwidth = 3\n", "unknown sweep setting 'width'"),
        ("[data]\nsources = ['x']\n[grid]\nmode = 'random'\n", "grid mode"),
        ("[data]\nsources = ['x']\n[grid]\nseq_len = []\n", "non-empty list"),
        ("[data]\nsources = ['x']\n[grid]\nseq_len = [0]\n", "seq_len must be >= 1"),
        ("[base]\nseq_len = 3\n", "needs sources"),
        ("[data\n", "not valid TOML"),
        ("[data]\nsources = ['x']\n[evaluate]\nsamples = 0\n", "samples must be >= 1"),
    ],
)
def test_bad_sweep_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        SweepConfig.from_toml(path)
    assert "bad.toml" in str(info.value)


def test_cli_reports_a_bad_sweep_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[data]\nsources = ['x']\n[base]\nwidth = 3\n")
    assert main(["sweep", str(path), "--out", str(tmp_path / "o")]) == 1
    assert "bad.toml" in capsys.readouterr().err


def test_report_plots_leave_the_matplotlib_backend_alone(tmp_path: Path) -> None:
    import matplotlib

    from popgen.evaluation.config import GOAL_METRICS
    from popgen.sweep.report import write_report

    figures = {"generated_median": 1.0, "held_out_median": 1.0, "reference_range": [0.5, 2.0]}
    likelihood = {"lstm": {"per_token": 1.1, "per_note": 3.2}, "ngram": {"per_note": 3.5}}
    evaluation = {
        "likelihood": {**likelihood, "gain": 0.1},
        "metrics": {m: figures for m in GOAL_METRICS},
        "goal_share": 0.5,
        "copying": {"generated": None, "held_out": None},
    }
    results = [{"name": "base", "evaluation": evaluation, "train_seconds": 1.0}]
    before = matplotlib.get_backend()
    matplotlib.use("svg")  # a backend the user chose, say in a notebook
    try:
        page = write_report(results, tmp_path / "experiments.md")
        assert matplotlib.get_backend() == "svg"
    finally:
        matplotlib.use(before)
    assert "`base`" in page.read_text()
    assert (tmp_path / "img" / "experiments-results-nll.png").read_bytes()[:4] == b"\x89PNG"
