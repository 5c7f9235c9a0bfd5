"""A progress bar for generation (on a terminal): the compiled loop reports its step now and then.

Generation is one compiled ``lax.scan``; :class:`StepProgress` is handed to it
as a host callback that the loop calls every :data:`EVERY` steps (a
``jax.debug.callback``, which changes no number drawn), and shows a tqdm bar
(as training does) while a :class:`~popgen.sampling.Sampler` made with
``progress=True`` generates.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

__all__ = ["EVERY", "StepProgress"]

#: Steps between two reports of the loop (a report costs a trip to Python).
EVERY = 256


class StepProgress:
    """The bar of the generation running now; the compiled loop calls :meth:`report`.

    >>> progress = StepProgress()
    >>> progress.start(1000, "generating")
    >>> progress.report(np.int32(511))  # step 511 done: 512 steps
    >>> progress.done
    512
    >>> progress.close()
    """

    def __init__(self) -> None:
        self._bar: Any = None
        self._lock = threading.Lock()
        self.done = 0

    def start(self, total: int, desc: str) -> None:
        """Open a bar of ``total`` steps (tokens), closing any bar left open.

        >>> StepProgress().start(10, "generating")
        """
        from tqdm.auto import tqdm

        with self._lock:
            if self._bar is not None:
                self._bar.close()
            self.done = 0
            # disable=None: shown on a terminal only, not in logs or pipes
            self._bar = tqdm(
                total=total, desc=desc, unit="token", leave=False, delay=2.0, disable=None
            )

    def report(self, step: Any) -> None:
        """Called by the loop with its step (a numpy scalar): move the bar there.

        >>> StepProgress().report(np.int32(3))  # no bar open: nothing happens
        """
        with self._lock:
            now = int(np.asarray(step)) + 1
            if now > self.done:
                if self._bar is not None:
                    self._bar.update(now - self.done)
                self.done = now

    def close(self) -> None:
        """Close the bar (the loop's last steps counted).

        >>> StepProgress().close()
        """
        with self._lock:
            if self._bar is not None:
                self._bar.update(max(0, self._bar.total - self.done))
                self._bar.close()
                self._bar = None
