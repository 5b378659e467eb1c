"""Executor overhead: the same suite on the local executor and on a one-node Ray executor,
in one process, side by side; ends with ``ratio ray/local=<x>`` (episodes per second).

What counts: both runs load the model themselves (the local one in this process, the Ray one
in its replica), and importing torch / transformers counts in both (this process has not
imported them before the local run; the replica's worker process imports them). Starting
Ray, and waiting until the worker processes Ray starts with it are up, is measured and
printed apart: a cluster is started once, not per suite. The replica asks for all of the
machine's CPUs (``--cpus``), as many threads as the local run uses. Both runs cut the same
work units (``--batch-size`` episodes in flight), so they step the same batches. Target: at
least 0.9 with the default model on the quick suite (the default). ``--tasks`` runs a subset
of the suite's rows (name fragments, comma-separated) when the whole suite is too slow for
the machine.

    python benchmarks/executor_overhead.py [--model default] [--suite quick] [--tasks Needle,BFCL]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from acbench_env.core.jsonl import step_values
from acbench_env.core.suites import get_suite
from acbench_env.experiments.executors import make_executor
from acbench_env.experiments.suite import run_suite


def raw_outputs(out: Path) -> dict[tuple[str, int], list[str]]:
    return step_values(out, "raw_output")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--suite", default="quick")
    parser.add_argument("--tasks", default="", help="only rows whose env id contains one of these")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--cpus", type=float, default=float(os.cpu_count() or 1))
    args = parser.parse_args()

    import acbench_env.core.registry as registry

    suite = get_suite(args.suite)
    if args.tasks:
        wanted = [t.strip() for t in args.tasks.split(",") if t.strip()]
        rows = tuple(t for t in suite.tasks if any(w in t.env_id for w in wanted))
        suite = replace(suite, name=f"{suite.name}-subset", tasks=rows, all_envs=False)
    ids = sorted(t.env_id for t in suite.tasks)
    registry.env_ids = lambda: ids  # type: ignore[assignment]
    episodes = sum(t.episodes * t.repeats for t in suite.tasks)
    print(f"suite {suite.name}: {len(suite.tasks)} tasks, {episodes} episodes, model {args.model}")

    import ray

    @ray.remote(num_cpus=0)
    def worker_pid() -> int:
        return os.getpid()

    up_at: list[float] = []

    class ReplicaUp(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "is up" in record.getMessage():
                up_at.append(time.perf_counter())

    executor_log = logging.getLogger("acbench_env.experiments.executors.ray_cluster")
    executor_log.setLevel(logging.INFO)
    executor_log.addHandler(ReplicaUp())

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        local = run_suite([args.model], suite, Path(tmp) / "local", batch_size=args.batch_size)
        local_s = time.perf_counter() - t0
        local_rate = local.new_episodes / local_s
        print(f"local: {local.new_episodes} episodes in {local_s:.1f} s = {local_rate:.3f}/s")

        t0 = time.perf_counter()
        ray.init(address="local", num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
        # Ray starts its worker processes in the background: wait for them, so that their
        # start-up (part of starting the cluster) does not share the CPUs with the timed run.
        ray.get([worker_pid.remote() for _ in range(max(1, int(args.cpus)))])
        start_s = time.perf_counter() - t0
        print(f"ray start (once per cluster, not counted): {start_s:.1f} s")
        t0 = time.perf_counter()
        remote = run_suite(
            [args.model],
            suite,
            Path(tmp) / "ray",
            batch_size=args.batch_size,
            executor=make_executor("ray", cpus_per_replica=args.cpus),
        )
        ray_s = time.perf_counter() - t0
        ray.shutdown()
        ray_rate = remote.new_episodes / ray_s
        up = f"; its replica was up (model loaded) after {up_at[0] - t0:.1f} s" if up_at else ""
        print(f"ray:   {remote.new_episodes} episodes in {ray_s:.1f} s = {ray_rate:.3f}/s{up}")
        a, b = raw_outputs(Path(tmp) / "local"), raw_outputs(Path(tmp) / "ray")
        differ = sum(a[k] != b.get(k) for k in a)
        print(f"episodes whose outputs differ between local and ray: {differ} of {len(a)}")
    print(f"ratio ray/local={ray_rate / local_rate:.3f}")


if __name__ == "__main__":
    main()
