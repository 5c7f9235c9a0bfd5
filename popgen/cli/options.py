"""Arguments several commands share: corpus sources and reading options, small types.

>>> import argparse
>>> parser = argparse.ArgumentParser()
>>> add_sources(parser)
>>> add_corpus_arguments(parser)
>>> args = parser.parse_args(["songs/", "--keys", "file"])
>>> args.sources, args.keys, args.workers
(['songs/'], 'file', None)
"""

from __future__ import annotations

import argparse
import ast
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from popgen.corpus.options import CHORD_RULES, KEY_RULES, READERS, SECTION_RULES
from popgen.music.song import ROLES

if TYPE_CHECKING:
    from popgen.corpus.corpus import Corpus
    from popgen.corpus.options import CorpusOptions

    #: What ``build_parser`` hands each command's ``add_parser``.
    Subcommands: TypeAlias = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = [
    "RUN_HELP",
    "add_corpus_arguments",
    "add_sources",
    "corpus_options",
    "key_value",
    "positive_int",
    "read_corpus",
]

_SOURCES_HELP = "MIDI/score files, folders, globs, music21:NAME"
#: Help of every argument that names a trained model (:func:`popgen.load_run` takes all three).
RUN_HELP = (
    "run directory written by 'popgen train', model file written by 'popgen export', "
    "or a pretrained model's name ('popgen models')"
)


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1.

    >>> positive_int("3")
    3
    >>> positive_int("0")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: must be >= 1, got 0
    """
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def key_value(text: str) -> tuple[str, Any]:
    """An argparse type: ``KEY=VALUE``, the value read as a Python literal or else kept as text.

    Dashes in the key become underscores, as in the flags.

    >>> key_value("hidden-size=64"), key_value("tie=True"), key_value("cell=gru")
    (('hidden_size', 64), ('tie', True), ('cell', 'gru'))
    >>> key_value("64")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: expected KEY=VALUE, got '64'
    """
    key, sep, value = text.partition("=")
    key = key.strip().replace("-", "_")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    try:
        return key, ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        return key, value.strip()


def add_sources(parser: argparse.ArgumentParser) -> None:
    """The positional ``sources`` of ``corpus`` and ``train``.

    >>> parser = argparse.ArgumentParser()
    >>> add_sources(parser)
    >>> parser.parse_args(["a.mid", "music21:bach"]).sources
    ['a.mid', 'music21:bach']
    """
    parser.add_argument("sources", nargs="+", help=_SOURCES_HELP)


def add_corpus_arguments(parser: argparse.ArgumentParser, *, cache: bool = True) -> None:
    """The options of reading a corpus, shared by ``corpus``, ``train``, ``evaluate``, ``tokenize``.

    ``cache=False`` leaves out ``--no-cache``, for a command that keeps no song
    cache (``tokenize``: the store it writes is the cache).

    >>> parser = argparse.ArgumentParser()
    >>> add_corpus_arguments(parser)
    >>> parser.parse_args(["--tracks", "MELODY", "1", "--no-cache"]).tracks
    ['MELODY', '1']
    """
    group = parser.add_argument_group("reading the corpus")
    group.add_argument("--tracks", nargs="+", help="keep tracks with these names or indices")
    group.add_argument("--drums", action="store_true", default=None, help="keep drum tracks")
    group.add_argument("--transpose-to", help="move songs to this key's family, e.g. C")
    group.add_argument(
        "--keys", choices=KEY_RULES, help="where song keys come from (default: auto)"
    )
    group.add_argument(
        "--chords", choices=CHORD_RULES, help="where song chords come from (default: auto)"
    )
    group.add_argument(
        "--no-annotations",
        dest="annotations",
        action="store_false",
        default=None,
        help="ignore beat_midi.txt / chord_midi.txt beside MIDI files",
    )
    group.add_argument(
        "--role",
        dest="roles",
        action="append",
        type=_name_role,
        metavar="TRACK=ROLE",
        help=f"give a track (by name) a role: {', '.join(ROLES)} (default: from names)",
    )
    group.add_argument(
        "--limit",
        dest="limits",
        action="append",
        type=_limit,
        metavar="NAME=VALUE",
        help="change a cap on what one song may cost (popgen.music.limits.Limits), e.g. "
        "max_silence=64 or max_beats=inf; repeatable",
    )
    group.add_argument(
        "--reader",
        choices=READERS,
        help="what parses MIDI files: the same songs, symusic much faster (pip install "
        "'popgen[fast]'); default: auto, symusic when installed",
    )
    group.add_argument(
        "--sections",
        choices=SECTION_RULES,
        help="where song sections come from: POP909's phrase labels, inferred from the "
        "melody's repeats, or none (default: labels)",
    )
    if cache:
        group.add_argument("--no-cache", action="store_true", help="parse every file again")
    group.add_argument(
        "--workers", type=positive_int, help="reading processes (default: all cores)"
    )


def _name_role(text: str) -> tuple[str, str]:
    """An argparse type: ``TRACK=ROLE``.

    >>> _name_role("BRIDGE=second")
    ('BRIDGE', 'second')
    """
    name, sep, role = text.partition("=")
    if not sep or role.strip() not in ROLES:
        raise argparse.ArgumentTypeError(f"expected TRACK=ROLE with ROLE in {ROLES}, got {text!r}")
    return name.strip(), role.strip()


def _limit(text: str) -> tuple[str, float]:
    """An argparse type: ``NAME=VALUE``, one cap of :class:`popgen.music.limits.Limits`.

    >>> _limit("max_silence=64"), _limit("max_notes=1000")
    (('max_silence', 64.0), ('max_notes', 1000))
    >>> _limit("silence=64")
    Traceback (most recent call last):
    argparse.ArgumentTypeError: unknown limit 'silence'; the limits are: max_silence, ...
    """
    import dataclasses

    from popgen.music.limits import Limits

    name, sep, value = (part.strip() for part in text.partition("="))
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    fields = {f.name: f for f in dataclasses.fields(Limits)}
    if name not in fields:
        raise argparse.ArgumentTypeError(
            f"unknown limit {name!r}; the limits are: {', '.join(fields)}"
        )
    try:
        number: float = int(value) if fields[name].type in (int, "int") else float(value)
        Limits.from_dict({name: number})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--limit {text}: {exc}") from None
    return name, number


def corpus_options(args: argparse.Namespace, base: CorpusOptions | None = None) -> CorpusOptions:
    """The reading options the flags of :func:`add_corpus_arguments` give, over ``base``.

    A flag left out keeps ``base``'s value (a run's recorded options, for
    ``evaluate``), else the default.

    >>> from popgen.corpus.options import CorpusOptions
    >>> parser = argparse.ArgumentParser()
    >>> add_corpus_arguments(parser)
    >>> base = CorpusOptions(tracks=["MELODY"], transpose_to="C")
    >>> options = corpus_options(parser.parse_args(["--keys", "file"]), base)
    >>> options.tracks, options.transpose_to, options.keys
    (('MELODY',), 'C', 'file')
    """
    from popgen.corpus.options import CorpusOptions

    given = {
        "tracks": args.tracks,
        "drums": args.drums,
        "transpose_to": args.transpose_to,
        "keys": args.keys,
        "chords": args.chords,
        "annotations": args.annotations,
        "roles": dict(args.roles) if args.roles else None,
        "reader": getattr(args, "reader", None),
        "sections": getattr(args, "sections", None),
    }
    if getattr(args, "limits", None):
        start = base.limits if base is not None else CorpusOptions().limits
        given["limits"] = start.replace(**dict(args.limits))
    return (base or CorpusOptions()).replace(**{k: v for k, v in given.items() if v is not None})


def read_corpus(
    args: argparse.Namespace, sources: Sequence[str], base: CorpusOptions | None = None
) -> Corpus:
    """Read ``sources`` with the options :func:`add_corpus_arguments` added, with a progress bar.

    ``base`` gives the options the flags leave out (see :func:`corpus_options`).

    ```python
    corpus = read_corpus(args, args.sources)  # in a command's run(args)
    ```
    """
    from popgen.corpus.corpus import DEFAULT_CACHE, Corpus

    options = corpus_options(args, base)
    return Corpus.from_sources(
        sources,
        options,
        cache_dir=None if args.no_cache else DEFAULT_CACHE,
        workers=args.workers,
        progress=True,
    )
