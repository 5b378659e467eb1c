"""The default model on acbench/FunctionCall-v0 (few-shot, easiest level): a small run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_default_model_function_call_episodes_are_scored() -> None:
    from acbench_env.agents import LLMPolicyAgent
    from acbench_env.agents.backends import create_backend
    from acbench_env.experiments.runner import run_episodes
    from acbench_env.scoring.tool_use import tool_use_summary

    backend = create_backend("transformers", model="default", batch_size=2)
    agent = LLMPolicyAgent(backend, max_new_tokens=64)
    result = run_episodes(
        "acbench/FunctionCall-v0",
        agent,
        episodes=2,
        seed=0,
        env_kwargs={"difficulty": 0, "categories": ["single"]},
        batch_size=2,
    )
    for traj in result.trajectories:
        info = traj.steps[-1].info
        assert info["category"] == "single"
        assert (info["error_category"] is None) == traj.success
        assert (info["error_category"] == "format") == traj.steps[-1].format_failure
        assert 0.0 <= info["argument_accuracy"] <= 1.0
    (summary,) = [s for s in tool_use_summary(result.trajectories) if s.category == "all"]
    assert summary.episodes == 2
