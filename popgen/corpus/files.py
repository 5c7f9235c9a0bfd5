"""Reading whole files with few system calls: what the song cache's keys and entries read.

``Path.read_bytes`` builds a buffered file object for each file; a warm read
of POP909 opens seven files a song (the MIDI file, two annotation files,
three phrase files, the cache entry), so these read them with ``os.open``
and ``os.read`` instead, with the same results and errors.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

__all__ = ["file_bytes", "regular_file_bytes"]

_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0)
#: What ``Path.is_file`` takes for "no such file" (pathlib's ignored errors).
_ABSENT = frozenset({errno.ENOENT, errno.ENOTDIR, errno.EBADF, errno.ELOOP})


def file_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of ``path``, as ``Path(path).read_bytes()`` (its errors too).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "a.txt").write_bytes(b"abc")
    ...     file_bytes(Path(tmp, "a.txt"))
    b'abc'
    """
    fd = os.open(path, _FLAGS)
    try:
        status = os.fstat(fd)
        return _read_all(fd, status.st_size, regular=stat.S_ISREG(status.st_mode))
    except OSError:  # a folder, ...: the error as read_bytes words it (with the name)
        return Path(path).read_bytes()
    finally:
        os.close(fd)


def regular_file_bytes(path: Path) -> bytes | None:
    """``path.read_bytes() if path.is_file() else None``, with fewer system calls.

    A FIFO, device or folder of that name is ``None`` without being read (it
    is opened without blocking).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     _ = Path(tmp, "a.txt").write_bytes(b"abc")
    ...     [regular_file_bytes(Path(tmp, name)) for name in ("a.txt", "b.txt", ".")]
    [b'abc', None, None]
    """
    try:
        fd = os.open(path, _FLAGS | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno in _ABSENT:
            return None
        return path.read_bytes() if path.is_file() else None  # what the two calls give
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            return None
        return _read_all(fd, status.st_size, regular=True)
    finally:
        os.close(fd)


def _read_all(fd: int, size: int, *, regular: bool) -> bytes:
    """Everything from ``fd`` to its end (``size``: the length expected).

    A regular file that did not grow is one ``read``: one that returns less
    than asked is at the file's end.
    """
    first = os.read(fd, size + 1)
    if regular and len(first) <= size:
        return first
    chunks = [first]
    while chunks[-1]:
        chunks.append(os.read(fd, max(size, 1 << 16)))
    return b"".join(chunks)
