"""The agent protocol.

An agent answers a batch of conversations at once (:meth:`Agent.respond`), which is what
the rollout runner calls: it gathers every pending request into one call. For stepping one
episode by hand, :meth:`Agent.act` takes one observation and keeps the conversation since
the last :meth:`Agent.reset`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from acbench_env.core.types import Message, ModelInfo


@dataclass(frozen=True)
class AgentInput:
    """One pending request: the conversation so far (ending with the latest observation).

    ``env`` is the unwrapped environment of the episode (only privileged agents such as
    :class:`~acbench_env.agents.oracle.OracleAgent` look at it); ``seed`` is the
    per-request sampling seed; ``answer_tokens`` the env's suggested generation budget
    (``TextEnv.answer_tokens``), used by agents not given one.
    """

    messages: tuple[Message, ...]
    env: Any = None
    seed: int | None = None
    answer_tokens: int | None = None


@dataclass(frozen=True)
class AgentReply:
    """An agent's answer to one request, with token accounting when a model produced it."""

    text: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    token_ids: tuple[int, ...] | None = None
    logprobs: tuple[float, ...] | None = None
    finish_reason: str | None = None
    prompt_token_ids: tuple[int, ...] | None = None


@runtime_checkable
class Agent(Protocol):
    """What the rollout runner needs of an agent."""

    @property
    def info(self) -> ModelInfo: ...

    @property
    def system_prompt(self) -> str | None: ...

    def respond(self, inputs: Sequence[AgentInput]) -> list[AgentReply]: ...

    def act(self, observation: str) -> str: ...

    def reset(self, few_shot: Sequence[Message] = ()) -> None: ...


class BaseAgent(ABC):
    """Implements :meth:`act` / :meth:`reset` on top of :meth:`respond`.

    For single-episode use: call :meth:`reset` at the start of each episode and
    :meth:`act` with each observation; the agent keeps the conversation. Agents that need
    the environment (the oracle) get it through :meth:`bind`.
    """

    system_prompt: str | None = None

    def __init__(self) -> None:
        self._history: list[Message] = []
        self._env: Any = None

    @property
    @abstractmethod
    def info(self) -> ModelInfo:
        """The model (and compression fingerprint) behind this agent."""

    @abstractmethod
    def respond(self, inputs: Sequence[AgentInput]) -> list[AgentReply]:
        """Answer each conversation in ``inputs`` (one batched call)."""

    def bind(self, env: Any) -> None:
        """Remember the environment for :meth:`act` (only privileged agents use it)."""
        self._env = getattr(env, "unwrapped", env)

    def reset(self, few_shot: Sequence[Message] = ()) -> None:
        """Start a new conversation, after the env's few-shot turns
        (``info["few_shot_messages"]`` from ``env.reset``) when given."""
        self._history = [Message(role=m["role"], content=m["content"]) for m in few_shot]

    def act(self, observation: str) -> str:
        self._history.append({"role": "user", "content": observation})
        budget = getattr(self._env, "answer_tokens", None)
        inp = AgentInput(messages=tuple(self._history), env=self._env, answer_tokens=budget)
        reply = self.respond([inp])[0]
        self._history.append({"role": "assistant", "content": reply.text})
        return reply.text
