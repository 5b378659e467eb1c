"""The compression metadata file of a checkpoint folder, and the fingerprint read from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from acbench_env.core.errors import ModelNotFoundError

#: File written into every compressed checkpoint folder.
COMPRESSION_METADATA_FILE = "acbench_compression.json"

#: Keys copied into a trajectory's compression fingerprint (when present).
FINGERPRINT_KEYS = (
    "method",
    "bits",
    "group_size",
    "symmetric",
    "sparsity",
    "pattern",
    "calibration",
    "source_model_sha256",
)


def read_fingerprint(model_dir: Path) -> dict[str, Any] | None:
    """The compression fingerprint of ``model_dir``; ``None`` for an uncompressed model.

    Also recognises checkpoints compressed elsewhere: a ``quantization_config`` in
    ``config.json`` yields ``{"method": <quant_method>, "external": True, ...}``.
    """
    meta_file = model_dir / COMPRESSION_METADATA_FILE
    if meta_file.is_file():
        try:
            meta = json.loads(meta_file.read_text())
        except ValueError as exc:
            raise ModelNotFoundError(
                f"{meta_file} is not valid JSON ({exc}); re-create the checkpoint with "
                "'acbench compress' or remove the file"
            ) from exc
        return {k: meta[k] for k in FINGERPRINT_KEYS if k in meta}
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return None
    qc = config.get("quantization_config")
    if isinstance(qc, dict):
        return {
            "method": str(qc.get("quant_method", "unknown")),
            "external": True,
            "bits": qc.get("bits"),
            "group_size": qc.get("group_size"),
        }
    return None
