"""Fixtures shared by the compression tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama model folder (built once per session: training its tokenizer
    takes seconds)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.compression.tiny import make_tiny_llama

    return make_tiny_llama(tmp_path_factory.mktemp("tiny") / "model")
