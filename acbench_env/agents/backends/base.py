"""The backend protocol: a batch of chat requests in, completions out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from acbench_env.core.types import Message


@dataclass(frozen=True)
class GenerationRequest:
    """One chat completion request. ``temperature=0`` means greedy decoding.

    ``tools`` (OpenAI-style function definitions) are passed to the chat template, which
    renders them if it knows how (see :mod:`acbench_env.agents.templates`);
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


@runtime_checkable
class Backend(Protocol):
    """A model server. ``compression`` is the model folder's compression fingerprint."""

    name: str
    model_id: str
    compression: dict[str, Any] | None

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]: ...

    def close(self) -> None: ...
