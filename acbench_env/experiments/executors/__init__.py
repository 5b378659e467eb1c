"""Executors: where a suite's (or a large run's) work units run.

- ``local`` (the default): one after another in this process;
- ``ray``: on Ray actors, one per model replica, on a local Ray or a cluster
  (``pip install 'acbench-env[ray]'``; Ray is imported only when this executor is used).

See :mod:`.base` for cells, work units and the driver-side sink, :mod:`.ray_cluster` for the
Ray executor, and ``docs/cluster.md`` for running on a cluster.
"""

from __future__ import annotations

from typing import Any

from acbench_env.core.errors import ConfigError
from acbench_env.experiments.executors.base import (
    AgentFactory,
    Cell,
    Executor,
    LocalExecutor,
    Plan,
    SuiteProgress,
    TrajectorySink,
    WorkUnit,
    plan_units,
    run_unit,
)

#: Executor names, the default first.
EXECUTORS = ("local", "ray")


def make_executor(
    name: str = "local",
    *,
    address: str | None = None,
    replicas_per_model: int = 1,
    gpus_per_replica: float = 0.0,
    **ray_options: Any,
) -> Executor:
    """The executor ``name``; the Ray options are refused for the local executor (the
    placement options) or ignored there (``ray_options``: the other keywords of
    :class:`~acbench_env.experiments.executors.ray_cluster.RayExecutor`, e.g.
    ``cpus_per_replica``, ``max_retries``, ``log_dir``, ``verbose``)."""
    if name == "local":
        asked = address is not None or replicas_per_model != 1 or gpus_per_replica
        if asked:
            raise ConfigError(
                "--address, --replicas-per-model and --gpus-per-replica are options of the ray "
                "executor; add --executor ray"
            )
        return LocalExecutor()
    if name == "ray":
        from acbench_env.experiments.executors.ray_cluster import RayExecutor

        return RayExecutor(
            address,
            replicas_per_model=replicas_per_model,
            gpus_per_replica=gpus_per_replica,
            **ray_options,
        )
    raise ConfigError(f"unknown executor {name!r}; choose one of {', '.join(EXECUTORS)}")


__all__ = [
    "EXECUTORS",
    "AgentFactory",
    "Cell",
    "Executor",
    "LocalExecutor",
    "Plan",
    "SuiteProgress",
    "TrajectorySink",
    "WorkUnit",
    "make_executor",
    "plan_units",
    "run_unit",
]
