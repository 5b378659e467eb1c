"""The determinism check: every env twice with the same seed; a broken env is caught."""

from __future__ import annotations

import json
import subprocess
import sys

import gymnasium
import pytest

from acbench_env.cli import main
from acbench_env.core.registry import env_ids
from acbench_env.experiments.determinism import check_determinism, first_difference

ALL_ENVS = env_ids()

gymnasium.register(
    id="acbench_test/GlobalRandom-v0", entry_point="tests.reliability.leaky_envs:GlobalRandomEnv"
)
gymnasium.register(
    id="acbench_test/SharedCounter-v0", entry_point="tests.reliability.leaky_envs:SharedCounterEnv"
)


@pytest.mark.parametrize("agent", ["oracle", "noisy"])
@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_every_env_is_deterministic(env_id: str, agent: str) -> None:
    result = check_determinism(env_id, agent=agent, episodes=3, seed=4)
    assert result.ok, result.differences


@pytest.mark.parametrize(
    ("env_id", "where"),
    [
        ("acbench_test/GlobalRandom-v0", "steps[0].observation"),
        ("acbench_test/SharedCounter-v0", "steps[0].observation"),
    ],
)
def test_ignored_seed_and_leaked_state_are_caught(env_id: str, where: str, capsys) -> None:
    result = check_determinism(env_id, agent="noisy", episodes=2)
    assert not result.ok and where in result.differences[0], result.differences
    assert main(["check-determinism", "--env", env_id, "--episodes", "2"]) == 1
    captured = capsys.readouterr()
    assert "DIFFERS" in captured.out and "seed does not reach" in captured.err


def test_first_difference_names_the_path() -> None:
    a = {"steps": [{"info": {"score": 0.5}}], "seed": 1}
    b = {"steps": [{"info": {"score": 1.0}}], "seed": 1}
    assert first_difference(a, b) == ".steps[0].info.score: '0.5' != '1.0'"
    assert first_difference(a, a) is None


def test_same_digests_across_processes_and_hash_seeds(python_env) -> None:
    """Set iteration order and other per-process randomness must not change a run."""
    digests = []
    for hash_seed in ("1", "2"):
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "acbench_env.cli",
                "check-determinism",
                "--episodes",
                "2",
                "--json",
            ],
            env={**python_env, "PYTHONHASHSEED": hash_seed},
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        rows = json.loads(proc.stdout)
        assert all(r["ok"] for r in rows)
        digests.append({(r["env_id"], r["agent"]): r["digest"] for r in rows})
    assert set(digests[0]) == {(e, a) for e in ALL_ENVS for a in ("oracle", "noisy")}
    assert digests[0] == digests[1]
