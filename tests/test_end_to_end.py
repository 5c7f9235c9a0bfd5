"""The issue's script, with a tiny model and few steps."""

from pathlib import Path

import mido
import numpy as np

import popgen
from popgen.demo import DemoConfig, longest_pitch_run, run_demo
from popgen.music.chords import chord_labels


def test_api_script(tmp_path: Path) -> None:
    corpus = popgen.Corpus.from_music21("essenFolksong/test0")
    tokenizer = popgen.get_tokenizer("note").fit(corpus)
    model = popgen.LSTMModel(
        vocab_size=tokenizer.vocab_size, embed_dim=16, hidden_size=32, num_layers=2, dropout=0.2
    )
    run = popgen.train(
        model,
        tokenizer,
        corpus,
        popgen.TrainConfig(seq_len=32, epochs=15, learning_rate=1e-2, patience=None),
        out=tmp_path / "run",
        progress=False,
    )
    assert len(run.history) == 15
    sampler = popgen.Sampler.from_run(
        tmp_path / "run",
        strategy=popgen.sampling.chain(popgen.sampling.temperature(0.9), popgen.sampling.top_k(20)),
    )
    songs = sampler.generate(num_tokens=60, batch_size=4, seed=0)
    assert len(songs) == 4 and all(s.num_notes > 0 for s in songs)
    songs[0].write_midi(tmp_path / "a.mid")
    assert mido.MidiFile(tmp_path / "a.mid").length > 0
    again = sampler.generate(num_tokens=60, batch_size=4, seed=0)
    np.testing.assert_array_equal(again[0].notes, songs[0].notes)
    assert not np.array_equal(songs[0].notes, songs[1].notes)


def test_demo_with_a_tiny_budget(tmp_path: Path) -> None:
    base = DemoConfig()
    config = DemoConfig(
        works=("essenFolksong/test0",),
        model=popgen.LSTMConfig(vocab_size=1, hidden_size=32, embed_dim=16),
        num_tokens=90,
        train=popgen.TrainConfig(seq_len=32, epochs=1),
    )
    assert base.max_repeat == 4
    result = run_demo(tmp_path / "demo", config, progress=False, log=lambda *_: None)
    assert (tmp_path / "demo" / "sample.mid").is_file()
    assert (tmp_path / "demo" / "sample.png").read_bytes()[:4] == b"\x89PNG"
    assert popgen.load_run(tmp_path / "demo" / "run").model.hidden_size == 32
    assert longest_pitch_run(result.song) <= 4  # enforced by the sampling strategy
    assert "tokens/s" in result.summary()
    pop = popgen.read_midi(tmp_path / "demo" / "pop.mid")  # from the shipped chord model
    assert [track.name for track in pop.tracks] == ["Melody", "Accompaniment"]
    assert pop.notes["start"].max() < 8 * 4 and len(pop.chords) >= 8
    assert chord_labels(pop.chords[:4]) == ["C:maj", "G:maj", "A:min", "F:maj"]
    assert "pop.mid" in result.summary() and "bars over chords" in result.summary()
