"""Reliability report: fuzzed actions, killed runs, sandbox escapes, server faults, determinism.

Runs the same machinery as the tests in ``tests/reliability/`` at a larger scale and
prints one table per part:

1. fuzzing: hostile actions per registered env (hypothesis, derandomized), uncaught
   exceptions or broken invariants (crashes), and how each action was counted;
2. kill-and-resume: ``acbench run`` SIGKILLed at seeded random moments and restarted;
   episodes lost, duplicated, corrupt lines;
3. sandbox escapes: traversal / absolute-path / ``__import__`` / ``eval`` payloads per
   env; host accesses seen by the audit hook, sentinel file changes;
4. server faults: stalls, trickled answers, connection resets, 503s, slow answers and a
   server dying mid-run against the fake OpenAI-compatible server; hangs (a call still
   running past its bound), wrong outcomes, episodes lost/duplicated after resuming;
5. determinism: each env twice with the same seed (oracle and noisy agents).

    nice -n 10 .venv/bin/python benchmarks/reliability.py   # full: 10-25 min on 2 busy cores
    .venv/bin/python benchmarks/reliability.py --actions 1000 --kill-trials 1
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the tests' helpers (payloads, fake server) live in tests/

import acbench_env  # noqa: E402,F401
from acbench_env.core.errors import BackendError  # noqa: E402
from acbench_env.core.jsonl import read_trajectories  # noqa: E402
from acbench_env.core.registry import env_ids  # noqa: E402
from acbench_env.experiments.determinism import AGENTS, check_determinism  # noqa: E402
from tests.agents.fake_openai_server import serve_fake  # noqa: E402
from tests.reliability.faults import (  # noqa: E402
    BOUND_S,
    TIMEOUT,
    fault_backend,
    request,
    run_blocks,
    run_bounded,
)
from tests.reliability.fuzzing import fuzz_env  # noqa: E402
from tests.reliability.isolation import probe_env  # noqa: E402
from tests.reliability.killing import kill_and_resume  # noqa: E402

KILL_ENVS = ("acbench/BlocksWorld-v0", "acbench/Household-v0", "acbench/Scenario-v0")


def fuzz_part(ids: list[str], actions: int) -> dict[str, int]:
    print(f"\n## 1. Fuzzing: {actions} hostile actions per env")
    print(
        f"{'env':32s} {'actions':>8s} {'format':>7s} {'errors':>7s} {'scored':>7s} "
        f"{'reward':>7s} {'crashes':>7s} {'s':>6s}"
    )
    total = crashes = 0
    for env_id in ids:
        t0 = time.perf_counter()
        s = fuzz_env(env_id, examples=max(1, actions // 10), actions_per_example=10)
        print(
            f"{env_id:32s} {s.actions:8d} {s.format_failures:7d} {s.counted_errors:7d} "
            f"{s.scored:7d} {s.rewarded:7d} {s.crashes:7d} {time.perf_counter() - t0:6.1f}",
            flush=True,
        )
        for failure in s.failures[:2]:
            print("   ", failure.replace("\n", "\n    "))
        total += s.actions
        crashes += s.crashes
    return {"fuzzed_actions": total, "fuzz_crashes": crashes}


def kill_part(trials: int) -> dict[str, int]:
    print(f"\n## 2. Kill-and-resume: {trials} run(s) per env, 8 SIGKILLs each, then finish")
    print(
        f"{'env':26s} {'run':>3s} {'kills':>5s} {'mid':>4s} {'torn':>4s} {'lost':>4s} "
        f"{'dup':>4s} {'corrupt':>7s} {'rc':>3s}"
    )
    out = {
        "kill_runs": 0,
        "kills": 0,
        "episodes_lost": 0,
        "episodes_duplicated": 0,
        "corrupt_lines": 0,
    }
    for env_id in KILL_ENVS:
        for trial in range(trials):
            with tempfile.TemporaryDirectory() as tmp:
                t = kill_and_resume(
                    env_id, Path(tmp) / "run.jsonl", episodes=300, kills=8, seed=100 + trial
                )
            print(
                f"{env_id:26s} {trial:3d} {t.kills:5d} {t.kills_mid_run:4d} "
                f"{t.partial_tails + t.torn_by_test:4d} {t.lost:4d} {t.duplicated:4d} {t.corrupt_lines:7d} "
                f"{t.returncode:3d}",
                flush=True,
            )
            out["kill_runs"] += 1
            out["kills"] += t.kills
            out["episodes_lost"] += t.lost
            out["episodes_duplicated"] += t.duplicated
            out["corrupt_lines"] += t.corrupt_lines + (t.returncode != 0)
    return out


def escape_part(ids: list[str]) -> dict[str, int]:
    print("\n## 3. Sandbox escape attempts (audit hook + patched open/socket/Popen/system)")
    print(f"{'env':32s} {'attempts':>8s} {'host calls':>10s} {'sentinel':>8s} {'escaped':>7s}")
    attempts = escapes = 0
    cwd = Path.cwd()
    for env_id in ids:
        try:
            with tempfile.TemporaryDirectory() as tmp:
                r = probe_env(env_id, Path(tmp))
        finally:
            os.chdir(cwd)
        print(
            f"{env_id:32s} {r.attempts:8d} {len(r.host_calls):10d} "
            f"{'intact' if r.sentinel_intact else 'CHANGED':>8s} {int(r.escaped):7d}",
            flush=True,
        )
        attempts += r.attempts
        escapes += int(r.escaped)
    return {"escape_attempts": attempts, "escapes": escapes}


def fault_part(repeats: int) -> dict[str, int]:
    print(f"\n## 4. Server faults (fake OpenAI server; timeout 0.4 s, 2 retries), {repeats}x each")
    print(f"{'fault':10s} {'kind':10s} {'trials':>6s} {'right':>5s} {'hangs':>5s} {'max s':>6s}")
    req = request("abc")
    out = {
        "fault_trials": 0,
        "fault_hangs": 0,
        "fault_wrong": 0,
        "fault_lost": 0,
        "fault_duplicated": 0,
    }
    cases = [
        (f, k) for f in ("stall", "trickle", "reset", "503") for k in ("transient", "persistent")
    ]
    cases.append(("slow", "transient"))
    for fault, kind in cases:
        right = hangs = 0
        worst = 0.0
        for _ in range(repeats):
            with serve_fake() as (url, state):
                state.delay_s = TIMEOUT / 3 if fault == "slow" else 0.1
                backend = fault_backend(url)
                state.inject(fault, count=1 if kind == "transient" else -1)
                r = run_bounded(lambda b=backend: b.generate([req]), BOUND_S)
                value, error, hung = r.value, r.error, r.hung
                worst = max(worst, r.elapsed_s)
                ok = (
                    (value is not None and value[0].text == "cba")
                    if kind == "transient"
                    else isinstance(error, BackendError)
                )
                right += int(ok and not hung)
                hangs += int(hung)
                backend.close()
        print(f"{fault:10s} {kind:10s} {repeats:6d} {right:5d} {hangs:5d} {worst:6.2f}", flush=True)
        out["fault_trials"] += repeats
        out["fault_hangs"] += hangs
        out["fault_wrong"] += repeats - right
    print(f"\n{'mid-run':10s} {'fault':10s} {'saved':>6s} {'lost':>5s} {'dup':>5s} {'hang':>5s}")
    for fault in ("die", "stall", "reset", "trickle"):
        for trial in range(repeats):
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "run.jsonl"
                episodes = 12

                with serve_fake() as (url, state):
                    port = int(url.rsplit(":", 1)[1].split("/")[0])
                    state.delay_s = 0.1
                    state.inject(fault, after=40 + 13 * trial)
                    first = run_bounded(partial(run_blocks, url, path, episodes), 120)
                error, hung1 = first.error, first.hung
                saved = len(read_trajectories(path))
                with serve_fake(port=port) as (url2, _):
                    second = run_bounded(partial(run_blocks, url2, path, episodes), 120)
                error2, hung2 = second.error, second.hung
                seeds = [t.seed for t in read_trajectories(path)]
                lost = len(set(range(3, 3 + episodes)) - set(seeds))
                dup = len(seeds) - len(set(seeds))
                hung = int(hung1 or hung2)
                print(f"{'':10s} {fault:10s} {saved:6d} {lost:5d} {dup:5d} {hung:5d}", flush=True)
                out["fault_trials"] += 1
                out["fault_hangs"] += hung
                out["fault_lost"] += lost
                out["fault_duplicated"] += dup
                out["fault_wrong"] += int(not isinstance(error, BackendError) or error2 is not None)
    return out


def determinism_part(ids: list[str], episodes: int) -> dict[str, int]:
    print(f"\n## 5. Determinism: each env twice with the same seed, {episodes} episodes")
    checks = differ = 0
    for env_id in ids:
        for agent in AGENTS:
            r = check_determinism(env_id, agent=agent, episodes=episodes)
            checks += 1
            differ += int(not r.ok)
            if not r.ok:
                print(f"{env_id} {agent}: DIFFERS {r.differences[0]}")
    print(f"{checks} checks, {differ} differ")
    return {"determinism_checks": checks, "determinism_differ": differ}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--actions", type=int, default=10_000, help="fuzzed actions per env")
    parser.add_argument("--kill-trials", type=int, default=2, help="killed runs per env")
    parser.add_argument("--fault-repeats", type=int, default=3, help="repeats per fault case")
    parser.add_argument("--determinism-episodes", type=int, default=5)
    parser.add_argument("--env", action="append", default=None, help="only these envs")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    ids = args.env or env_ids()
    t0 = time.perf_counter()
    totals: dict[str, int] = {}
    totals.update(fuzz_part(ids, args.actions))
    totals.update(kill_part(args.kill_trials))
    totals.update(escape_part(ids))
    totals.update(fault_part(args.fault_repeats))
    totals.update(determinism_part(ids, args.determinism_episodes))
    print(f"\n## Summary ({len(ids)} envs, {time.perf_counter() - t0:.0f} s)")
    for key, value in totals.items():
        print(f"{key:22s} {value}")
    bad = (
        totals["fuzz_crashes"]
        + totals["episodes_lost"]
        + totals["episodes_duplicated"]
        + totals["corrupt_lines"]
        + totals["escapes"]
        + totals["fault_hangs"]
        + totals["fault_wrong"]
        + totals["fault_lost"]
        + totals["fault_duplicated"]
        + totals["determinism_differ"]
    )
    print("RESULT:", "all clean" if bad == 0 else f"{bad} problems")
    sys.exit(0 if bad == 0 else 1)


if __name__ == "__main__":
    main()
