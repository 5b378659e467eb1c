"""Agents: the protocol, the LLM policy agent, the oracle, and the backends they use."""

from acbench_env.agents.base import Agent, AgentInput, AgentReply, BaseAgent
from acbench_env.agents.oracle import OracleAgent
from acbench_env.agents.policy import LLMPolicyAgent

#: Agent kinds the CLI offers (``--agent``): name -> what acts.
AGENT_KINDS: dict[str, str] = {
    "llm": "the model (LLMPolicyAgent over a backend)",
    "oracle": "the environment's correct actions (OracleAgent)",
}

__all__ = [
    "AGENT_KINDS",
    "Agent",
    "AgentInput",
    "AgentReply",
    "BaseAgent",
    "LLMPolicyAgent",
    "OracleAgent",
]
