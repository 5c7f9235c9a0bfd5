"""Checks on a score file before and while music21 reads it: zips, notes and time.

music21 reads a score whole, into about 2.5 KB of objects per note, and its
cost is not bounded by the file's size: a 1 MB ``.mxl`` can unpack to 1 GB
of XML, and a 2 MB ABC file can hold 1.6 million notes (85 s of music21, then
a ``SystemError``). :func:`parse_score` parses a file with music21 only after
:func:`check_score` has bounded what it holds, and stops it after
``Limits.max_seconds_per_file``:

- a zip (``.mxl``, or any file that is one): each member's unpacked size, and
  their sum, at most ``max_file_bytes``; each member's unpacked size at most
  ``max_compression_ratio`` times its packed size. The sizes are those the
  zip's directory declares, and Python's ``zipfile`` never unpacks more than
  that;
- the notes the text holds (MusicXML, MEI and MuseScore ``<note>`` elements,
  ABC note letters, ``**kern`` note tokens; an estimate that counts a little
  high, never low for well-formed files), at most ``max_score_notes``;
- music21's parse, at most ``max_seconds_per_file`` seconds (a timer, in the
  main thread of a process; elsewhere the note count alone bounds it).

music21's own cache of parsed scores (pickles in its scratch folder) is
neither read nor written.

>>> import tempfile, zipfile
>>> from popgen.music.limits import Limits
>>> with tempfile.TemporaryDirectory() as tmp:
...     with zipfile.ZipFile(f"{tmp}/bomb.mxl", "w", zipfile.ZIP_DEFLATED) as z:
...         z.writestr("score.xml", b" " * 10_000_000)
...     check_score(f"{tmp}/bomb.mxl", Limits())
Traceback (most recent call last):
popgen.errors.CorpusError: /tmp/.../bomb.mxl: zip member 'score.xml' unpacks to 10000000 bytes,
...times its packed size, more than Limits.max_compression_ratio (200)
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import threading
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

from popgen.errors import CorpusError
from popgen.music.limits import DEFAULT_LIMITS, Limits

__all__ = ["check_archive", "check_score", "count_score_notes", "parse_score", "time_limit"]

_XML_NOTE = re.compile(rb"<note[\s>/]", re.IGNORECASE)
_ABC_FIELD = re.compile(rb"^\s*[A-Za-z+]:")  # a header or body field line (K:, w:, ...)
_ABC_SKIP = re.compile(rb'"[^"\n]*"|![^!\n]*!|\+[^+\n]*\+|\[[A-Za-z]:[^\]\n]*\]|%.*')
_ABC_NOTE = re.compile(rb"[A-Ga-g]")
_KERN_NOTE = re.compile(rb"[A-Ga-g]")
_XML_SUFFIXES = frozenset({".xml", ".musicxml", ".mei", ".mscx"})
#: What zipfile raises on a damaged, encrypted or oddly compressed zip.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    EOFError,
    RuntimeError,
    ValueError,
    NotImplementedError,
)


def check_archive(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise unless the zip at ``path`` unpacks within ``limits``; nothing when it is no zip.

    Each member's declared unpacked size, and their sum, must be at most
    ``limits.max_file_bytes``, and each member's unpacked size at most
    ``limits.max_compression_ratio`` times its packed size (a member under
    64 KiB unpacked is not held to the ratio: it costs nothing).

    Raises:
        CorpusError: a member over a cap, or a zip whose directory cannot be
            read; the message names the file, the member and the cap.

    >>> import io, tempfile, zipfile
    >>> with tempfile.NamedTemporaryFile(suffix=".mxl") as file:
    ...     with zipfile.ZipFile(file.name, "w", zipfile.ZIP_DEFLATED) as z:
    ...         z.writestr("score.xml", b"<score-partwise/>" * 100)
    ...     check_archive(file.name, Limits(max_file_bytes=1000))
    Traceback (most recent call last):
    popgen.errors.CorpusError: /tmp/....mxl: zip member 'score.xml' unpacks to 1700 bytes,
    more than the largest file read (1000 bytes); to read it, raise Limits.max_file_bytes
    """
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except _ZIP_ERRORS as exc:
        raise CorpusError(f"{os.fspath(path)}: a damaged zip ({_reason(exc)})") from exc
    total = 0
    for member in members:
        size, packed = member.file_size, max(member.compress_size, 1)
        total += size
        if size > limits.max_file_bytes:
            raise CorpusError(
                f"{os.fspath(path)}: zip member {member.filename!r} unpacks to {size} bytes, "
                f"more than the largest file read ({limits.max_file_bytes} bytes); "
                "to read it, raise Limits.max_file_bytes"
            )
        if size > 65536 and size / packed > limits.max_compression_ratio:
            raise CorpusError(
                f"{os.fspath(path)}: zip member {member.filename!r} unpacks to {size} bytes, "
                f"{size / packed:.0f} times its packed size, more than "
                f"Limits.max_compression_ratio ({limits.max_compression_ratio:g})"
            )
    if total > limits.max_file_bytes:
        raise CorpusError(
            f"{os.fspath(path)}: the zip's {len(members)} members unpack to {total} bytes, "
            f"more than the largest file read ({limits.max_file_bytes} bytes); "
            "to read it, raise Limits.max_file_bytes"
        )


def count_score_notes(data: bytes, suffix: str) -> int:
    r"""About how many notes a score file's text holds, counted without parsing it.

    XML formats (a text starting with ``<``, or a suffix of MusicXML, MEI or
    MuseScore) count their ``<note>`` elements (rests included); ABC counts
    the note letters outside header fields, comments, quoted text,
    decorations and inline fields; ``**kern`` (``.krn``) counts the data
    tokens with a pitch letter. Any other text counts 0. Linear in the bytes.

    >>> count_score_notes(b"X:1\nT:Tune\nK:G\nGABc dedB|\"Em\"e2 z2|]\n", ".abc")
    9
    >>> count_score_notes(b"<part><note><pitch/></note><note><rest/></note></part>", ".xml")
    2
    """
    suffix = suffix.lower()
    head = data[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if suffix in _XML_SUFFIXES or head.startswith(b"<"):
        return len(_XML_NOTE.findall(data))
    if suffix == ".abc":
        count = 0
        for line in data.splitlines():
            if not _ABC_FIELD.match(line):
                count += len(_ABC_NOTE.findall(_ABC_SKIP.sub(b"", line)))
        return count
    if suffix == ".krn":
        count = 0
        for line in data.splitlines():
            if line[:1] in (b"!", b"*", b"="):
                continue
            count += sum(1 for token in line.split() if _KERN_NOTE.search(token))
        return count
    return 0


def check_score(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> None:
    r"""Raise unless the score file at ``path`` is within ``limits`` (see the module).

    The file itself must be at most ``max_file_bytes`` (it is read whole to
    count its notes); a zip is checked by :func:`check_archive` and its
    members' notes counted; more than ``max_score_notes`` notes refuse the file.

    Raises:
        CorpusError: a cap is passed; the message names the file and the cap.
        OSError: the file cannot be read.

    >>> import tempfile
    >>> with tempfile.NamedTemporaryFile(suffix=".abc") as file:
    ...     _ = file.write(b"X:1\nK:C\n" + b"CDEF GABc|" * 10); file.flush()
    ...     check_score(file.name, Limits(max_score_notes=50))
    Traceback (most recent call last):
    popgen.errors.CorpusError: /tmp/....abc: about 80 notes, more than music21 may read
    from one file (50; Limits.max_score_notes)
    """
    from popgen.music.limits import check_file_size

    check_file_size(path, limits)
    check_archive(path, limits)
    suffix = Path(path).suffix
    if zipfile.is_zipfile(path):
        count = 0
        try:
            with zipfile.ZipFile(path) as archive:
                for member in archive.infolist():
                    if not member.is_dir():
                        data = archive.read(member)  # at most its declared size: checked
                        count += count_score_notes(data, Path(member.filename).suffix)
        except _ZIP_ERRORS as exc:
            raise CorpusError(f"{os.fspath(path)}: a damaged zip ({_reason(exc)})") from exc
    else:
        count = count_score_notes(Path(path).read_bytes(), suffix)
    if count > limits.max_score_notes:
        raise CorpusError(
            f"{os.fspath(path)}: about {count} notes, more than music21 may read from one "
            f"file ({limits.max_score_notes}; Limits.max_score_notes)"
        )


#: Seconds between two alarms once time is up (see :func:`time_limit`).
_AGAIN = 0.05


class _OutOfTime(BaseException):
    """Raised in the parsing thread when time is up; a BaseException, so music21 lets it by."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Raise :class:`CorpusError` if the body runs longer than ``seconds`` (``inf``: no limit).

    A ``SIGALRM`` timer: it works in the main thread of a process (each
    reading worker is one), on POSIX, where ``SIGALRM`` has no handler set
    outside Python; elsewhere the body runs unbounded. A timer set before is
    put back afterwards, with the time it had left.

    Raises:
        CorpusError: time ran out; the message starts with ``what`` and names
            ``Limits.max_seconds_per_file``.

    >>> import time
    >>> with time_limit(0.05, "slow.abc"):
    ...     time.sleep(1)
    Traceback (most recent call last):
    popgen.errors.CorpusError: slow.abc: music21 took more than 0.05 s
    (Limits.max_seconds_per_file)
    """
    usable = (
        seconds != float("inf")
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGALRM) is not None  # None: a handler set outside Python
    )
    if not usable:
        yield
        return

    expired = False

    def expire(signum: int, frame: FrameType | None) -> None:
        nonlocal expired
        expired = True
        raise _OutOfTime

    def unraisable(hook_args: Any) -> None:
        if not isinstance(hook_args.exc_value, _OutOfTime):
            previous_hook(hook_args)  # ours is raised again in 50 ms: nothing to say

    previous = signal.signal(signal.SIGALRM, expire)
    previous_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    # the timer fires again every 50 ms once time is up: an exception raised where Python
    # swallows it (a garbage-collection callback, a __del__) is raised again, soon
    timer = signal.setitimer(signal.ITIMER_REAL, seconds, _AGAIN)
    try:
        yield
    except _OutOfTime:
        pass
    finally:
        while True:  # an alarm may land here too: stop ours, whatever it raises meanwhile
            try:
                signal.setitimer(signal.ITIMER_REAL, *timer)  # a timer set before goes on
                signal.signal(signal.SIGALRM, previous)
                sys.unraisablehook = previous_hook
                break
            except _OutOfTime:
                continue
    if expired:
        raise CorpusError(
            f"{what}: music21 took more than {seconds:g} s (Limits.max_seconds_per_file)"
        )


def parse_score(path: str | os.PathLike[str], limits: Limits = DEFAULT_LIMITS) -> Any:
    """music21's parse of the score at ``path``, after :func:`check_score`, within the time cap.

    Returns:
        music21's ``Score``, ``Part`` or ``Opus``.

    Raises:
        CorpusError: a cap is passed (see the module) or music21 cannot read the
            file; the message starts with the path.

    >>> from popgen.formats.score_reading import music21_root
    >>> type(parse_score(music21_root() / "bach" / "bwv66.6.mxl")).__name__
    'Score'
    """
    from music21 import converter

    check_score(path, limits)
    with time_limit(limits.max_seconds_per_file, os.fspath(path)):
        try:
            return converter.parse(Path(path), forceSource=True, storePickle=False)
        except Exception as exc:  # music21 raises many unrelated exception types
            reason = f"{type(exc).__name__}: {exc}".strip().rstrip(":")
            raise CorpusError(f"{path}: music21 could not read it ({reason})") from exc


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
