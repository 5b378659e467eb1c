"""Determinism check: the same environment, agent and seed must give the same trajectories.

:func:`check_determinism` runs ``episodes`` episodes of an environment twice through the
rollout runner (fresh environments and agent each time) and compares everything a
trajectory records except wall-clock time (observations, parsed actions, rewards, infos,
scores). A difference means a seed does not reach some random choice, or state leaks from
one run into the next. Two agents are built in: ``oracle`` (the environment's correct
actions) and ``noisy`` (:class:`NoisyAgent`: garbage and correct actions mixed, drawn from
the per-request seed), so that error paths are compared too. The ``digest`` of a run lets
separate processes be compared (e.g. under different ``PYTHONHASHSEED`` values).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from acbench_env.agents.base import AgentInput, BaseAgent
from acbench_env.agents.oracle import OracleAgent
from acbench_env.core.errors import ConfigError
from acbench_env.core.jsonl import to_jsonable
from acbench_env.core.types import TIMING_FIELD, ModelInfo, Trajectory

#: The agents :func:`check_determinism` can use.
AGENTS = ("oracle", "noisy")

_GARBAGE = (
    "",
    "\x00\x1b[31m",
    "{",
    '<tool_call>{"name": "x", "arguments": {"path": "../../etc/passwd"}}</tool_call>',
    "__import__('os').system('id')",
    "日本語 ✓ " * 20,
    "[]",
    "Action: look",
    "1. step\n2. step",
)


class NoisyAgent(OracleAgent):
    """Answers with the environment's correct action or with garbage, chosen by a coin
    drawn from the request's seed (so the same seed gives the same answers)."""

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(model_id="noisy", backend="noisy")

    def answer(self, inp: AgentInput) -> str:
        rng = np.random.default_rng(inp.seed)
        if inp.env is not None and rng.random() < 0.5:
            return super().answer(inp)
        text = _GARBAGE[int(rng.integers(len(_GARBAGE)))]
        cut = int(rng.integers(len(text) + 1))
        return text[:cut] + text[cut:] * int(rng.integers(1, 3))


def make_check_agent(name: str) -> BaseAgent:
    """One of :data:`AGENTS` by name."""
    if name == "oracle":
        return OracleAgent()
    if name == "noisy":
        return NoisyAgent()
    raise ConfigError(f"unknown agent {name!r} for the determinism check; use one of {AGENTS}")


def comparable(traj: Trajectory) -> Any:
    """``traj`` as plain JSON values without its wall-clock fields."""

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != TIMING_FIELD}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(to_jsonable(traj.to_dict()))


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """Where two JSON values first differ (``"steps[2].info.score: 0.5 != 1.0"``), or None."""
    if type(a) is not type(b):
        return f"{path or '.'}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                return f"{path}.{key}: only in the {'second' if key not in a else 'first'} run"
            found = first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b)):
            found = first_difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{path or '.'}: {str(a)[:60]!r} != {str(b)[:60]!r}"


def digest(values: Sequence[Any]) -> str:
    """A short hash of JSON values (for comparing runs across processes)."""
    text = json.dumps(list(values), sort_keys=True, ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()[:16]


@dataclass(frozen=True)
class DeterminismResult:
    """Two runs of one environment with one agent: equal, or where they first differ."""

    env_id: str
    agent: str
    episodes: int
    seed: int
    digest: str
    differences: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.differences


def check_determinism(
    env_id: str,
    *,
    agent: str = "oracle",
    episodes: int = 5,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
    batch_size: int = 2,
) -> DeterminismResult:
    """Run ``env_id`` twice with the same seed; see the module docstring."""
    from acbench_env.experiments.runner import run_episodes

    runs = []
    for _ in range(2):
        result = run_episodes(
            env_id,
            make_check_agent(agent),
            episodes=episodes,
            seed=seed,
            env_kwargs=env_kwargs,
            batch_size=batch_size,
        )
        runs.append([comparable(t) for t in result.trajectories])
    differences = []
    for first, second in zip(*runs):
        found = first_difference(first, second)
        if found:
            differences.append(f"episode seed {first['seed']}: {found}")
    return DeterminismResult(
        env_id=env_id,
        agent=agent,
        episodes=episodes,
        seed=seed,
        digest=digest(runs[0]),
        differences=tuple(differences),
    )
