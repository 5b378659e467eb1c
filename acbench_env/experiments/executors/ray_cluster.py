"""The Ray executor: work units on model replicas (Ray actors) of a local or remote cluster.

One actor per model replica loads the model once (its constructor builds the first agent,
which loads the backend) and runs every unit of that model it is given; a unit's finished
episodes stream back to the driver as they finish (a Ray streaming generator), and only the
driver writes them (:class:`~acbench_env.experiments.executors.base.TrajectorySink`).

Scheduling: units wait in one queue per model, in plan order; a replica that is up and idle
takes the next unit of its model. Replicas that do not fit the cluster yet stay pending and
take work as soon as Ray places them (a node that joins mid-run). A model's replicas are
released once its queue is empty and its last unit finished, so pending replicas of other
models get their resources.

Faults: a replica whose process or node dies (``RayActorError``) is restarted by Ray
(``max_restarts``) wherever the resources are; the episodes of its unit that did not come
back are queued again: the whole unit, first in line (it runs in the same batches again;
the driver drops the episodes it has already). A unit lost more than ``max_retries``
times, a replica that cannot start (its constructor raised, e.g. a model folder its node
cannot read), or a model none of whose replicas can be placed within ``placement_timeout``
seconds ends the run with one :class:`~acbench_env.core.errors.ExecutorError` naming it.
An exception raised by the work itself (an environment or backend error) is raised as is.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from acbench_env.core.errors import AcbenchError, ConfigError, ExecutorError, MissingDependencyError
from acbench_env.core.manifest import ModelEntry
from acbench_env.core.suites import SuiteTask
from acbench_env.core.types import Trajectory
from acbench_env.experiments.executors.base import (
    AgentFactory,
    TrajectorySink,
    WorkUnit,
    run_unit,
)

logger = logging.getLogger(__name__)


#: Units a replica holds at once: the one it runs and the next (queued in the actor), so it
#: starts the next without waiting for the driver.
_DEPTH = 2


def import_ray() -> Any:
    """The ``ray`` module, or an error that names the extra to install."""
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray", "ray", "The ray executor") from exc
    return ray


class Replica:
    """A model replica (wrapped as a Ray actor by the executor): holds the agent factory,
    whose backend it loads once in the constructor, and runs units of that model."""

    def __init__(self, factory: AgentFactory, model: ModelEntry, warm: SuiteTask) -> None:
        self._factory = factory
        self._model = model
        factory(model, warm, 0)  # loads the weights (the factory keeps the backend)

    def ready(self) -> str:
        import ray

        return str(ray.get_runtime_context().get_node_id())

    def run(self, unit: WorkUnit, width: int) -> Iterator[tuple[int, Trajectory]]:
        yield from run_unit(unit, self._factory, width)


@dataclass
class _ReplicaState:
    key: int
    label: str
    handle: Any
    ready: bool = False
    units: dict[int, WorkUnit] = field(default_factory=dict)  # in flight, by token
    token: int = 0
    failures: int = 0
    dead: bool = False
    retired: bool = False
    node: str = ""


@dataclass
class _ModelWork:
    queue: deque[WorkUnit] = field(default_factory=deque)
    waiting_since: float | None = None


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on an address no cluster listens at (``ray.init`` retries for minutes)."""
    host_port = address.split("://", 1)[-1]
    host, sep, port = host_port.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(
            f"--address {address!r} is not HOST:PORT (or 'auto' for the cluster this machine "
            "belongs to); leave it out to start a local Ray"
        )
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ExecutorError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}); start one with "
            "'ray start --head' on that machine, pass the address 'ray start' printed, or "
            "leave out --address to start a local Ray"
        ) from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


class RayExecutor:
    """Runs work units on Ray actors, one per model replica; see the module docstring.

    ``address``: ``None`` starts a local Ray (or uses the one this process already joined),
    ``"auto"`` joins the cluster this machine belongs to, ``HOST:PORT`` a cluster's head.
    ``log_dir``: where the driver-side Ray log goes (unless ``verbose``); with ``verbose``
    the workers' output is also forwarded to this terminal.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        replicas_per_model: int = 1,
        cpus_per_replica: float = 1.0,
        gpus_per_replica: float = 0.0,
        max_retries: int = 3,
        placement_timeout: float = 600.0,
        log_dir: Path | None = None,
        verbose: bool = False,
        init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if replicas_per_model < 1:
            raise ConfigError(f"replicas_per_model must be at least 1, got {replicas_per_model}")
        if cpus_per_replica < 0 or gpus_per_replica < 0:
            raise ConfigError("cpus_per_replica and gpus_per_replica must be >= 0")
        if max_retries < 0:
            raise ConfigError(f"max_retries must be >= 0, got {max_retries}")
        self.address = address
        self.replicas_per_model = replicas_per_model
        self.cpus = float(cpus_per_replica)
        self.gpus = float(gpus_per_replica)
        self.max_retries = max_retries
        self.placement_timeout = placement_timeout
        self.log_dir = log_dir
        self.verbose = verbose
        self.init_kwargs = dict(init_kwargs or {})
        self._ray: Any = None
        self._owns = False
        self._log_handler: logging.Handler | None = None
        self._replicas: list[_ReplicaState] = []

    # -- connecting ---------------------------------------------------------------------

    def _route_ray_logs(self) -> None:
        if self.verbose or self.log_dir is None:
            return
        self.log_dir.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(self.log_dir / "ray.log")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        ray_logger = logging.getLogger("ray")
        for old in list(ray_logger.handlers):
            ray_logger.removeHandler(old)
        ray_logger.addHandler(handler)
        ray_logger.propagate = False
        self._log_handler = handler

    def prepare(self, units: Sequence[WorkUnit]) -> None:
        """Connect (or start a local Ray) and check that one replica fits some node."""
        ray = import_ray()
        self._ray = ray
        self._route_ray_logs()
        if not ray.is_initialized():
            address = self.address
            if address not in (None, "auto", "local"):
                _check_reachable(address)
            kwargs: dict[str, Any] = {
                # "local": a new Ray of our own, even if this machine runs another one
                "address": "local" if address is None else address,
                "log_to_driver": self.verbose,
                "include_dashboard": False,
                "logging_level": logging.INFO if self.verbose else logging.WARNING,
                **self.init_kwargs,
            }
            try:
                ray.init(**kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ExecutorError(
                    f"cannot join the Ray cluster at {address!r}: {_short(exc)}; start one "
                    "with 'ray start --head', or leave out --address to start a local Ray"
                ) from exc
            self._owns = True
        if units:
            self._check_resources()

    def _check_resources(self) -> None:
        nodes = [n for n in self._ray.nodes() if n.get("Alive")]
        have = [
            (float(n["Resources"].get("CPU", 0)), float(n["Resources"].get("GPU", 0)))
            for n in nodes
        ]
        if not any(c >= self.cpus and g >= self.gpus for c, g in have):
            listing = ", ".join(f"{c:g} CPU/{g:g} GPU" for c, g in have) or "none"
            raise ExecutorError(
                f"no node of the Ray cluster has what one replica asks for ({self.cpus:g} CPU, "
                f"{self.gpus:g} GPU); its nodes have: {listing}. Lower --cpus-per-replica / "
                "--gpus-per-replica or add a node that has them"
            )

    def close(self) -> None:
        ray = self._ray
        if ray is not None:
            for rep in self._replicas:
                self._kill(rep)
            self._replicas = []
            if self._owns and ray.is_initialized():
                ray.shutdown()
            self._owns = False
        if self._log_handler is not None:
            ray_logger = logging.getLogger("ray")
            ray_logger.removeHandler(self._log_handler)
            self._log_handler.close()
            self._log_handler = None

    def _kill(self, rep: _ReplicaState) -> None:
        if rep.retired:
            return
        rep.retired = True
        try:
            self._ray.kill(rep.handle, no_restart=True)
        except Exception as exc:  # already gone: nothing to release
            logger.debug("releasing replica %d: %s", rep.key, exc)

    # -- running ------------------------------------------------------------------------

    def _actor_class(self) -> Any:
        return self._ray.remote(Replica).options(
            num_cpus=self.cpus,
            num_gpus=self.gpus,
            max_restarts=self.max_retries,
            max_task_retries=0,
        )

    def execute(
        self, units: Sequence[WorkUnit], factory: AgentFactory, sink: TrajectorySink, width: int
    ) -> None:
        if not units:
            return
        ray = self._ray
        events: queue.Queue[tuple[str, int, int, Any]] = queue.Queue()
        work: dict[str, _ModelWork] = {}
        for unit in units:
            work.setdefault(unit.model.label, _ModelWork()).queue.append(unit)
        actor = self._actor_class()
        by_key: dict[int, _ReplicaState] = {}
        for label, mw in work.items():
            first = mw.queue[0]
            for _ in range(min(self.replicas_per_model, len(mw.queue))):
                handle = actor.remote(factory, first.model, first.cells[0].task)
                rep = _ReplicaState(len(self._replicas), label, handle)
                self._replicas.append(rep)
                by_key[rep.key] = rep
                self._await_ready(rep, events)

        def remaining_work(label: str) -> bool:
            return bool(work[label].queue) or any(
                bool(r.units) for r in self._replicas if r.label == label
            )

        def dispatch(rep: _ReplicaState) -> None:
            """Fill the replica up to _DEPTH units, or release the model's replicas when
            its work is done."""
            mw = work[rep.label]
            while rep.ready and len(rep.units) < _DEPTH and not (rep.dead or rep.retired):
                if not mw.queue:
                    if not remaining_work(rep.label):
                        for other in self._replicas:
                            if other.label == rep.label:
                                self._kill(other)
                    return
                unit = mw.queue.popleft()
                rep.token += 1
                rep.units[rep.token] = unit
                gen = rep.handle.run.remote(unit, width)
                threading.Thread(
                    target=_pump, args=(ray, gen, rep.key, rep.token, events), daemon=True
                ).start()

        def requeue(rep: _ReplicaState, unit: WorkUnit, exc: BaseException) -> None:
            # The whole unit runs again (same batches, so the same greedy outputs); the sink
            # drops the episodes that came back already.
            left = sum(len(sink.remaining(c)) for c in unit.cells)
            if not left:
                logger.warning(
                    "replica %d of %s lost (%s); its unit had finished",
                    rep.key,
                    rep.label,
                    _short(exc),
                )
                return
            retry = replace(unit, attempt=unit.attempt + 1)
            if retry.attempt > self.max_retries:
                raise ExecutorError(
                    f"gave up on {retry.name()}: its replica was lost {retry.attempt} times "
                    f"(last: {_short(exc)}); the episodes that finished are saved, run the "
                    "same command again to retry the rest"
                )
            logger.warning(
                "replica %d of %s lost (%s); its unit (%d episodes left) queued again",
                rep.key,
                rep.label,
                _short(exc),
                left,
            )
            work[rep.label].queue.appendleft(retry)

        while any(remaining_work(label) for label in work):
            try:
                kind, key, token, payload = events.get(timeout=1.0)
            except queue.Empty:
                self._check_placement(work)
                continue
            rep = by_key[key]
            if rep.retired and kind != "traj":
                continue
            if kind == "ready":
                rep.ready, rep.node = True, str(payload)
                logger.info("replica %d of %s is up on node %s", key, rep.label, rep.node[:12])
                dispatch(rep)
            elif kind == "traj":
                if token not in rep.units:
                    # From a unit already given up on and queued again: the sink drops copies.
                    continue
                index, traj = payload
                sink.accept(rep.units[token].cells[index], traj)
            elif kind == "done":
                if rep.units.pop(token, None) is None:
                    continue
                dispatch(rep)  # the next unit, or the model's replicas are released
            elif kind == "error":
                lost = rep.units.pop(token, None)
                if lost is None:
                    continue
                exc = payload
                if not _is_lost_worker(ray, exc):
                    _raise_work_error(lost, exc)
                if getattr(exc, "actor_init_failed", False):
                    raise _init_error(rep, exc)
                if lost is not None:
                    requeue(rep, lost, exc)
                rep.ready = False
                rep.failures += 1
                self._await_ready(rep, events, delay=1.0)
            elif kind == "dead":
                exc = payload
                if getattr(exc, "actor_init_failed", False):
                    raise _init_error(rep, exc)
                rep.failures += 1
                if rep.failures <= self.max_retries + 1:
                    self._await_ready(rep, events, delay=1.0)
                else:
                    rep.dead = True
                    live = [r for r in self._replicas if r.label == rep.label and not r.dead]
                    if not live and remaining_work(rep.label):
                        left = work[rep.label].queue
                        raise ExecutorError(
                            f"every replica of model {rep.label!r} died ({_short(exc)}); "
                            f"{sum(u.episodes for u in left)} episodes are left, first "
                            f"{left[0].name() if left else '?'}; run the same command again "
                            "to resume"
                        )
        for rep in self._replicas:
            self._kill(rep)

    def _await_ready(
        self, rep: _ReplicaState, events: queue.Queue[Any], delay: float = 0.0
    ) -> None:
        threading.Thread(
            target=_wait_ready, args=(self._ray, rep.handle, rep.key, delay, events), daemon=True
        ).start()

    def _check_placement(self, work: dict[str, _ModelWork]) -> None:
        """Fail when work is queued but no replica at all is up for ``placement_timeout``
        seconds (a replica that waits while others work is not stuck: it gets their room)."""
        now = time.monotonic()
        live = [r for r in self._replicas if not r.retired]
        waiting = [label for label, mw in work.items() if mw.queue]
        if not waiting or any(r.ready or r.units for r in live):
            for mw in work.values():
                mw.waiting_since = None
            return
        first = work[waiting[0]]
        if first.waiting_since is None:
            first.waiting_since = now
        elif now - first.waiting_since > self.placement_timeout:
            free = self._ray.available_resources()
            raise ExecutorError(
                f"no replica of model {waiting[0]!r} ({self.cpus:g} CPU, {self.gpus:g} GPU "
                f"each) could be placed in {self.placement_timeout:g} s; the cluster has "
                f"{free.get('CPU', 0):g} CPU and {free.get('GPU', 0):g} GPU free. Add a "
                "node, or lower --cpus-per-replica / --gpus-per-replica; the episodes that "
                "finished are saved"
            )


def _wait_ready(ray: Any, handle: Any, key: int, delay: float, events: queue.Queue[Any]) -> None:
    """Report when the replica is up (after a restart too). "Unavailable" is not dead: the
    node may not be declared lost yet, after which Ray restarts the replica; ask again."""
    if delay:
        time.sleep(delay)
    while True:
        try:
            node = ray.get(handle.ready.remote())
        except ray.exceptions.ActorUnavailableError:
            time.sleep(1.0)
            continue
        except Exception as exc:
            events.put(("dead", key, 0, exc))
        else:
            events.put(("ready", key, 0, node))
        return


def _pump(ray: Any, gen: Any, key: int, token: int, events: queue.Queue[Any]) -> None:
    try:
        for ref in gen:
            events.put(("traj", key, token, ray.get(ref)))
    except Exception as exc:
        events.put(("error", key, token, exc))
    else:
        events.put(("done", key, token, None))


def _is_lost_worker(ray: Any, exc: BaseException) -> bool:
    lost = (
        ray.exceptions.RayActorError,
        ray.exceptions.WorkerCrashedError,
        ray.exceptions.NodeDiedError,
        ray.exceptions.LocalRayletDiedError,
        ray.exceptions.ObjectLostError,
    )
    return isinstance(exc, lost)


def _init_error(rep: _ReplicaState, exc: BaseException) -> ExecutorError:
    text = str(exc)
    marker = "creation task, "
    if marker in text:
        text = text.split(marker, 1)[1]
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    reason = lines[-1] if lines else type(exc).__name__
    return ExecutorError(
        f"a replica of model {rep.label!r} could not start on its node: {reason[:500]}; check "
        "that every node can read the model folder (same path on every machine, or shared "
        "storage) and has the backend installed. Nothing was written for it"
    )


def _raise_work_error(unit: WorkUnit | None, exc: BaseException) -> None:
    cause = getattr(exc, "cause", None)
    if isinstance(cause, AcbenchError):
        raise cause
    where = unit.name() if unit is not None else "a work unit"
    raise ExecutorError(f"{where} failed on its replica: {_short(cause or exc)}") from exc
