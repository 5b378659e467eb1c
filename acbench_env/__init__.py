"""acbench-env: how much of a language model's ability to act survives compression.

Importing this package registers every ``acbench/...`` environment with Gymnasium, so
``gymnasium.make("acbench/Needle-v0")`` works after ``import acbench_env``. It imports no
heavy dependency (torch, transformers, vLLM): the public names below that need one, or that
live in a higher layer, are resolved on first use.

The public API (everything the README's examples use)::

    import acbench_env as ab

    env = ab.make("acbench/Needle-v0", context_length=512)
    agent = ab.LLMPolicyAgent(ab.create_backend("transformers", model="default"))
    result = ab.run_episodes("acbench/Needle-v0", agent, episodes=4, seed=0)
    print(ab.format_table(ab.summarize(result.trajectories)))
"""

from __future__ import annotations

import importlib
from typing import Any

from acbench_env import environments as _environments  # noqa: F401  (registers the envs)
from acbench_env.core.env import StepOutcome, TextEnv
from acbench_env.core.errors import (
    AcbenchError,
    BackendError,
    CompressionError,
    ConfigError,
    ContextLengthError,
    MissingDependencyError,
    ModelNotFoundError,
    OutputExistsError,
    TrajectoryFileError,
    UnknownEnvError,
)
from acbench_env.core.registry import list_envs, make
from acbench_env.core.types import Message, ModelInfo, StepRecord, Trajectory

__version__ = "0.1.0"

#: Public names resolved on first use: name -> "module:attribute".
_LAZY: dict[str, str] = {
    "run_episodes": "acbench_env.experiments.runner:run_episodes",
    "RunResult": "acbench_env.experiments.runner:RunResult",
    "run_suite": "acbench_env.experiments.suite:run_suite",
    "get_suite": "acbench_env.core.suites:get_suite",
    "Suite": "acbench_env.core.suites:Suite",
    "SuiteTask": "acbench_env.core.suites:SuiteTask",
    "LLMPolicyAgent": "acbench_env.agents.policy:LLMPolicyAgent",
    "OracleAgent": "acbench_env.agents.oracle:OracleAgent",
    "BaseAgent": "acbench_env.agents.base:BaseAgent",
    "create_backend": "acbench_env.agents.backends:create_backend",
    "summarize": "acbench_env.scoring.summary:summarize",
    "format_table": "acbench_env.scoring.summary:format_table",
    "compress": "acbench_env.compression:compress",
    "CompressionConfig": "acbench_env.compression.config:CompressionConfig",
    "load_scenario": "acbench_env.tools.scenario:load_scenario",
    "tool": "acbench_env.tools.sandbox:tool",
    "Tool": "acbench_env.tools.sandbox:Tool",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, _, attr = _LAZY[name].partition(":")
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AcbenchError",
    "BackendError",
    "CompressionError",
    "ConfigError",
    "ContextLengthError",
    "Message",
    "MissingDependencyError",
    "ModelInfo",
    "ModelNotFoundError",
    "OutputExistsError",
    "StepOutcome",
    "StepRecord",
    "TextEnv",
    "Trajectory",
    "TrajectoryFileError",
    "UnknownEnvError",
    "__version__",
    "list_envs",
    "make",
    *_LAZY,
]
