"""``popgen generate`` knows its limits (issue 29): caps, seeds, help, beams with notes."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from popgen.cli import build_parser, main
from popgen.music.limits import MAX_GENERATED_BARS, MAX_GENERATED_TOKENS


def test_token_cap_one_line_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "a.mid"
    tokens = str(MAX_GENERATED_TOKENS + 1)
    assert main(["generate", "pop909-melody", "--out", str(out), "--tokens", tokens]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"popgen: error: --tokens {tokens} is more than one song may take "
        f"({MAX_GENERATED_TOKENS} tokens, popgen.music.limits.MAX_GENERATED_TOKENS)"
    ]
    assert not out.parent.exists()


def test_bar_cap(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "a.mid"
    argv = ["generate", "pop909-songs", "--out", str(out), "--chords", "C G Am F"]
    assert main([*argv, "--bars", str(MAX_GENERATED_BARS + 1)]) == 1
    assert "popgen.music.limits.MAX_GENERATED_BARS" in capsys.readouterr().err
    assert not out.exists()
    long = " | ".join(["C"] * (MAX_GENERATED_BARS + 1))  # a progression of too many bars
    assert main(["generate", "pop909-songs", "--out", str(out), "--chords", long]) == 1
    assert f"{MAX_GENERATED_BARS + 1} bars is more" in capsys.readouterr().err


def test_fresh_seed_printed_and_repeatable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, again = tmp_path / "a.mid", tmp_path / "b.mid"
    assert main(["generate", "pop909-melody", "--out", str(first), "--tokens", "60"]) == 0
    said = re.search(r"seed (\d+) \(repeat with --seed (\d+)\)", capsys.readouterr().out)
    assert said is not None and said[1] == said[2]
    argv = ["generate", "pop909-melody", "--out", str(again), "--tokens", "60", "--seed", said[1]]
    assert main(argv) == 0
    assert "repeat with" not in capsys.readouterr().out  # a given seed is not printed
    assert first.read_bytes() == again.read_bytes()


def test_given_seed_is_the_api_seed(tmp_path: Path) -> None:
    """With --seed, the song is the one the Python API's explicit seed= gives."""
    from popgen.formats.midi_reading import read_midi
    from popgen.runs.pretrained import load_model
    from popgen.sampling import Sampler

    out = tmp_path / "a.mid"
    assert (
        main(["generate", "pop909-melody", "--out", str(out), "--tokens", "60", "--seed", "0"]) == 0
    )
    [song] = Sampler.from_run(load_model("pop909-melody")).generate(60, seed=0)
    song = song.without_leading_silence()
    assert read_midi(out).notes["pitch"].tolist() == song.notes["pitch"].tolist()


def _flags_without_help(parser: argparse.ArgumentParser, name: str) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                missing += _flags_without_help(sub, f"{name} {sub_name}")
        elif not isinstance(action, argparse._HelpAction) and not action.help:
            missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_flag_has_help() -> None:
    assert _flags_without_help(build_parser(), "popgen") == []


@pytest.mark.parametrize("model", ["pop909-melody", "pop909-songs"])
def test_beam_writes_notes_for_every_shipped_model(
    tmp_path: Path, model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "beam.mid"
    argv = ["generate", model, "--out", str(out), "--beam-size", "4", "--tokens", "200"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    notes = int(re.search(r"\((\d+) notes", captured.out)[1])  # type: ignore[index]
    assert notes > 0 and "no notes" not in captured.err


def test_beam_writes_notes_in_every_encoding() -> None:
    """Untrained models of every built-in encoding: the beam's steering finds notes."""
    import jax

    from popgen import LSTMModel, get_tokenizer, list_tokenizers
    from popgen.cli.generate import _beam_notes
    from popgen.sampling import Sampler

    class _Run:
        def __init__(self, tokenizer: object) -> None:
            self.tokenizer = tokenizer

    from popgen.music.song import Song, make_notes

    song = Song(make_notes([60, 64, 67, 72, 48], [0, 1, 2, 3, 0], [1, 1, 1, 1, 4]))
    for name in list_tokenizers():
        tok = get_tokenizer(name).fit([song])
        model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
        params = model.init_params(key=jax.random.key(0))
        strategy = _beam_notes(_Run(tok), 16)  # type: ignore[arg-type]
        [best] = Sampler(model, params, tok, strategy).beam_search(120, beam_size=4)[:1]
        assert best.num_notes > 0, name


def test_partial_file_never_left(tmp_path: Path) -> None:
    from popgen.cli.safe_output import written_whole

    target = tmp_path / "a.mid"
    with pytest.raises(KeyboardInterrupt), written_whole(target) as part:
        part.write_bytes(b"half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_stops_at_once_and_writes_nothing(tmp_path: Path) -> None:
    """SIGINT during a long generation: exit 130 within seconds, no file (not even partial)."""
    import os
    import signal
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root)}
    out = tmp_path / "songs" / "b.mid"
    argv = ["generate", "pop909-songs", "--out", str(out), "--tokens", "150000", "--seed", "3"]
    process = subprocess.Popen(
        [sys.executable, "-m", "popgen", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(10)
    process.send_signal(signal.SIGINT)
    sent = time.perf_counter()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130
    assert time.perf_counter() - sent < 10
    assert b"popgen: interrupted" in err and b"Traceback" not in err
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_progress_bar_draws_the_same_tokens() -> None:
    """The loop's progress reports are host callbacks: the tokens drawn do not change."""
    import numpy as np

    from popgen.runs.pretrained import load_model
    from popgen.sampling import Sampler

    run = load_model("pop909-songs")
    plain = Sampler.from_run(run).generate_ids(600, seed=5)
    shown = Sampler.from_run(run, progress=True)
    assert np.array_equal(shown.generate_ids(600, seed=5), plain)
    assert shown._progress is not None and shown._progress._bar is None  # closed
