"""Compression: turn a model into a compressed checkpoint and record exactly how.

``compress(model, method, config, calibration, out_dir)`` (in
:mod:`acbench_env.compression.pipeline`, imported lazily so that ``import acbench_env``
does not import torch) runs one of GPTQ, AWQ, RTN (quantization) or Wanda, SparseGPT,
magnitude (pruning) over a model and writes a checkpoint folder plus the metadata file
(:mod:`acbench_env.core.fingerprint`) from which trajectories and reports read a
model's compression fingerprint. The algorithms are pure functions over Linear weights and
calibration statistics (:mod:`~acbench_env.compression.quantize`,
:mod:`~acbench_env.compression.prune`).
"""

from __future__ import annotations

from typing import Any

from acbench_env.compression.config import METHODS, CompressionConfig
from acbench_env.core.fingerprint import COMPRESSION_METADATA_FILE, read_fingerprint

__all__ = [
    "COMPRESSION_METADATA_FILE",
    "METHODS",
    "CompressionConfig",
    "compress",
    "read_fingerprint",
]


def __getattr__(name: str) -> Any:
    if name in ("compress", "CompressionResult"):
        from acbench_env.compression import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
