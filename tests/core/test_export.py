"""RL-ready step fields and the parquet export."""

from __future__ import annotations

import json

import pytest

from acbench_env.cli import main
from acbench_env.core.export import STEP_COLUMNS, step_rows, write_parquet
from acbench_env.core.jsonl import append_trajectory, dumps, read_trajectories
from acbench_env.core.types import ModelInfo, StepRecord, Trajectory


def _traj(seed: int, tokens: bool) -> Trajectory:
    extra = (
        {"prompt_token_ids": (1, 2, 3), "completion_token_ids": (4, 5), "logprobs": (-0.1, -0.2)}
        if tokens
        else {}
    )
    steps = tuple(
        StepRecord(
            index=i,
            observation=f"obs{i}",
            raw_output=f"act{i}",
            parsed_action=None,
            parse_error=None if i else "bad",
            reward=float(i),
            terminated=i == 1,
            truncated=False,
            **extra,
        )
        for i in range(2)
    )
    return Trajectory(
        env_id="acbench/Needle-v0",
        env_kwargs={},
        seed=seed,
        task_id=f"t{seed}",
        task_index=seed,
        model=ModelInfo(model_id="default", backend="vllm"),
        steps=steps,
        score=1.0,
        success=True,
    )


def test_token_fields_round_trip_and_are_omitted_when_absent(tmp_path) -> None:
    with_tokens, without = _traj(0, True), _traj(1, False)
    assert "logprobs" not in json.loads(dumps(without))["steps"][0]
    assert json.loads(dumps(with_tokens))["steps"][0]["completion_token_ids"] == [4, 5]
    path = tmp_path / "r.jsonl"
    append_trajectory(path, with_tokens)
    append_trajectory(path, without)
    assert read_trajectories(path) == [with_tokens, without]


def test_step_rows_schema() -> None:
    rows = step_rows([_traj(0, True), _traj(1, False)])
    assert len(rows) == 4
    assert all(tuple(r) == STEP_COLUMNS for r in rows)
    assert rows[0]["format_failure"] and not rows[1]["format_failure"]
    assert rows[1]["logprobs"] == [-0.1, -0.2]
    assert rows[2]["prompt_token_ids"] is None


def test_parquet_export_via_cli(tmp_path, capsys) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "r.jsonl"
    for t in (_traj(0, True), _traj(1, False)):
        append_trajectory(path, t)
    out = tmp_path / "steps.parquet"
    assert main(["export", str(path), "--out", str(out)]) == 0
    table = pq.read_table(out)
    assert table.column_names == list(STEP_COLUMNS)
    assert table.num_rows == 4
    assert table.column("completion_token_ids").to_pylist() == [[4, 5], [4, 5], None, None]
    assert table.column("seed").to_pylist() == [0, 0, 1, 1]


def test_write_parquet_returns_rows(tmp_path) -> None:
    pytest.importorskip("pyarrow")
    assert write_parquet([_traj(0, False)], tmp_path / "a.parquet") == 2
