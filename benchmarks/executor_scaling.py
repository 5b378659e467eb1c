"""Ray executor scaling: episodes per second with N replicas of a fixed-latency backend.

The backend sleeps a fixed time per ``generate`` call and answers a fixed text (so two CPU
cores are enough for eight replicas: the work is waiting, as it is for a replica that waits
on its GPU); each replica asks for 2/N CPU. The task is BlocksWorld with ``max_steps=2``
(two calls per episode), one episode in flight per replica. Throughput is the steady
state, from the episodes' arrival times at the driver: from the moment every replica has
delivered an episode (replica start-up excluded) until the last N episodes (the drain at the
end, when replicas run out of work). Target: N replicas reach at least 0.9 x N times
one replica's episodes per second.

    python benchmarks/executor_scaling.py [--latency 0.25] [--per-replica 24] [--ns 1,2,4,8]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from acbench_env.agents import LLMPolicyAgent
from acbench_env.core.protocols import Completion
from acbench_env.core.suites import Suite, SuiteTask
from acbench_env.experiments.executors import make_executor
from acbench_env.experiments.executors.base import TrajectorySink
from acbench_env.experiments.suite import run_suite


class SleepBackend:
    """Answers after ``latency`` seconds per call; the reply names the process."""

    name = "scripted"
    compression = None

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.model_id = "sleep"

    def generate(self, requests: Any) -> list[Completion]:
        time.sleep(self.latency)
        text = f"worker {os.getpid()}"
        return [Completion(text, (0, 1), 4, "stop") for _ in requests]

    def close(self) -> None:
        return None


class Factory:
    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.backend: SleepBackend | None = None

    def __call__(self, entry: Any, task: SuiteTask, repeat: int) -> LLMPolicyAgent:
        if self.backend is None:
            self.backend = SleepBackend(self.latency)
        return LLMPolicyAgent(self.backend, max_new_tokens=task.max_new_tokens)


def measure(n: int, args: argparse.Namespace, root: Path) -> tuple[float, float]:
    """(steady-state episodes/s, whole-run wall seconds) with ``n`` replicas."""
    episodes = args.per_replica * n
    suite = Suite(
        f"scaling-{n}",
        1,
        0,
        "",
        (SuiteTask("acbench/BlocksWorld-v0", episodes, {"max_steps": 2}, max_new_tokens=8),),
        SuiteTask("", 1),
        all_envs=False,
    )
    arrivals: list[tuple[float, str]] = []
    accept = TrajectorySink.accept

    def timed(self: TrajectorySink, cell: Any, traj: Any) -> bool:
        arrivals.append((time.perf_counter(), traj.steps[0].raw_output))
        return accept(self, cell, traj)

    TrajectorySink.accept = timed  # type: ignore[method-assign]
    entries = [{"label": "sleep", "model": "sleep", "backend": "scripted", "weights_sha256": "-"}]
    t0 = time.perf_counter()
    try:
        run_suite(
            ["sleep"],
            suite,
            root / f"n{n}",
            agent_factory=Factory(args.latency),
            model_entries=entries,
            batch_size=1,
            unit_episodes=args.unit,
            executor=make_executor(
                "ray", replicas_per_model=n, cpus_per_replica=args.cpus / max(args.ns)
            ),
        )
    finally:
        TrajectorySink.accept = accept  # type: ignore[method-assign]
    wall = time.perf_counter() - t0
    seen: set[str] = set()
    start = None
    for i, (_, who) in enumerate(arrivals):
        seen.add(who)
        if len(seen) == n:
            start = i
            break
    if start is None or start >= len(arrivals) - 2:
        raise SystemExit(f"N={n}: only {len(seen)} replicas delivered; raise --per-replica")
    # steady state: from the moment every replica has delivered an episode until the last
    # round begins (the final N episodes drain while replicas run out of work)
    end = max(start + 2, len(arrivals) - n)
    rate = (end - start) / (arrivals[end][0] - arrivals[start][0])
    return rate, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.25, help="seconds per generate call")
    parser.add_argument("--per-replica", type=int, default=24, help="episodes per replica")
    parser.add_argument("--unit", type=int, default=4, help="episodes per work unit")
    parser.add_argument("--ns", default="1,2,4,8", help="replica counts")
    parser.add_argument("--cpus", type=float, default=2.0, help="CPUs of the local Ray")
    args = parser.parse_args()
    args.ns = [int(x) for x in args.ns.split(",")]

    import ray

    ray.init(address="local", num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    import acbench_env.core.registry as registry

    registry.env_ids = lambda: ["acbench/BlocksWorld-v0"]  # type: ignore[assignment]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.ns:
            rate, wall = measure(n, args, Path(tmp))
            rows.append((n, rate, wall))
            print(f"N={n}: {rate:.2f} episodes/s (whole run {wall:.1f} s)", flush=True)
    ray.shutdown()
    one = rows[0][1] if rows[0][0] == 1 else None
    print(
        f"\nlatency {args.latency} s per call, 2 calls per episode, 1 episode in flight per replica"
    )
    print(f"{'N':>3} {'episodes/s':>11} {'x one':>7} {'/ (N x one)':>12}")
    for n, rate, _ in rows:
        if one:
            print(f"{n:>3} {rate:>11.2f} {rate / one:>7.2f} {rate / (n * one):>12.2f}")
        else:
            print(f"{n:>3} {rate:>11.2f}")
    if one:
        worst = min(rate / (n * one) for n, rate, _ in rows)
        print(f"min efficiency={worst:.2f} (target >= 0.9)")


if __name__ == "__main__":
    main()
