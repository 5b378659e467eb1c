"""Crash safety with real processes: ``acbench run`` killed with SIGKILL and restarted."""

from __future__ import annotations

import pytest

from tests.reliability.killing import kill_and_resume


def _check(trial) -> None:
    assert trial.returncode == 0
    assert (trial.lost, trial.duplicated, trial.corrupt_lines) == (0, 0, 0), trial
    assert trial.saved_after_kill == sorted(trial.saved_after_kill), trial


def test_killed_cli_run_resumes_exactly(tmp_path) -> None:
    trial = kill_and_resume("acbench/BlocksWorld-v0", tmp_path / "run.jsonl", kills=5, seed=1)
    _check(trial)
    assert trial.kills >= 3 and trial.kills_mid_run >= 2, trial  # the kills interrupted it


@pytest.mark.slow
@pytest.mark.parametrize(
    "env_id", ["acbench/Household-v0", "acbench/Scenario-v0", "acbench/FunctionCall-v0"]
)
def test_many_kills(tmp_path, env_id: str) -> None:
    trial = kill_and_resume(env_id, tmp_path / "run.jsonl", episodes=400, kills=12, seed=7)
    _check(trial)
    assert trial.kills_mid_run >= 6, trial
