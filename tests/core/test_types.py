"""Records round-trip through JSON unchanged."""

from __future__ import annotations

import json

from acbench_env.core.jsonl import dumps
from acbench_env.core.types import ModelInfo, StepRecord, Trajectory


def make_traj(seed: int = 3, fail: bool = False) -> Trajectory:
    step = StepRecord(
        index=0,
        observation="obs ✓",
        raw_output="out",
        parsed_action={"a": [1, 2]},
        parse_error="bad" if fail else None,
        reward=1.0,
        terminated=True,
        truncated=False,
        prompt_tokens=10,
        completion_tokens=2,
        wall_time_s=0.5,
        info={"gold": "x"},
    )
    return Trajectory(
        env_id="acbench/Needle-v0",
        env_kwargs={"context_length": 300},
        seed=seed,
        task_id="t",
        task_index=4,
        model=ModelInfo("m", "scripted", {"method": "gptq", "bits": 4}, {"temperature": 0.0}),
        steps=(step,),
        score=1.0,
        success=True,
        capability="long_context",
        system_prompt=None,
        wall_time_s=1.25,
    )


def test_round_trip() -> None:
    traj = make_traj()
    again = Trajectory.from_dict(json.loads(dumps(traj)))
    assert again == traj
    assert dumps(again) == dumps(traj)


def test_derived_fields() -> None:
    traj = make_traj(fail=True)
    assert traj.episode_key == ("acbench/Needle-v0", 3)
    assert traj.total_reward == 1.0
    assert traj.format_failures == 1
    assert traj.steps[0].format_failure
