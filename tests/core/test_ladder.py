"""Difficulty ladders: the typed records, rung matching, and the rung every trajectory records
(an env without a ladder still runs, its trajectories record no rung)."""

from __future__ import annotations

import gymnasium
import pytest

from acbench_env.agents import OracleAgent
from acbench_env.core.errors import ConfigError
from acbench_env.core.ladder import Ladder, Rung, effective_kwargs, rung_of
from acbench_env.core.types import Trajectory
from acbench_env.experiments.runner import run_episodes
from tests.core.counting_env import CountEnv

if "acbench_test/Count-v0" not in gymnasium.registry:
    gymnasium.register(id="acbench_test/Count-v0", entry_point="tests.core.counting_env:CountEnv")


class LadderedCountEnv(CountEnv):
    """CountEnv with a ladder over its few-shot examples (test only)."""

    ladder = Ladder(
        (Rung("shots2", {"few_shot": 2}, "two examples"), Rung("shots0", {"few_shot": 0}))
    )


gymnasium.register(
    id="acbench_test/LadderedCount-v0", entry_point="tests.core.test_ladder:LadderedCountEnv"
)


def test_ladder_records_names_and_errors() -> None:
    ladder = LadderedCountEnv.ladder
    assert ladder.names == ("shots2", "shots0") and len(ladder) == 2
    assert ladder.index("shots0") == 1 and ladder.rung("shots2").note == "two examples"
    assert ladder.record()[0] == {
        "name": "shots2",
        "env_kwargs": {"few_shot": 2},
        "note": "two examples",
    }
    with pytest.raises(ConfigError, match="unknown rung 'x'; this ladder has shots2, shots0"):
        ladder.index("x")
    with pytest.raises(ConfigError, match="unique"):
        Ladder((Rung("a"), Rung("a")))


def test_matching_fills_in_defaults_and_prefers_the_most_specific_rung() -> None:
    assert effective_kwargs(CountEnv, {}, {})["few_shot"] == 0
    assert rung_of(LadderedCountEnv, {}, {}) == "shots0"  # the class default
    assert rung_of(LadderedCountEnv, {}, {"few_shot": 2}) == "shots2"
    assert rung_of(LadderedCountEnv, {"few_shot": 2}, {}) == "shots2"  # registered kwargs
    assert rung_of(LadderedCountEnv, {}, {"few_shot": 1}) is None  # off the ladder
    general = Ladder((Rung("any", {}), Rung("two", {"few_shot": 2})))
    assert general.match({"few_shot": 2}) == general.rung("two")
    # True is not 1: a bool argument matches only a bool.
    flag = Ladder((Rung("on", {"x": True}),))
    assert flag.match({"x": 1}) is None and flag.match({"x": True}) is not None
    assert rung_of(CountEnv, {}, {}) is None  # no ladder declared


def test_trajectories_record_their_rung_and_envs_without_ladder_still_run() -> None:
    on = run_episodes(
        "acbench_test/LadderedCount-v0", OracleAgent(), episodes=2, env_kwargs={"few_shot": 2}
    )
    assert {t.rung for t in on.trajectories} == {"shots2"}
    again = Trajectory.from_dict(on.trajectories[0].to_dict())
    assert again.rung == "shots2"
    plain = run_episodes("acbench_test/Count-v0", OracleAgent(), episodes=2)
    assert {t.rung for t in plain.trajectories} == {None}
    assert "rung" not in plain.trajectories[0].to_dict()  # older files read and write unchanged
    assert all(t.score == 1.0 for t in plain.trajectories + on.trajectories)


def test_envs_lists_ladders(capsys: pytest.CaptureFixture[str]) -> None:
    from acbench_env.cli import main

    assert main(["envs", "--ladders"]) == 0
    out = capsys.readouterr().out
    needle = out[out.index("acbench/Needle-v0") :].splitlines()[1:7]
    assert needle[0].split()[:3] == ["0", "ctx256", "context_length=256"]
    assert sum("(default)" in line for line in needle) == 1  # the registered rung is marked
    assert main(["envs"]) == 0 and "ctx256" not in capsys.readouterr().out
