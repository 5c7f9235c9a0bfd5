"""The token store: the same tokens and windows as the in-memory path, resumable, safe to open."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import make_midi
from hypothesis import given, settings
from hypothesis import strategies as st

from popgen import Corpus, CorpusOptions, get_tokenizer
from popgen.cli import main
from popgen.data import store_build as store_build_module
from popgen.data.store import StoreError, TokenStore, is_store, open_store
from popgen.data.store_build import build_store
from popgen.data.windows import make_windows, window_spans
from popgen.errors import VocabularyError
from popgen.tokenizers.base import PAD


def _old_make_windows(songs: list[np.ndarray], seq_len: int, stride: int) -> np.ndarray:
    """make_windows as it was before window_spans: the reference the spans must match."""
    width, out = seq_len + 1, []
    for tokens in songs:
        if len(tokens) < 2:
            continue
        if len(tokens) <= width:
            out.append(np.pad(tokens, (0, width - len(tokens)), constant_values=PAD))
            continue
        starts = list(range(0, len(tokens) - width + 1, stride))
        if starts[-1] != len(tokens) - width:
            starts.append(len(tokens) - width)
        out.extend(tokens[s : s + width] for s in starts)
    return np.stack(out) if out else np.zeros((0, width), dtype=np.int32)


@given(
    st.lists(st.integers(0, 60), max_size=8),
    st.integers(1, 12),
    st.integers(1, 14),
)
@settings(max_examples=200, deadline=None)
def test_window_spans_cut_as_before(lengths: list[int], seq_len: int, stride: int) -> None:
    songs = [np.arange(10 * i + 5, 10 * i + 5 + n, dtype=np.int32) for i, n in enumerate(lengths)]
    expected = _old_make_windows(songs, seq_len, stride)
    assert np.array_equal(make_windows(songs, seq_len, stride), expected)
    song, _, length = window_spans(lengths, seq_len, stride)
    assert len(song) == len(expected)
    assert all(length <= seq_len + 1)


def _songs(folder: Path, count: int, *, bad: int = 0) -> list[Path]:
    """``count`` small MIDI songs of different lengths and keys, and ``bad`` corrupt files."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        notes = [(60 + (i + 2 * j) % 12, j * 0.5, 0.5, 60 + 5 * (j % 4)) for j in range(4 + 3 * i)]
        paths.append(make_midi(folder / f"song{i:02d}.mid", notes))
    for i in range(bad):
        path = folder / f"zz_bad{i}.mid"
        path.write_bytes(b"MThd not really midi")
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], TokenStore]:
    folder = tmp_path_factory.mktemp("store")
    paths = _songs(folder / "midi", 9, bad=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = build_store(paths, folder / "store", "note", part_size=3, workers=2)
    return paths, store


def test_store_holds_the_tokens_of_the_in_memory_path(built: Any) -> None:
    paths, store = built
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus = Corpus.from_paths(paths, cache_dir=None)
    tokenizer = get_tokenizer("note").fit(corpus)
    assert store.tokenizer.to_dict() == tokenizer.to_dict()
    assert len(store) == len(corpus) == 9
    for i, song in enumerate(corpus):
        assert store[i].dtype == np.int32
        assert np.array_equal(store[i], tokenizer.encode(song))
    assert store.keys == tuple(p.name for p in paths[:9])
    assert [s for s, _ in store.skipped] == [str(paths[-1])]  # the corrupt file, named
    assert store.shards[0].dtype == np.uint8  # the note vocabulary fits a byte
    assert store.num_tokens == sum(len(store[i]) for i in range(len(store)))


def test_store_windows_are_the_in_memory_windows(built: Any) -> None:
    _, store = built
    songs = np.array([7, 2, 5, 0])
    for seq_len, stride in ((8, None), (5, 2), (400, None)):
        expected = make_windows([store[i] for i in songs], seq_len, stride)
        windows = store.windows(songs, seq_len, stride)
        assert windows.shape == expected.shape
        rows = np.random.default_rng(0).permutation(len(expected))
        assert np.array_equal(windows[rows], expected[rows])


def test_a_store_of_another_tokenizer_is_refused(built: Any) -> None:
    from popgen import LSTMModel, TrainConfig, train

    _, store = built
    other = get_tokenizer("note")  # the base vocabulary: not the store's
    model = LSTMModel(vocab_size=other.vocab_size, embed_dim=8, hidden_size=16, num_layers=1)
    with pytest.raises(VocabularyError, match="store.tokenizer"):
        train(model, other, store, TrainConfig(seq_len=8, batch_size=2), progress=False)
    model = LSTMModel(vocab_size=store.tokenizer.vocab_size, embed_dim=8, hidden_size=16)
    with pytest.raises(ValueError, match="validation songs are its own"):
        train(model, store.tokenizer, store, valid=[], progress=False)


def test_a_killed_build_resumes_with_the_parts_it_has(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _songs(tmp_path / "midi", 7)
    real = store_build_module._encode_part
    done: list[int] = []

    def dies_on_part_2(part: Any) -> list[str]:
        if part.index == 2:
            raise KeyboardInterrupt  # the process is killed here
        done.append(part.index)
        return real(part)

    monkeypatch.setattr(store_build_module, "_encode_part", dies_on_part_2)
    with pytest.raises(KeyboardInterrupt):
        build_store(paths, tmp_path / "store", "pop", part_size=2, workers=1)
    assert not is_store(tmp_path / "store")
    with pytest.raises(StoreError, match="unfinished build"):
        open_store(tmp_path / "store")

    def counts(part: Any) -> list[str]:
        done.append(part.index)
        return real(part)

    monkeypatch.setattr(store_build_module, "_encode_part", counts)
    resumed = build_store(paths, tmp_path / "store", "pop", part_size=2, workers=1)
    assert done == [0, 1, 2, 3]  # parts 0 and 1 were not read again
    clean = build_store(paths, tmp_path / "clean", "pop", part_size=2, workers=1)
    assert resumed.tokenizer.to_dict() == clean.tokenizer.to_dict()
    assert all(np.array_equal(resumed[i], clean[i]) for i in range(len(clean)))
    assert not (tmp_path / "store" / ".build").exists()


def test_an_unfinished_build_of_other_settings_is_not_mixed_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _songs(tmp_path / "midi", 3)

    def killed(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store_build_module, "_finish", killed)
    with pytest.raises(KeyboardInterrupt):
        build_store(paths, tmp_path / "store", "note", workers=1)
    monkeypatch.undo()
    with pytest.raises(StoreError, match="unfinished build of other sources or settings"):
        build_store(paths, tmp_path / "store", "note", workers=1, options=CorpusOptions(
            transpose_to="C"))
    finished = build_store(paths, tmp_path / "store", "note", workers=1)
    with pytest.raises(StoreError, match="already a finished token store"):
        build_store(paths, finished.path, "note", workers=1)


def _copy_store(store: TokenStore, to: Path) -> Path:
    to.mkdir()
    for path in store.path.iterdir():
        (to / path.name).write_bytes(path.read_bytes())
    return to


def test_damaged_stores_are_named_errors(built: Any, tmp_path: Path) -> None:
    _, store = built
    missing = _copy_store(store, tmp_path / "missing")
    (missing / "shard-00001.npy").unlink()
    with pytest.raises(StoreError, match=r"shard-00001\.npy: shard missing"):
        open_store(missing)
    truncated = _copy_store(store, tmp_path / "truncated")
    data = (truncated / "shard-00000.npy").read_bytes()
    (truncated / "shard-00000.npy").write_bytes(data[: len(data) - 7])
    with pytest.raises(StoreError, match=r"shard-00000\.npy: (damaged shard|expected)"):
        open_store(truncated)
    newer = _copy_store(store, tmp_path / "newer")
    meta = json.loads((newer / "store.json").read_text())
    (newer / "store.json").write_text(json.dumps({**meta, "version": 99}))
    with pytest.raises(StoreError, match="version 99"):
        open_store(newer)
    other = _copy_store(store, tmp_path / "other")
    (other / "store.json").write_text(json.dumps({**meta, "tokenizer": {"format": "x"}}))
    with pytest.raises(StoreError, match="tokenizer cannot be rebuilt"):
        open_store(other)
    pointing = _copy_store(store, tmp_path / "pointing")
    np.savez(pointing / "index.npz", shard=np.array([0]), offset=np.array([10**9]),
             length=np.array([5]))
    with pytest.raises(StoreError, match="points outside the shards"):
        open_store(pointing)


def test_a_strangers_store_cannot_reach_outside_or_past_its_vocabulary(
    built: Any, tmp_path: Path
) -> None:
    _, store = built
    meta = json.loads((store.path / "store.json").read_text())
    for entry in ({"file": "../../etc/x.npy", "tokens": 3}, {"file": "/tmp/x.npy"}, "shard"):
        escaping = _copy_store(store, tmp_path / f"escape{len(str(entry))}")
        (escaping / "store.json").write_text(json.dumps({**meta, "shards": [entry]}))
        with pytest.raises(StoreError, match="is not a shard of this store"):
            open_store(escaping)
    wide = _copy_store(store, tmp_path / "wide")
    shard = np.load(wide / "shard-00000.npy")
    shard[3] = 250  # a byte, but past the note vocabulary
    np.save(wide / "shard-00000.npy", shard)
    opened = open_store(wide)
    with pytest.raises(StoreError, match="token id 250 outside the vocabulary"):
        opened[0]
    with pytest.raises(StoreError, match="token id 250 outside the vocabulary"):
        opened.windows([0], seq_len=4)[np.arange(3)]
    pickled = _copy_store(store, tmp_path / "pickled")
    np.save(pickled / "shard-00000.npy", np.array([None, 1], dtype=object), allow_pickle=True)
    with pytest.raises(StoreError, match="shard-00000.npy: damaged shard"):
        open_store(pickled)


def test_building_leaves_the_callers_tokenizer_and_records_no_reader(tmp_path: Path) -> None:
    paths = _songs(tmp_path / "midi", 2)
    tokenizer = get_tokenizer("note")
    before = tokenizer.to_dict()
    store = build_store(paths, tmp_path / "s", tokenizer, workers=1,
                        options=CorpusOptions(reader="mido"))
    assert tokenizer.to_dict() == before
    assert store.usage.reading is not None and store.usage.reading.reader == "auto"
    assert not (tmp_path / "s" / "popgen.lock").exists()  # the build's lock is released


def test_no_readable_song_is_an_error(tmp_path: Path) -> None:
    paths = _songs(tmp_path / "midi", 0, bad=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(StoreError, match="no readable songs.*not a valid MIDI"):
            build_store(paths, tmp_path / "store", "note", workers=1)


def test_a_kept_vocabulary_turns_new_names_into_unk(tmp_path: Path) -> None:
    paths = _songs(tmp_path / "midi", 3)
    tokenizer = get_tokenizer("note").fit_names([])  # the base vocabulary only
    with pytest.warns(UserWarning, match="became UNK"):
        store = build_store(paths, tmp_path / "s", tokenizer, fit=False, workers=1)
    assert store.tokenizer.to_dict() == tokenizer.to_dict()


def test_training_from_a_store_gives_the_losses_of_training_from_the_files(
    tmp_path: Path, capsys: Any
) -> None:
    _songs(tmp_path / "midi", 9)
    store = tmp_path / "store"
    assert main(["tokenize", str(tmp_path / "midi"), "--out", str(store), "--quiet",
                 "--tokenizer", "pop", "--workers", "1"]) == 0
    assert "9 songs" in capsys.readouterr().out
    tiny = ["--tokenizer", "pop", "--embed-dim", "4", "--hidden-size", "8", "--num-layers", "1",
            "--seq-len", "8", "--batch-size", "4", "--epochs", "2", "--valid-fraction", "0.3",
            "--seed", "3", "--quiet"]
    assert main(["train", str(tmp_path / "midi"), "--out", str(tmp_path / "files"), *tiny]) == 0
    assert main(["train", str(store), "--out", str(tmp_path / "disk"), *tiny[2:]]) == 0
    assert "token store: 9 songs" in capsys.readouterr().out
    files, disk = (json.loads((tmp_path / r / "popgen.json").read_text()) for r in
                   ("files", "disk"))
    assert [h["train_loss"] for h in disk["history"]] == [
        h["train_loss"] for h in files["history"]]
    assert [h["valid_loss"] for h in disk["history"]] == [
        h["valid_loss"] for h in files["history"]]
    assert disk["tokenizer"] == files["tokenizer"]
    assert disk["state"]["songs"] == files["state"]["songs"]
    assert disk["usage"] == files["usage"]
    assert main(["train", str(store), "--out", str(tmp_path / "r2"), *tiny]) == 1
    assert "encoding is the one it was built with" in capsys.readouterr().err
    assert main(["train", str(store), "--out", str(tmp_path / "r3"), "--transpose-to", "C",
                 *tiny[2:]]) == 1
    assert "do not apply to a token store" in capsys.readouterr().err
