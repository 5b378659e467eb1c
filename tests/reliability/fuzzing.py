"""Fuzz one environment's ``step`` with hypothesis and check every outcome (no pytest needed).

:func:`fuzz_env` plays ``examples`` hypothesis examples; each resets the env with a drawn
seed and steps it with ``actions_per_example`` hostile actions (resetting when an episode
ends). Every step is checked by :func:`check_step`; an exception or a broken invariant is
recorded in :attr:`FuzzStats.failures` (a crash), and the outcome of each action is
counted: a format failure, a counted error (invalid action, tool error), a scored answer,
or a rewarded one. A counted error is ``info["invalid_action"]``, an
``info["error_category"]`` (a wrong call), or an increase of an error counter
(``invalid_actions``, ``tool_errors``, ``validation_errors``, ...).
"""

from __future__ import annotations

import json
import math
import traceback
from dataclasses import dataclass, field
from typing import Any

import gymnasium
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acbench_env.core.jsonl import to_jsonable
from tests.reliability.payloads import actions

#: Integer info keys whose increase during a step is a counted (non-format) error.
_ERROR_COUNTERS = (
    "invalid_actions",
    "tool_errors",
    "invalid_calls",
    "validation_errors",
    "errors",
)


#: Reset seeds drawn from ``0..SEEDS-1``: tasks are built once per env and index, and
#: long-context tasks are costly to build; the actions, not the tasks, are fuzzed.
SEEDS = 64


@dataclass
class FuzzStats:
    """What fuzzing one environment found."""

    env_id: str
    actions: int = 0
    episodes: int = 0
    format_failures: int = 0
    counted_errors: int = 0
    scored: int = 0
    rewarded: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def crashes(self) -> int:
        return len(self.failures)


def _error_total(info: dict[str, Any]) -> int:
    total = 0
    for key in _ERROR_COUNTERS:
        value = info.get(key)
        if isinstance(value, dict):
            total += sum(v for v in value.values() if isinstance(v, int))
        elif isinstance(value, int) and not isinstance(value, bool):
            total += value
    return total


def check_step(env: gymnasium.Env, action: str, before: dict[str, Any], stats: FuzzStats) -> Any:
    """Step ``env`` with ``action``, check the outcome, count it; returns the step result."""
    result = env.step(action)
    obs, reward, terminated, truncated, info = result
    problems = []
    if not isinstance(obs, str) or not env.observation_space.contains(obs):
        problems.append(f"observation not in the observation space ({type(obs).__name__})")
    if not isinstance(reward, float) or not math.isfinite(reward):
        problems.append(f"reward {reward!r} is not a finite float")
    score = info.get("score")
    if not isinstance(score, float) or not 0.0 <= score <= 1.0:
        problems.append(f"score {score!r} outside [0, 1]")
    if info.get("format_failure") != (info.get("parse_error") is not None):
        problems.append("format_failure disagrees with parse_error")
    if info.get("format_failure") and (reward > 0.0 or info.get("success")):
        problems.append("a format failure was rewarded or counted as success")
    if not isinstance(terminated, bool) or not isinstance(truncated, bool):
        problems.append("terminated/truncated are not bools")
    try:  # what the runner writes must serialise
        json.dumps(to_jsonable(info), ensure_ascii=False).encode("utf-8", "backslashreplace")
    except Exception as exc:  # noqa: BLE001
        problems.append(f"info does not serialise: {exc!r:.200}")
    if problems:
        raise AssertionError("; ".join(problems))
    stats.actions += 1
    if info["format_failure"]:
        stats.format_failures += 1
    elif (
        info.get("invalid_action")
        or info.get("error_category")
        or _error_total(info) > _error_total(before)
    ):
        stats.counted_errors += 1
    elif reward > 0.0 or info.get("success"):
        stats.rewarded += 1
    else:
        stats.scored += 1
    return result


def fuzz_env(
    env_id: str,
    *,
    examples: int,
    actions_per_example: int = 5,
    env_kwargs: dict[str, Any] | None = None,
    max_failures: int = 5,
) -> FuzzStats:
    """Fuzz ``env_id`` (see the module docstring); never raises on what it finds."""
    stats = FuzzStats(env_id)
    env = gymnasium.make(env_id, **(env_kwargs or {}))

    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=("generate",),
        print_blob=False,
    )
    @given(
        seed=st.integers(0, SEEDS - 1),
        batch=st.lists(actions(), min_size=actions_per_example, max_size=actions_per_example),
    )
    def run(seed: int, batch: list[str]) -> None:
        if len(stats.failures) >= max_failures:
            return
        _, info = env.reset(seed=seed)
        stats.episodes += 1
        for action in batch:
            try:
                _, _, terminated, truncated, info = check_step(env, action, info, stats)
            except Exception as exc:  # noqa: BLE001 - every failure is a finding
                tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
                stats.failures.append(
                    f"{env_id} seed={seed} action={action[:120]!r} (len {len(action)}): "
                    + "".join(tb[-3:])
                )
                return
            if terminated or truncated:
                _, info = env.reset(seed=(seed + stats.actions) % SEEDS)
                stats.episodes += 1

    try:
        run()
    finally:
        env.close()
    return stats
