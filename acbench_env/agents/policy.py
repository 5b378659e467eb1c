"""The LLM policy agent: a model behind a backend, prompted with its chat template."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from acbench_env.agents.base import AgentInput, AgentReply, BaseAgent
from acbench_env.core.errors import ConfigError
from acbench_env.core.protocols import Backend, Completion, GenerationRequest
from acbench_env.core.types import Message, ModelInfo
from acbench_env.core.validation import positive_int

#: Generation budget when neither the agent nor the environment sets one.
DEFAULT_ANSWER_TOKENS = 64


class LLMPolicyAgent(BaseAgent):
    """Sends the conversation to a backend, which renders it with the model's chat template.

    Greedy decoding by default (``temperature=0``). With sampling, each request carries
    its own seed (from the runner), so the same run seed reproduces the same samples.
    ``max_new_tokens=None`` (the default) lets each environment set the budget
    (``TextEnv.answer_tokens``, passed in :class:`AgentInput`; 64 when it says nothing).

    ``record_tokens=True`` asks the backend for the prompt's and the completion's token ids
    and the completion's logprobs; the runner then stores them in every
    :class:`~acbench_env.core.types.StepRecord` (RL-ready trajectories).
    """

    def __init__(
        self,
        backend: Backend,
        *,
        max_new_tokens: int | None = None,
        temperature: float = 0.0,
        top_p: float = 1.0,
        system_prompt: str | None = None,
        logprobs: bool = False,
        record_tokens: bool = False,
    ) -> None:
        super().__init__()
        if max_new_tokens is not None:
            positive_int("max_new_tokens", max_new_tokens)
        if temperature < 0:
            raise ConfigError(f"temperature must be >= 0, got {temperature}")
        if not 0 < top_p <= 1:
            raise ConfigError(f"top_p must be in (0, 1], got {top_p}")
        self.backend = backend
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self.top_p = top_p
        self.system_prompt = system_prompt
        self.logprobs = logprobs or record_tokens
        self.record_tokens = record_tokens

    @property
    def info(self) -> ModelInfo:
        decoding: dict[str, Any] = {
            "max_new_tokens": "env" if self.max_new_tokens is None else self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
        }
        if self.record_tokens:
            decoding["record_tokens"] = True
        tool_info = getattr(self.backend, "tool_call_info", None)
        if callable(tool_info):
            # Which server-side tool-call parser and which chat templates rendered the
            # requests (the one for requests without tools, the one for native tool requests).
            decoding.update(tool_info())
        return ModelInfo(
            model_id=self.backend.model_id,
            backend=self.backend.name,
            compression=self.backend.compression,
            decoding=decoding,
            runtime=dict(getattr(self.backend, "runtime", None) or {}),
        )

    def _messages(self, inp: AgentInput) -> tuple[Message, ...]:
        if self.system_prompt is None:
            return inp.messages
        return ({"role": "system", "content": self.system_prompt}, *inp.messages)

    def _budget(self, inp: AgentInput) -> int:
        if self.max_new_tokens is not None:
            return self.max_new_tokens
        return inp.answer_tokens or DEFAULT_ANSWER_TOKENS

    def requests(self, inputs: Sequence[AgentInput]) -> list[GenerationRequest]:
        """The backend requests for ``inputs`` (what :meth:`respond` sends). A runner that
        drives several agents over one backend sends their requests in one batch."""
        return [
            GenerationRequest(
                messages=self._messages(inp),
                max_new_tokens=self._budget(inp),
                temperature=self.temperature,
                top_p=self.top_p,
                seed=inp.seed,
                logprobs=self.logprobs,
                return_token_ids=self.record_tokens,
                tools=inp.tools or None,
            )
            for inp in inputs
        ]

    def replies(self, completions: Sequence[Completion]) -> list[AgentReply]:
        """The agent's replies for the backend's ``completions`` of :meth:`requests`."""
        return [
            AgentReply(
                text=c.text,
                prompt_tokens=c.prompt_tokens,
                completion_tokens=len(c.token_ids),
                token_ids=c.token_ids,
                logprobs=c.logprobs,
                finish_reason=c.finish_reason,
                prompt_token_ids=c.prompt_token_ids,
                tool_calls=c.tool_calls,
            )
            for c in completions
        ]

    def respond(self, inputs: Sequence[AgentInput]) -> list[AgentReply]:
        return self.replies(self.backend.generate(self.requests(inputs)))
