"""Run the Python code blocks of a Markdown file, in order, in one namespace."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.M | re.S)


def python_blocks(markdown: Path) -> list[str]:
    return _BLOCK.findall(markdown.read_text())


def run_blocks(blocks: list[str], workdir: Path, monkeypatch: object) -> dict[str, object]:
    """Execute ``blocks`` with ``workdir`` as the current folder (holding a copy of
    ``examples/``, which the documents' paths point into)."""
    shutil.copytree(ROOT / "examples", workdir / "examples")
    monkeypatch.chdir(workdir)  # type: ignore[attr-defined]
    namespace: dict[str, object] = {"__name__": "__doc_example__"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"<block {i}>", "exec"), namespace)
    return namespace
