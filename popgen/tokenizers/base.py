"""The tokenizer base class: vocabulary, fit, encode/decode, JSON save/load.

An encoding implements two hooks, :meth:`Tokenizer.song_to_names` (a Song to
token *names* such as ``"PITCH_60"``) and :meth:`Tokenizer.names_to_song`
(back), and declares its loss with :meth:`Tokenizer.prepare`. Everything
else — the vocabulary with its special tokens, fitting it to a corpus, ids,
batches, saving — lives here, once.
"""

from __future__ import annotations

import abc
import dataclasses
import json
import os
import re
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import NDArray

from popgen.errors import VocabularyError
from popgen.music.song import Song
from popgen.registry import Registry
from popgen.tokenizers.grammar import Grammar, GrammarRules, build_grammar

__all__ = [
    "BOS",
    "EOS",
    "FORMAT_VERSION",
    "PAD",
    "SPECIAL_TOKENS",
    "UNK",
    "Tokenizer",
    "TOKENIZERS",
    "get_tokenizer",
    "list_tokenizers",
    "load_tokenizer",
    "register_tokenizer",
    "tokenizer_class",
]

#: Special tokens, always ids 0..3 in this order.
SPECIAL_TOKENS = ("PAD", "BOS", "EOS", "UNK")
PAD, BOS, EOS, UNK = 0, 1, 2, 3
#: Version of the JSON format written by :meth:`Tokenizer.save`.
FORMAT_VERSION = 1

#: Every known encoding, by name (entry-point group ``popgen.tokenizers``).
TOKENIZERS: Registry[type[Tokenizer]] = Registry("tokenizer", group="popgen.tokenizers")


class Tokenizer(abc.ABC):
    """Abstract base of every encoding.

    Subclasses set ``config_class`` (a frozen dataclass of the encoding's
    options) and implement :meth:`song_to_names` and :meth:`names_to_song`;
    they may override :meth:`base_vocabulary` (names always in the vocabulary),
    :meth:`pitch_of` (the MIDI pitch a token stands for, for sampling
    strategies) and :meth:`prepare` (the song after the encoding's loss).

    Args:
        config: the encoding's options; built from ``options`` when omitted.
        vocab: token names after the special tokens, e.g. from a saved file;
            when omitted the vocabulary is :meth:`base_vocabulary` until
            :meth:`fit` is called.
        **options: fields of ``config_class``, when ``config`` is omitted.

    >>> from popgen.music.song import make_notes
    >>> song = Song(make_notes([60, 64], [0, 1], [1, 1], velocity=88))
    >>> tok = get_tokenizer("note", steps_per_beat=4).fit([song])
    >>> ids = tok.encode(song)
    >>> [tok.token_name(i) for i in ids]
    ['BOS', 'PITCH_60', 'DUR_1', 'VEL_88', 'PITCH_64', 'DUR_1', 'VEL_88', 'EOS']
    >>> tok.decode(ids).notes[["pitch", "start"]].tolist()
    [(60, 0.0), (64, 1.0)]

    """

    #: Registry name, set by :func:`register_tokenizer`.
    name: ClassVar[str] = ""
    #: The frozen dataclass of this encoding's options.
    config_class: ClassVar[type[Any]]

    def __init__(
        self, config: Any = None, *, vocab: Sequence[str] | None = None, **options: Any
    ) -> None:
        if config is None:
            try:
                config = self.config_class(**options)
            except TypeError as exc:
                fields = ", ".join(f.name for f in dataclasses.fields(self.config_class))
                raise ValueError(
                    f"bad option for tokenizer {self.name!r}: {exc}; its options are: {fields}"
                ) from None
        elif options:
            raise TypeError("pass either config or keyword options, not both")
        self.config = config
        names = list(vocab) if vocab is not None else self.base_vocabulary()
        self._set_vocab(names)

    # ---------------------------------------------------------------- hooks
    @abc.abstractmethod
    def song_to_names(self, song: Song) -> list[str]:
        """Turn a song into token names (the encoding's documented loss applies).

        >>> from popgen.music.song import make_notes
        >>> get_tokenizer("note").song_to_names(Song(make_notes([60, 64], [0, 0], [1, 1], 88)))
        ['PITCH_60', 'DUR_1', 'VEL_88', 'AND', 'PITCH_64', 'DUR_1', 'VEL_88']
        """

    @abc.abstractmethod
    def names_to_song(self, names: Sequence[str]) -> Song:
        """Turn token names back into a song; malformed fragments are skipped.

        >>> names = ["PITCH_60", "DUR_1/2", "VEL_88", "PITCH_62", "DUR_1"]  # the last is cut off
        >>> get_tokenizer("note").names_to_song(names).notes[["pitch", "duration"]].tolist()
        [(60, 0.5)]
        """

    def prepare(self, song: Song) -> Song:
        """The song as the encoding sees it: after its documented loss.

        ``decode(encode(song))`` has exactly the notes of ``prepare(song)``;
        each encoding's round-trip test checks it. The default, for an encoding
        that loses nothing, is the song unchanged; an encoding that drops,
        merges or rounds anything overrides it to compute the result directly.

        >>> from popgen.music.song import make_notes
        >>> song = Song(make_notes([60, 64], [0.1, 1], [0.3, 1], 100))
        >>> tok = get_tokenizer("note", steps_per_beat=4, velocity_bins=8).fit([song])
        >>> tok.prepare(song).notes[["start", "duration", "velocity"]].tolist()
        [(0.0, 0.25, 104), (1.0, 1.0, 104)]
        >>> bool((tok.decode(tok.encode(song)).notes == tok.prepare(song).notes).all())
        True
        """
        return song

    def base_vocabulary(self) -> list[str]:
        """Names that are always in the vocabulary, fitted or not.

        >>> get_tokenizer("note").base_vocabulary()[:3]
        ['AND', 'PITCH_0', 'PITCH_1']
        """
        return []

    def pitch_of(self, name: str) -> int | None:
        """The MIDI pitch a token names, or ``None`` for tokens that are not one pitch.

        >>> tok = get_tokenizer("note")
        >>> tok.pitch_of("PITCH_60"), tok.pitch_of("DUR_1")
        (60, None)
        """
        return None

    def grammar_rules(self) -> tuple[str, GrammarRules] | None:
        """``(start state, rules)`` of the encoding's token grammar; ``None`` if any order decodes.

        See :mod:`popgen.tokenizers.grammar`. The sampler enforces the grammar,
        so every generated sequence decodes without a skipped token.

        >>> start, rules = get_tokenizer("note").grammar_rules()
        >>> start, rules["pitch"], rules["dur"]  # after PITCH comes DUR, after DUR comes VEL
        ('start', {'DUR': 'dur'}, {'VEL': 'note'})
        >>> print(get_tokenizer("chord").grammar_rules())
        None
        """
        return None

    def grammar(self) -> Grammar | None:
        """The grammar as a transition table over this vocabulary, or ``None``.

        >>> from popgen.music.song import make_notes
        >>> tok = get_tokenizer("note").fit([Song(make_notes([60], [0], [1], velocity=88))])
        >>> grammar = tok.grammar()
        >>> grammar.accepts([tok.token_id(n) for n in ["PITCH_60", "DUR_1", "VEL_88"]])
        True
        >>> grammar.accepts([tok.token_id("DUR_1")])  # a duration before any pitch
        False
        """
        rules = self.grammar_rules()
        if rules is None:
            return None
        return build_grammar(self._id_to_name, rules[0], rules[1], bos=BOS)

    # ----------------------------------------------------------- vocabulary
    def _set_vocab(self, names: Iterable[str]) -> None:
        unique = [n for n in dict.fromkeys(names) if n not in SPECIAL_TOKENS]
        self._id_to_name: list[str] = [*SPECIAL_TOKENS, *unique]
        self._name_to_id = {n: i for i, n in enumerate(self._id_to_name)}

    @property
    def vocab(self) -> list[str]:
        """Token names indexed by id, special tokens first.

        >>> get_tokenizer("note").vocab[:6]
        ['PAD', 'BOS', 'EOS', 'UNK', 'AND', 'PITCH_0']
        """
        return list(self._id_to_name)

    @property
    def vocab_size(self) -> int:
        """Number of tokens, special tokens included.

        >>> from popgen.music.song import make_notes
        >>> tok = get_tokenizer("note")
        >>> before = tok.vocab_size
        >>> tok.fit([Song(make_notes([60], [0], [1]))]).vocab_size - before  # DUR_1 was added
        1
        """
        return len(self._id_to_name)

    def token_id(self, name: str) -> int:
        """The id of a token name (``UNK`` when the name is not in the vocabulary).

        >>> tok = get_tokenizer("note")
        >>> tok.token_id("PITCH_60"), tok.token_id("PITCH_999") == UNK
        (65, True)
        """
        return self._name_to_id.get(name, UNK)

    def token_name(self, token: int) -> str:
        """The name of a token id.

        >>> tok = get_tokenizer("note")
        >>> tok.token_name(BOS), tok.token_name(65)
        ('BOS', 'PITCH_60')
        """
        if not 0 <= token < len(self._id_to_name):
            raise VocabularyError(f"token id {token} outside the vocabulary of {self.vocab_size}")
        return self._id_to_name[token]

    def token_pitches(self) -> NDArray[np.int32]:
        """``int32[vocab_size]``: each token's MIDI pitch, -1 where it names none.

        >>> pitches = get_tokenizer("note").token_pitches()
        >>> pitches[:7].tolist()  # PAD BOS EOS UNK AND PITCH_0 PITCH_1
        [-1, -1, -1, -1, -1, 0, 1]
        """
        return np.array(
            [-1 if (p := self.pitch_of(n)) is None else p for n in self._id_to_name],
            dtype=np.int32,
        )

    def fit(self, songs: Iterable[Song]) -> Self:
        """Set the vocabulary to the base vocabulary plus every name the songs produce.

        Names are sorted by family and value (``DUR_1/4`` before ``DUR_1/2``),
        so the same corpus always gives the same ids. Returns ``self``.

        >>> from popgen.music.song import make_notes
        >>> tok = get_tokenizer("note", steps_per_beat=4)
        >>> before = set(tok.vocab)
        >>> tok.fit([Song(make_notes([60, 62], [0, 0.5], [0.5, 1.5]))])
        NoteTokenizer(NoteConfig(steps_per_beat=4, ...), vocab_size=143)
        >>> [name for name in tok.vocab if name not in before]
        ['DUR_1/2', 'DUR_3/2']
        """
        seen: set[str] = set()
        count = 0
        for song in songs:
            seen.update(self.song_to_names(song))
            count += 1
        if count == 0:
            raise VocabularyError(f"cannot fit tokenizer {self.name!r} on no songs")
        return self.fit_names(seen)

    def fit_names(self, names: Iterable[str]) -> Self:
        """Set the vocabulary to the base vocabulary plus ``names``, sorted as :meth:`fit` does.

        For vocabularies gathered piecewise (:func:`popgen.data.store.build_store`
        collects the names of each part of a corpus in its own process): fitting
        on the union of the parts' names gives the ids :meth:`fit` gives on the
        whole corpus. Returns ``self``.

        >>> tok = get_tokenizer("note", steps_per_beat=4)
        >>> tok.fit_names(["DUR_3/2", "DUR_1/2"]).vocab_size
        143
        """
        seen = set(self.base_vocabulary())
        seen.update(names)
        self._set_vocab(sorted(seen, key=_name_sort_key))
        return self

    # ------------------------------------------------------- encode / decode
    def encode(self, song: Song, *, bos: bool = True, eos: bool = True) -> NDArray[np.int32]:
        """``int32[n]`` token ids of a song, framed by ``BOS``/``EOS``.

        Names missing from the vocabulary become ``UNK`` with one warning.

        >>> from popgen.music.song import make_notes
        >>> song = Song(make_notes([60], [0], [1], velocity=88))
        >>> tok = get_tokenizer("note").fit([song])
        >>> ids = tok.encode(song)
        >>> ids.tolist(), [tok.token_name(i) for i in ids]
        ([1, 66, 5, 139, 2], ['BOS', 'PITCH_60', 'DUR_1', 'VEL_88', 'EOS'])
        >>> tok.encode(song, bos=False, eos=False).tolist()
        [66, 5, 139]
        """
        names = self.song_to_names(song)
        ids = [self._name_to_id.get(n, UNK) for n in names]
        unknown = ids.count(UNK)
        if unknown:
            where = f" in {song.source}" if song.source else ""
            warnings.warn(
                f"{unknown} of {len(ids)} tokens{where} are not in the vocabulary of "
                f"tokenizer {self.name!r} and became UNK",
                stacklevel=2,
            )
        return np.array([BOS] * bos + ids + [EOS] * eos, dtype=np.int32)

    def decode(self, tokens: Iterable[int] | NDArray[np.integer[Any]]) -> Song:
        """Turn ids into a song. Stops at the first ``EOS``; skips PAD/BOS/UNK.

        >>> from popgen.music.song import make_notes
        >>> tok = get_tokenizer("note").fit([Song(make_notes([60], [0], [1], velocity=88))])
        >>> ids = [BOS, *(tok.token_id(n) for n in ["PITCH_60", "DUR_1", "VEL_88"]), EOS, 66]
        >>> tok.decode(ids).notes[["pitch", "start", "duration", "velocity"]].tolist()
        [(60, 0.0, 1.0, 88)]
        """
        names: list[str] = []
        for t in np.asarray(tokens, dtype=np.int64).ravel():
            if t == EOS:
                break
            if t in (PAD, BOS, UNK):
                continue
            names.append(self.token_name(int(t)))
        return self.names_to_song(names)

    def encode_batch(self, songs: Iterable[Song]) -> list[NDArray[np.int32]]:
        """:meth:`encode` for each song.

        >>> from popgen.music.song import make_notes
        >>> songs = [Song(make_notes([60], [0], [1])), Song(make_notes([60, 64], [0, 1], [1, 1]))]
        >>> [len(ids) for ids in get_tokenizer("note").fit(songs).encode_batch(songs)]
        [5, 8]
        """
        return [self.encode(s) for s in songs]

    def decode_batch(self, tokens: Iterable[Iterable[int]]) -> list[Song]:
        """:meth:`decode` for each row of ids (e.g. ``int32[batch, steps]``).

        >>> from popgen.music.song import make_notes
        >>> songs = [Song(make_notes([60], [0], [1])), Song(make_notes([60, 64], [0, 1], [1, 1]))]
        >>> tok = get_tokenizer("note").fit(songs)
        >>> [song.notes["pitch"].tolist() for song in tok.decode_batch(tok.encode_batch(songs))]
        [[60], [60, 64]]
        """
        return [self.decode(row) for row in tokens]

    # ---------------------------------------------------------- persistence
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description: encoding name, config, vocabulary, format version.

        >>> data = get_tokenizer("chord", step=0.25).to_dict()
        >>> data["encoding"], data["config"], data["vocab"][:2]
        ('chord', {'step': 0.25, 'velocity': 90, 'names': 'pitches'}, ['NOTE_0', 'NOTE_1'])
        """
        return {
            "format": "popgen.tokenizer",
            "version": FORMAT_VERSION,
            "encoding": self.name,
            "config": dataclasses.asdict(self.config),
            "vocab": self._id_to_name[len(SPECIAL_TOKENS) :],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "tokenizer data") -> Tokenizer:
        """Rebuild a tokenizer from :meth:`to_dict` output.

        Called on the base class it builds the encoding the data names; called
        on a subclass it also checks that the data is of that encoding.

        >>> Tokenizer.from_dict(get_tokenizer("chord", step=0.25).to_dict())
        ChordTokenizer(ChordConfig(step=0.25, velocity=90, names='pitches'), vocab_size=132)
        """
        if not isinstance(data, dict) or data.get("format") != "popgen.tokenizer":
            raise VocabularyError(f"{source}: not a popgen tokenizer file")
        if data.get("version") != FORMAT_VERSION:
            raise VocabularyError(
                f"{source}: tokenizer format version {data.get('version')!r}; "
                f"this popgen reads version {FORMAT_VERSION}"
            )
        encoding = data.get("encoding")
        if cls is not Tokenizer and encoding != cls.name:
            raise VocabularyError(
                f"{source}: vocabulary of encoding {encoding!r}, expected {cls.name!r}"
            )
        klass = tokenizer_class(str(encoding))
        try:
            config = klass.config_class(**data.get("config", {}))
        except TypeError as exc:  # a setting this version does not have
            raise VocabularyError(f"{source}: encoding {encoding!r}: {exc}") from None
        return klass(config, vocab=[str(v) for v in data.get("vocab", [])])

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the tokenizer as JSON (no pickle), atomically.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     get_tokenizer("note", steps_per_beat=4).save(f"{tmp}/tokenizer.json")
        ...     Tokenizer.load(f"{tmp}/tokenizer.json").config
        NoteConfig(steps_per_beat=4, max_duration=8.0, velocity_bins=8)
        """
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Tokenizer:
        """Read a tokenizer written by :meth:`save`.

        Called on a subclass, it also checks the file's encoding:

        >>> import tempfile
        >>> from popgen.tokenizers import NoteTokenizer
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     get_tokenizer("chord").save(f"{tmp}/tokenizer.json")
        ...     NoteTokenizer.load(f"{tmp}/tokenizer.json")
        Traceback (most recent call last):
        popgen.errors.VocabularyError: ...: vocabulary of encoding 'chord', expected 'note'
        """
        try:
            data = json.loads(Path(path).read_text())
        except FileNotFoundError:
            raise VocabularyError(f"{path}: no such file") from None
        except (OSError, ValueError) as exc:
            raise VocabularyError(f"{path}: not a JSON tokenizer file ({exc})") from None
        return cls.from_dict(data, source=str(path))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r}, vocab_size={self.vocab_size})"


_NUMBER = re.compile(r"^(-?\d+)(?:/(\d+))?$")


def _name_sort_key(name: str) -> tuple[str, float, str]:
    """Sort token names by family, then numerically by value (``DUR_3/2`` as 1.5)."""
    family, _, value = name.partition("_")
    m = _NUMBER.match(value)
    number = int(m.group(1)) / int(m.group(2) or 1) if m else float("inf")
    return family, number, value


def register_tokenizer(name: str, *, replace: bool = False) -> Any:
    """Class decorator that registers an encoding under ``name``.

    >>> import dataclasses
    >>> from popgen.music.song import make_notes
    >>> @register_tokenizer("pitch-list")
    ... class PitchList(Tokenizer):  # one token per note: its pitch, one beat each
    ...     config_class = dataclasses.make_dataclass("PitchListConfig", [], frozen=True)
    ...     def song_to_names(self, song):
    ...         return [f"PITCH_{p}" for p in song.notes["pitch"]]
    ...     def names_to_song(self, names):
    ...         pitches = [int(n.removeprefix("PITCH_")) for n in names]
    ...         return Song(make_notes(pitches, range(len(names)), [1] * len(names)))
    >>> get_tokenizer("pitch-list").song_to_names(Song(make_notes([60, 64], [0, 2], [2, 1])))
    ['PITCH_60', 'PITCH_64']
    """

    def decorate(cls: type[Tokenizer]) -> type[Tokenizer]:
        cls.name = name
        TOKENIZERS.add(name, cls, replace=replace)
        return cls

    return decorate


def get_tokenizer(name: str, **options: Any) -> Tokenizer:
    """A new, unfitted tokenizer of the encoding ``name`` with its options.

    >>> get_tokenizer("note", steps_per_beat=4).config.steps_per_beat
    4
    """
    return tokenizer_class(name)(**options)


def tokenizer_class(name: str) -> type[Tokenizer]:
    """The encoding class registered as ``name`` (plugins included).

    A class that came from an entry point without ``@register_tokenizer`` gets
    its entry point's name, so that it saves and loads under that name.

    >>> tokenizer_class("remi")
    <class 'popgen.tokenizers.remi.RemiTokenizer'>
    """
    cls = TOKENIZERS.get(name)
    if not cls.name:
        cls.name = name
    return cls


def list_tokenizers() -> list[str]:
    """Names of every registered encoding, plugins included.

    >>> list_tokenizers()
    ['chord', 'event', 'lead', 'note', 'pop', 'remi']
    """
    return TOKENIZERS.names()


def load_tokenizer(path: str | os.PathLike[str]) -> Tokenizer:
    """Read a tokenizer JSON file of any registered encoding.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     get_tokenizer("remi").save(f"{tmp}/tokenizer.json")
    ...     load_tokenizer(f"{tmp}/tokenizer.json").name
    'remi'
    """
    return Tokenizer.load(path)
