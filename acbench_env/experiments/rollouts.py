"""Grouped rollouts for RL: ``n`` samples per task, token records, group-relative advantages.

:func:`run_rollouts` runs ``group_size`` episodes on each of ``tasks`` tasks (task indices
``first_task .. first_task + tasks - 1``); sample ``j`` of group ``g`` is the episode with
reset seed ``seed + g * group_size + j`` (so every sample has its own sampling seeds, see
:func:`~acbench_env.core.seeds.request_seed`), reset on its group's task. The episodes go
through :func:`~acbench_env.experiments.runner.run_episodes` (batched, resumable), whose
JSON Lines file ``OUT/trajectories.jsonl`` stays the source of truth; the table (one row per
episode, :data:`ROLLOUT_SCHEMA`, see ``docs/rollouts.md``) is derived from it with
:func:`~acbench_env.core.rollout_tokens.assemble_episode` and written as
``OUT/rollouts.parquet`` and as a Hugging Face ``datasets`` folder ``OUT/dataset``
(``datasets.load_from_disk``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acbench_env.core.errors import ConfigError, require
from acbench_env.core.protocols import Agent
from acbench_env.core.registry import make
from acbench_env.core.rollout_tokens import assemble_episode, group_advantages
from acbench_env.core.types import Trajectory
from acbench_env.experiments.runner import run_episodes

logger = logging.getLogger(__name__)

#: Files written in the output folder.
TRAJECTORIES_FILE = "trajectories.jsonl"
PARQUET_FILE = "rollouts.parquet"
DATASET_DIR = "dataset"

#: (column, arrow type name) of the rollout table, in order; see docs/rollouts.md.
ROLLOUT_SCHEMA: tuple[tuple[str, str], ...] = (
    ("env_id", "string"),
    ("group", "int64"),
    ("sample", "int64"),
    ("task_index", "int64"),
    ("task_id", "string"),
    ("seed", "int64"),
    ("token_ids", "list<int64>"),
    ("loss_mask", "list<int8>"),
    ("logprobs", "list<float64>"),
    ("turn_starts", "list<int64>"),
    ("turn_roles", "list<string>"),
    ("prompt_length", "int64"),
    ("num_turns", "int64"),
    ("reward", "float64"),
    ("total_reward", "float64"),
    ("advantage", "float64"),
    ("success", "bool"),
    ("drift", "int64"),
    ("model_id", "string"),
    ("backend", "string"),
)


@dataclass(frozen=True)
class RolloutPlan:
    """Which episode (reset seed) is which sample of which group, on which task."""

    seeds: tuple[int, ...]
    groups: tuple[int, ...]
    samples: tuple[int, ...]
    task_indices: tuple[int, ...]

    @classmethod
    def build(
        cls, tasks: int, group_size: int, *, seed: int = 0, first_task: int = 0
    ) -> RolloutPlan:
        if tasks < 1:
            raise ConfigError(f"tasks must be at least 1, got {tasks}")
        if group_size < 1:
            raise ConfigError(f"group_size must be at least 1, got {group_size}")
        if seed < 0 or first_task < 0:
            raise ConfigError(f"seed and first_task must be >= 0, got {seed} and {first_task}")
        seeds, groups, samples, indices = [], [], [], []
        for g in range(tasks):
            for j in range(group_size):
                seeds.append(seed + g * group_size + j)
                groups.append(g)
                samples.append(j)
                indices.append(first_task + g)
        return cls(tuple(seeds), tuple(groups), tuple(samples), tuple(indices))

    def of_seed(self) -> dict[int, tuple[int, int, int]]:
        """seed -> (group, sample, task index)."""
        return {
            s: (g, j, t)
            for s, g, j, t in zip(self.seeds, self.groups, self.samples, self.task_indices)
        }


@dataclass(frozen=True)
class RolloutResult:
    trajectories: tuple[Trajectory, ...]
    rows: tuple[dict[str, Any], ...]
    out_dir: Path | None


def rollout_rows(
    trajectories: Sequence[Trajectory],
    plan: RolloutPlan,
    encode: Callable[[str], Sequence[int]],
    *,
    normalize_std: bool = False,
) -> list[dict[str, Any]]:
    """One row per episode (columns of :data:`ROLLOUT_SCHEMA`), in plan order."""
    where = plan.of_seed()
    by_seed = {t.seed: t for t in trajectories}
    missing = [s for s in plan.seeds if s not in by_seed]
    if missing:
        raise ConfigError(f"{len(missing)} planned episodes are missing (seeds {missing[:5]}...)")
    rows: list[dict[str, Any]] = []
    for s in plan.seeds:
        traj = by_seed[s]
        group, sample, task_index = where[s]
        tokens = assemble_episode(traj, encode)
        rows.append(
            {
                "env_id": traj.env_id,
                "group": group,
                "sample": sample,
                "task_index": task_index,
                "task_id": traj.task_id,
                "seed": traj.seed,
                "token_ids": list(tokens.token_ids),
                "loss_mask": list(tokens.loss_mask),
                "logprobs": list(tokens.logprobs),
                "turn_starts": list(tokens.turn_starts),
                "turn_roles": list(tokens.turn_roles),
                "prompt_length": tokens.prompt_length,
                "num_turns": len(traj.steps),
                "reward": float(traj.score),
                "total_reward": traj.total_reward,
                "advantage": 0.0,
                "success": bool(traj.success),
                "drift": tokens.drift,
                "model_id": traj.model.model_id,
                "backend": traj.model.backend,
            }
        )
    advantages = group_advantages(
        [r["reward"] for r in rows], [r["group"] for r in rows], normalize_std=normalize_std
    )
    for row, adv in zip(rows, advantages):
        row["advantage"] = adv
    return rows


def _arrow_schema() -> Any:
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "list<int64>": pa.list_(pa.int64()),
        "list<int8>": pa.list_(pa.int8()),
        "list<float64>": pa.list_(pa.float64()),
        "list<string>": pa.list_(pa.string()),
    }
    return pa.schema([(name, types[kind]) for name, kind in ROLLOUT_SCHEMA])


def write_rollouts(rows: Sequence[dict[str, Any]], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``rows`` as ``out_dir/rollouts.parquet`` and the ``datasets`` folder
    ``out_dir/dataset``; returns both paths."""
    require(("pyarrow", "datasets"), "rl", "Writing rollouts")
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(list(rows), schema=_arrow_schema())
    parquet = out / PARQUET_FILE
    pq.write_table(table, parquet)
    folder = out / DATASET_DIR
    datasets.Dataset(table).save_to_disk(str(folder))
    return parquet, folder


def run_rollouts(
    env_id: str,
    agent: Agent,
    *,
    tasks: int,
    group_size: int,
    encode: Callable[[str], Sequence[int]],
    seed: int = 0,
    first_task: int = 0,
    out_dir: str | Path | None = None,
    env_kwargs: dict[str, Any] | None = None,
    batch_size: int | None = None,
    normalize_std: bool = False,
    progress: bool = False,
) -> RolloutResult:
    """Run grouped rollouts (see the module docstring); with ``out_dir``, write the JSONL,
    parquet and ``datasets`` outputs there (re-running resumes from the JSONL).

    ``agent`` must record tokens (``LLMPolicyAgent(record_tokens=True)``); ``encode`` is
    the model's tokenizer without special tokens (see :func:`assemble_episode`).
    ``batch_size`` defaults to all episodes at once.
    """
    if not agent.info.decoding.get("record_tokens"):
        raise ConfigError(
            "rollouts need token ids: build the agent with LLMPolicyAgent(..., record_tokens=True)"
        )
    plan = RolloutPlan.build(tasks, group_size, seed=seed, first_task=first_task)
    env = make(env_id, **(env_kwargs or {}))
    try:
        num_tasks = int(env.unwrapped.num_tasks)
    finally:
        env.close()
    if first_task + tasks > num_tasks:
        raise ConfigError(
            f"{env_id} has {num_tasks} tasks; tasks={tasks} from first_task={first_task} "
            f"needs {first_task + tasks}; ask for fewer tasks"
        )
    if group_size > 1 and float(agent.info.decoding.get("temperature", 0.0) or 0.0) == 0.0:
        logger.warning(
            "greedy decoding: the %d samples of each group will be identical", group_size
        )
    out = None if out_dir is None else Path(out_dir)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    result = run_episodes(
        env_id,
        agent,
        episodes=len(plan.seeds),
        seed=seed,
        out=None if out is None else out / TRAJECTORIES_FILE,
        env_kwargs=env_kwargs,
        batch_size=batch_size or len(plan.seeds),
        progress=progress,
        task_indices=dict(zip(plan.seeds, plan.task_indices)),
    )
    rows = rollout_rows(result.trajectories, plan, encode, normalize_std=normalize_std)
    if out is not None:
        write_rollouts(rows, out)
    return RolloutResult(trajectories=result.trajectories, rows=tuple(rows), out_dir=out)


def tokenizer_encoder(model: str) -> Callable[[str], list[int]]:
    """``encode`` for :func:`run_rollouts`: the tokenizer of ``model`` (``"default"`` or a
    model folder), without special tokens added."""
    from transformers import AutoTokenizer

    from acbench_env.core.models import resolve_model

    tok = AutoTokenizer.from_pretrained(resolve_model(model))

    def encode(text: str) -> list[int]:
        return [int(t) for t in tok(text, add_special_tokens=False)["input_ids"]]

    return encode
