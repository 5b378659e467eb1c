"""Tool-use metrics over trajectories: per-category call/argument accuracy, format failures."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from acbench_env.core.types import Trajectory
from acbench_env.scoring.summary import text_table


@dataclass(frozen=True)
class ToolUseSummary:
    """Aggregate of tool-use episodes of one category (``"all"`` for every episode).

    ``call_accuracy``: share of episodes whose answer was accepted; ``argument_accuracy``:
    mean per-episode share of expected arguments given correctly; ``format_failure_rate``:
    share of episodes whose (last) answer did not parse; ``errors``: episodes per error
    category; ``formats``: episodes per parsed tool-call format.
    """

    category: str
    episodes: int
    call_accuracy: float
    argument_accuracy: float
    format_failure_rate: float
    errors: dict[str, int] = field(default_factory=dict)
    formats: dict[str, int] = field(default_factory=dict)


def _summary(category: str, trajs: Sequence[Trajectory]) -> ToolUseSummary:
    last = [t.steps[-1].info for t in trajs if t.steps]
    n = len(trajs)
    return ToolUseSummary(
        category=category,
        episodes=n,
        call_accuracy=sum(float(i.get("call_accuracy", 0.0)) for i in last) / n if n else 0.0,
        argument_accuracy=sum(float(i.get("argument_accuracy", 0.0)) for i in last) / n
        if n
        else 0.0,
        format_failure_rate=sum(1 for t in trajs if t.steps and t.steps[-1].format_failure) / n
        if n
        else 0.0,
        errors=dict(Counter(str(i["error_category"]) for i in last if i.get("error_category"))),
        formats=dict(Counter(str(i["call_format"]) for i in last if i.get("call_format"))),
    )


def tool_use_summary(trajectories: Iterable[Trajectory]) -> list[ToolUseSummary]:
    """One summary per task category (from ``info["category"]``), then ``"all"``."""
    trajs = list(trajectories)
    groups: dict[str, list[Trajectory]] = {}
    for t in trajs:
        cat = str(t.steps[-1].info.get("category", "unknown")) if t.steps else "unknown"
        groups.setdefault(cat, []).append(t)
    return [_summary(c, g) for c, g in sorted(groups.items())] + [_summary("all", trajs)]


def format_tool_use_table(summaries: Sequence[ToolUseSummary]) -> str:
    """A plain-text table of :func:`tool_use_summary`."""
    rows = [("category", "episodes", "call acc", "arg acc", "format fail", "errors")]
    for s in summaries:
        rows.append(
            (
                s.category,
                str(s.episodes),
                f"{s.call_accuracy:.3f}",
                f"{s.argument_accuracy:.3f}",
                f"{s.format_failure_rate:.3f}",
                ", ".join(f"{k}={v}" for k, v in sorted(s.errors.items())) or "-",
            )
        )
    return text_table(rows)
