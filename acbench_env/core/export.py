"""Export trajectories as a table with one row per step (for training loops), to parquet.

Schema (:data:`STEP_COLUMNS`), one row per agent turn, in episode then step order:

================== ============== ===========================================================
column             type           meaning
================== ============== ===========================================================
env_id             string         environment id
seed               int64          the episode's reset seed (with env_id: the episode's key)
task_id            string         the task's id
step               int64          step index within the episode, from 0
observation        string         what the agent saw this turn (the latest user message)
action             string         the model's raw output
reward             float64        the step's reward
terminated         bool           the episode ended on this step (task done)
truncated          bool           the episode was cut on this step (max_steps)
format_failure     bool           the env could not parse the action
episode_score      float64        the episode's final metric, in [0, 1]
episode_success    bool           the episode's task was solved
model_id           string         the model as asked for
backend            string         the backend that generated
prompt_token_ids   list<int64>    the whole rendered prompt of this turn (null unless recorded)
completion_token_ids list<int64>  the generated tokens (null unless recorded)
logprobs           list<float64>  one log-probability per completion token (null unless recorded)
================== ============== ===========================================================

The token columns are filled when the run recorded tokens (``acbench run
--record-tokens``, or ``LLMPolicyAgent(record_tokens=True)``).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from acbench_env.core.errors import require
from acbench_env.core.types import Trajectory

STEP_COLUMNS: tuple[str, ...] = (
    "env_id",
    "seed",
    "task_id",
    "step",
    "observation",
    "action",
    "reward",
    "terminated",
    "truncated",
    "format_failure",
    "episode_score",
    "episode_success",
    "model_id",
    "backend",
    "prompt_token_ids",
    "completion_token_ids",
    "logprobs",
)


def step_rows(trajectories: Iterable[Trajectory]) -> list[dict[str, Any]]:
    """One dict per step, with the keys of :data:`STEP_COLUMNS`."""
    rows = []
    for traj in trajectories:
        for step in traj.steps:
            rows.append(
                {
                    "env_id": traj.env_id,
                    "seed": traj.seed,
                    "task_id": traj.task_id,
                    "step": step.index,
                    "observation": step.observation,
                    "action": step.raw_output,
                    "reward": step.reward,
                    "terminated": step.terminated,
                    "truncated": step.truncated,
                    "format_failure": step.format_failure,
                    "episode_score": traj.score,
                    "episode_success": traj.success,
                    "model_id": traj.model.model_id,
                    "backend": traj.model.backend,
                    "prompt_token_ids": _opt_list(step.prompt_token_ids),
                    "completion_token_ids": _opt_list(step.completion_token_ids),
                    "logprobs": _opt_list(step.logprobs),
                }
            )
    return rows


def _opt_list(values: tuple[Any, ...] | None) -> list[Any] | None:
    return None if values is None else list(values)


def write_parquet(trajectories: Iterable[Trajectory], path: str | Path) -> int:
    """Write the step table to a parquet file; returns the number of rows."""
    require("pyarrow", "rl", "Exporting trajectories to parquet")
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema(
        [
            ("env_id", pa.string()),
            ("seed", pa.int64()),
            ("task_id", pa.string()),
            ("step", pa.int64()),
            ("observation", pa.string()),
            ("action", pa.string()),
            ("reward", pa.float64()),
            ("terminated", pa.bool_()),
            ("truncated", pa.bool_()),
            ("format_failure", pa.bool_()),
            ("episode_score", pa.float64()),
            ("episode_success", pa.bool_()),
            ("model_id", pa.string()),
            ("backend", pa.string()),
            ("prompt_token_ids", pa.list_(pa.int64())),
            ("completion_token_ids", pa.list_(pa.int64())),
            ("logprobs", pa.list_(pa.float64())),
        ]
    )
    rows = step_rows(trajectories)
    table = pa.Table.from_pylist(rows, schema=schema)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out)
    return len(rows)
