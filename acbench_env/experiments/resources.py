"""Resources of each model of a suite run: checkpoint size and peak memory.

The suite runner measures, per model and in the same run as its episodes, on the same
backend:

- ``checkpoint_bytes``: the size of the model folder's weight files (``*.safetensors``,
  ``pytorch_model*.bin``) as stored on disk;
- ``peak_memory_bytes``: the peak memory while the model was loaded and generating. On a
  GPU (transformers backend) it is ``torch.cuda.max_memory_allocated`` since the model was
  loaded; on the CPU it is the peak resident memory (RSS) of this process and its child
  processes (vLLM's engine core runs in one), sampled every ``interval_s`` seconds while the
  model is loaded. The process's own baseline (Python, torch, the environments) is part of
  the CPU figure and the same for every model of a run, so figures compare side by side
  within a run; memory that an earlier model freed but the allocator kept can raise a later
  model's figure (``order="model"`` loads models one at a time);
- ``model_memory_bytes``: parameters and buffers of the loaded model (transformers backend;
  ``None`` where the model lives in another process).

:func:`write_resources` stores them in ``DIR/runs/<label>/resources.json`` (the report reads
them with :func:`acbench_env.core.manifest.read_resources`).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acbench_env.core.manifest import read_resources, resources_file
from acbench_env.core.models import resolve_model, weight_files

logger = logging.getLogger(__name__)


def checkpoint_bytes(model: str) -> int | None:
    """Bytes of ``model``'s weight files on disk (``None`` when it is not a local folder)."""
    try:
        folder = resolve_model(model)
    except Exception:  # a served model name (--backend openai): no local checkpoint
        return None
    files = weight_files(folder)
    return sum(f.stat().st_size for f in files) if files else None


def _rss_tree(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                continue
        return int(total)
    except psutil.Error:
        return 0


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())


class MemoryMeter:
    """Peak memory between :meth:`start` and :meth:`stop` (see the module docstring)."""

    def __init__(self, interval_s: float = 0.05) -> None:
        self.interval_s = interval_s
        self._peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._cuda = False

    def _sample(self) -> None:
        self._peak = max(self._peak, _rss_tree(os.getpid()))

    @property
    def peak_rss_bytes(self) -> int:
        """The largest resident memory sampled so far."""
        return self._peak

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def start(self) -> None:
        self._cuda = _cuda_available()
        if self._cuda:
            import torch

            torch.cuda.reset_peak_memory_stats()
        self._peak = 0
        self._stop.clear()
        self._sample()
        self._thread = threading.Thread(target=self._loop, name="memory-meter", daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, Any]:
        """The peak (bytes) and how it was measured."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._sample()
        rss = self._peak
        if self._cuda:
            import torch

            gpu = int(torch.cuda.max_memory_allocated())
            if gpu > 0:
                return {
                    "peak_memory_bytes": gpu,
                    "peak_memory_kind": "cuda_max_allocated",
                    "peak_rss_bytes": rss,
                }
        return {"peak_memory_bytes": rss, "peak_memory_kind": "process_rss"}


def model_memory_bytes(backend: Any) -> int | None:
    """Parameters and buffers of a backend's in-process model, or ``None``."""
    model = getattr(backend, "model", None)
    if model is None or not hasattr(model, "parameters"):
        return None
    total = 0
    for t in (*model.parameters(), *model.buffers()):
        total += t.numel() * t.element_size()
    return int(total)


class ResourceTracker:
    """Per-model resources of a suite run on the local executor: the agent factory calls
    :meth:`loading` before it loads a model, :meth:`loaded` after, :meth:`closing` when it
    frees it; :meth:`finish` closes what is still loaded and returns the records by label.
    With ``per_model=False`` (every model stays loaded) no peak memory is recorded, as the
    process holds all models at once."""

    def __init__(self, *, per_model: bool = True, interval_s: float = 0.05) -> None:
        self.per_model = per_model
        self.interval_s = interval_s
        self.records: dict[str, dict[str, Any]] = {}
        self._meters: dict[str, MemoryMeter] = {}

    def loading(self, label: str, model: str, backend: str) -> None:
        self.records[label] = {
            "model": model,
            "backend": backend,
            "checkpoint_bytes": checkpoint_bytes(model),
            "peak_memory_bytes": None,
            "peak_memory_kind": None,
            "model_memory_bytes": None,
        }
        if self.per_model:
            meter = MemoryMeter(self.interval_s)
            meter.start()
            self._meters[label] = meter

    def loaded(self, label: str, backend: Any) -> None:
        if label in self.records:
            self.records[label]["model_memory_bytes"] = model_memory_bytes(backend)

    def closing(self, label: str) -> None:
        meter = self._meters.pop(label, None)
        if meter is not None and label in self.records:
            self.records[label].update(meter.stop())

    def finish(self) -> dict[str, dict[str, Any]]:
        for label in list(self._meters):
            self.closing(label)
        return dict(self.records)


def write_resources(out: str | Path, label: str, record: Mapping[str, Any]) -> Path:
    """Store one model's resources record (replacing an earlier one)."""
    path = resources_file(Path(out), label)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(record), indent=1, sort_keys=True) + "\n")
    return path


__all__ = [
    "MemoryMeter",
    "ResourceTracker",
    "checkpoint_bytes",
    "model_memory_bytes",
    "read_resources",
    "write_resources",
]
