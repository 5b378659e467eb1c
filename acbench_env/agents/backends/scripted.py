"""A scripted backend for tests and demos: answers come from a list or a function."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from acbench_env.core.errors import ConfigError
from acbench_env.core.protocols import Completion, GenerationRequest
from acbench_env.core.types import Message

Responder = Callable[[tuple[Message, ...]], str]


class ScriptedBackend:
    """Replays ``responses`` in order (cycling), or calls ``responses(messages)``.

    Token counts are whitespace-separated words (there is no tokenizer);
    ``finish_reason`` is always ``"stop"``.
    """

    name = "scripted"

    def __init__(
        self,
        responses: Sequence[str] | Responder,
        model_id: str = "scripted",
        compression: dict[str, Any] | None = None,
    ) -> None:
        if not callable(responses) and len(responses) == 0:
            raise ConfigError("ScriptedBackend needs at least one response")
        self._responses = responses
        self._calls = 0
        self.model_id = model_id
        self.compression = compression

    def _next(self, messages: tuple[Message, ...]) -> str:
        if callable(self._responses):
            return str(self._responses(messages))
        text = self._responses[self._calls % len(self._responses)]
        self._calls += 1
        return text

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        out = []
        for req in requests:
            text = self._next(req.messages)
            words = text.split()
            prompt_words = sum(len(m["content"].split()) for m in req.messages)
            out.append(
                Completion(
                    text=text,
                    token_ids=tuple(range(len(words))),
                    prompt_tokens=prompt_words,
                    finish_reason="stop",
                    logprobs=tuple(0.0 for _ in words) if req.logprobs else None,
                )
            )
        return out

    def close(self) -> None:
        return None
