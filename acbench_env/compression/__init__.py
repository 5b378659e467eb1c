"""Compression: turn a model into a compressed checkpoint and record exactly how.

``compress(model, method, config, calibration, out_dir)`` (in
:mod:`acbench_env.compression.pipeline`, imported lazily so that ``import acbench_env``
does not import torch) runs one of GPTQ, AWQ, RTN (quantization) or Wanda, SparseGPT,
magnitude (pruning) over a model and writes a checkpoint folder plus the metadata file
(:mod:`acbench_env.core.fingerprint`) from which trajectories and reports read a
model's compression fingerprint.

The modules, one idea each:

- kernels, pure functions over one Linear weight and calibration statistics:
  :mod:`~acbench_env.compression.quantize` (RTN, GPTQ, AWQ's scale search),
  :mod:`~acbench_env.compression.prune` (magnitude, Wanda, SparseGPT) and the Hessian they
  share, :mod:`~acbench_env.compression.hessian`;
- the method table, one record per method (kind, the statistic it gathers, how it applies):
  :mod:`~acbench_env.compression.methods` (:func:`method_names` lists the choices);
- the settings: :mod:`~acbench_env.compression.config`; the calibration text:
  :mod:`~acbench_env.compression.calibration`;
- the layer walk: :mod:`~acbench_env.compression.walk`; AWQ's scale folding for Llama-style
  layers: :mod:`~acbench_env.compression.awq`;
- the checkpoint writer and its metadata: :mod:`~acbench_env.compression.checkpoint`;
- ``compress()`` tying them together: :mod:`~acbench_env.compression.pipeline`.

Adding a method is one kernel plus one :class:`~acbench_env.compression.methods.Method`
record in :data:`acbench_env.compression.methods.METHODS`.
"""

from __future__ import annotations

from typing import Any

from acbench_env.compression.config import METHODS, CompressionConfig
from acbench_env.compression.methods import method_names
from acbench_env.core.fingerprint import COMPRESSION_METADATA_FILE, read_fingerprint

__all__ = [
    "COMPRESSION_METADATA_FILE",
    "METHODS",
    "CompressionConfig",
    "compress",
    "method_names",
    "read_fingerprint",
]


def __getattr__(name: str) -> Any:
    if name in ("compress", "CompressionResult"):
        from acbench_env.compression import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
