"""The rollout runner: many episodes, batched agent calls, durable and resumable output.

Episode ``i`` of a run with seed ``s`` is reset with seed ``s + i``. Up to ``batch_size``
episodes run at once: every step, all pending requests go to the agent in one
``respond`` call, and each episode finishes on its own. Each finished episode is appended
to the output file at once, so an interrupted run loses at most the episodes in flight;
re-running with the same output file skips the episodes already there.

Several episode streams (:class:`Lane`: an env, an agent, seeds) can run together in one
loop (:func:`drive`): a suite runs the tasks of one model this way, so the backend sees the
requests of several tasks in one batch (continuous batching across tasks). Agents that
share a backend and can split their work into requests and replies (``requests`` /
``replies``, as :class:`~acbench_env.agents.LLMPolicyAgent` does) are answered with one
``generate`` call per step; any other agent gets its own ``respond`` call.

An episode's conversation starts with the env's few-shot turns (``info["few_shot_messages"]``
from ``reset``, stored in the trajectory), then the first observation.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
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


@dataclass(frozen=True)
class Lane:
    """A stream of episodes: ``env_id`` (with ``env_kwargs``) reset with each of ``seeds``,
    in order, acted on by ``agent``."""

    env_id: str
    agent: Agent
    seeds: tuple[int, ...]
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    task_indices: Mapping[int, int] | None = None


@dataclass
class _Slot:
    lane: int
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


def _shared_backend(agent: Any) -> Any:
    """The backend of an agent that splits its work into ``requests`` and ``replies`` (its
    requests can share a ``generate`` call with other agents'), else None."""
    backend = getattr(agent, "backend", None)
    if backend is None or not (hasattr(agent, "requests") and hasattr(agent, "replies")):
        return None
    return backend


def _input(slot: _Slot) -> AgentInput:
    return AgentInput(
        messages=tuple(slot.messages),
        env=slot.env.unwrapped,
        seed=request_seed(slot.seed, len(slot.steps)),
        answer_tokens=getattr(slot.env.unwrapped, "answer_tokens", None),
        tools=slot.tools,
    )


def _respond(slots: Sequence[_Slot], lanes: Sequence[Lane]) -> tuple[list[AgentReply], list[float]]:
    """Replies to every slot's pending request, and the seconds each request took: one
    ``generate`` call per backend shared by agents that split requests and replies, one
    ``respond`` call per other agent."""
    inputs = [_input(s) for s in slots]
    groups: dict[int, tuple[Any, list[int]]] = {}
    for i, slot in enumerate(slots):
        agent: Any = lanes[slot.lane].agent
        backend = _shared_backend(agent)
        groups.setdefault(id(backend if backend is not None else agent), (backend, []))[1].append(i)
    replies: list[AgentReply | None] = [None] * len(slots)
    seconds = [0.0] * len(slots)
    for backend, idx in groups.values():
        agents: list[Any] = [lanes[slots[i].lane].agent for i in idx]
        t0 = time.perf_counter()
        if backend is not None:
            requests = [a.requests([inputs[i]])[0] for a, i in zip(agents, idx)]
            completions = backend.generate(requests)
            if len(completions) != len(requests):
                raise ConfigError(
                    f"the backend returned {len(completions)} completions for "
                    f"{len(requests)} requests"
                )
            out = [a.replies([c])[0] for a, c in zip(agents, completions)]
        else:
            out = agents[0].respond([inputs[i] for i in idx])
            if len(out) != len(idx):
                raise ConfigError(f"the agent returned {len(out)} replies for {len(idx)} requests")
        per_request = (time.perf_counter() - t0) / len(idx)
        for i, reply in zip(idx, out):
            replies[i] = reply
            seconds[i] = per_request
    return [r for r in replies if r is not None], seconds


def env_rung(env_id: str, env: Any, env_kwargs: Mapping[str, Any]) -> str | None:
    """The rung of the difficulty ladder of ``env``'s class that ``env_kwargs`` select (the
    registration's arguments and the class defaults filled in); ``None`` off the ladder or
    for an env without one."""
    import gymnasium

    from acbench_env.core.ladder import rung_of

    return rung_of(type(env.unwrapped), dict(gymnasium.spec(env_id).kwargs or {}), env_kwargs)


def _streaming_backend(lanes: Sequence[Lane]) -> Any:
    """The one backend every lane's agent shares, when it can take requests while others
    are in flight (``submit`` / ``collect``, as the vLLM backend can), else None."""
    backends = [_shared_backend(lane.agent) for lane in lanes]
    if not backends or any(b is None for b in backends) or len({id(b) for b in backends}) != 1:
        return None
    backend = backends[0]
    ok = all(callable(getattr(backend, m, None)) for m in ("submit", "collect", "cancel"))
    return backend if ok else None


class _Episodes:
    """Starting and stepping the episodes of :func:`drive`, whichever way they are batched."""

    def __init__(self, lanes: Sequence[Lane], pools: Mapping[int, list[Any]] | None) -> None:
        self.lanes = lanes
        self.free: dict[int, list[Any]] = {li: list(p) for li, p in (pools or {}).items()}
        self.made: list[Any] = [env for p in self.free.values() for env in p]
        self.recorded = [to_jsonable(dict(lane.env_kwargs)) for lane in lanes]
        self.rungs: dict[int, str | None] = {}  # lane -> its rung, from the lane's first env

    def _env(self, li: int) -> Any:
        if self.free.get(li):
            return self.free[li].pop()
        env = make(self.lanes[li].env_id, **dict(self.lanes[li].env_kwargs))
        self.made.append(env)
        return env

    def chain_tokens(self, li: int) -> int:
        """The most tokens one episode of lane ``li`` can generate one after another: its
        env's ``max_steps`` times the per-step budget (the agent's ``max_new_tokens``, else
        the env's ``answer_tokens``). Builds the lane's first env (kept for its episodes)."""
        env = self._env(li)
        self.free.setdefault(li, []).append(env)
        inner = getattr(env, "unwrapped", env)
        steps = int(getattr(inner, "max_steps", 1))
        budget: Any = getattr(self.lanes[li].agent, "max_new_tokens", None)
        return steps * int(budget or getattr(inner, "answer_tokens", 1))

    def start(self, li: int, ep_seed: int) -> _Slot:
        lane = self.lanes[li]
        env = self._env(li)
        if li not in self.rungs:
            self.rungs[li] = env_rung(lane.env_id, env, lane.env_kwargs)
        task_index = None if lane.task_indices is None else lane.task_indices.get(ep_seed)
        options = None if task_index is None else {"task_index": int(task_index)}
        obs, info = env.reset(seed=ep_seed, options=options)
        shots = [Message(role=m["role"], content=m["content"]) for m in info.get(FEW_SHOT_KEY, ())]
        return _Slot(
            lane=li,
            env=env,
            seed=ep_seed,
            task_id=str(info.get("task_id", "")),
            task_index=int(info.get("task_index", -1)),
            capability=info.get("capability"),
            messages=[*shots, {"role": "user", "content": obs}],
            few_shot=tuple(shots),
            tools=tuple(info["tools"]) if info.get("tools") else None,
        )

    def advance(self, slot: _Slot, reply: AgentReply, seconds: float) -> Trajectory | None:
        """Step the slot's env with ``reply``: the finished trajectory (its env goes back to
        the lane's pool), or None when the episode goes on (its next request is pending)."""
        lane = self.lanes[slot.lane]
        observation = slot.messages[-1]["content"]
        t1 = time.perf_counter()
        obs, reward, terminated, truncated, info = slot.env.step(reply.text)
        elapsed = seconds + time.perf_counter() - t1
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
        if not (terminated or truncated):
            slot.messages.append({"role": "assistant", "content": reply.text})
            slot.messages.append({"role": "user", "content": obs})
            return None
        self.free.setdefault(slot.lane, []).append(slot.env)
        return Trajectory(
            env_id=lane.env_id,
            env_kwargs=self.recorded[slot.lane],
            seed=slot.seed,
            task_id=slot.task_id,
            task_index=slot.task_index,
            model=lane.agent.info,
            steps=tuple(slot.steps),
            score=float(info.get("score", reward)),
            success=bool(info.get("success", False)),
            capability=slot.capability,
            system_prompt=lane.agent.system_prompt,
            wall_time_s=round(time.perf_counter() - slot.started, 6),
            few_shot_messages=slot.few_shot,
            rung=self.rungs.get(slot.lane),
        )

    def close(self) -> None:
        for env in self.made:
            env.close()


def drive(
    lanes: Sequence[Lane],
    *,
    width: int,
    pools: Mapping[int, list[Any]] | None = None,
    stream: bool = True,
) -> Iterator[tuple[int, Trajectory]]:
    """Run every lane's episodes, at most ``width`` at once, yielding ``(lane index,
    trajectory)`` as each episode finishes. ``pools`` may hold environments already built
    for a lane (they are reused and closed).

    When every lane's agent shares one backend that can take requests while others are in
    flight (``submit`` / ``collect``: the vLLM backend) and ``stream`` is true, each
    episode's next request goes to the backend as soon as its previous one is answered,
    and a finished episode's slot is filled at once: the engine stays fed instead of
    waiting, step after step, for the longest reply of the batch. Otherwise all pending
    requests go out together, one batch per step.

    Either way, episodes start longest possible chain first (:meth:`_Episodes.chain_tokens`;
    ties in lane order, seed order): a many-step episode's dependent requests would
    otherwise run nearly alone at the end, when the backend has little else to do.
    """
    width = positive_int("batch_size", width)
    episodes = _Episodes(lanes, pools)
    backend = _streaming_backend(lanes) if stream else None
    try:
        chains = {li: episodes.chain_tokens(li) for li, lane in enumerate(lanes) if lane.seeds}
        pending = deque(
            (li, s)  # stable: ties keep lane order, seed order
            for li in sorted(chains, key=lambda li: -chains[li])
            for s in lanes[li].seeds
        )
        if backend is not None:
            yield from _drive_streaming(lanes, episodes, pending, width, backend)
            return
        active: list[_Slot] = []
        while pending or active:
            while pending and len(active) < width:
                active.append(episodes.start(*pending.popleft()))
            replies, seconds = _respond(active, lanes)
            still_active = []
            for slot, reply, per_request in zip(active, replies, seconds):
                traj = episodes.advance(slot, reply, per_request)
                if traj is None:
                    still_active.append(slot)
                else:
                    yield slot.lane, traj
            active = still_active
    finally:
        episodes.close()


def _drive_streaming(
    lanes: Sequence[Lane],
    episodes: _Episodes,
    pending: deque[tuple[int, int]],
    width: int,
    backend: Any,
) -> Iterator[tuple[int, Trajectory]]:
    active: dict[int, tuple[_Slot, float]] = {}
    keys = iter(range(1 << 62))

    def submit(slot: _Slot, key: int) -> None:
        lane_agent: Any = lanes[slot.lane].agent
        active[key] = (slot, time.perf_counter())
        backend.submit(key, lane_agent.requests([_input(slot)])[0])

    try:
        while pending or active:
            while pending and len(active) < width:
                submit(episodes.start(*pending.popleft()), next(keys))
            finished = backend.collect()
            if not finished:
                raise ConfigError(f"the backend finished none of {len(active)} requests")
            for key, completion in finished:
                slot, sent = active.pop(key)
                agent: Any = lanes[slot.lane].agent
                reply = agent.replies([completion])[0]
                traj = episodes.advance(slot, reply, time.perf_counter() - sent)
                if traj is None:
                    submit(slot, key)
                else:
                    yield slot.lane, traj
    finally:
        if active:
            backend.cancel()


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
    first = make(env_id, **kwargs)  # builds one env first: bad arguments fail before any write
    out_path = Path(out) if out is not None else None
    done: dict[int, Trajectory] = {}
    try:
        if out_path is not None:
            existing = read_trajectories(out_path, repair=True)
            _check_existing(existing, env_id, recorded_kwargs, agent, out_path)
            for traj in existing:
                if traj.env_id == env_id and traj.seed in seeds:
                    done.setdefault(traj.seed, traj)
    except BaseException:
        first.close()
        raise
    pending = tuple(s for s in seeds if s not in done)
    resumed = len(done)
    if resumed:
        logger.info("resuming: %d of %d episodes already in %s", resumed, len(seeds), out_path)
    bar = tqdm(
        total=len(seeds),
        initial=resumed,
        disable=not progress,
        unit="episode",
        desc=env_id,
        dynamic_ncols=True,
    )
    new = 0
    lane = Lane(env_id, agent, pending, kwargs, task_indices)
    try:
        for _, traj in drive([lane], width=batch_size, pools={0: [first]}):
            if out_path is not None:
                append_trajectory(out_path, traj)
            done[traj.seed] = traj
            new += 1
            bar.update(1)
    finally:
        bar.close()
    return RunResult(
        trajectories=tuple(done[s] for s in seeds), new_episodes=new, resumed_episodes=resumed
    )
