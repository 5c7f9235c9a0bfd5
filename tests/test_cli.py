import argparse
import dataclasses
import json
import math
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import mido
import pytest
from conftest import MIDI_DIR_FILES, make_midi

from popgen.cli import build_parser, main
from popgen.cli.config_flags import add_config_flags, given_values
from popgen.models.lstm_config import LSTMConfig
from popgen.runs.load import load_run
from popgen.runs.train_config import TrainConfig

TINY = [
    "--embed-dim",
    "8",
    "--hidden-size",
    "16",
    "--num-layers",
    "1",
    "--seq-len",
    "16",
    "--batch-size",
    "4",
    "--quiet",
]


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("songs")
    for name, spec in MIDI_DIR_FILES.items():
        make_midi(folder / name, **spec)
    run = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", str(folder), "--out", str(run), "--epochs", "2", *TINY]) == 0
    return run


def test_train_writes_a_run(trained_run: Path) -> None:
    assert (trained_run / "popgen.json").is_file()
    assert (trained_run / "loss.png").is_file()
    assert len(list((trained_run / "checkpoints").iterdir())) in (1, 2)  # last and best


def test_generate_writes_midi_and_png(trained_run: Path, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "song.mid"
    code = main(
        [
            "generate",
            str(trained_run),
            "--out",
            str(out),
            "--tokens",
            "40",
            "--temperature",
            "0.9",
            "--top-k",
            "10",
            "--top-p",
            "0.95",
            "--png",
        ]
    )
    assert code == 0
    assert len(mido.MidiFile(out).tracks) >= 2
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in capsys.readouterr().out


def test_generate_batch_and_primer(trained_run: Path, tmp_path: Path, midi_dir: Path) -> None:
    out = tmp_path / "song.mid"
    code = main(
        [
            "generate",
            str(trained_run),
            "--out",
            str(out),
            "--tokens",
            "20",
            "--batch-size",
            "2",
            "--primer",
            str(midi_dir / "melody.mid"),
        ]
    )
    assert code == 0
    assert (tmp_path / "song-0.mid").is_file() and (tmp_path / "song-1.mid").is_file()


def test_train_from_music21_source(tmp_path: Path) -> None:
    code = main(
        [
            "train",
            "music21:essenFolksong/test0",
            "--out",
            str(tmp_path / "r"),
            "--max-steps",
            "2",
            *TINY,
        ]
    )
    assert code == 0
    run = load_run(tmp_path / "r")
    # the tunes of music21's essenFolksong/test0, split by song, trained for the steps asked
    songs = run.state.train_songs + run.state.valid_songs
    assert len(songs) == 16 and all(s.startswith("test0.abc#") for s in songs)
    assert run.state.valid_songs and run.state.step == 2
    assert run.history[-1]["step"] == 2 and math.isfinite(run.history[-1]["valid_loss"])


def one_error_line(capsys) -> str:  # type: ignore[no-untyped-def]
    err = capsys.readouterr().err.strip().splitlines()
    errors = [line for line in err if line.startswith("popgen: error:")]
    assert len(errors) == 1 and "Traceback" not in "\n".join(err)
    return errors[0]


def test_bad_inputs_give_one_line_and_status_1(
    tmp_path: Path,
    trained_run: Path,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    assert main(["train", str(tmp_path / "missing"), "--out", str(tmp_path / "r")]) == 1
    assert "missing: no such file or folder" in one_error_line(capsys)

    (tmp_path / "empty").mkdir()
    assert main(["train", str(tmp_path / "empty"), "--out", str(tmp_path / "r")]) == 1
    assert "holds no MIDI" in one_error_line(capsys)

    (tmp_path / "corrupt.mid").write_bytes(b"MThd garbage")
    assert main(["train", str(tmp_path / "corrupt.mid"), "--out", str(tmp_path / "r")]) == 1
    assert "corrupt.mid" in one_error_line(capsys)

    assert main(["generate", str(tmp_path / "empty"), "--out", str(tmp_path / "x.mid")]) == 1
    assert "no popgen.json" in one_error_line(capsys)

    assert (
        main(
            [
                "train",
                "music21:essenFolksong/test0",
                "--out",
                str(tmp_path / "r"),
                "--tokenizer",
                "nosuch",
            ]
        )
        == 1
    )
    assert "unknown tokenizer 'nosuch'; known:" in one_error_line(capsys)

    assert (
        main(["generate", str(trained_run), "--out", str(tmp_path / "x.mid"), "--temperature", "0"])
        == 1
    )
    assert "temperature must be > 0" in one_error_line(capsys)


def test_command_line_process_prints_no_traceback(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "popgen.cli", "generate", str(tmp_path), "--out", "x.mid"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"popgen: error: {tmp_path}: not a popgen run (no popgen.json)"


def test_corpus_command_describes_and_names_skipped_files(
    midi_dir: Path,
    capsys,  # type: ignore[no-untyped-def]
) -> None:
    (midi_dir / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06junk")
    assert main(["corpus", str(midi_dir), "--keys", "analysis", "--workers", "1"]) == 0
    out = capsys.readouterr()
    assert "3 songs" in out.out and "1 skipped" in out.out
    assert "tracks: " in out.out and "broken.mid" in out.out
    assert "popgen: warning: skipping" in out.err and "broken.mid" in out.err


def test_train_resume_and_init_from(trained_run: Path, tmp_path: Path, midi_dir: Path) -> None:
    common = [str(midi_dir), "--quiet", "--workers", "1"]
    assert main(["train", *common, "--out", str(trained_run), "--resume"]) == 0
    fine = tmp_path / "fine"
    code = main(
        [
            "train",
            *common,
            "--out",
            str(fine),
            "--init-from",
            str(trained_run),
            "--epochs",
            "1",
            "--seq-len",
            "16",
            "--batch-size",
            "4",
            "--patience",
            "1",
            "--lr-schedule",
            "cosine",
            "--optimizer",
            "adamw",
            "--checkpoint-every",
            "2",
        ]
    )
    assert code == 0
    import popgen

    assert popgen.load_run(fine).tokenizer.vocab == popgen.load_run(trained_run).tokenizer.vocab


def test_the_cli_names_the_default_strategy_without_loading_jax() -> None:
    code = """
import json, os, sys
os.environ["COLUMNS"] = "1000"
from popgen.cli import build_parser
from popgen.sampling.recipe import DEFAULT_STRATEGY
sub = next(a for a in build_parser()._actions if isinstance(a.choices, dict))
texts = {n: " ".join(sub.choices[n].format_help().split()) for n in ("generate", "evaluate")}
print(json.dumps({
    "shown": {name: DEFAULT_STRATEGY in text for name, text in texts.items()},
    "jax": sorted(m for m in sys.modules if m.split(".")[0] in ("jax", "flax", "optax")),
}))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(proc.stdout)
    assert result == {"shown": {"generate": True, "evaluate": True}, "jax": []}


def test_main_leaves_the_callers_warning_filters_alone(tmp_path: Path) -> None:
    before, show = list(warnings.filters), warnings.showwarning
    assert main(["corpus", str(tmp_path / "missing")]) == 1
    assert warnings.filters == before
    assert warnings.showwarning is show


def test_training_flags_are_the_config_fields() -> None:
    args = build_parser().parse_args(["train", "songs/", "--out", "run/"])
    assert all(getattr(args, f.name) is None for f in dataclasses.fields(TrainConfig))
    assert TrainConfig(**given_values(args, TrainConfig)) == TrainConfig()
    assert given_values(args, LSTMConfig, skip=["vocab_size"]) == {}
    old_flags = [
        *("--seq-len", "64", "--stride", "8", "--batch-size", "16", "--epochs", "5"),
        *("--max-steps", "100", "--lr", "1e-3", "--seed", "7", "--optimizer", "adamw"),
        *("--lr-schedule", "exponential", "--lr-decay", "0.5", "--warmup-steps", "10"),
        *("--weight-decay", "0.01", "--clip-norm", "0", "--valid-fraction", "0.2"),
        *("--patience", "2", "--checkpoint-every", "50"),
    ]
    args = build_parser().parse_args(["train", "songs/", "--out", "run/", *old_flags])
    assert TrainConfig(**given_values(args, TrainConfig)) == TrainConfig(
        seq_len=64,
        stride=8,
        batch_size=16,
        epochs=5,
        max_steps=100,
        optimizer="adamw",
        learning_rate=1e-3,
        lr_schedule="exponential",
        lr_decay=0.5,
        warmup_steps=10,
        weight_decay=0.01,
        clip_norm=0.0,
        valid_fraction=0.2,
        patience=2,
        checkpoint_every=50,
        seed=7,
    )
    long = build_parser().parse_args(["train", "s", "--out", "r", "--learning-rate", "0.01"])
    assert long.learning_rate == 0.01


def test_train_help_shows_each_fields_comment_and_default(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "1000")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for shown in [
        "--patience PATIENCE stop after this many epochs without a better valid loss (default: 3)",
        "--hidden-size HIDDEN_SIZE LSTM state size of every layer",
        "--learning-rate LEARNING_RATE, --lr LEARNING_RATE peak learning rate (default: 0.002)",
        "--optimizer {adam,adamw,rmsprop}",
    ]:
        assert shown in text
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "s", "--out", "r", "--optimizer", "sgd"])
    assert "invalid choice: 'sgd'" in capsys.readouterr().err


def test_the_model_is_checked_before_the_corpus_is_read(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = str(tmp_path / "missing")  # reading it would fail, after the model check
    assert main(["train", missing, "--out", str(tmp_path / "r"), "--model", "nosuch"]) == 1
    assert "unknown model 'nosuch'; known: lstm" in one_error_line(capsys)
    args = ["train", missing, "--out", str(tmp_path / "r"), "--model-option", "width=3"]
    assert main(args) == 1
    assert "model 'lstm' has no setting 'width'" in one_error_line(capsys)
    assert main([*args[:4], "--hidden-size", "8", "--model-option", "hidden_size=16"]) == 1
    assert "'hidden_size' given twice" in one_error_line(capsys)
    assert main([*args[:4], "--model-option", "vocab_size=3"]) == 1
    assert "set from the tokenizer" in one_error_line(capsys)
    assert main([*args[:4], "--dropout", "1.5"]) == 1
    assert "dropout must be in [0, 1), got 1.5" in one_error_line(capsys)
    assert main([*args[:4], "--seq-len", "0"]) == 1
    assert "seq_len must be >= 1, got 0" in one_error_line(capsys)
    assert main([*args[:4], "--model-option", "hidden-size=16", "--dropout", "0.1"]) == 1
    assert "missing: no such file or folder" in one_error_line(capsys)  # the model was fine


def test_model_options_are_python_literals_or_text() -> None:
    from popgen.cli import train

    options = ["--model-option", "tie=True", "--model-option", "cell=gru", "--num-layers", "3"]
    args = build_parser().parse_args(["train", "s", "--out", "r", *options])
    assert train._model_settings(args) == {"num_layers": 3, "tie": True, "cell": "gru"}


def test_the_trained_run_has_the_flags_given_and_the_defaults_of_the_rest(
    trained_run: Path,
) -> None:
    import popgen

    run = popgen.load_run(trained_run)
    assert run.config == TrainConfig(seq_len=16, batch_size=4, epochs=2)
    assert run.model.config() == LSTMConfig(
        vocab_size=run.tokenizer.vocab_size, embed_dim=8, hidden_size=16, num_layers=1
    )


@dataclass(frozen=True)
class _Options:
    name: str  # required: no default
    keys: Literal["auto", "file"] = "auto"  # where keys come from
    tracks: tuple[str, ...] = ("a", "b")  # 50% of them
    drums: bool = False
    # Snap to this grid, in beats;
    # None keeps the times as read.
    quantize: float | None = None


def test_config_flags_handle_every_supported_field_type() -> None:
    parser = argparse.ArgumentParser()
    add_config_flags(parser, _Options)
    helps = {a.dest: a.help for a in parser._actions}
    assert helps["keys"] == "where keys come from (default: auto)"
    assert helps["tracks"] == "50%% of them (default: a b)"
    assert helps["drums"] == "(default: False)"
    assert (
        helps["quantize"]
        == "Snap to this grid, in beats; None keeps the times as read. (default: None)"
    )
    args = parser.parse_args(["--name", "x", "--tracks", "c", "--no-drums", "--quantize", "0.5"])
    given = given_values(args, _Options)
    assert given == {"name": "x", "tracks": ("c",), "drums": False, "quantize": 0.5}
    assert _Options(**given) == _Options(name="x", tracks=("c",), quantize=0.5)
    with pytest.raises(SystemExit):
        parser.parse_args([])  # --name is required

    @dataclass(frozen=True)
    class Odd:
        table: dict[str, int]

    with pytest.raises(TypeError, match="field 'table': no command-line flag"):
        add_config_flags(argparse.ArgumentParser(), Odd)
