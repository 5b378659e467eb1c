"""The agent base class (the protocol itself is :class:`acbench_env.core.protocols.Agent`).

An agent answers a batch of conversations at once (:meth:`Agent.respond`), which is what
the rollout runner calls: it gathers every pending request into one call. For stepping one
episode by hand, :meth:`Agent.act` takes one observation and keeps the conversation since
the last :meth:`Agent.reset`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from acbench_env.core.protocols import Agent, AgentInput, AgentReply
from acbench_env.core.types import Message, ModelInfo

__all__ = ["Agent", "AgentInput", "AgentReply", "BaseAgent"]


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
