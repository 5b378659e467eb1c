"""Failure decomposition and rollout efficiency (pure functions)."""

from __future__ import annotations

import pytest

from acbench_env.core.types import ModelInfo, StepRecord, Trajectory
from acbench_env.scoring.efficiency import rollout_efficiency
from acbench_env.scoring.outcomes import (
    OUTCOMES,
    episode_outcome,
    outcome_counts,
    outcome_deltas,
)


def step(i=0, out="x", err=None, info=None, tokens=5, truncated=False, wall=0.5, prompt=100):
    return StepRecord(
        index=i,
        observation="o",
        raw_output=out,
        parsed_action=None,
        parse_error=err,
        reward=0.0,
        terminated=False,
        truncated=truncated,
        prompt_tokens=prompt,
        completion_tokens=tokens,
        wall_time_s=wall,
        info=info or {},
    )


def traj(steps, success=False, seed=0, env="acbench/FunctionCall-v0", budget=48):
    return Trajectory(
        env_id=env,
        env_kwargs={},
        seed=seed,
        task_id="t",
        task_index=0,
        model=ModelInfo("m", "transformers", decoding={"max_new_tokens": budget}),
        steps=tuple(steps),
        score=float(success),
        success=success,
        capability="tool_use",
    )


@pytest.mark.parametrize(
    ("steps", "success", "expected"),
    [
        ([step()], True, "success"),
        ([step(tokens=48, err="cut")], False, "truncated_output"),
        ([step(err="no JSON")], False, "format_failure"),
        ([step(info={"error_category": "wrong_function"})], False, "wrong_tool"),
        ([step(info={"error_category": "no_call"})], False, "wrong_tool"),
        ([step(info={"error_category": "wrong_value"})], False, "wrong_argument"),
        ([step(info={"tool_errors": {"invalid_arguments": 1}})], False, "wrong_argument"),
        ([step(i, out="look") for i in range(3)], False, "loop"),
        ([step(0, "a", info={"invalid_action": True}), step(1, "b")], False, "invalid_action"),
        ([step(0, "a"), step(1, "b", truncated=True)], False, "step_limit"),
        ([step(info={"error_category": None})], False, "wrong_answer"),
    ],
)
def test_episode_outcome(steps, success, expected):
    assert expected in OUTCOMES
    assert episode_outcome(traj(steps, success)) == expected


def test_outcome_deltas_are_paired_by_seed():
    def run(n: int) -> dict:
        base = {"acbench/FunctionCall-v0": [traj([step()], True, seed=s) for s in range(n)]}
        variant = {
            "acbench/FunctionCall-v0": [
                traj([step(err="bad")], False, seed=s)
                if s < n // 2
                else traj([step()], True, seed=s)
                for s in range(n)
            ]
            + [traj([step()], True, seed=99)]  # unpaired: ignored
        }
        assert sum(outcome_counts(variant["acbench/FunctionCall-v0"]).values()) == n + 1
        return outcome_deltas(base, variant, resamples=500)

    out = run(12)
    assert set(out) == {"tool_use", "all"}
    ff = out["all"]["format_failure"]
    assert ff["episodes"] == 12
    assert ff["base"] == 0.0 and ff["variant"] == pytest.approx(0.5)
    assert ff["delta"] == pytest.approx(0.5)
    assert ff["ci"][0] > 0 and ff["significant"]
    assert out["all"]["success"]["delta"] == pytest.approx(-0.5)
    # The same effect on 6 pairs is below the 10 pairs the delta interval needs to flag.
    small = run(6)["all"]["format_failure"]
    assert small["delta"] == pytest.approx(0.5) and not small["significant"]


def test_rollout_efficiency():
    t = traj([step(0, tokens=10, wall=1.0, prompt=100), step(1, tokens=30, wall=3.0, prompt=300)])
    e = rollout_efficiency([t], checkpoint_bytes=123)
    assert e["generated_tok_s"] == pytest.approx(10.0)
    assert e["prompt_tok_s"] == pytest.approx(100.0)
    assert e["latency_p50_s"] == pytest.approx(2.0)
    assert 2.0 < e["latency_p95_s"] <= 3.0
    assert e["checkpoint_bytes"] == 123 and e["peak_memory_bytes"] is None
    empty = rollout_efficiency([])
    assert empty["generated_tok_s"] is None and empty["steps"] == 0
