"""The oracle agent: plays each environment's ``oracle_action``; it must score the maximum."""

from __future__ import annotations

from collections.abc import Sequence

from acbench_env.agents.base import AgentInput, AgentReply, BaseAgent
from acbench_env.core.errors import ConfigError
from acbench_env.core.types import ModelInfo


class OracleAgent(BaseAgent):
    """Answers every request with the environment's correct next action."""

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(model_id="oracle", backend="oracle")

    def respond(self, inputs: Sequence[AgentInput]) -> list[AgentReply]:
        return [AgentReply(text=self.answer(inp)) for inp in inputs]

    def answer(self, inp: AgentInput) -> str:
        """The text answering one request: here the environment's correct next action."""
        env = getattr(inp.env, "unwrapped", inp.env)
        if env is None or not hasattr(env, "oracle_action"):
            raise ConfigError(
                "OracleAgent needs the environment: run it through the rollout runner, "
                "or call agent.bind(env) before agent.act(...)"
            )
        return str(env.oracle_action())
