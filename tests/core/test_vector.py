"""The Gymnasium vector interface over text environments (sync and async)."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from acbench_env.core.errors import ConfigError, UnknownEnvError
from acbench_env.core.spaces import TextSpace
from acbench_env.core.vector import make_vec

gymnasium.register(id="acbench_test/CountVec-v0", entry_point="tests.core.counting_env:CountEnv")


def count_to_end(vec, num_envs: int) -> list[int]:
    """Say the right number in every env until each has finished one episode."""
    obs, info = vec.reset(seed=[3 + i for i in range(num_envs)])
    assert isinstance(obs, tuple) and all(isinstance(o, str) for o in obs)
    assert obs in vec.observation_space
    targets = [2 + int(i) % 3 for i in info["task_index"]]
    said = [0] * num_envs
    finished = [None] * num_envs
    for _ in range(6):
        actions = tuple(str(s + 1) for s in said)
        assert actions in vec.action_space
        obs, reward, terminated, truncated, info = vec.step(actions)
        assert reward.shape == (num_envs,) and terminated.dtype == np.bool_
        for i in range(num_envs):
            said[i] += 1
            if terminated[i] and finished[i] is None:
                finished[i] = said[i]
                assert reward[i] == 1.0 and info["success"][i]
    assert finished == targets
    return finished


def test_gymnasium_make_vec_steps_text_batches():
    vec = gymnasium.make_vec("acbench_test/CountVec-v0", num_envs=3)
    assert isinstance(vec, gymnasium.vector.SyncVectorEnv)
    assert vec.single_observation_space == TextSpace(2_000_000)
    assert isinstance(vec.observation_space, gymnasium.spaces.Tuple)
    count_to_end(vec, 3)
    vec.close()


def test_make_vec_async_and_wrong_arguments():
    vec = make_vec("acbench_test/CountVec-v0", 2, vectorization_mode="async")
    assert isinstance(vec, gymnasium.vector.AsyncVectorEnv)
    count_to_end(vec, 2)
    vec.close()
    with pytest.raises(ConfigError, match="num_envs"):
        make_vec("acbench_test/CountVec-v0", 0)
    with pytest.raises(ConfigError, match="vectorization_mode"):
        make_vec("acbench_test/CountVec-v0", 2, vectorization_mode="vector")
    with pytest.raises(UnknownEnvError):
        make_vec("acbench/Neddle-v0", 2)


def test_registered_env_in_a_vector(word_counter):
    vec = gymnasium.make_vec(
        "acbench/Needle-v0", num_envs=2, context_length=120, tokenizer=word_counter, num_tasks=5
    )
    obs, info = vec.reset(seed=0)
    assert all("magic number" in o for o in obs)
    gold = vec.call("oracle_action")
    _, reward, terminated, _, info = vec.step(tuple(gold))
    assert terminated.all() and reward.tolist() == [1.0, 1.0]
    assert list(info["gold"]) == list(gold)
    vec.close()
