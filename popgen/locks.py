"""One writer per run directory: a lock file that names its owner.

Two trainings writing one run directory would interleave checkpoints and
``popgen.json`` until neither could be resumed. :class:`RunLock` creates
``popgen.lock`` in the run directory with the owner's process id, host and
start time, atomically (``O_EXCL``); a second writer is refused with an
error that names the owner. A lock left by a process that no longer runs
(killed, out of memory) is *stale*: ``popgen train --resume`` takes it over
with a warning, anything else is refused with advice.
"""

from __future__ import annotations

import json
import os
import socket
import time
import warnings
from pathlib import Path
from types import TracebackType
from typing import Any

from popgen.errors import RunError

__all__ = ["LOCK_NAME", "RunLock"]

#: The lock file's name inside a run directory.
LOCK_NAME = "popgen.lock"


def _alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class RunLock:
    """Hold a run directory for writing, as a context manager.

    Args:
        path: the run directory (created if needed).
        take_over_stale: take over a lock whose owner no longer runs
            (``popgen train --resume`` does), with a warning; else refuse it.

    Raises:
        RunError: another process holds the directory, or a stale lock is
            not to be taken over; the message names the owner.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     with RunLock(tmp):
    ...         with RunLock(tmp):
    ...             pass
    Traceback (most recent call last):
    popgen.errors.RunError: ...: another popgen (process ...) is writing this run; wait ...
    """

    def __init__(self, path: str | os.PathLike[str], *, take_over_stale: bool = False) -> None:
        self.path = Path(path)
        self.file = self.path / LOCK_NAME
        self.take_over_stale = take_over_stale
        self._owner = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": time.strftime("%Y-%m-%d %H:%M:%S"),
        }
        self._held = False

    def _owner_of_file(self) -> dict[str, Any]:
        try:
            owner = json.loads(self.file.read_text())
            return owner if isinstance(owner, dict) else {}
        except (OSError, ValueError):
            return {}

    def acquire(self) -> None:
        """Create the lock file, or take over a stale one; see the class.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     lock = RunLock(tmp)
        ...     lock.acquire()
        ...     owner = json.loads((Path(tmp) / LOCK_NAME).read_text())
        ...     lock.release()
        >>> owner["pid"] == os.getpid()
        True
        """
        self.path.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self._owner)
        try:
            fd = os.open(self.file, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            self._take_over(text)
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
        self._held = True

    def check(self) -> None:
        """Raise now what :meth:`acquire` would raise, without taking the lock.

        The command line calls it before reading songs, so that a held run
        fails at once rather than after the slow part.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     RunLock(tmp).check()  # free: nothing raised, nothing written
        ...     sorted(os.listdir(tmp))
        []
        """
        if self.file.exists():
            self._refuse_unless_stale(self._owner_of_file())

    def _refuse_unless_stale(self, owner: dict[str, Any]) -> str:
        """Raise unless the lock's owner no longer runs and may be taken over; name the owner."""
        pid, host = owner.get("pid"), owner.get("host")
        who = f"process {pid} on {host}, since {owner.get('since', '?')}"
        here = host == self._owner["host"]
        if isinstance(pid, int) and (not here or _alive(pid)):
            raise RunError(
                f"{self.path}: another popgen ({who}) is writing this run; "
                f"wait for it to finish or stop it"
            )
        if not self.take_over_stale:
            raise RunError(
                f"{self.path}: locked by {who}, which no longer runs; --resume continues "
                f"the run and takes the lock over (or delete {self.file} to start again)"
            )
        return who

    def _take_over(self, text: str) -> None:
        who = self._refuse_unless_stale(self._owner_of_file())
        warnings.warn(
            f"{self.path}: taking over the lock of {who}, which no longer runs", stacklevel=4
        )
        tmp = self.file.with_name(f"{LOCK_NAME}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, self.file)

    def release(self) -> None:
        """Remove the lock file if this process still owns it.

        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     lock = RunLock(tmp)
        ...     lock.acquire()
        ...     lock.release()
        ...     (Path(tmp) / LOCK_NAME).exists()
        False
        """
        if self._held and self._owner_of_file().get("pid") == self._owner["pid"]:
            self.file.unlink(missing_ok=True)
        self._held = False

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()
