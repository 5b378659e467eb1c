"""Task metrics rolled up into capability scores, with a versioned, documented weighting.

Every environment declares its capability (one of
:data:`~acbench_env.core.env.CAPABILITIES`) and its primary metric (``info["score"]``, the
episode score in [0, 1]). A **task** is one environment in a suite (one env id with fixed
env arguments); its score is the mean episode score.

Weighting version 1 (:data:`WEIGHTING_V1`):

- a capability score is the weighted mean of the scores of its tasks, each task weighted
  by its entry in ``task_weights`` (default 1: every task of a capability counts equally,
  however many episodes it ran, so a long-running task cannot dominate its capability);
- the overall score is the weighted mean of the capability scores, each capability
  weighted by ``capability_weights`` (default 1: the four capabilities count equally, as
  in the paper's capability-level reporting);
- tasks without any episode are left out of the means (and reported as *empty*); a
  capability without any scored task has no score (``nan``, reported as *empty*), never 0;
- the format-failure rate of a capability is the same weighted mean of its tasks'
  format-failure rates (format-failed steps / steps of each task).

Change the weighting by making a new :class:`Weighting` with a new ``version``; reports
record the version they used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from acbench_env.core.env import CAPABILITIES
from acbench_env.core.errors import ConfigError


@dataclass(frozen=True)
class Weighting:
    """Weights of tasks within a capability and of capabilities in the overall score."""

    version: int
    description: str
    task_weights: Mapping[str, float] = field(default_factory=dict)
    capability_weights: Mapping[str, float] = field(default_factory=dict)

    def task_weight(self, env_id: str) -> float:
        return float(self.task_weights.get(env_id, 1.0))

    def capability_weight(self, capability: str) -> float:
        return float(self.capability_weights.get(capability, 1.0))


#: The default weighting: equal tasks within a capability, equal capabilities.
WEIGHTING_V1 = Weighting(
    version=1,
    description=(
        "capability = mean of its tasks' mean episode scores (tasks weighted equally); "
        "overall = mean of the capability scores (capabilities weighted equally); "
        "empty tasks are left out, never counted as 0"
    ),
)

WEIGHTINGS = {1: WEIGHTING_V1}


def get_weighting(version: int) -> Weighting:
    """The weighting of ``version`` (reports record the version they used)."""
    if version not in WEIGHTINGS:
        raise ConfigError(
            f"unknown weighting version {version}; known versions: {sorted(WEIGHTINGS)}"
        )
    return WEIGHTINGS[version]


def _status(count: int, complete: bool) -> str:
    """``"empty"`` when ``count`` is 0, else ``"complete"`` or ``"partial"``."""
    if count == 0:
        return "empty"
    return "complete" if complete else "partial"


@dataclass(frozen=True)
class TaskScore:
    """A task's mean score and format-failure rate under one model (``nan`` when empty)."""

    env_id: str
    capability: str
    primary_metric: str
    episodes: int
    expected_episodes: int
    mean: float
    format_failure_rate: float

    @property
    def status(self) -> str:
        """``"complete"``, ``"partial"`` (fewer episodes than the suite asks for) or ``"empty"``."""
        return _status(self.episodes, self.episodes >= self.expected_episodes)


@dataclass(frozen=True)
class CapabilityScore:
    """A capability's weighted score over its tasks (``nan`` when no task has episodes)."""

    capability: str
    score: float
    format_failure_rate: float
    tasks: int
    scored_tasks: int
    partial_tasks: int

    @property
    def status(self) -> str:
        """``"complete"``, ``"partial"`` (a task partial or empty) or ``"empty"`` (all are)."""
        return _status(
            self.scored_tasks, not self.partial_tasks and self.scored_tasks >= self.tasks
        )


def _weighted_mean(pairs: Sequence[tuple[float, float]]) -> float:
    total = sum(w for _, w in pairs)
    if total <= 0:
        return float("nan")
    return sum(v * w for v, w in pairs) / total


def capability_scores(
    tasks: Sequence[TaskScore], weighting: Weighting = WEIGHTING_V1
) -> list[CapabilityScore]:
    """One :class:`CapabilityScore` per capability present in ``tasks`` (in
    :data:`CAPABILITIES` order)."""
    unknown = sorted({t.capability for t in tasks} - set(CAPABILITIES))
    if unknown:
        raise ConfigError(
            f"unknown capabilities {unknown}; each env must declare one of {CAPABILITIES}"
        )
    out = []
    for cap in CAPABILITIES:
        members = [t for t in tasks if t.capability == cap]
        if not members:
            continue
        scored = [t for t in members if t.episodes > 0]
        out.append(
            CapabilityScore(
                capability=cap,
                score=_weighted_mean([(t.mean, weighting.task_weight(t.env_id)) for t in scored]),
                format_failure_rate=_weighted_mean(
                    [(t.format_failure_rate, weighting.task_weight(t.env_id)) for t in scored]
                ),
                tasks=len(members),
                scored_tasks=len(scored),
                partial_tasks=sum(1 for t in scored if t.status == "partial"),
            )
        )
    return out


def overall_score(caps: Sequence[CapabilityScore], weighting: Weighting = WEIGHTING_V1) -> float:
    """Weighted mean of the scored capabilities (``nan`` when none is scored)."""
    return _weighted_mean(
        [
            (c.score, weighting.capability_weight(c.capability))
            for c in caps
            if not math.isnan(c.score)
        ]
    )
