"""Agents: the protocol, the LLM policy agent, the oracle, and the backends they use."""

from acbench_env.agents.base import Agent, AgentInput, AgentReply, BaseAgent
from acbench_env.agents.oracle import OracleAgent
from acbench_env.agents.policy import LLMPolicyAgent

__all__ = ["Agent", "AgentInput", "AgentReply", "BaseAgent", "LLMPolicyAgent", "OracleAgent"]
