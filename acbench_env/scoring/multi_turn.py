"""Multi-turn tool-use metrics over trajectories: success, progress, calls, errors per app."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from acbench_env.core.types import Trajectory
from acbench_env.scoring.summary import text_table

#: Error counters of ``info["tool_errors"]`` in ``acbench/ToolMultiTurn-v0``.
ERROR_KINDS = ("unknown_tool", "invalid_arguments", "invariant_violation")


@dataclass(frozen=True)
class MultiTurnSummary:
    """Aggregate of multi-turn episodes of one app (``"all"`` for every episode).

    ``success_rate``: share of episodes whose final state hash equals the target's;
    ``mean_progress``: mean fraction of required state changes holding at the end;
    ``mean_tool_calls``: calls per episode; ``errors``: rejected calls per kind, summed;
    ``format_failure_rate``: format-failed steps / all steps.
    """

    app: str
    episodes: int
    success_rate: float
    mean_progress: float
    mean_tool_calls: float
    format_failure_rate: float
    errors: dict[str, int] = field(default_factory=dict)


def _summary(app: str, trajs: Sequence[Trajectory]) -> MultiTurnSummary:
    n = len(trajs)
    last = [t.steps[-1].info if t.steps else {} for t in trajs]
    steps = sum(len(t.steps) for t in trajs)
    errors = {
        k: sum(int((i.get("tool_errors") or {}).get(k, 0)) for i in last) for k in ERROR_KINDS
    }
    return MultiTurnSummary(
        app=app,
        episodes=n,
        success_rate=sum(t.success for t in trajs) / n if n else 0.0,
        mean_progress=sum(float(i.get("progress", 0.0)) for i in last) / n if n else 0.0,
        mean_tool_calls=sum(int(i.get("tool_calls", 0)) for i in last) / n if n else 0.0,
        format_failure_rate=sum(t.format_failures for t in trajs) / steps if steps else 0.0,
        errors=errors,
    )


def multi_turn_summary(trajectories: Iterable[Trajectory]) -> list[MultiTurnSummary]:
    """One summary per app (from ``info["app"]``), then ``"all"``; episodes of other
    environments (without ``info["required_calls"]``) are left out."""
    trajs = [t for t in trajectories if t.steps and "required_calls" in t.steps[-1].info]
    groups: dict[str, list[Trajectory]] = {}
    for t in trajs:
        groups.setdefault(str(t.steps[-1].info.get("app", "unknown")), []).append(t)
    if not trajs:
        return []
    return [_summary(a, g) for a, g in sorted(groups.items())] + [_summary("all", trajs)]


def format_multi_turn_table(rows: Sequence[MultiTurnSummary]) -> str:
    """A plain-text table of :func:`multi_turn_summary`."""
    table = [("app", "episodes", "success", "progress", "calls/ep", "format fail", "errors")]
    for r in rows:
        table.append(
            (
                r.app,
                str(r.episodes),
                f"{r.success_rate:.3f}",
                f"{r.mean_progress:.3f}",
                f"{r.mean_tool_calls:.2f}",
                f"{r.format_failure_rate:.3f}",
                ", ".join(f"{k}={v}" for k, v in r.errors.items() if v) or "-",
            )
        )
    return text_table(table)
