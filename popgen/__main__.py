"""``python -m popgen``: the ``popgen`` command, as ``python -m popgen.cli``."""

from __future__ import annotations

import sys

from popgen.cli.app import main

if __name__ == "__main__":
    sys.exit(main())
