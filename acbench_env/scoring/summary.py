"""Summaries of trajectories: mean score with a bootstrap interval, format-failure rate."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from acbench_env.core.types import Trajectory


@dataclass(frozen=True)
class RunSummary:
    """Aggregate of the episodes of one env under one model.

    ``ci_low``/``ci_high``: percentile bootstrap 95% interval of the mean score (seeded,
    so the same trajectories always give the same interval). ``format_failure_rate``:
    format-failed steps / all steps.
    """

    env_id: str
    model_id: str
    compression: str
    episodes: int
    mean_score: float
    ci_low: float
    ci_high: float
    success_rate: float
    steps: int
    format_failures: int
    format_failure_rate: float


def bootstrap_ci(
    values: Sequence[float], *, confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values``."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (float("nan"), float("nan"))
    if data.size == 1:
        return (float(data[0]), float(data[0]))
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    alpha = (1.0 - confidence) / 2.0
    return (float(np.quantile(means, alpha)), float(np.quantile(means, 1.0 - alpha)))


def compression_label(traj: Trajectory) -> str:
    """A short label of the compression fingerprint ("none" for an uncompressed model)."""
    return compression_text(traj.model.compression)


def compression_text(c: Mapping[str, Any] | None) -> str:
    """A short label of a compression fingerprint, e.g. ``rtn-w4-g128`` ("none" for
    ``None`` or an empty one)."""
    if not c:
        return "none"
    parts = [str(c.get("method", "?"))]
    if c.get("bits") is not None:
        parts.append(f"w{c['bits']}")
    if c.get("group_size") is not None:
        parts.append(f"g{c['group_size']}")
    if c.get("sparsity") is not None:
        parts.append(f"s{c['sparsity']}")
    if c.get("pattern"):
        parts.append(str(c["pattern"]))
    return "-".join(parts)


def summarize(trajectories: Iterable[Trajectory]) -> list[RunSummary]:
    """One :class:`RunSummary` per (env id, model id, compression), sorted."""
    groups: dict[tuple[str, str, str], list[Trajectory]] = {}
    for t in trajectories:
        groups.setdefault((t.env_id, t.model.model_id, compression_label(t)), []).append(t)
    out = []
    for (env_id, model_id, comp), trajs in sorted(groups.items()):
        scores = [t.score for t in trajs]
        steps = sum(len(t.steps) for t in trajs)
        failures = sum(t.format_failures for t in trajs)
        lo, hi = bootstrap_ci(scores)
        out.append(
            RunSummary(
                env_id=env_id,
                model_id=model_id,
                compression=comp,
                episodes=len(trajs),
                mean_score=float(np.mean(scores)),
                ci_low=lo,
                ci_high=hi,
                success_rate=float(np.mean([t.success for t in trajs])),
                steps=steps,
                format_failures=failures,
                format_failure_rate=failures / steps if steps else 0.0,
            )
        )
    return out


def format_table(summaries: Sequence[RunSummary]) -> str:
    """A plain-text table of summaries."""
    header = (
        "env",
        "model",
        "compression",
        "episodes",
        "score (95% CI)",
        "success",
        "format failures",
    )
    rows = [header] + [
        (
            s.env_id,
            s.model_id,
            s.compression,
            str(s.episodes),
            f"{s.mean_score:.3f} [{s.ci_low:.3f}, {s.ci_high:.3f}]",
            f"{s.success_rate:.3f}",
            f"{s.format_failure_rate:.3f} ({s.format_failures}/{s.steps} steps)",
        )
        for s in summaries
    ]
    return text_table(rows)


def text_table(rows: Sequence[Sequence[str]]) -> str:
    """``rows`` (the header first) as plain text: columns left-aligned to their widest cell,
    two spaces apart, trailing spaces stripped."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
