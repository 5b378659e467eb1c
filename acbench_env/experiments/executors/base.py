"""What every executor shares: the work plan (cells and work units), running one unit, the
driver-side trajectory sink, the aggregated progress bar, and the local executor.

A **cell** is a (model, task, episode shard): some seeds of one suite row (one repeat) on one
model. A **work unit** is a run of consecutive cells of one model that are stepped together
in one loop (:func:`~acbench_env.experiments.runner.drive`), at most ``width`` episodes at
once: episodes of several tasks are in flight together, so the backend batches across tasks.
Units are cut from all the episodes in suite order, ``unit_episodes`` episodes each, by
:func:`plan_units`, whatever the executor and whatever is already done: the local executor
runs them one after another, the Ray executor on model replicas, and a unit that was cut
short (a lost worker, a killed driver) runs whole again. A unit's batches depend only on the
unit, so the executors give the same trajectories, interrupted or not (with greedy
decoding; timing fields aside).

Only the driver writes trajectory files (:class:`TrajectorySink`): one fsync'd line per
finished episode, keyed by (env id, seed), in the suite layout; an episode that arrives twice
(a retried unit) is written once.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from acbench_env.core.errors import ConfigError, TrajectoryFileError
from acbench_env.core.jsonl import append_trajectory, read_trajectories, to_jsonable
from acbench_env.core.manifest import ModelEntry
from acbench_env.core.seeds import episode_seeds
from acbench_env.core.suites import SuiteTask
from acbench_env.core.types import ModelInfo, Trajectory

logger = logging.getLogger(__name__)

#: ``factory(model, task, repeat) -> agent``: how a replica (or the local process) builds
#: the agent for a cell. It must be picklable for the Ray executor (module-level functions,
#: ``functools.partial`` of them, or closures cloudpickle can carry).
AgentFactory = Callable[[ModelEntry, SuiteTask, int], Any]


@dataclass(frozen=True)
class Cell:
    """Episodes ``seeds`` of suite row ``task`` (repeat ``repeat``) on ``model``, written to
    ``path`` by the driver."""

    model: ModelEntry
    task: SuiteTask
    repeat: int
    seeds: tuple[int, ...]
    path: Path

    def name(self) -> str:
        rep = f" repeat {self.repeat}" if self.repeat else ""
        seeds = (
            f"seed {self.seeds[0]}"
            if len(self.seeds) == 1
            else f"seeds {self.seeds[0]}..{self.seeds[-1]}"
        )
        return f"model {self.model.label!r}, task {self.task.env_id}{rep}, {seeds}"


@dataclass(frozen=True)
class WorkUnit:
    """Cells of one model stepped together; ``attempt`` counts retries after a lost worker."""

    uid: int
    model: ModelEntry
    cells: tuple[Cell, ...]
    attempt: int = 0

    @property
    def episodes(self) -> int:
        return sum(len(c.seeds) for c in self.cells)

    def name(self) -> str:
        return "; ".join(c.name() for c in self.cells)


def run_unit(unit: WorkUnit, factory: AgentFactory, width: int) -> Iterator[tuple[int, Trajectory]]:
    """Run a unit's episodes (``width`` at once), yielding ``(cell index, trajectory)``."""
    from acbench_env.experiments.runner import Lane, drive

    lanes = [
        Lane(c.task.env_id, factory(c.model, c.task, c.repeat), c.seeds, dict(c.task.env_kwargs))
        for c in unit.cells
    ]
    yield from drive(lanes, width=width)


@dataclass
class _FileState:
    label: str
    env_id: str
    env_kwargs: Any
    wanted: frozenset[int]
    done: set[int] = field(default_factory=set)
    model: ModelInfo | None = None
    system_prompt: str | None = None


class SuiteProgress:
    """One bar of episodes done out of the total; with ``detail``, one more line per model."""

    def __init__(
        self,
        total: int,
        done: int,
        per_model: Mapping[str, tuple[int, int]],
        *,
        enabled: bool,
        detail: bool,
    ) -> None:
        from tqdm.auto import tqdm

        self._bars: dict[str, Any] = {}
        self.total = tqdm(
            total=total,
            initial=done,
            disable=not enabled,
            unit="episode",
            desc="suite",
            dynamic_ncols=True,
            position=0,
        )
        if enabled and detail:
            for pos, (label, (n, d)) in enumerate(per_model.items(), start=1):
                self._bars[label] = tqdm(
                    total=n, initial=d, unit="episode", desc=label, position=pos, leave=True
                )

    def update(self, label: str) -> None:
        self.total.update(1)
        if label in self._bars:
            self._bars[label].update(1)

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()
        self.total.close()


class TrajectorySink:
    """The driver's writer: appends each new episode to its cell's file (fsync'd), once.

    An episode whose (file, seed) is already written is dropped (a retried unit can deliver
    it again). The first episode written to a file that already holds episodes of another
    model, decoding or env arguments raises :class:`TrajectoryFileError` before anything is
    written. ``before_first_write`` runs once, before the first line (the suite writes its
    manifest then, so a run that fails before any episode leaves nothing behind).
    """

    def __init__(
        self,
        files: dict[Path, _FileState],
        progress: SuiteProgress | None = None,
        before_first_write: Callable[[], object] | None = None,
    ) -> None:
        self.files = files
        self.progress = progress
        self._before = before_first_write
        self.new = 0
        self.duplicates = 0

    def remaining(self, cell: Cell) -> tuple[int, ...]:
        done = self.files[cell.path].done
        return tuple(s for s in cell.seeds if s not in done)

    def accept(self, cell: Cell, traj: Trajectory) -> bool:
        state = self.files[cell.path]
        if traj.env_id != state.env_id or traj.seed not in state.wanted:
            raise ConfigError(
                f"{cell.name()}: received an episode of {traj.env_id} seed {traj.seed}, which "
                "this cell did not ask for"
            )
        if traj.seed in state.done:
            self.duplicates += 1
            logger.info("dropped a second copy of %s seed %d", traj.env_id, traj.seed)
            return False
        if state.model is not None and (
            traj.model != state.model or traj.env_kwargs != state.env_kwargs
        ):
            raise TrajectoryFileError(
                f"{cell.path} already holds {traj.env_id} episodes of another run (model "
                f"{state.model.model_id!r}, env arguments {state.env_kwargs}); to resume, use "
                "the same model, decoding and env arguments, otherwise choose another output "
                "folder"
            )
        if self._before is not None:
            before, self._before = self._before, None
            before()
        append_trajectory(cell.path, traj)
        state.done.add(traj.seed)
        state.model = traj.model
        self.new += 1
        if self.progress is not None:
            self.progress.update(state.label)
        return True

    def finish(self) -> None:
        if self._before is not None:
            before, self._before = self._before, None
            before()


@dataclass(frozen=True)
class Plan:
    """Work units in order, the driver's sink state, and episode counts."""

    units: tuple[WorkUnit, ...]
    files: dict[Path, _FileState]
    total: int
    resumed: int

    def per_model(self) -> dict[str, tuple[int, int]]:
        out: dict[str, tuple[int, int]] = {}
        for st in self.files.values():
            n, d = out.get(st.label, (0, 0))
            out[st.label] = (n + len(st.wanted), d + len(st.done))
        return out


def plan_units(
    rows: Sequence[tuple[ModelEntry, SuiteTask, int, Path]],
    seed: int,
    unit_episodes: int,
    *,
    across_rows: bool = True,
) -> Plan:
    """Cut the episodes of ``rows`` ((model, task, repeat, file), in run order; episode ``i``
    of every row has seed ``seed + i``) into work units of at most ``unit_episodes``
    episodes of one model; with ``across_rows=False`` a unit never spans two rows.

    Units are cut from *all* the episodes, then those whose episodes are all in their files
    already are dropped (resume). A unit is never cut differently: a partly done unit runs
    whole again (the sink drops the copies), so every episode is stepped in the same batches
    however often the run was interrupted, and greedy trajectories do not depend on it.
    """
    if unit_episodes < 1:
        raise ConfigError(f"unit_episodes must be at least 1, got {unit_episodes}")
    files: dict[Path, _FileState] = {}
    items: list[tuple[ModelEntry, SuiteTask, int, Path, int]] = []
    for entry, task, repeat, path in rows:
        wanted = tuple(episode_seeds(task.episodes, seed))
        state = _FileState(
            label=entry.label,
            env_id=task.env_id,
            env_kwargs=to_jsonable(dict(task.env_kwargs)),
            wanted=frozenset(wanted),
        )
        for traj in read_trajectories(path, repair=True):
            if traj.env_id != task.env_id:
                continue
            if state.model is None:
                state.model = traj.model
            if traj.seed in state.wanted:
                state.done.add(traj.seed)
        files[path] = state
        items.extend((entry, task, repeat, path, s) for s in wanted)
    units: list[WorkUnit] = []
    group: list[tuple[ModelEntry, SuiteTask, int, Path, int]] = []

    def flush() -> None:
        if not group:
            return
        if any(s not in files[path].done for _, _, _, path, s in group):
            cells: list[Cell] = []
            for entry, task, repeat, path, s in group:
                if cells and cells[-1].path == path:
                    last = cells[-1]
                    cells[-1] = Cell(last.model, last.task, last.repeat, (*last.seeds, s), path)
                else:
                    cells.append(Cell(entry, task, repeat, (s,), path))
            units.append(WorkUnit(len(units), group[0][0], tuple(cells)))
        group.clear()

    for item in items:
        if group and (
            item[0] != group[0][0]
            or len(group) >= unit_episodes
            or (not across_rows and item[3] != group[-1][3])
        ):
            flush()
        group.append(item)
    flush()
    total = sum(len(st.wanted) for st in files.values())
    resumed = sum(len(st.done) for st in files.values())
    return Plan(tuple(units), files, total, resumed)


class Executor(Protocol):
    """Runs work units and hands every finished episode to the sink."""

    name: str

    def prepare(self, units: Sequence[WorkUnit]) -> None:
        """Check what can be checked before anything is written (connect, resources)."""

    def execute(
        self, units: Sequence[WorkUnit], factory: AgentFactory, sink: TrajectorySink, width: int
    ) -> None: ...

    def close(self) -> None: ...


class LocalExecutor:
    """Runs the units one after another in this process (the default)."""

    name = "local"

    def prepare(self, units: Sequence[WorkUnit]) -> None:
        return None

    def execute(
        self, units: Sequence[WorkUnit], factory: AgentFactory, sink: TrajectorySink, width: int
    ) -> None:
        for unit in units:
            for index, traj in run_unit(unit, factory, width):
                sink.accept(unit.cells[index], traj)

    def close(self) -> None:
        return None


class PolicyAgentFactory:
    """Builds :class:`~acbench_env.agents.LLMPolicyAgent` agents over one backend per process
    (created on first use, then kept): what ``acbench run`` ships to its replicas. The task's
    own budget and temperature are not used; ``agent_kwargs`` set them."""

    def __init__(
        self, backend: str, backend_kwargs: Mapping[str, Any], agent_kwargs: Mapping[str, Any]
    ) -> None:
        self.backend = backend
        self.backend_kwargs = dict(backend_kwargs)
        self.agent_kwargs = dict(agent_kwargs)
        self._loaded: Any = None

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_loaded": None}

    def __call__(self, model: ModelEntry, task: SuiteTask, repeat: int) -> Any:
        from acbench_env.agents import LLMPolicyAgent
        from acbench_env.agents.backends import create_backend

        if self._loaded is None:
            kwargs = dict(self.backend_kwargs)
            if model.dtype is not None:  # the entry's planned dtype wins (recorded in it)
                kwargs["dtype"] = model.dtype
            self._loaded = create_backend(self.backend, model=model.model, **kwargs)
        return LLMPolicyAgent(self._loaded, **self.agent_kwargs)


def run_sharded(
    executor: Executor,
    env_id: str,
    factory: AgentFactory,
    model: ModelEntry,
    *,
    episodes: int,
    seed: int = 0,
    out: Path,
    env_kwargs: Mapping[str, Any] | None = None,
    batch_size: int = 4,
    unit_episodes: int | None = None,
    progress: bool = False,
) -> tuple[int, int]:
    """One large run (``acbench run --executor ray``): the episodes of ``env_id`` cut into
    units of ``unit_episodes`` (default 4 x ``batch_size``) on ``executor``, written to
    ``out`` by this process (resumable as a plain run). Returns (new, resumed) episodes."""
    task = SuiteTask(env_id, episodes, dict(env_kwargs or {}))
    plan = plan_units([(model, task, 0, out)], seed, unit_episodes or 4 * batch_size)
    bar = SuiteProgress(plan.total, plan.resumed, {}, enabled=progress, detail=False)
    sink = TrajectorySink(plan.files, bar)
    try:
        executor.prepare(plan.units)
        executor.execute(plan.units, factory, sink, batch_size)
    finally:
        bar.close()
        executor.close()
    return sink.new, plan.resumed


@contextlib.contextmanager
def backend_logs_to(log_dir: Path) -> Iterator[None]:
    """While inside, vLLM (in this process and the engine processes it starts) logs to
    ``log_dir/backend.log`` instead of the terminal, unless ``VLLM_LOGGING_CONFIG_PATH`` is
    set already."""
    if os.environ.get("VLLM_LOGGING_CONFIG_PATH"):
        yield
        return
    log_dir.mkdir(parents=True, exist_ok=True)
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
        "handlers": {
            "file": {
                "class": "logging.FileHandler",
                "filename": str(log_dir / "backend.log"),
                "formatter": "plain",
            }
        },
        "loggers": {"vllm": {"handlers": ["file"], "level": "INFO", "propagate": False}},
    }
    path = log_dir / "vllm_logging.json"
    path.write_text(json.dumps(config, indent=2))
    os.environ["VLLM_LOGGING_CONFIG_PATH"] = str(path)
    try:
        yield
    finally:
        os.environ.pop("VLLM_LOGGING_CONFIG_PATH", None)
