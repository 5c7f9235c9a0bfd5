"""The demo: train a small model on folk songs bundled with music21, then write a song.

Why these songs: pop melodies are sung, short-phrased, stepwise, mostly in
4/4 or 3/4 and in one major or minor key; of what ships inside music21, the
Essen collection's German children's songs and ballads (``kinder0``,
``ballad10``...) are the closest — simple sung tunes with clear phrases —
whereas the Bach chorales are four-voice harmony and the Ryan's Mammoth and
O'Neill collections are dense instrumental dance tunes. They carry no
dynamics, so their velocities come from metric accents
(:func:`popgen.formats.score_reading.score_to_song`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from popgen.corpus.corpus import Corpus
from popgen.models.lstm import LSTMModel
from popgen.models.lstm_config import LSTMConfig
from popgen.music.song import Song
from popgen.runs.run import Run
from popgen.runs.train_config import TrainConfig
from popgen.sampling.recipe import run_recipe, strategy_spec
from popgen.sampling.sampler import Sampler
from popgen.sampling.spec import parse_strategy
from popgen.tokenizers.base import get_tokenizer
from popgen.training.loop import train

__all__ = ["DemoConfig", "DemoResult", "longest_pitch_run", "pop_song", "run_demo"]


@dataclass(frozen=True)
class DemoConfig:
    """Settings of ``popgen demo``, sized to finish in a few minutes on 2 CPU cores.

    Variants are made with ``dataclasses.replace``:

    >>> import dataclasses
    >>> longer = dataclasses.replace(DemoConfig(), num_tokens=960, seed=1)
    >>> longer.num_tokens, longer.train.epochs, longer.works[:2]
    (960, 8, ('essenFolksong/kinder0', 'essenFolksong/ballad10'))
    """

    works: tuple[str, ...] = (  # music21 corpus works to train on
        "essenFolksong/kinder0",
        *(f"essenFolksong/ballad{i}0" for i in range(1, 9)),
    )
    transpose_to: str = "C"  # every song to C major / A minor, as the pop project did
    # the LSTM's settings; run_demo replaces vocab_size with the fitted tokenizer's
    model: LSTMConfig = field(
        default_factory=lambda: LSTMConfig(vocab_size=1, hidden_size=256, dropout=0.1)
    )
    train: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            seq_len=64,
            stride=32,
            batch_size=32,
            epochs=8,
            learning_rate=3e-3,
            lr_schedule="exponential",
            lr_decay=0.1,
            patience=None,
        )
    )
    num_tokens: int = 480  # tokens to generate: about 160 notes
    temperature: float = 0.9
    top_p: float = 0.95
    max_repeat: int = 4  # no pitch more than this many times in a row
    seed: int = 0
    # then a pop song from a shipped model (None: skip): melody and accompaniment
    pop_model: str | None = "pop909-songs"
    progression: str = "C G Am F"
    pop_bars: int = 8


@dataclass
class DemoResult:
    """What the demo made and how long it took (:meth:`summary` shows one built by hand).

    ```python
    result = run_demo("demo/")
    result.midi_path, result.song.num_notes, result.seconds["training"]
    # (PosixPath('demo/sample.mid'), 159, 113.2)
    ```
    """

    run: Run
    song: Song
    midi_path: Path
    png_path: Path
    seconds: dict[str, float]
    pop_song: Song | None = None
    pop_path: Path | None = None

    def summary(self) -> str:
        """Lines for the terminal: files, timings, and the song's vital statistics.

        >>> import jax, jax.numpy as jnp
        >>> from popgen import LSTMModel
        >>> from popgen import get_tokenizer
        >>> from popgen import make_notes
        >>> tok = get_tokenizer("chord")
        >>> model = LSTMModel(tok.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
        >>> params = model.init(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))
        >>> run = Run(model, tok, params, history=[{"train_loss": 2.01, "tokens_per_s": 1500.0}])
        >>> song = Song(make_notes([60, 60, 60, 62], [0, 1, 2, 3], [1, 1, 1, 1]))
        >>> result = DemoResult(run, song, Path("demo/sample.mid"), Path("demo/sample.png"),
        ...                     seconds={"training": 61.0, "generation": 1.5})
        >>> print(result.summary())
        wrote demo/sample.mid and demo/sample.png
        song: 4 notes, 4.0 beats, 1 durations, 1 velocities, longest repeated-pitch run 3
        training: 1,500 tokens/s, final train loss 2.010, valid loss nan
        time: training 61.0s, generation 1.5s
        """
        notes = self.song.notes
        hist = self.run.history[-1] if self.run.history else {}
        lines = [
            f"wrote {self.midi_path} and {self.png_path}",
            f"song: {self.song.num_notes} notes, {self.song.end:.1f} beats, "
            f"{len(set(notes['duration'].tolist()))} durations, "
            f"{len(set(notes['velocity'].tolist()))} velocities, "
            f"longest repeated-pitch run {longest_pitch_run(self.song)}",
            f"training: {hist.get('tokens_per_s', 0):,.0f} tokens/s, "
            f"final train loss {hist.get('train_loss', float('nan')):.3f}, "
            f"valid loss {hist.get('valid_loss', float('nan')):.3f}",
            "time: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items()),
        ]
        if self.pop_song is not None and self.pop_path is not None:
            parts = ", ".join(
                f"{track.name} {int((self.pop_song.notes['track'] == i).sum())} notes"
                for i, track in enumerate(self.pop_song.tracks)
            )
            lines.insert(
                1,
                f"wrote {self.pop_path} and {self.pop_path.with_suffix('.png')}: "
                f"{self.pop_song.end / 4:.0f} bars over chords ({parts})",
            )
        return "\n".join(lines)


def longest_pitch_run(song: Song) -> int:
    """The most notes of one pitch in a row, in onset order (chord notes count in turn).

    >>> from popgen.music.song import make_notes
    >>> longest_pitch_run(Song(make_notes([60, 62, 62, 62, 60], range(5), [1] * 5)))
    3
    """
    best = run = 0
    last = -1
    for p in song.notes["pitch"].tolist():
        run = run + 1 if p == last else 1
        last = p
        best = max(best, run)
    return best


def run_demo(
    out: str | os.PathLike[str],
    config: DemoConfig | None = None,
    *,
    progress: bool = True,
    log: Any = print,
) -> DemoResult:
    """Read the corpus, train, save the run to ``out/run``, write ``out/sample.mid`` and PNG.

    Then write a pop song from a shipped model, ``out/pop.mid`` and PNG
    (:func:`pop_song`; ``config.pop_model=None`` skips it).

    A tiny version: one chorale, one training step, a dozen tokens.

    >>> import os, tempfile
    >>> tiny = DemoConfig(works=("bach/bwv66.6",), num_tokens=12, progression="C G", pop_bars=2,
    ...                   model=LSTMConfig(vocab_size=1, embed_dim=8, hidden_size=16, num_layers=1),
    ...                   train=TrainConfig(seq_len=16, batch_size=2, max_steps=1))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     result = run_demo(tmp, tiny, progress=False)
    ...     sorted(os.listdir(tmp))
    corpus: 1 songs, 163 notes, 0.01 hours, pitch A2..G5, keys: A minor (1); 0 skipped
    ['pop.mid', 'pop.png', 'run', 'sample.mid', 'sample.png']
    """
    config = config or DemoConfig()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    corpus = Corpus.from_music21(*config.works, transpose_to=config.transpose_to)
    seconds["corpus"] = time.perf_counter() - t0
    log(f"corpus: {corpus.describe()}")

    t0 = time.perf_counter()
    tokenizer = get_tokenizer("note").fit(corpus)
    model = LSTMModel.from_config(replace(config.model, vocab_size=tokenizer.vocab_size))
    run = train(model, tokenizer, corpus, config.train, out=out / "run", progress=progress)
    seconds["training"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    # the constraint first, then the truncations (as popgen generate's --strategy advises)
    spec = (
        strategy_spec(strategy=f"max_same_pitch_run={config.max_repeat}", recipe="")
        + ","
        + strategy_spec(temperature=config.temperature, top_p=config.top_p)
    )
    sampler = Sampler.from_run(run, parse_strategy(spec, tokenizer))
    song = sampler.generate(config.num_tokens, seed=config.seed)[0]
    song = song.replace(title="popgen demo", tempos=((0.0, 100.0),))
    midi_path, png_path = out / "sample.mid", out / "sample.png"
    song.write_midi(midi_path)
    song.write_png(png_path)
    seconds["generation"] = time.perf_counter() - t0
    result = DemoResult(run, song, midi_path, png_path, seconds)
    if config.pop_model is not None:
        t0 = time.perf_counter()
        result.pop_path = out / "pop.mid"
        result.pop_song = pop_song(config)
        result.pop_song.write_midi(result.pop_path)
        result.pop_song.write_png(result.pop_path.with_suffix(".png"))
        seconds["pop song"] = time.perf_counter() - t0
    return result


def pop_song(config: DemoConfig) -> Song:
    """A song over ``config.progression`` from the shipped model ``config.pop_model``.

    It samples with the model's own recipe, as ``popgen generate`` does.

    >>> song = pop_song(DemoConfig(progression="C G", pop_bars=2))
    >>> [track.role for track in song.tracks], len(song.chords) >= 2
    (['melody', 'accompaniment'], True)
    """
    from popgen.runs.load import load_run
    from popgen.sampling.controls import Controls

    if config.pop_model is None:
        raise ValueError("no pop model given (DemoConfig.pop_model is None)")
    run = load_run(config.pop_model)
    sampler = Sampler.from_run(run, parse_strategy(run_recipe(run), run.tokenizer))
    controls = Controls.for_song(config.progression, bars=config.pop_bars, tempo=100.0)
    song = sampler.generate(controls=controls, seed=config.seed)[0]
    return song.replace(title=f"popgen demo: {config.progression}")
