"""Efficiency of a model at the rollout level, from the timing and token fields of its
trajectories (the same run, the same backend, so variants are comparable side by side).

Per step the runner records ``wall_time_s`` (the step's share of its batched generate call
plus the env step), ``prompt_tokens`` and ``completion_tokens``. From these:
``generated_tok_s`` = completion tokens / total step time, ``prompt_tok_s`` = prompt
tokens / total step time (both over the same time: one request does prefill and decode),
and the per-step latency percentiles. ``checkpoint_bytes`` and ``peak_memory_bytes`` are
passed in by the caller when it has them (trajectories do not record them). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from acbench_env.core.types import Trajectory


def rollout_efficiency(
    trajectories: Sequence[Trajectory],
    *,
    checkpoint_bytes: int | None = None,
    peak_memory_bytes: int | None = None,
) -> dict[str, Any]:
    """Throughput and latency of ``trajectories`` (see the module docstring); ``None``
    where the trajectories hold no timed step."""
    times = [s.wall_time_s for t in trajectories for s in t.steps if s.wall_time_s > 0]
    gen = sum(s.completion_tokens or 0 for t in trajectories for s in t.steps if s.wall_time_s > 0)
    prompt = sum(s.prompt_tokens or 0 for t in trajectories for s in t.steps if s.wall_time_s > 0)
    total = float(sum(times))
    lat = np.asarray(times, dtype=float)
    return {
        "steps": len(times),
        "generated_tokens": int(gen),
        "prompt_tokens": int(prompt),
        "generated_tok_s": gen / total if total > 0 else None,
        "prompt_tok_s": prompt / total if total > 0 else None,
        "latency_p50_s": float(np.quantile(lat, 0.5)) if lat.size else None,
        "latency_p95_s": float(np.quantile(lat, 0.95)) if lat.size else None,
        "checkpoint_bytes": checkpoint_bytes,
        "peak_memory_bytes": peak_memory_bytes,
    }
