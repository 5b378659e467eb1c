"""What every report section reads: :class:`ReportContext`, the loaded suite data with what
is derived from it once (the weighting, each task's capability and metric, each model's task
scores)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from acbench_env.core.manifest import Manifest
from acbench_env.core.suites import Suite
from acbench_env.core.types import Trajectory
from acbench_env.scoring.capability import TaskScore, Weighting, get_weighting
from acbench_env.scoring.report.load import SuiteData

#: Version of the report.json layout.
REPORT_VERSION = 1
#: Confidence of every interval in the report.
CONFIDENCE = 0.95
NEEDLE_ENV = "acbench/Needle-v0"


@dataclass(frozen=True)
class ReportContext:
    """What every section reads: the loaded data, and what is derived from it once (the
    weighting, each task's capability and metric, each model's task scores)."""

    data: SuiteData
    weighting: Weighting
    meta: Mapping[str, tuple[str, str]]  # env id -> (capability, primary metric)
    task_scores: Mapping[str, tuple[TaskScore, ...]]  # label -> one per task, suite order

    @property
    def manifest(self) -> Manifest:
        return self.data.manifest

    @property
    def suite(self) -> Suite:
        return self.data.manifest.suite

    @property
    def labels(self) -> list[str]:
        return self.data.manifest.labels

    def episodes(self, label: str, env_id: str) -> list[Trajectory]:
        """``label``'s episodes of ``env_id`` (the first repeat), sorted by seed."""
        return self.data.runs[label][env_id][0]


Section = Callable[[ReportContext], dict[str, Any]]


def _env_meta(env_id: str) -> tuple[str, str]:
    """(capability, primary metric) declared by the env class."""
    from acbench_env.core.registry import env_class

    try:
        cls = env_class(env_id)
    except Exception:  # an env that is no longer registered: fall back to stored data
        return ("", "score")
    return (str(getattr(cls, "capability", "")), str(getattr(cls, "primary_metric", "score")))


def _task_stats(
    trajs: Sequence[Trajectory], expected: int, env_id: str, cap: str, metric: str
) -> TaskScore:
    steps = sum(len(t.steps) for t in trajs)
    failures = sum(t.format_failures for t in trajs)
    return TaskScore(
        env_id=env_id,
        capability=cap,
        primary_metric=metric,
        episodes=len(trajs),
        expected_episodes=expected,
        mean=float(np.mean([t.score for t in trajs])) if trajs else float("nan"),
        format_failure_rate=failures / steps if steps else float("nan"),
    )


def report_context(data: SuiteData) -> ReportContext:
    manifest = data.manifest
    labels = manifest.labels
    meta: dict[str, tuple[str, str]] = {}
    scores: dict[str, list[TaskScore]] = {label: [] for label in labels}
    for task in manifest.suite.tasks:
        env_id = task.env_id
        cap, metric = _env_meta(env_id)
        if not cap:  # the env class declares none: fall back to the stored trajectories
            stored = {
                t.capability
                for lb in labels
                for r in data.runs[lb][env_id]
                for t in r
                if t.capability
            }
            cap = next(iter(stored), "")
        meta[env_id] = (cap, metric)
        for label in labels:
            first = data.runs[label][env_id][0]
            scores[label].append(_task_stats(first, task.episodes, env_id, cap, metric))
    return ReportContext(
        data=data,
        weighting=get_weighting(manifest.weighting_version),
        meta=meta,
        task_scores={label: tuple(s) for label, s in scores.items()},
    )
