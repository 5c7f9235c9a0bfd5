import numpy as np
import pytest

from popgen.corpus.split import split_by_song
from popgen.data.windows import batches, make_windows
from popgen.tokenizers import PAD


def test_windows_cover_every_token_and_never_cross_songs() -> None:
    a = np.arange(10, 20, dtype=np.int32)
    b = np.arange(30, 33, dtype=np.int32)
    w = make_windows([a, b], seq_len=4)
    assert w.shape[1] == 5
    assert set(np.unique(w[:-1])) == set(a.tolist())  # first song's windows
    assert w[-1].tolist() == [30, 31, 32, PAD, PAD]  # short song padded
    assert w[-2].tolist() == a[-5:].tolist()  # last window aligned to the end


def test_stride_controls_overlap() -> None:
    tokens = np.arange(1, 22, dtype=np.int32)
    assert len(make_windows([tokens], seq_len=4, stride=4)) == 5
    assert len(make_windows([tokens], seq_len=4, stride=2)) == 9
    with pytest.raises(ValueError, match="stride"):
        make_windows([tokens], seq_len=4, stride=0)


def test_batches_pad_the_last_and_shuffle_by_seed() -> None:
    windows = np.arange(7 * 3, dtype=np.int32).reshape(7, 3)
    out = list(batches(windows, 3))
    assert [b.shape for b in out] == [(3, 3)] * 3
    assert (out[-1][1:] == PAD).all()
    one = np.concatenate(list(batches(windows, 3, rng=np.random.default_rng(1))))
    two = np.concatenate(list(batches(windows, 3, rng=np.random.default_rng(1))))
    np.testing.assert_array_equal(one, two)
    assert sorted(map(tuple, one[:7].tolist())) == sorted(map(tuple, windows.tolist()))


def test_split_by_song_is_disjoint_and_deterministic() -> None:
    train, valid = split_by_song(20, 0.25, seed=3)
    assert len(valid) == 5 and not set(train) & set(valid)
    assert sorted([*train, *valid]) == list(range(20))
    np.testing.assert_array_equal(split_by_song(20, 0.25, seed=3)[1], valid)
    assert len(split_by_song(2, 0.01)[1]) == 1  # a positive fraction holds out one song
    assert len(split_by_song(1, 0.5)[0]) == 1  # but never the only one
