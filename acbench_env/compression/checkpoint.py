"""Writing a compressed checkpoint folder and its metadata file.

Quantized models are written as compressed-tensors ``pack-quantized`` checkpoints
(W{bits}A16, ``quantization_config`` in ``config.json``), which vLLM and transformers
(with the ``compressed-tensors`` package) load. Pruned models are written as dense
safetensors holding the zeros: vLLM's CPU backend refuses checkpoints that declare 2:4
sparsity, so the sparsity is recorded in the metadata instead of the config.

Everything is written into a temporary sibling folder, which is renamed to the output
folder only when complete, so a failed run leaves no checkpoint that looks valid. The
metadata file (:data:`~acbench_env.core.fingerprint.COMPRESSION_METADATA_FILE`) records the
settings, the calibration set's hash, the source model's hash and the command that
reproduces the checkpoint.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import importlib.util
import json
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from acbench_env.compression.calibration import BUILTIN, CalibrationSet
from acbench_env.compression.config import CompressionConfig
from acbench_env.compression.quantize import QuantizedWeight
from acbench_env.compression.walk import single_thread
from acbench_env.core.errors import require
from acbench_env.core.fingerprint import COMPRESSION_METADATA_FILE

METADATA_VERSION = 1
#: Packages whose versions the metadata records.
RECORDED_PACKAGES = ("acbench-env", "torch", "transformers", "compressed-tensors", "safetensors")
DENSE_FORMAT = (
    "dense safetensors holding the zeros (sparsity not declared in config.json: "
    "vLLM's CPU backend refuses 2:4-declared checkpoints, so it serves them dense)"
)
QUANT_SERVE_HINT = (
    "vLLM on CPU: load with dtype bfloat16 (its W4A16/W8A16 CPU kernel has no float32 path)"
)


@dataclass(frozen=True)
class Provenance:
    """Where a compressed model came from, for its metadata."""

    source_model: str  # as the user named it ("default" or a folder)
    source_model_sha256: str
    calibration: CalibrationSet | None
    measured_sparsity: float
    started: float  # time.perf_counter() when the run began


def require_compressed_tensors() -> None:
    require(
        "compressed_tensors",
        "compress",
        "Writing a quantized checkpoint",
        package="compressed-tensors",
    )


def write_quantized(
    model: nn.Module, qparams: dict[str, QuantizedWeight], config: CompressionConfig, out: Path
) -> None:
    """Save as a compressed-tensors pack-quantized checkpoint (weights W{bits}A16)."""
    require_compressed_tensors()
    from compressed_tensors.compressors import ModelCompressor
    from compressed_tensors.quantization import (
        QuantizationArgs,
        QuantizationConfig,
        QuantizationScheme,
        QuantizationStatus,
        QuantizationStrategy,
        QuantizationType,
        apply_quantization_config,
    )

    strategy = (
        QuantizationStrategy.CHANNEL if config.group_size is None else QuantizationStrategy.GROUP
    )
    args = QuantizationArgs(
        num_bits=config.bits,
        type=QuantizationType.INT,
        strategy=strategy,
        group_size=config.group_size,
        symmetric=config.symmetric,
        dynamic=False,
    )
    targets = sorted(qparams)
    qconfig = QuantizationConfig(
        config_groups={"group_0": QuantizationScheme(targets=["Linear"], weights=args)},
        ignore=[
            n for n, m in model.named_modules() if isinstance(m, nn.Linear) and n not in qparams
        ],
        quantization_status=QuantizationStatus.FROZEN,
    )
    apply_quantization_config(model, qconfig)
    modules = dict(model.named_modules())
    with torch.no_grad():
        for name in targets:
            mod, qw = modules[name], qparams[name]
            scale = qw.scale.to(mod.weight_scale.dtype).reshape(mod.weight_scale.shape)
            mod.weight_scale.copy_(scale)
            if hasattr(mod, "weight_zero_point"):
                zp = qw.zero_point.to(mod.weight_zero_point.dtype)
                mod.weight_zero_point.copy_(zp.reshape(mod.weight_zero_point.shape))
    compressor = ModelCompressor.from_pretrained_model(model, quantization_format="pack-quantized")
    compressor.compress_model(model)
    model.save_pretrained(out)
    compressor.update_config(str(out))


def library_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in RECORDED_PACKAGES:
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def reproduce_command(
    model: str, config: CompressionConfig, calibration: CalibrationSet | None, out: str
) -> str:
    """The ``acbench compress`` command line that writes this checkpoint again."""
    parts = ["acbench", "compress", "--method", config.method]
    if config.is_quantization:
        parts += ["--bits", str(config.bits), "--group-size", str(config.group_size or -1)]
        if not config.symmetric:
            parts.append("--asymmetric")
    else:
        parts += ["--sparsity", str(config.sparsity), "--pattern", config.pattern]
    defaults = CompressionConfig(method=config.method)
    for key in config.spec.tunables:  # only settings away from their defaults
        value = getattr(config, key)
        if value != getattr(defaults, key):
            parts += [f"--{key.replace('_', '-')}", str(value)]
    if calibration is not None:
        src = BUILTIN if calibration.source == BUILTIN else calibration.source.removeprefix("file:")
        parts += ["--calib", src, "--samples", str(calibration.samples)]
        parts += ["--seq-len", str(calibration.seq_len)]
    return " ".join([*parts, model, out])


def checkpoint_format(config: CompressionConfig) -> str:
    if config.is_quantization:
        return f"compressed-tensors pack-quantized (W{config.bits}A16)"
    return DENSE_FORMAT


def build_metadata(config: CompressionConfig, source: Provenance, out: Path) -> dict[str, Any]:
    """The metadata file's content (``wall_time_s`` measured now)."""
    settings = config.record()
    calib = source.calibration
    return {
        "format_version": METADATA_VERSION,
        "method": config.method,
        "bits": settings.get("bits"),
        "group_size": settings.get("group_size"),
        "symmetric": settings.get("symmetric"),
        "sparsity": settings.get("sparsity"),
        "pattern": settings.get("pattern"),
        "settings": settings,
        "calibration": calib.record() if calib is not None else None,
        "measured_sparsity": round(source.measured_sparsity, 6),
        "checkpoint_format": checkpoint_format(config),
        "serve_dense": not config.is_quantization,
        "serve_hint": QUANT_SERVE_HINT if config.is_quantization else "any backend, dense",
        "engine": "acbench-env kernels (acbench_env.compression)",
        "source_model": source.source_model,
        "source_model_sha256": source.source_model_sha256,
        "libraries": library_versions(),
        "wall_time_s": round(time.perf_counter() - source.started, 2),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": reproduce_command(source.source_model, config, calib, str(out)),
    }


def _replace_folder(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` folder to ``out``, replacing an existing ``out``."""
    if out.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        out.rename(trash / out.name)
        tmp.rename(out)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        tmp.rename(out)


def write_checkpoint(
    out: Path,
    model: nn.Module,
    tokenizer: Any,
    qparams: dict[str, QuantizedWeight],
    config: CompressionConfig,
    source: Provenance,
) -> dict[str, Any]:
    """Write the compressed ``model``, its tokenizer and the metadata file into ``out``
    (through a temporary sibling folder); returns the metadata."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        if config.is_quantization:
            with single_thread():  # packing: many small element-wise operations
                write_quantized(model, qparams, config, tmp)
        else:
            model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        meta = build_metadata(config, source, out)
        (tmp / COMPRESSION_METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        _replace_folder(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return meta
