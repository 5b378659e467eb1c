"""``compress()``: model folder in, compressed checkpoint folder (+ metadata) out.

The steps, each in its own module: check the settings
(:mod:`~acbench_env.compression.config`, reading the method table of
:mod:`~acbench_env.compression.methods`), load the model and the calibration set
(:mod:`~acbench_env.compression.calibration`), compress layer by layer
(:mod:`~acbench_env.compression.walk`), and write the checkpoint and its metadata
(:mod:`~acbench_env.compression.checkpoint`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from acbench_env.compression.calibration import BUILTIN, load_calibration
from acbench_env.compression.checkpoint import (
    Provenance,
    require_compressed_tensors,
    write_checkpoint,
)
from acbench_env.compression.config import CompressionConfig
from acbench_env.compression.walk import compress_model_in_place, measured_sparsity, single_thread
from acbench_env.core.errors import (
    CompressionError,
    ConfigError,
    ModelNotFoundError,
    OutputExistsError,
)
from acbench_env.core.models import resolve_model, weights_sha256

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CompressionResult:
    """What :func:`compress` wrote."""

    out_dir: Path
    metadata: dict[str, Any]


def load_model(path: Path, model_arg: str) -> tuple[nn.Module, Any]:
    """The float32 causal LM and tokenizer in ``path``; clear errors for a folder that is
    not an (unquantized) causal LM."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    try:
        hf_config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"{model_arg!r} has no readable config.json: {exc}") from exc
    archs = list(getattr(hf_config, "architectures", None) or [])
    if not any(a.endswith("ForCausalLM") for a in archs):
        raise ModelNotFoundError(
            f"{model_arg!r} is not a causal language model (architectures: {archs or 'none'}); "
            "pass 'default' or a *ForCausalLM model folder"
        )
    if getattr(hf_config, "quantization_config", None) is not None:
        raise CompressionError(
            f"{model_arg!r} is already quantized; compress the original (unquantized) model"
        )
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"could not load {model_arg!r} as a causal LM: {exc}") from exc
    return model, tokenizer


def compress(
    model: str | Path,
    method: str,
    config: CompressionConfig | None = None,
    calibration: str = BUILTIN,
    out_dir: str | Path = "",
    *,
    samples: int = 32,
    seq_len: int = 256,
    overwrite: bool = False,
    progress: bool = False,
    batch_size: int = 8,
) -> CompressionResult:
    """Compress ``model`` (``"default"`` or a model folder) with ``method`` into ``out_dir``.

    ``config`` holds the method's settings (defaults: W4, group 64, symmetric; 50%
    unstructured sparsity); ``calibration`` is ``"builtin"`` or a text / JSON Lines file,
    cut into ``samples`` windows of ``seq_len`` tokens. Returns the output folder and its
    metadata (also written as ``acbench_compression.json``).
    """
    started = time.perf_counter()
    config = config or CompressionConfig(method=method)
    if config.method != method:
        raise ConfigError(f"method {method!r} differs from the config's {config.method!r}")
    if not str(out_dir):
        raise ConfigError("an output folder is needed (out_dir)")
    out = Path(out_dir).expanduser()
    if out.exists() and not overwrite:
        raise OutputExistsError(
            f"output folder {str(out)!r} exists already; choose another or pass --overwrite"
        )
    if config.is_quantization:
        require_compressed_tensors()
    path = resolve_model(model)
    hf_model, tokenizer = load_model(path, str(model))
    calib = (
        load_calibration(calibration, tokenizer, samples, seq_len)
        if config.needs_calibration
        else None
    )
    source_sha = weights_sha256(path)
    logger.info("compressing %s with %s", model, config.method)
    qparams = compress_model_in_place(
        hf_model, config, calib, batch_size=batch_size, progress=progress
    )
    with single_thread():
        sparsity = measured_sparsity(hf_model)
    source = Provenance(str(model), source_sha, calib, sparsity, started)
    meta = write_checkpoint(out, hf_model, tokenizer, qparams, config, source)
    logger.info("wrote %s in %.1f s", out, meta["wall_time_s"])
    return CompressionResult(out, meta)
