"""Every cap in :mod:`popgen.music.limits` (issue 29), and old model headers still load."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from popgen.music import limits
from popgen.music.limits import DEFAULT_LIMITS, Limits
from popgen.runs.pretrained import builtin_folder

#: The limits as popgen 0.x recorded them in a model file's header, before issue 29.
OLD_HEADER = {
    "max_silence": 256.0,
    "max_beats": 100000.0,
    "max_notes": 1000000,
    "max_file_bytes": 16777216,
    "min_bar": 0.0625,
    "min_bpm": 4.0,
}


def test_old_limits_load_with_new_defaults() -> None:
    old = Limits.from_dict(OLD_HEADER)
    assert old == DEFAULT_LIMITS
    assert old.max_seconds_per_file == 300.0
    assert old.max_compression_ratio == 200.0
    assert old.max_score_notes == 200_000


@pytest.mark.parametrize("name", ["pop909-melody", "pop909-songs"])
def test_shipped_models_load(name: str) -> None:
    from popgen.runs.model_file import load_model_file

    run = load_model_file(builtin_folder() / f"{name}.safetensors")
    reading = run.usage.reading
    assert reading is not None
    assert reading.limits.max_score_notes == DEFAULT_LIMITS.max_score_notes


def test_new_caps_checked() -> None:
    with pytest.raises(ValueError, match="max_seconds_per_file must be a number > 0"):
        Limits(max_seconds_per_file=0)
    with pytest.raises(ValueError, match="max_compression_ratio must be a number > 0"):
        Limits(max_compression_ratio=-1)
    with pytest.raises(ValueError, match="max_score_notes must be a whole number >= 1"):
        Limits(max_score_notes=0)
    assert Limits(max_seconds_per_file=math.inf).max_seconds_per_file == math.inf


def test_caps_live_in_limits() -> None:
    from popgen.outputs import audio
    from popgen.outputs import notebook as display
    from popgen.studio import session, settings

    assert audio.MAX_SECONDS == limits.MAX_AUDIO_SECONDS
    assert display.MAX_DISPLAY_SECONDS == limits.MAX_DISPLAY_SECONDS
    assert settings.MAX_TOKENS == limits.STUDIO_MAX_TOKENS
    assert settings.MAX_BARS == limits.STUDIO_MAX_BARS
    assert settings.MAX_CANDIDATES == limits.STUDIO_MAX_CANDIDATES
    assert session._MAX_PRIMER_BYTES == limits.STUDIO_MAX_PRIMER_BYTES


def test_a_damaged_tokenizer_config_is_one_run_error(tmp_path: Path) -> None:
    """Fuzzing the model file's header found a ValueError of the pop encoding's config."""
    import json

    from safetensors import safe_open
    from safetensors.numpy import save_file

    from popgen.errors import RunError
    from popgen.runs.model_file import load_model_file

    with safe_open(str(builtin_folder() / "pop909-songs.safetensors"), framework="numpy") as f:
        meta = json.loads(f.metadata()["popgen"])
        tensors = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118
    meta["tokenizer"]["config"]["roles"] = ["a.mid", "b.mid", "c.mid"]
    path = tmp_path / "damaged.safetensors"
    save_file(tensors, str(path), metadata={"format": "popgen.model", "popgen": json.dumps(meta)})
    with pytest.raises(RunError, match=r"damaged\.safetensors: unreadable model or tokenizer"):
        load_model_file(path)
