import warnings
from pathlib import Path

import pytest

from popgen import Corpus, CorpusOptions
from popgen.errors import CorpusError


def test_reads_a_folder_drops_drums_and_describes(midi_dir: Path) -> None:
    corpus = Corpus.from_paths([midi_dir])
    assert len(corpus) == 3 and not corpus.skipped
    assert all(not t.is_drum for song in corpus for t in song.tracks)
    text = corpus.describe()
    assert "3 songs" in text and "0 skipped" in text


def test_keeps_drums_when_asked(midi_dir: Path) -> None:
    corpus = Corpus.from_paths([midi_dir / "band.mid"], drums=True)
    assert any(t.is_drum for t in corpus[0].tracks)


def test_tracks_by_name(midi_dir: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corpus = Corpus.from_paths([midi_dir], tracks=["Melody"])
    assert len(corpus) == 1 and corpus[0].tracks[0].name == "Melody"
    assert len(corpus.skipped) == 2  # the other songs have no such track


def test_corrupt_file_is_skipped_with_a_warning_and_the_rest_kept(midi_dir: Path) -> None:
    (midi_dir / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    (midi_dir / "empty.mid").write_bytes(b"")
    with pytest.warns(UserWarning, match="broken.mid"):
        corpus = Corpus.from_paths([midi_dir])
    assert len(corpus) == 3
    assert {Path(p).name for p, _ in corpus.skipped} == {"broken.mid", "empty.mid"}


def test_missing_path_and_empty_folder_and_nothing_readable(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="nope.mid: no such file"):
        Corpus.from_paths([tmp_path / "nope.mid"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(CorpusError, match="empty: the folder holds no MIDI"):
        Corpus.from_paths([tmp_path / "empty"])
    (tmp_path / "bad.mid").write_bytes(b"not midi at all")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(CorpusError, match="no readable songs.*bad.mid"):
            Corpus.from_paths([tmp_path / "bad.mid"])


def test_glob_patterns(midi_dir: Path) -> None:
    corpus = Corpus.from_paths([str(midi_dir / "m*.mid")])
    assert [s.title for s in corpus] == ["melody"]


def test_split_by_song_is_disjoint(midi_dir: Path, make_midi) -> None:  # type: ignore[no-untyped-def]
    for i in range(7):
        make_midi(midi_dir / f"extra{i}.mid", [(60 + i, 0.0, 1.0)])
    corpus = Corpus.from_paths([midi_dir])
    train, valid, test = corpus.split(valid=0.2, test=0.2, seed=1)
    names = [{s.source for s in part} for part in (train, valid, test)]
    assert sum(map(len, names)) == len(corpus) == 10
    assert not (names[0] & names[1]) and not (names[0] & names[2]) and not (names[1] & names[2])
    assert len(valid) == 2 and len(test) == 2
    with pytest.raises(ValueError):
        corpus.split(valid=0.6, test=0.5)


def test_transpose_to_common_key(midi_dir: Path) -> None:
    corpus = Corpus.from_paths([midi_dir / "band.mid"], transpose_to="C")
    assert corpus[0].key == "A minor"  # already A minor: unchanged
    corpus = Corpus.from_paths([midi_dir / "melody.mid"], transpose_to="D")
    assert corpus[0].key == "D major"
    assert corpus[0].notes["pitch"][0] == 62


def test_music21_corpus_and_mixed_sources(midi_dir: Path) -> None:
    corpus = Corpus.from_sources(["music21:essenFolksong/test0", str(midi_dir / "melody.mid")])
    assert len(corpus) > 1
    assert any(s.source.startswith("music21:") for s in corpus)
    with pytest.raises(CorpusError, match="nosuchwork"):
        Corpus.from_music21("nosuchwork")


def test_programs_quantize_and_augment(midi_dir: Path) -> None:
    corpus = Corpus.from_paths([midi_dir / "type0.mid"], programs=[33])
    assert [t.program for t in corpus[0].tracks] == [33]
    corpus = Corpus.from_paths([midi_dir / "melody.mid"], quantize=2)
    assert set((corpus[0].notes["start"] * 2).tolist()) <= set(range(40))
    augmented = corpus.augmented(range(-1, 2))
    assert len(augmented) == 3
    assert sorted(s.notes["pitch"][0] for s in augmented) == [59, 60, 61]


def test_cache_dir_none_and_workers(midi_dir: Path, tmp_path: Path) -> None:
    a = Corpus.from_paths([midi_dir], cache_dir=None, workers=1)
    b = Corpus.from_paths([midi_dir], cache_dir=tmp_path / "c", workers=2)
    c = Corpus.from_paths([midi_dir], cache_dir=tmp_path / "c")
    assert [s.notes.tolist() for s in a] == [s.notes.tolist() for s in b]
    assert [s.source for s in b] == [s.source for s in c]
    assert list((tmp_path / "c").rglob("*.songs"))


def test_music21_sources_are_named_and_cached(tmp_path: Path) -> None:
    corpus = Corpus.from_music21("essenFolksong/test0", cache_dir=tmp_path / "c", limit=3)
    assert len(corpus) == 3
    assert corpus[0].source.startswith("music21:essenFolksong/test0.abc#")
    again = Corpus.from_music21("essenFolksong/test0", cache_dir=tmp_path / "c", limit=3)
    assert [s.source for s in again] == [s.source for s in corpus]


# ------------------------------------------------------------------ options
def notes_of(corpus: Corpus) -> list[list[tuple[object, ...]]]:
    return [s.notes.tolist() for s in corpus]


def test_keyword_and_options_forms_read_the_same(midi_dir: Path) -> None:
    fields = {"tracks": ["Bass", "0"], "drums": True, "quantize": 2, "transpose_to": "C"}
    options = CorpusOptions(**fields)
    by_keyword = Corpus.from_paths([midi_dir / "band.mid"], cache_dir=None, **fields)
    by_options = Corpus.from_paths([midi_dir / "band.mid"], options, cache_dir=None)
    assert notes_of(by_keyword) == notes_of(by_options)
    assert [s.key for s in by_keyword] == [s.key for s in by_options]
    # keywords replace the fields of the options given
    mixed = Corpus.from_paths(
        [midi_dir / "band.mid"], options.replace(quantize=None), quantize=2, cache_dir=None
    )
    assert notes_of(mixed) == notes_of(by_options)
    # the command line's call
    sources = [str(midi_dir / "band.mid")]
    cli = CorpusOptions(tracks=fields["tracks"], drums=True, transpose_to="C", keys="auto")
    read = Corpus.from_sources(sources, cli, cache_dir=None, workers=1, progress=True)
    old_form = Corpus.from_sources(sources, cache_dir=None, drums=True, tracks=["Bass", "0"])
    assert notes_of(read) == notes_of(old_form.transposed_to("C"))


def test_options_are_values() -> None:
    assert CorpusOptions(tracks=["Melody"], programs=[33]) == CorpusOptions(
        tracks=("Melody",), programs=(33,)
    )
    assert CorpusOptions().replace(drums=True) == CorpusOptions(drums=True)
    options = CorpusOptions()
    options.replace(keys="file")
    assert options == CorpusOptions()  # replace never changes the original
    assert {CorpusOptions(tracks=["a"]), CorpusOptions(tracks=("a",))} == {
        CorpusOptions(tracks=["a"])
    }


def test_unknown_option_names_the_known_ones(midi_dir: Path) -> None:
    message = "unknown corpus option 'track'; the options are: tracks, programs, drums"
    with pytest.raises(TypeError, match=message):
        Corpus.from_paths([midi_dir], track=["Melody"])
    with pytest.raises(TypeError, match="unknown corpus option 'track'"):
        Corpus.from_music21("essenFolksong/test0", track=["Melody"])
    with pytest.raises(TypeError, match="unknown corpus options 'a', 'b'"):
        CorpusOptions().replace(a=1, b=2)
    with pytest.raises(TypeError, match="options must be a CorpusOptions, got a dict"):
        Corpus.from_paths([midi_dir], {"tracks": ["Melody"]})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"keys": "guess"}, ValueError, "keys must be 'auto', 'file' or 'analysis', got 'guess'"),
        ({"quantize": 0}, ValueError, "quantize must be .* >= 1 .*got 0"),
        ({"quantize": 2.5}, ValueError, "quantize must be .*got 2.5"),
        ({"transpose_to": "H"}, ValueError, "transpose_to: unknown tonic in key 'H'"),
        ({"transpose_to": 3}, TypeError, "transpose_to must be a key name, got 3"),
        ({"tracks": "Melody"}, TypeError, r"got the string 'Melody'; write tracks=\['Melody'\]"),
        ({"tracks": [1.5]}, TypeError, "tracks must be track names or indices, got 1.5"),
        ({"programs": [128]}, ValueError, "programs must be General MIDI programs 0..127, got 128"),
        ({"drums": "yes"}, TypeError, "drums must be True or False, got 'yes'"),
        ({"accents": None}, TypeError, "accents must be True or False, got None"),
    ],
    ids=[
        *("keys", "quantize=0", "quantize=2.5", "key", "key-type", "tracks-str", "tracks-float"),
        *("programs", "drums", "accents"),
    ],
)
def test_bad_option_values_say_what_was_given(
    fields: dict[str, object], error: type[Exception], message: str, midi_dir: Path
) -> None:
    with pytest.raises(error, match=message):
        CorpusOptions(**fields)  # type: ignore[arg-type]
    with pytest.raises(error, match=message):  # before any file is read
        Corpus.from_paths([midi_dir / "no-such-file.mid"], **fields)
