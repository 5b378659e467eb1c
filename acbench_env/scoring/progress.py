"""AgentBoard's progress rate, recomputed from stored trajectories (no simulator needed).

The application simulators record in every step's ``info`` which subgoals hold
(``info["subgoals"]``, a list of booleans). The progress rate of an episode is the best
fraction of subgoals that held at once over its steps (the start state holds none).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from acbench_env.core.types import Trajectory


@dataclass(frozen=True)
class ProgressSummary:
    """Mean progress rate, success rate and invalid-action rate over episodes."""

    episodes: int
    mean_progress: float
    success_rate: float
    episodes_with_progress: int
    invalid_action_rate: float


def progress_from_subgoals(per_step: Iterable[Sequence[bool]]) -> float:
    """``max_t (#subgoals holding at step t) / K``; 0.0 for no steps or no subgoals."""
    best = 0.0
    for reached in per_step:
        if reached:
            best = max(best, sum(bool(r) for r in reached) / len(reached))
    return best


def trajectory_progress(traj: Trajectory) -> float:
    """The progress rate of one stored episode, from its steps' ``info["subgoals"]``."""
    return progress_from_subgoals(step.info.get("subgoals") or () for step in traj.steps)


def summarize_progress(trajectories: Sequence[Trajectory]) -> ProgressSummary:
    """Progress, success and invalid-action rates over ``trajectories``."""
    if not trajectories:
        return ProgressSummary(0, 0.0, 0.0, 0, 0.0)
    progress = [trajectory_progress(t) for t in trajectories]
    steps = [s for t in trajectories for s in t.steps]
    invalid = sum(1 for s in steps if s.info.get("invalid_action") or s.parse_error)
    return ProgressSummary(
        episodes=len(trajectories),
        mean_progress=sum(progress) / len(progress),
        success_rate=sum(t.success for t in trajectories) / len(trajectories),
        episodes_with_progress=sum(p > 0 for p in progress),
        invalid_action_rate=invalid / len(steps) if steps else 0.0,
    )
