"""MkDocs hooks: an "Examples" page made from ``examples/*.py``, and links to it.

Pages may link to ``examples/NAME.py`` in the repository (a path outside
``docs/``); those links are pointed at the example's section of the page.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
_LINK = re.compile(r"\]\((?:\.\./)+examples/([\w-]+)\.py\)")


def examples_page() -> str:
    """The Markdown of the Examples page: each script's docstring line and source."""
    parts = [
        "# Examples\n",
        "Short scripts in the repository's `examples/` folder, each run by a test.\n",
    ]
    for path in sorted(EXAMPLES.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        parts.append(f"## `{path.name}` {{#{path.stem}}}\n")
        parts.append(f"```python\n{source.rstrip()}\n```\n")
    return "\n".join(parts)


def on_files(files: Files, config: Any) -> Files:
    """Add the generated ``examples.md``."""
    files.append(File.generated(config, "examples.md", content=examples_page()))
    return files


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Point links to ``examples/NAME.py`` at ``examples.md#NAME``."""
    up = "../" * page.file.src_uri.count("/")
    return _LINK.sub(lambda m: f"]({up}examples.md#{m.group(1)})", markdown)
