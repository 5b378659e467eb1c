"""The backend protocol: a batch of chat requests in, completions out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from acbench_env.core.types import Message


@dataclass(frozen=True)
class GenerationRequest:
    """One chat completion request. ``temperature=0`` means greedy decoding."""

    messages: tuple[Message, ...]
    max_new_tokens: int = 64
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    logprobs: bool = False


@dataclass(frozen=True)
class Completion:
    """A generated answer: text, generated token ids, prompt size, and why it stopped.

    ``finish_reason`` is ``"stop"`` (end-of-sequence) or ``"length"`` (hit
    ``max_new_tokens``); ``logprobs`` holds one log-probability per generated token when
    the request asked for them.
    """

    text: str
    token_ids: tuple[int, ...]
    prompt_tokens: int
    finish_reason: str
    logprobs: tuple[float, ...] | None = None


@runtime_checkable
class Backend(Protocol):
    """A model server. ``compression`` is the model folder's compression fingerprint."""

    name: str
    model_id: str
    compression: dict[str, Any] | None

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]: ...

    def close(self) -> None: ...
