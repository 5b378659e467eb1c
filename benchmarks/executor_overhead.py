"""Executor overhead: the same suite on the local executor and on a one-node Ray executor,
in one process, side by side; ends with ``ratio ray/local=<x>`` (episodes per second).

Both runs load the model themselves (the local one in this process, the Ray one in its
replica) and that load counts in both; starting Ray itself is measured and printed apart
(a cluster is started once, not per suite). The replica asks for all of the machine's CPUs
(``--cpus``), as many threads as the local run uses. Target: at least 0.9 with the default
model on the quick suite. ``--tasks`` runs a subset of the suite's rows (name fragments,
comma-separated) when the whole suite is too slow for the machine.

    python benchmarks/executor_overhead.py [--model default] [--suite quick] [--tasks Needle,BFCL]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from acbench_env.core.suites import get_suite
from acbench_env.experiments.executors import make_executor
from acbench_env.experiments.suite import run_suite


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

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        local = run_suite([args.model], suite, Path(tmp) / "local", batch_size=args.batch_size)
        local_s = time.perf_counter() - t0
        local_rate = local.new_episodes / local_s
        print(f"local: {local.new_episodes} episodes in {local_s:.1f} s = {local_rate:.3f}/s")

        t0 = time.perf_counter()
        ray.init(address="local", num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
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
        print(f"ray:   {remote.new_episodes} episodes in {ray_s:.1f} s = {ray_rate:.3f}/s")
    print(f"ratio ray/local={ray_rate / local_rate:.3f}")


if __name__ == "__main__":
    main()
