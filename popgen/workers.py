"""Run a function over tasks in worker processes, in order, falling back to this process.

Reading a corpus and building a token store both parse files in worker
processes; both need the same care, kept here once: ``fork`` while JAX is not
loaded (fast, and scripts need no main guard), ``spawn`` once it is (forking
JAX's threads is unsafe), and when the pool breaks — typically a script
without ``if __name__ == "__main__":`` whose spawned workers re-run it and die
— the remaining tasks run in this process, with a warning saying how to get
the parallel path back.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

__all__ = ["map_in_workers", "start_method"]

T = TypeVar("T")
R = TypeVar("R")


def start_method() -> multiprocessing.context.BaseContext:
    """``fork`` while JAX is not loaded, else ``spawn`` (see the module docstring).

    >>> start_method().get_start_method() in ("fork", "spawn")
    True
    """
    if "jax" not in sys.modules and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def map_in_workers(
    function: Callable[[T], R],
    tasks: Sequence[T],
    workers: int | None,
    *,
    what: str,
    chunksize: int = 1,
    min_tasks: int = 2,
) -> Iterator[R]:
    """``function(task)`` for each task, in order, computed in up to ``workers`` processes.

    Args:
        function: a module-level function (it travels to the workers by name).
        tasks: its arguments, which must pickle (they cross to worker processes
            only; nothing popgen writes to disk is pickled).
        workers: processes; ``None`` uses every core, 1 (or fewer than
            ``min_tasks`` tasks) works in this process.
        what: the work, for the warning when the pool breaks ("reading").
        chunksize: tasks sent to a worker at once.
        min_tasks: below this many tasks, starting processes costs more than it saves.

    >>> list(map_in_workers(abs, [-2, 3], 1, what="computing"))
    [2, 3]
    """
    workers = os.cpu_count() or 1 if workers is None else workers
    if workers <= 1 or len(tasks) < min_tasks:
        yield from map(function, tasks)
        return
    done = 0
    try:
        with ProcessPoolExecutor(
            max_workers=min(workers, len(tasks)), mp_context=start_method()
        ) as pool:
            for result in pool.map(function, tasks, chunksize=chunksize):
                done += 1
                yield result
    except BrokenProcessPool:
        warnings.warn(
            f"{what} in worker processes failed, {what} in this process instead; "
            f"to work in parallel, put your script's code under "
            '`if __name__ == "__main__":`',
            stacklevel=3,
        )
        yield from map(function, tasks[done:])
