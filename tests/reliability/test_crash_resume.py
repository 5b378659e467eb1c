"""Crash safety with real processes: ``acbench run`` killed with SIGKILL and restarted."""

from __future__ import annotations

import pytest

from tests.reliability.killing import kill_and_resume


def _check(trial) -> None:
    assert trial.returncode == 0
    assert (trial.lost, trial.duplicated, trial.corrupt_lines) == (0, 0, 0), trial
    # A restarted run never loses a whole line that was already there.
    assert all(a >= b for b, a in zip(trial.saved_before_start, trial.saved_after_kill)), trial


def test_killed_cli_run_resumes_exactly(tmp_path) -> None:
    trial = kill_and_resume("acbench/BlocksWorld-v0", tmp_path / "run.jsonl", kills=5, seed=1)
    _check(trial)
    assert trial.kills >= 3 and trial.kills_mid_run >= 2, trial  # the kills interrupted it
    assert trial.partial_tails + trial.torn_by_test >= 1, trial  # the repair path ran


@pytest.mark.slow
@pytest.mark.parametrize(
    "env_id", ["acbench/Household-v0", "acbench/Scenario-v0", "acbench/FunctionCall-v0"]
)
def test_many_kills(tmp_path, env_id: str) -> None:
    trial = kill_and_resume(env_id, tmp_path / "run.jsonl", episodes=400, kills=12, seed=7)
    _check(trial)
    assert trial.kills_mid_run >= 6, trial
