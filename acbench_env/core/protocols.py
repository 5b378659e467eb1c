"""The two contracts between layers: the Agent (what the rollout runner drives) and the
Backend (a batch of chat requests in, completions out), with the records they exchange.

They live in ``core`` so that the orchestration layer can drive any agent and the agents any
backend without importing each other's implementations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from acbench_env.core.types import Message, ModelInfo


@dataclass(frozen=True)
class GenerationRequest:
    """One chat completion request. ``temperature=0`` means greedy decoding.

    ``tools`` (OpenAI-style function definitions) are passed to the chat template, which
    renders them if it knows how (the ``openai`` backend sends them as the API's ``tools``) (see :mod:`acbench_env.agents.templates`);
    ``return_token_ids`` asks for the prompt's token ids as well (for RL-ready
    trajectories; the completion's token ids are always returned).
    """

    messages: tuple[Message, ...]
    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    logprobs: bool = False
    tools: tuple[dict[str, Any], ...] | None = None
    return_token_ids: bool = False


@dataclass(frozen=True)
class Completion:
    """A generated answer: text, generated token ids, prompt size, and why it stopped.

    ``finish_reason`` is ``"stop"`` (end-of-sequence) or ``"length"`` (hit
    ``max_new_tokens``); ``logprobs`` holds one log-probability per generated token when
    the request asked for them; ``prompt_token_ids`` the rendered prompt's token ids when
    the request asked for them (``return_token_ids``).
    """

    text: str
    token_ids: tuple[int, ...]
    prompt_tokens: int
    finish_reason: str
    logprobs: tuple[float, ...] | None = None
    prompt_token_ids: tuple[int, ...] | None = None
    #: The calls a server parsed from the output (the chat API's ``tool_calls``, as
    #: ``{"name", "arguments"}``); ``None`` when the backend returned text only.
    tool_calls: tuple[dict[str, Any], ...] | None = None


@runtime_checkable
class Backend(Protocol):
    """A model server. ``compression`` is the model folder's compression fingerprint."""

    name: str
    model_id: str
    compression: dict[str, Any] | None

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class AgentInput:
    """One pending request: the conversation so far (ending with the latest observation).

    ``env`` is the unwrapped environment of the episode (only privileged agents such as
    :class:`~acbench_env.agents.oracle.OracleAgent` look at it); ``seed`` is the
    per-request sampling seed; ``answer_tokens`` the env's suggested generation budget
    (``TextEnv.answer_tokens``), used by agents not given one; ``tools`` the tool
    definitions (chat API form) of an env asked for ``tool_format="native"`` (its reset
    ``info["tools"]``), which a model agent passes on to its backend.
    """

    messages: tuple[Message, ...]
    env: Any = None
    seed: int | None = None
    answer_tokens: int | None = None
    tools: tuple[dict[str, Any], ...] | None = None


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
    #: Calls the server returned as the chat API's ``tool_calls`` (see :class:`Completion`).
    tool_calls: tuple[dict[str, Any], ...] | None = None


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
