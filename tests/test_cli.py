import subprocess
import sys
from pathlib import Path

import mido
import pytest
from conftest import MIDI_DIR_FILES, make_midi

from popgen.cli import main

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
    from popgen import cli
    from popgen.sampling import DEFAULT_STRATEGY

    assert cli._RECIPE == DEFAULT_STRATEGY
