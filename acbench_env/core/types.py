"""Typed records: one step of an episode, one episode trajectory, the model that produced it.

Records are frozen dataclasses that round-trip through plain JSON (``to_dict`` /
``from_dict``), so trajectories stored as JSON Lines can be re-scored without a model.
Fields that hold wall-clock time are all named ``wall_time_s``; everything else in a
trajectory is a deterministic function of the run's inputs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypedDict

#: Version of the trajectory record layout; bumped when a field changes meaning.
SCHEMA_VERSION = 1

#: Name of the per-step field that holds timing (excluded from determinism comparisons).
TIMING_FIELD = "wall_time_s"


class Message(TypedDict):
    """One chat message."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str


@dataclass(frozen=True)
class ModelInfo:
    """Which model acted, and how it was compressed.

    ``model_id`` is what the user asked for (``"default"`` or a path as given);
    ``compression`` is the fingerprint read from the model folder's metadata (``None`` for
    an uncompressed model or a scripted agent). ``runtime`` says how it computed: the
    activation ``dtype``, the ``device`` and the ``backend_version`` (empty for agents
    without a model; omitted from the JSON when empty, so older records read unchanged).
    """

    model_id: str
    backend: str
    compression: dict[str, Any] | None = None
    decoding: dict[str, Any] = field(default_factory=dict)
    runtime: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if not self.runtime:
            del data["runtime"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelInfo:
        return cls(
            model_id=str(data["model_id"]),
            backend=str(data["backend"]),
            compression=data.get("compression"),
            decoding=dict(data.get("decoding") or {}),
            runtime=dict(data.get("runtime") or {}),
        )


@dataclass(frozen=True)
class StepRecord:
    """One agent turn: what the agent saw, what it emitted, and what the env made of it.

    ``parse_error`` is set when the env could not parse or validate the action (a *format
    failure*, distinct from a well-formed but wrong action).

    RL-ready fields (``None`` unless the agent records tokens, and then left out of
    :meth:`to_dict` when ``None``, so older files and records read and write unchanged):
    ``prompt_token_ids`` (the whole rendered prompt of this turn), ``completion_token_ids``
    (the generated tokens, without the end-of-sequence token) and ``logprobs`` (one
    log-probability per completion token, under the sampling distribution).
    """

    index: int
    observation: str
    raw_output: str
    parsed_action: Any
    parse_error: str | None
    reward: float
    terminated: bool
    truncated: bool
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    wall_time_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    prompt_token_ids: tuple[int, ...] | None = None
    completion_token_ids: tuple[int, ...] | None = None
    logprobs: tuple[float, ...] | None = None

    @property
    def format_failure(self) -> bool:
        return self.parse_error is not None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in _TOKEN_FIELDS:
            if data[key] is None:
                del data[key]
            else:
                data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepRecord:
        return cls(
            index=int(data["index"]),
            observation=str(data["observation"]),
            raw_output=str(data["raw_output"]),
            parsed_action=data.get("parsed_action"),
            parse_error=data.get("parse_error"),
            reward=float(data["reward"]),
            terminated=bool(data["terminated"]),
            truncated=bool(data["truncated"]),
            prompt_tokens=data.get("prompt_tokens"),
            completion_tokens=data.get("completion_tokens"),
            wall_time_s=float(data.get(TIMING_FIELD, 0.0)),
            info=dict(data.get("info") or {}),
            prompt_token_ids=_int_tuple(data.get("prompt_token_ids")),
            completion_token_ids=_int_tuple(data.get("completion_token_ids")),
            logprobs=(
                None if data.get("logprobs") is None else tuple(float(x) for x in data["logprobs"])
            ),
        )


#: StepRecord's optional RL fields (omitted from the JSON record when ``None``).
_TOKEN_FIELDS = ("prompt_token_ids", "completion_token_ids", "logprobs")


def _int_tuple(value: Any) -> tuple[int, ...] | None:
    return None if value is None else tuple(int(x) for x in value)


@dataclass(frozen=True)
class Trajectory:
    """One episode: the env and task, the model, and every step.

    ``score`` is the env's primary metric for the episode (in [0, 1]); ``success`` whether
    the task was fully solved. ``few_shot_messages`` are the solved-example chat turns the
    model saw before the first observation (omitted from the JSON when there were none).
    ``rung`` names the rung of the env's difficulty ladder that its arguments select
    (:func:`acbench_env.core.ladder.rung_of`; omitted from the JSON when ``None``).
    """

    env_id: str
    env_kwargs: dict[str, Any]
    seed: int
    task_id: str
    task_index: int
    model: ModelInfo
    steps: tuple[StepRecord, ...]
    score: float
    success: bool
    capability: str | None = None
    system_prompt: str | None = None
    wall_time_s: float = 0.0
    schema_version: int = SCHEMA_VERSION
    few_shot_messages: tuple[Message, ...] = ()
    rung: str | None = None

    @property
    def episode_key(self) -> tuple[str, int]:
        """Identity of an episode within one run file: (env id, seed)."""
        return (self.env_id, self.seed)

    @property
    def total_reward(self) -> float:
        return float(sum(s.reward for s in self.steps))

    @property
    def format_failures(self) -> int:
        return sum(1 for s in self.steps if s.format_failure)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = [s.to_dict() for s in self.steps]
        data["model"] = self.model.to_dict()
        if self.few_shot_messages:
            data["few_shot_messages"] = [dict(m) for m in self.few_shot_messages]
        else:
            del data["few_shot_messages"]
        if self.rung is None:
            del data["rung"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trajectory:
        return cls(
            env_id=str(data["env_id"]),
            env_kwargs=dict(data.get("env_kwargs") or {}),
            seed=int(data["seed"]),
            task_id=str(data["task_id"]),
            task_index=int(data["task_index"]),
            model=ModelInfo.from_dict(data["model"]),
            steps=tuple(StepRecord.from_dict(s) for s in data["steps"]),
            score=float(data["score"]),
            success=bool(data["success"]),
            capability=data.get("capability"),
            system_prompt=data.get("system_prompt"),
            wall_time_s=float(data.get(TIMING_FIELD, 0.0)),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
            few_shot_messages=tuple(
                Message(role=m["role"], content=m["content"])
                for m in data.get("few_shot_messages") or ()
            ),
            rung=None if data.get("rung") is None else str(data["rung"]),
        )
