"""The package layout: old paths, old runs and models, steering through a protocol, one config."""

import dataclasses
import importlib
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np
import pytest

import popgen
from popgen import LSTMConfig, LSTMModel, Sampler, Song, make_notes
from popgen.music.chords import chord_labels, make_chords
from popgen.sampling import Controls
from popgen.tokenizers import SteerableEncoding, Tokenizer, get_tokenizer

DATA = Path(__file__).parent / "data"


# ---------------------------------------------------------------- old paths
@pytest.mark.parametrize(
    ("old", "name"),
    [
        ("popgen.midi", "write_midi"),
        ("popgen.midi", "read_midi"),
        ("popgen.checkpoint", "load_run"),
        ("popgen.checkpoint", "save_run"),
        ("popgen.controls", "Controls"),
        ("popgen.controls", "parse_progression"),
        ("popgen.recipe", "DEFAULT_STRATEGY"),
        ("popgen.evaluate", "EvaluationConfig"),
        ("popgen.scores", "write_musicxml"),
        ("popgen.render", "piano_roll"),
        ("popgen.training_config", "TrainConfig"),
        ("popgen.corpus_options", "CorpusOptions"),
        ("popgen.limits", "Limits"),
        ("popgen.music", "TimeSignature"),
        ("popgen.metrics.music", "pitch_range"),
    ],
)
def test_the_module_paths_of_0_1_still_import(old: str, name: str) -> None:
    module = importlib.import_module(old)
    assert callable(getattr(module, name)) or getattr(module, name) is not None


def test_an_old_path_is_the_new_module_itself() -> None:
    import popgen.midi_scan  # type: ignore[import-not-found]

    import popgen.formats.midi_scan

    assert popgen.midi_scan is popgen.formats.midi_scan


# ---------------------------------------------------- runs and models of 0.1
# (pop909-songs was retrained in 0.2 with sections and step features: its tokens are new)
OLD = ["run-0.1", "model-0.1.safetensors", "pop909-melody"]


@pytest.mark.parametrize("name", OLD)
def test_runs_and_models_of_0_1_load_and_draw_the_same_tokens(name: str) -> None:
    # tests/data was written by popgen 0.1 (before the layout of 0.2), tokens included
    expected = json.loads((DATA / "tokens-0.1.json").read_text())[name]
    ref = name if name.startswith("pop909") else str(DATA / name)
    ids = Sampler.from_run(ref).generate_ids(48, batch_size=2, seed=7)
    assert ids.tolist() == expected


# ------------------------------------------------------------ one LSTM config
def test_lstm_model_fields_are_lstm_config_fields() -> None:
    # a Flax module declares its fields statically (type checkers read them); this
    # keeps them the config's, name for name and default for default
    model_fields = {f.name: f.default for f in dataclasses.fields(LSTMModel) if f.init}
    model_fields = {k: v for k, v in model_fields.items() if k not in ("parent", "name")}
    config_fields = {f.name: f.default for f in dataclasses.fields(LSTMConfig)}
    assert model_fields == config_fields
    config = LSTMConfig(vocab_size=12, hidden_size=8, num_layers=1)
    assert LSTMModel.from_config(config).config() == config


# ------------------------------------------- steering a user's own bar encoding
@dataclass(frozen=True)
class BarsConfig:
    """No options: four quarter notes a bar, one chord a bar."""


class BarTokenizer(Tokenizer):
    """A minimal bar encoding: ``BAR CHORD_C:maj MELODY PITCH_60 PITCH_62 ...`` per bar."""

    name = "test-bars"
    config_class = BarsConfig

    def song_to_names(self, song: Song) -> list[str]:
        names: list[str] = []
        bars = int(np.ceil(song.end / 4)) if len(song.notes) else 0
        labels = chord_labels(song.chords)
        for b in range(bars):
            names.append("BAR")
            at = [i for i, s in enumerate(song.chords["start"]) if s == 4 * b]
            if at:
                names.append(f"CHORD_{labels[at[0]]}")
            names.append("MELODY")
            inside = song.notes[(song.notes["start"] >= 4 * b) & (song.notes["start"] < 4 * b + 4)]
            names += [f"PITCH_{int(p)}" for p in inside["pitch"][:4]]
        return names

    def names_to_song(self, names: Sequence[str]) -> Song:
        bar, beat, pitches, starts, chords, chord_starts = -1, 0, [], [], [], []
        for name in names:
            family, _, value = name.partition("_")
            if family == "BAR":
                bar, beat = bar + 1, 0
            elif family == "CHORD":
                chords.append(value)
                chord_starts.append(4.0 * bar)
            elif family == "PITCH" and beat < 4:
                pitches.append(int(value))
                starts.append(4.0 * bar + beat)
                beat += 1
        segments = make_chords(chords, chord_starts, [4.0] * len(chords))
        return Song(make_notes(pitches, starts, [1.0] * len(pitches)), chords=segments)

    def grammar_rules(self) -> tuple[str, dict[str, dict[str, str]]]:
        return "start", {
            "start": {"BAR": "bar", "EOS": "end"},
            "bar": {"CHORD": "head", "MELODY": "melody"},
            "head": {"MELODY": "melody"},
            "melody": {"PITCH": "melody", "BAR": "bar", "EOS": "end"},
            "end": {"EOS": "end"},
        }

    # what steering needs (SteerableEncoding)
    bar_token = "BAR"
    steers_chords = True
    part_roles = ("melody",)

    def part_token(self, role: str) -> str:
        return "MELODY"

    def bar_prefixes(self, skeleton: Song, bars: int, given: int = 0) -> list[list[str]]:
        labels = chord_labels(skeleton.chords)
        starts = list(skeleton.chords["start"])
        out = []
        for b in range(bars):
            here = [labels[i] for i, s in enumerate(starts) if s <= 4 * b][-1:]
            out.append(["BAR", *(f"CHORD_{c}" for c in here), "MELODY"])
        return out


def test_controls_steer_an_encoding_that_implements_the_protocol() -> None:
    chords = make_chords(["C", "G"], [0, 4], [4, 4])
    notes = make_notes([60, 62, 64, 65, 67, 65, 64, 62], list(range(8)), [1] * 8)
    song = Song(notes, chords=chords)
    tokenizer = BarTokenizer().fit([song])
    assert isinstance(tokenizer, SteerableEncoding)
    assert not isinstance(get_tokenizer("note"), SteerableEncoding)
    model = LSTMModel(vocab_size=tokenizer.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    sampler = Sampler(model, model.init_params(key=jax.random.key(0)), tokenizer)
    controls = Controls.over_chords("C G", bars=4, max_bar_tokens=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every bar is written
        (written,) = sampler.generate(controls=controls, seed=0)
    assert chord_labels(written.chords, style="symbol") == ["C", "G", "C", "G"]
    assert written.end <= 16


def test_the_public_names_resolve() -> None:
    for name in popgen.__all__:
        assert getattr(popgen, name) is not None, name
