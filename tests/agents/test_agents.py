"""Agents and backends that need no model: policy over scripted, oracle, lazy backends."""

from __future__ import annotations

import importlib.util

import gymnasium
import pytest

from acbench_env.agents import LLMPolicyAgent, OracleAgent
from acbench_env.agents.backends import create_backend
from acbench_env.agents.backends.scripted import ScriptedBackend
from acbench_env.core.errors import ConfigError, MissingDependencyError
from acbench_env.core.protocols import GenerationRequest


def test_policy_agent_keeps_the_conversation() -> None:
    seen = []
    backend = ScriptedBackend(lambda msgs: seen.append(msgs) or f"turn {len(msgs)}")
    agent = LLMPolicyAgent(backend, system_prompt="be brief", max_new_tokens=8)
    assert agent.act("hello") == "turn 2"
    assert agent.act("again") == "turn 4"
    assert [m["role"] for m in seen[-1]] == ["system", "user", "assistant", "user"]
    agent.reset()
    agent.act("fresh")
    assert [m["content"] for m in seen[-1]] == ["be brief", "fresh"]
    assert agent.info.decoding["max_new_tokens"] == 8


def test_policy_agent_validates_decoding() -> None:
    backend = ScriptedBackend(["x"])
    for kwargs in ({"max_new_tokens": 0}, {"temperature": -1.0}, {"top_p": 0.0}):
        with pytest.raises(ConfigError):
            LLMPolicyAgent(backend, **kwargs)


def test_scripted_backend_cycles_and_counts() -> None:
    backend = ScriptedBackend(["a b", "c"])
    req = GenerationRequest(messages=({"role": "user", "content": "one two three"},), logprobs=True)
    out = backend.generate([req, req, req])
    assert [c.text for c in out] == ["a b", "c", "a b"]
    assert out[0].prompt_tokens == 3 and out[0].logprobs == (0.0, 0.0)
    with pytest.raises(ConfigError):
        ScriptedBackend([])


def test_oracle_needs_the_env(word_counter) -> None:
    with pytest.raises(ConfigError, match="bind"):
        OracleAgent().act("x")
    env = gymnasium.make("acbench/Needle-v0", context_length=200, tokenizer=word_counter)
    agent = OracleAgent()
    agent.bind(env)
    obs, _ = env.reset(seed=1)
    _, reward, *_ = env.step(agent.act(obs))
    assert reward == 1.0


def test_missing_optional_dependency_names_the_extra(monkeypatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    with pytest.raises(MissingDependencyError, match=r"pip install 'acbench-env\[hf\]'"):
        create_backend("transformers", model="default")


def test_unknown_backend() -> None:
    with pytest.raises(ConfigError, match="unknown backend"):
        create_backend("nope")


def test_generation_budget_comes_from_the_env_unless_set() -> None:
    from acbench_env.experiments.runner import run_episodes

    budgets: list[int] = []

    class Recording(ScriptedBackend):
        def generate(self, requests):
            budgets.extend(r.max_new_tokens for r in requests)
            return super().generate(requests)

    def run(**kwargs) -> list[int]:
        budgets.clear()
        agent = LLMPolicyAgent(Recording(lambda messages: "look"), **kwargs)
        run_episodes(
            "acbench/BlocksWorld-v0", agent, episodes=1, seed=0, env_kwargs={"max_steps": 2}
        )
        run_episodes(
            "acbench/Workflow-v0", agent, episodes=1, seed=0, env_kwargs={"similarity": "lexical"}
        )
        return list(budgets)

    assert run() == [32, 32, 256]  # the simulator's and the workflow env's own budgets
    assert run(max_new_tokens=8) == [8, 8, 8]
    assert LLMPolicyAgent(Recording(lambda m: "x")).info.decoding["max_new_tokens"] == "env"
