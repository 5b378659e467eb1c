"""Progress rate recomputed from stored trajectories."""

from __future__ import annotations

import pytest

from acbench_env.agents import OracleAgent
from acbench_env.agents.backends.scripted import ScriptedBackend
from acbench_env.agents.policy import LLMPolicyAgent
from acbench_env.experiments.runner import run_episodes
from acbench_env.scoring.progress import (
    progress_from_subgoals,
    summarize_progress,
    trajectory_progress,
)


def test_progress_from_subgoals_is_the_best_fraction() -> None:
    assert progress_from_subgoals([]) == 0.0
    assert progress_from_subgoals([[False, False], [True, False], [False, False]]) == 0.5
    assert progress_from_subgoals([[True, False, False], [True, True, True]]) == 1.0


@pytest.mark.parametrize("env_id", ["acbench/Household-v0", "acbench/BlocksWorld-v0"])
def test_recomputed_progress_equals_the_env_score(env_id: str) -> None:
    oracle = run_episodes(env_id, OracleAgent(), episodes=4, seed=0)
    assert all(trajectory_progress(t) == t.score == 1.0 for t in oracle.trajectories)
    wrong = LLMPolicyAgent(ScriptedBackend(["look", "go to shelf 3", "pick up a", "nonsense"]))
    other = run_episodes(env_id, wrong, episodes=4, seed=0)
    for t in other.trajectories:
        assert trajectory_progress(t) == pytest.approx(t.score)
    summary = summarize_progress(other.trajectories)
    assert summary.episodes == 4 and 0.0 <= summary.mean_progress < 1.0
    assert summary.invalid_action_rate > 0
