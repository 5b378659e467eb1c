"""The rollout runner: many episodes, batched agent calls, durable and resumable output.

Episode ``i`` of a run with seed ``s`` is reset with seed ``s + i``. Up to ``batch_size``
episodes run at once: every step, all pending requests go to the agent in one
``respond`` call, and each episode finishes on its own. Each finished episode is appended
to the output file at once, so an interrupted run loses at most the episodes in flight;
re-running with the same output file skips the episodes already there.

An episode's conversation starts with the env's few-shot turns (``info["few_shot_messages"]``
from ``reset``, stored in the trajectory), then the first observation.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from acbench_env.core.env import FEW_SHOT_KEY
from acbench_env.core.errors import ConfigError, TrajectoryFileError
from acbench_env.core.jsonl import append_trajectory, read_trajectories, to_jsonable
from acbench_env.core.protocols import Agent, AgentInput, AgentReply
from acbench_env.core.registry import make
from acbench_env.core.seeds import episode_seeds, request_seed
from acbench_env.core.types import Message, StepRecord, Trajectory
from acbench_env.core.validation import positive_int

logger = logging.getLogger(__name__)

# Keys of the env's step info that StepRecord holds as fields of their own.
_LIFTED_INFO = ("parsed_action", "parse_error")


@dataclass(frozen=True)
class RunResult:
    """The requested episodes (in seed order) and how many were run now vs resumed."""

    trajectories: tuple[Trajectory, ...]
    new_episodes: int
    resumed_episodes: int


@dataclass
class _Slot:
    env: Any
    seed: int
    task_id: str
    task_index: int
    capability: str | None
    messages: list[Message]
    few_shot: tuple[Message, ...] = ()
    tools: tuple[dict[str, Any], ...] | None = None
    steps: list[StepRecord] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)


def _api_tool_calls(reply: AgentReply) -> dict[str, Any]:
    """``{"api_tool_calls": [...]}`` when the server returned the calls as the chat API's
    ``tool_calls`` (native tool calling), else nothing."""
    calls = getattr(reply, "tool_calls", None)
    return {} if calls is None else {"api_tool_calls": [dict(c) for c in calls]}


def _token_fields(reply: AgentReply) -> dict[str, Any]:
    """The RL fields of a step: recorded when the agent returned prompt ids or logprobs."""
    if reply.prompt_token_ids is None and reply.logprobs is None:
        return {}
    return {
        "prompt_token_ids": reply.prompt_token_ids,
        "completion_token_ids": reply.token_ids,
        "logprobs": reply.logprobs,
    }


def _check_existing(
    existing: Sequence[Trajectory], env_id: str, env_kwargs: dict[str, Any], agent: Agent, out: Path
) -> None:
    info = agent.info
    for traj in existing:
        if traj.env_id != env_id:
            continue
        if traj.model != info or traj.env_kwargs != env_kwargs:
            raise TrajectoryFileError(
                f"{out} already holds {env_id} episodes of another run (model "
                f"{traj.model.model_id!r}, env arguments {traj.env_kwargs}); to resume, use the "
                "same model, decoding and env arguments, otherwise choose another output file"
            )


def run_episodes(
    env_id: str,
    agent: Agent,
    *,
    episodes: int,
    seed: int = 0,
    out: str | Path | None = None,
    env_kwargs: dict[str, Any] | None = None,
    batch_size: int = 1,
    progress: bool = False,
    task_indices: Mapping[int, int] | None = None,
) -> RunResult:
    """Run ``episodes`` episodes of ``env_id`` with ``agent``; see the module docstring.

    ``task_indices`` maps episode seeds to task indices: such an episode is reset with
    ``options={"task_index": ...}`` (several seeds can share a task, as grouped rollouts do);
    the others choose their task from their seed.
    """
    batch_size = positive_int("batch_size", batch_size)
    seeds = episode_seeds(episodes, seed)
    kwargs = dict(env_kwargs or {})
    recorded_kwargs = to_jsonable(kwargs)
    envs = [make(env_id, **kwargs)]  # builds one env first: bad arguments fail before any write
    out_path = Path(out) if out is not None else None
    done: dict[int, Trajectory] = {}
    if out_path is not None:
        existing = read_trajectories(out_path, repair=True)
        _check_existing(existing, env_id, recorded_kwargs, agent, out_path)
        for traj in existing:
            if traj.env_id == env_id and traj.seed in seeds:
                done.setdefault(traj.seed, traj)
    pending = deque(s for s in seeds if s not in done)
    resumed = len(done)
    if resumed:
        logger.info("resuming: %d of %d episodes already in %s", resumed, len(seeds), out_path)
    while len(envs) < min(batch_size, len(pending)):
        envs.append(make(env_id, **kwargs))
    free = list(envs)
    active: list[_Slot] = []
    bar = tqdm(
        total=len(seeds),
        initial=resumed,
        disable=not progress,
        unit="episode",
        desc=env_id,
        dynamic_ncols=True,
    )
    new = 0
    try:
        while pending or active:
            while pending and free:
                env = free.pop()
                ep_seed = pending.popleft()
                task_index = None if task_indices is None else task_indices.get(ep_seed)
                options = None if task_index is None else {"task_index": int(task_index)}
                obs, info = env.reset(seed=ep_seed, options=options)
                shots = [
                    Message(role=m["role"], content=m["content"])
                    for m in info.get(FEW_SHOT_KEY, ())
                ]
                active.append(
                    _Slot(
                        env=env,
                        seed=ep_seed,
                        task_id=str(info.get("task_id", "")),
                        task_index=int(info.get("task_index", -1)),
                        capability=info.get("capability"),
                        messages=[*shots, {"role": "user", "content": obs}],
                        few_shot=tuple(shots),
                        tools=tuple(info["tools"]) if info.get("tools") else None,
                    )
                )
            inputs = [
                AgentInput(
                    messages=tuple(s.messages),
                    env=s.env.unwrapped,
                    seed=request_seed(s.seed, len(s.steps)),
                    answer_tokens=getattr(s.env.unwrapped, "answer_tokens", None),
                    tools=s.tools,
                )
                for s in active
            ]
            t0 = time.perf_counter()
            replies = agent.respond(inputs)
            per_request = (time.perf_counter() - t0) / max(len(active), 1)
            if len(replies) != len(active):
                raise ConfigError(
                    f"the agent returned {len(replies)} replies for {len(active)} requests"
                )
            still_active = []
            for slot, reply in zip(active, replies):
                observation = slot.messages[-1]["content"]
                t1 = time.perf_counter()
                obs, reward, terminated, truncated, info = slot.env.step(reply.text)
                elapsed = per_request + time.perf_counter() - t1
                slot.steps.append(
                    StepRecord(
                        index=len(slot.steps),
                        observation=observation,
                        raw_output=reply.text,
                        parsed_action=to_jsonable(info.get("parsed_action")),
                        parse_error=info.get("parse_error"),
                        reward=float(reward),
                        terminated=bool(terminated),
                        truncated=bool(truncated),
                        prompt_tokens=reply.prompt_tokens,
                        completion_tokens=reply.completion_tokens,
                        wall_time_s=round(elapsed, 6),
                        info=to_jsonable(
                            {k: v for k, v in info.items() if k not in _LIFTED_INFO}
                            | _api_tool_calls(reply)
                        ),
                        **_token_fields(reply),
                    )
                )
                if terminated or truncated:
                    traj = Trajectory(
                        env_id=env_id,
                        env_kwargs=recorded_kwargs,
                        seed=slot.seed,
                        task_id=slot.task_id,
                        task_index=slot.task_index,
                        model=agent.info,
                        steps=tuple(slot.steps),
                        score=float(info.get("score", reward)),
                        success=bool(info.get("success", False)),
                        capability=slot.capability,
                        system_prompt=agent.system_prompt,
                        wall_time_s=round(time.perf_counter() - slot.started, 6),
                        few_shot_messages=slot.few_shot,
                    )
                    if out_path is not None:
                        append_trajectory(out_path, traj)
                    done[slot.seed] = traj
                    new += 1
                    bar.update(1)
                    free.append(slot.env)
                else:
                    slot.messages.append({"role": "assistant", "content": reply.text})
                    slot.messages.append({"role": "user", "content": obs})
                    still_active.append(slot)
            active = still_active
    finally:
        bar.close()
        for env in envs:
            env.close()
    return RunResult(
        trajectories=tuple(done[s] for s in seeds), new_episodes=new, resumed_episodes=resumed
    )
