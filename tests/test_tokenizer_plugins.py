"""Third-party encodings: a real plugin distribution on sys.path, found through its entry point."""

import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import write_distribution

import popgen
from popgen.music.song import Song, make_notes
from popgen.tokenizers.base import TOKENIZERS

PLUGIN = '''
"""A third-party encoding: each note as its pitch, one beat apart."""
from dataclasses import dataclass

from popgen import Song
from popgen import Tokenizer
from popgen import make_notes


@dataclass(frozen=True)
class PitchRowConfig:
    """No options."""


class PitchRowTokenizer(Tokenizer):
    """Pitches only."""

    name = "{name}"  # set by register_tokenizer for built-ins; a plugin names itself
    config_class = PitchRowConfig

    def song_to_names(self, song):
        return [f"P_{{p}}" for p in song.notes["pitch"].tolist()]

    def names_to_song(self, names):
        pitches = [int(n[2:]) for n in names if n.startswith("P_")]
        return Song(make_notes(pitches, range(len(pitches)), [1.0] * len(pitches)))
'''


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh site directory on sys.path; the registry is restored afterwards."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    for module in ("popgen_pitchrow_plugin", "popgen_broken_plugin"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    with TOKENIZERS.scoped():
        monkeypatch.setattr(TOKENIZERS, "_plugins_loaded", False)  # as in a fresh interpreter
        yield folder


def test_plugin_distribution_is_found_by_name(site: Path, tmp_path: Path) -> None:
    name = "pitch-row"
    write_distribution(
        site,
        "popgen_pitchrow",
        "popgen_pitchrow_plugin",
        PLUGIN.format(name=name),
        f"{name} = popgen_pitchrow_plugin:PitchRowTokenizer",
        group="popgen.tokenizers",
    )
    assert "popgen_pitchrow_plugin" not in sys.modules  # nothing imported until asked
    tok = popgen.get_tokenizer(name)
    assert name in popgen.list_tokenizers()
    assert type(tok).__module__ == "popgen_pitchrow_plugin"
    song = Song(make_notes([60, 64, 67], [0, 1, 2], [1, 1, 1]))
    tok.fit([song])
    assert tok.decode(tok.encode(song)).notes["pitch"].tolist() == [60, 64, 67]
    tok.save(tmp_path / "tok.json")  # saved and loaded by the name its entry point gives
    assert popgen.load_tokenizer(tmp_path / "tok.json").vocab == tok.vocab


def test_broken_plugin_warns_with_its_name_and_the_others_still_work(site: Path) -> None:
    write_distribution(
        site,
        "popgen_pitchrow",
        "popgen_pitchrow_plugin",
        PLUGIN.format(name="pitch-row"),
        "pitch-row = popgen_pitchrow_plugin:PitchRowTokenizer",
        group="popgen.tokenizers",
    )
    write_distribution(
        site,
        "popgen_broken",
        "popgen_broken_plugin",
        "import a_module_that_does_not_exist\n",
        "broken-encoding = popgen_broken_plugin:Tokenizer",
        group="popgen.tokenizers",
    )
    with pytest.warns(UserWarning, match="broken-encoding"):
        TOKENIZERS.reload_plugins()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # loaded once: no second warning
        assert popgen.get_tokenizer("pitch-row").name == "pitch-row"
        assert popgen.get_tokenizer("note").name == "note"
        with pytest.raises(popgen.UnknownNameError, match="known: .*pitch-row"):
            popgen.get_tokenizer("broken-encoding")
