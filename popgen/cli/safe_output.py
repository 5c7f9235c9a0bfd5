"""What keeps ``popgen generate`` bounded and its output whole: caps, Ctrl-C, atomic files.

- :func:`check_song_size`: ``--tokens`` and ``--bars`` at most
  :data:`popgen.music.limits.MAX_GENERATED_TOKENS` and
  :data:`popgen.music.limits.MAX_GENERATED_BARS`; above, one error line, before
  anything is loaded or written.
- :func:`interruptible`: generation runs in a worker thread while the main
  thread waits in short slices, so Ctrl-C stops the command at once (a
  compiled loop does not look at signals), with nothing written.
- :func:`written_whole`: each output file is written under a temporary name
  beside it and renamed when complete, so no half-written file is left.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from popgen.music.limits import MAX_GENERATED_BARS, MAX_GENERATED_TOKENS

__all__ = ["check_song_size", "interruptible", "written_whole"]

T = TypeVar("T")


def check_song_size(*, tokens: int | None = None, bars: int | None = None) -> None:
    """Raise unless ``tokens`` and ``bars`` are within the caps on one generated song.

    Raises:
        ValueError: a count over its cap; the message names the flag and the cap.

    >>> check_song_size(tokens=400, bars=8)
    >>> check_song_size(tokens=100_000_000)
    Traceback (most recent call last):
    ValueError: --tokens 100000000 is more than one song may take (200000 tokens,
    popgen.music.limits.MAX_GENERATED_TOKENS)
    """
    if tokens is not None and tokens > MAX_GENERATED_TOKENS:
        raise ValueError(
            f"--tokens {tokens} is more than one song may take ({MAX_GENERATED_TOKENS} tokens, "
            "popgen.music.limits.MAX_GENERATED_TOKENS)"
        )
    if bars is not None and bars > MAX_GENERATED_BARS:
        raise ValueError(
            f"--bars (or the progression): {bars} bars is more than one song may take "
            f"({MAX_GENERATED_BARS} bars, "
            "popgen.music.limits.MAX_GENERATED_BARS)"
        )


def interruptible(work: Callable[[], T]) -> T:
    """``work()``, run in a worker thread so that Ctrl-C interrupts the waiting at once.

    The main thread waits in slices of a fifth of a second, where Python
    raises ``KeyboardInterrupt``; then the process ends at once with exit
    status 130 and one line on stderr (the worker, inside a compiled loop,
    cannot be stopped, and the interpreter cannot shut down around it). An
    exception of ``work`` is raised here. For the command line only.

    >>> interruptible(lambda: 6 * 7)
    42
    """
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(work())
        except BaseException as exc:  # raised again in the main thread
            failure.append(exc)

    worker = threading.Thread(target=target, name="popgen-generate", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:
        # the worker is inside a compiled loop: ending the interpreter around it aborts
        # in C++, so the process ends here, at once, having written nothing
        print("\npopgen: interrupted; nothing written", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(130)
    if failure:
        raise failure[0]
    return result[0]


@contextlib.contextmanager
def written_whole(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; on success it becomes ``path``.

    On any exception (Ctrl-C included) the temporary file is removed and
    ``path`` is left as it was.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with written_whole(Path(tmp, "a.mid")) as part:
    ...         _ = part.write_bytes(b"MThd")
    ...     sorted(p.name for p in Path(tmp).iterdir())
    ['a.mid']
    """
    part = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield part
        os.replace(part, path)
    except BaseException:
        with contextlib.suppress(OSError):
            part.unlink()
        raise
