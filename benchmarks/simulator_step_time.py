"""Median step time of the application simulators, model excluded.

For each simulator and level it plays seeded episodes with a random agent that picks one
of ``info["valid_actions"]`` (templates filled with words of the goal), with one action in
five replaced by garbage text, and times each ``env.step`` call alone (no model, no
oracle planning). Prints the median and 95th percentile per simulator in microseconds.

    .venv/bin/python benchmarks/simulator_step_time.py --episodes 50
"""

from __future__ import annotations

import argparse
import statistics
import time

import gymnasium
import numpy as np

import acbench_env  # noqa: F401

SIMULATORS = (
    "acbench/Household-v0",
    "acbench/WebShop-v0",
    "acbench/BlocksWorld-v0",
    "acbench/ToolQuery-v0",
)
GARBAGE = ("", "hello", "\x00\xff", "click[nothing]", "日本語 ✓", "x" * 5000)


def random_action(rng: np.random.Generator, info: dict, goal: str) -> str:
    """A random valid action (templates filled from the goal's words), or garbage."""
    if rng.random() < 0.2:
        return GARBAGE[int(rng.integers(len(GARBAGE)))]
    actions = info["valid_actions"]
    action = actions[int(rng.integers(len(actions)))]
    if "<" in action and "[" in action:
        words = goal.replace("'", " ").split()
        k = int(rng.integers(1, 4))
        start = int(rng.integers(max(len(words) - k, 1)))
        action = action.split("[", 1)[0] + "[" + " ".join(words[start : start + k]) + "]"
    return action


def measure(env_id: str, level: str, episodes: int) -> list[float]:
    env = gymnasium.make(env_id, level=level)
    rng = np.random.default_rng(0)
    times: list[float] = []
    for seed in range(episodes):
        _, info = env.reset(seed=seed)
        goal = str(info.get("goal", ""))
        done = False
        while not done:
            action = random_action(rng, info, goal)
            t0 = time.perf_counter()
            _, _, terminated, truncated, info = env.step(action)
            times.append(time.perf_counter() - t0)
            done = terminated or truncated
    env.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=50)
    parser.add_argument("--levels", nargs="+", default=["easy", "medium", "hard"])
    args = parser.parse_args()
    print(f"{'simulator':28s} {'level':7s} {'steps':>6s} {'median_us':>10s} {'p95_us':>8s}")
    for env_id in SIMULATORS:
        for level in args.levels:
            times = sorted(measure(env_id, level, args.episodes))
            median = statistics.median(times) * 1e6
            p95 = times[int(0.95 * (len(times) - 1))] * 1e6
            print(f"{env_id:28s} {level:7s} {len(times):6d} {median:10.1f} {p95:8.1f}")


if __name__ == "__main__":
    main()
