"""Every registered acbench/ environment: Gymnasium's check_env and oracle episodes."""

from __future__ import annotations

import warnings

import gymnasium
import pytest
from gymnasium.utils.env_checker import check_env

from acbench_env.agents import OracleAgent
from acbench_env.core.registry import env_ids
from acbench_env.experiments.runner import run_episodes

ALL_ENVS = env_ids()
MAX_TASKS_CHECKED = 200


def test_registry_is_not_empty() -> None:
    assert "acbench/Needle-v0" in ALL_ENVS


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_check_env(env_id: str) -> None:
    env = gymnasium.make(env_id)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    assert [str(w.message) for w in caught] == []
    env.close()


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_oracle_scores_maximum_on_every_task(env_id: str) -> None:
    env = gymnasium.make(env_id)
    base = env.unwrapped
    agent = OracleAgent()
    agent.bind(env)
    n = min(base.num_tasks, MAX_TASKS_CHECKED)
    for index in range(n):
        obs, info = env.reset(options={"task_index": index})
        assert info["task_index"] == index
        agent.reset()
        done = False
        while not done:
            obs, reward, terminated, truncated, info = env.step(agent.act(obs))
            assert info["parse_error"] is None, (env_id, index, info["parse_error"])
            done = terminated or truncated
        assert terminated and not truncated, (env_id, index)
        assert info["score"] == 1.0 and info["success"], (env_id, index, info)
    env.close()


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_oracle_through_runner(env_id: str) -> None:
    result = run_episodes(env_id, OracleAgent(), episodes=6, seed=11, batch_size=3)
    assert [t.seed for t in result.trajectories] == list(range(11, 17))
    assert all(t.score == 1.0 and t.success for t in result.trajectories)


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_seed_chooses_task_reproducibly(env_id: str) -> None:
    env = gymnasium.make(env_id)
    picks = [env.reset(seed=s)[1]["task_index"] for s in range(8)]
    again = [env.reset(seed=s)[1]["task_index"] for s in range(8)]
    assert picks == again
    if env.unwrapped.num_tasks > 1:
        assert len(set(picks)) > 1  # the seed, not a constant, picks the task
    obs_a, _ = env.reset(seed=3)
    obs_b, _ = env.reset(options={"task_index": env.unwrapped.task_index})
    assert obs_a == obs_b
    env.close()


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_garbage_actions_are_counted_not_raised(env_id: str) -> None:
    env = gymnasium.make(env_id)
    for action in ["", "\x00\x01", "{" * 5000, "<tool_call>{bad json", "日本語 ✓", "x" * 300_000]:
        env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step(action)
        assert isinstance(obs, str)
        assert info["format_failure"] == (info["parse_error"] is not None)
        assert reward == 0.0
    env.close()


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_env_declares_capability_and_docstring(env_id: str) -> None:
    from acbench_env.core.env import CAPABILITIES
    from acbench_env.core.registry import env_class

    cls = env_class(env_id)
    assert cls.capability in CAPABILITIES
    doc = cls.__doc__ or ""
    for section in ("## Description", "## Task source", "## Version History"):
        assert section in doc, f"{env_id} docstring lacks {section}"


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_few_shot_turns_are_well_formed_and_leave_the_task_alone(env_id: str) -> None:
    from acbench_env.core.env import FEW_SHOT_KEY

    env = gymnasium.make(env_id)
    obs, info = env.reset(seed=5)
    turns = info.get(FEW_SHOT_KEY, [])
    assert len(turns) % 2 == 0
    for k, turn in enumerate(turns):
        assert turn["role"] == ("user" if k % 2 == 0 else "assistant")
        assert isinstance(turn["content"], str) and turn["content"].strip()
    # Examples are a pure function of the task, and building them does not disturb the episode.
    again_obs, again = env.reset(seed=5)
    assert again.get(FEW_SHOT_KEY, []) == turns and again_obs == obs
    _, _, terminated, _, step_info = env.step(env.unwrapped.oracle_action())
    assert step_info["format_failure"] is False
    env.close()


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_ladder_rungs_build_and_are_recognised(env_id: str) -> None:
    """Every registered env declares a ladder (easiest first) whose every rung builds the env,
    and whose arguments select that rung (so trajectories record it)."""
    from acbench_env.core.ladder import Ladder, rung_of
    from acbench_env.core.registry import env_class, make

    cls = env_class(env_id)
    assert isinstance(cls.ladder, Ladder) and len(cls.ladder) >= 1, env_id
    registered = dict(gymnasium.spec(env_id).kwargs or {})
    for rung in cls.ladder:
        make(env_id, **rung.env_kwargs).close()
        assert rung_of(cls, registered, dict(rung.env_kwargs)) == rung.name, (env_id, rung.name)
