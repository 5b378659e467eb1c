"""A compressed-tensors checkpoint is decompressed at load on the CPU (it cannot run
compressed there); other checkpoints load as they are."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from acbench_env.agents.backends.transformers_backend import _quantized_load_kwargs  # noqa: E402


def _folder(tmp_path: Path, config: dict) -> Path:
    (tmp_path / "config.json").write_text(json.dumps(config))
    return tmp_path


def test_compressed_tensors_checkpoint_is_decompressed_on_cpu(tmp_path: Path) -> None:
    path = _folder(
        tmp_path,
        {"quantization_config": {"quant_method": "compressed-tensors", "format": "pack-quantized"}},
    )
    kwargs = _quantized_load_kwargs(path, None)
    assert kwargs["quantization_config"].dequantize is True
    assert _quantized_load_kwargs(path, "cpu")["quantization_config"].dequantize is True
    assert _quantized_load_kwargs(path, "cuda:0") == {}  # a GPU runs it compressed


def test_plain_checkpoints_load_unchanged(tmp_path: Path) -> None:
    assert _quantized_load_kwargs(_folder(tmp_path, {"model_type": "llama"}), None) == {}
    assert _quantized_load_kwargs(tmp_path / "missing", None) == {}
