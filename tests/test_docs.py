"""The documentation works as written.

- Every ```python block of ``docs/**/*.md`` whose first line is ``# test`` is
  run; the blocks of one page run in order in one namespace, in a fresh
  working directory. Other blocks are illustrative and not run.
- The README's Python block is run with a text substitution that shrinks its
  training (the substitution is asserted, so a README change breaks the test).
- ``docs/cli.md`` is what ``docs/gen_cli.py`` writes now.
- ``mkdocs build --strict`` passes (skipped when mkdocs is not installed).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MARK = "# test"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)

# (old, new) replacements that make the README's example take seconds
README_SHRINK = [
    ('"essenFolksong/kinder0"', '"essenFolksong/test0", limit=8, cache_dir=None'),
    (
        "LSTMModel(vocab_size=tokenizer.vocab_size)",
        "LSTMModel(vocab_size=tokenizer.vocab_size, embed_dim=16, hidden_size=32, num_layers=1)",
    ),
    ("TrainConfig()", "TrainConfig(epochs=1, max_steps=3), progress=False"),
    ("num_tokens=400, batch_size=4", "num_tokens=40, batch_size=2"),
]


def python_blocks(path: Path) -> list[str]:
    """The ```python blocks of a Markdown file, in order."""
    return [m.group(1) for m in _BLOCK.finditer(path.read_text(encoding="utf-8"))]


def marked_blocks(path: Path) -> list[str]:
    """The blocks of ``path`` marked to run (first line ``# test``)."""
    return [b for b in python_blocks(path) if b.splitlines()[:1] == [MARK]]


PAGES = sorted(p for p in DOCS.rglob("*.md") if marked_blocks(p))


def run_blocks(blocks: list[str], name: str) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": f"docs_{name}"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"{name}[block {i}]", "exec"), namespace)
    return namespace


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POPGEN_CACHE_DIR", str(tmp_path / "user-cache"))
    return tmp_path


def test_some_pages_have_marked_blocks() -> None:
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"index.md", "tutorial.md", "concepts.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_docs_page_blocks_run(page: Path, in_tmp: Path) -> None:
    run_blocks(marked_blocks(page), page.stem)


def test_readme_python_block_runs(in_tmp: Path) -> None:
    blocks = python_blocks(ROOT / "README.md")
    assert len(blocks) == 1, "README.md should have exactly one python block"
    code = blocks[0]
    for old, new in README_SHRINK:
        assert old in code, f"README's example changed: {old!r} not found; update README_SHRINK"
        code = code.replace(old, new)
    namespace = run_blocks([code], "README")
    assert (in_tmp / "a.mid").is_file()
    assert (in_tmp / "a.png").is_file()
    assert len(namespace["songs"]) == 2  # type: ignore[arg-type]


def test_cli_reference_is_up_to_date() -> None:
    sys.path.insert(0, str(DOCS))
    try:
        import gen_cli
    finally:
        sys.path.remove(str(DOCS))
    assert (DOCS / "cli.md").read_text(encoding="utf-8") == gen_cli.render(), (
        "docs/cli.md is out of date: run python docs/gen_cli.py"
    )


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None
    or importlib.util.find_spec("mkdocstrings_handlers") is None,
    reason="mkdocs and mkdocstrings are not installed (pip install '.[docs]')",
)
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    assert (tmp_path / "index.html").is_file()
    assert (tmp_path / "reference" / "corpus" / "index.html").is_file()
