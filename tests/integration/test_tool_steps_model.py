"""The default model on acbench/ToolSteps-v0 and ToolMultiTurn-v0 (few-shot, easiest level)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


def test_default_model_tool_steps_and_multiturn_are_scored() -> None:
    from acbench_env.agents import LLMPolicyAgent
    from acbench_env.agents.backends import create_backend
    from acbench_env.experiments.runner import run_episodes
    from acbench_env.scoring.multi_turn import multi_turn_summary
    from acbench_env.scoring.tool_steps import tool_steps_summary

    backend = create_backend("transformers", model="default", batch_size=2)
    agent = LLMPolicyAgent(backend, max_new_tokens=48)
    steps = run_episodes(
        "acbench/ToolSteps-v0",
        agent,
        episodes=2,
        seed=0,
        env_kwargs={"dimensions": ["instruct"]},
        batch_size=2,
    )
    for traj in steps.trajectories:
        info = traj.steps[-1].info
        assert info["dimension"] == "instruct" and info["format"] in ("json", "str")
        assert traj.score in (0.0, 0.5, 1.0)
        assert (traj.score == 0.0) == traj.steps[-1].format_failure
    assert [r.dimension for r in tool_steps_summary(steps.trajectories)][0] == "instruct"

    multi = run_episodes(
        "acbench/ToolMultiTurn-v0",
        agent,
        episodes=2,
        seed=0,
        env_kwargs={"apps": ["bank"]},
        batch_size=2,
    )
    for traj in multi.trajectories:
        info = traj.steps[-1].info
        assert traj.score == info["progress"]
        assert traj.score == 1.0 or not traj.success
        assert len(traj.steps) <= 4
    assert multi_turn_summary(multi.trajectories)[-1].episodes == 2
