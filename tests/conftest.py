"""Shared fixtures: a fast whitespace token counter and a scripted agent factory."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

import acbench_env  # noqa: F401  (registers the environments)

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


class WordCounter:
    """A TokenCounter that counts words and punctuation marks (fast, no model files)."""

    name = "words"

    def __init__(self, window: int | None = None) -> None:
        self.window = window

    def count(self, text: str) -> int:
        return len(re.findall(r"\w+|[^\w\s]", text))


@pytest.fixture
def word_counter() -> WordCounter:
    return WordCounter()


@pytest.fixture
def python_env() -> dict[str, str]:
    """Environment for subprocesses that import acbench_env from this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture
def python_exe() -> str:
    return sys.executable
