"""Isolation: stepping an environment touches no host file, socket or process, and no
episode observes another's state.

Every registered env is stepped with path traversal, absolute paths, ``__import__``/``eval``
payloads (as plain text, as tool calls to its own tools and to made-up ones, and as
simulator commands), while :func:`tests.reliability.isolation.watch` records host access;
a sentinel file outside must stay untouched and its content must never be shown.
"""

from __future__ import annotations

import json

import gymnasium
import pytest

from acbench_env.agents import OracleAgent
from acbench_env.core.jsonl import to_jsonable
from acbench_env.core.registry import env_ids
from acbench_env.tools.sandbox import MAX_RESULT_CHARS, Sandbox, Tool, ToolCall
from tests.reliability.isolation import probe_env, tool_names, watch

ALL_ENVS = env_ids()


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_stepping_does_not_touch_the_host(env_id: str, tmp_path, monkeypatch) -> None:
    result = probe_env(env_id, tmp_path, monkeypatch.chdir)
    assert result.host_calls == [], f"{env_id} touched the host: {result.host_calls[:5]}"
    assert result.sentinel_intact and not result.secret_shown and not result.new_files
    assert result.attempts > 50


def test_oversized_tool_outputs_are_capped() -> None:
    big = Tool("big", "A huge answer.", {"type": "object", "properties": {}}, lambda: "x" * 10**7)
    box = Sandbox([big])
    assert len(box.call(ToolCall("big", {})).observation()) <= MAX_RESULT_CHARS + 20
    huge_name = "n" * 200_000
    assert len(box.call(ToolCall(huge_name, {})).observation()) <= MAX_RESULT_CHARS + 20
    typed = Tool(
        "typed",
        "Takes an integer.",
        {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]},
        lambda n: n,
    )
    box = Sandbox([typed])
    result = box.call(ToolCall("typed", {"n": list(range(100_000))}))
    assert result.error_kind == "invalid_arguments"
    assert len(result.observation()) <= MAX_RESULT_CHARS + 20


def test_scenario_state_growth_is_shown_capped() -> None:
    env = gymnasium.make("acbench/Scenario-v0")
    obs, _ = env.reset(options={"task_index": 0})
    names = tool_names(obs)
    assert "add_to_list" in names
    item = "z" * 90_000
    for _ in range(env.unwrapped.max_steps - 1):
        obs, _, terminated, truncated, _ = env.step(
            f'<tool_call>{{"name": "add_to_list", "arguments": {{"item": "{item}"}}}}</tool_call>'
        )
        assert len(obs) <= MAX_RESULT_CHARS + 100
        if terminated or truncated:
            break
    env.close()


def _oracle_trace(env: gymnasium.Env, seed: int) -> list[str]:
    """The whole oracle episode on seed ``seed``, as comparable JSON strings."""
    agent = OracleAgent()
    agent.bind(env)
    obs, info = env.reset(seed=seed)
    agent.reset()
    trace = [json.dumps(to_jsonable([obs, info]), sort_keys=True)]
    done = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(agent.act(obs))
        trace.append(json.dumps(to_jsonable([obs, reward, terminated, info]), sort_keys=True))
        done = terminated or truncated
    return trace


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_episodes_do_not_observe_each_other(env_id: str) -> None:
    seed = 5
    reference = _oracle_trace(gymnasium.make(env_id), seed)
    # Two envs on the same task, stepped in turn: one mutates its state with the oracle's
    # (state-changing) actions and garbage; the other must see exactly the reference.
    a, b = gymnasium.make(env_id), gymnasium.make(env_id)
    oracle_a, oracle_b = OracleAgent(), OracleAgent()
    oracle_a.bind(a)
    oracle_b.bind(b)
    obs_a, _ = a.reset(seed=seed)
    obs_b, info_b = b.reset(seed=seed)
    trace = [json.dumps(to_jsonable([obs_b, info_b]), sort_keys=True)]
    done_a = done_b = False
    while not done_b:
        if not done_a:
            obs_a, _, ta, tra, _ = a.step(oracle_a.act(obs_a))
            done_a = ta or tra
        if not done_a:
            _, _, ta, tra, _ = a.step("<tool_call>{bad json ../../etc/passwd")
            done_a = ta or tra
        obs_b, reward, terminated, truncated, info = b.step(oracle_b.act(obs_b))
        trace.append(json.dumps(to_jsonable([obs_b, reward, terminated, info]), sort_keys=True))
        done_b = terminated or truncated
    assert trace == reference
    # The dirty env, reset to the same seed, starts over as if new (no state carried over).
    assert _oracle_trace(a, seed) == reference


def test_the_watch_sees_escapes(tmp_path) -> None:
    """The recorder is not blind: a (trusted, user-written) tool that escapes is caught."""
    sentinel = tmp_path / "secret.txt"
    sentinel.write_text("x")

    def leaky(kind: str) -> str:
        """Escapes the sandbox.

        Args:
            kind: how.
        """
        import socket
        import subprocess

        if kind == "read":
            with open(sentinel) as fh:
                return fh.read()
        if kind == "socket":
            socket.socket()
        if kind == "process":
            subprocess.Popen(["true"])
        return str(eval("1 + 1"))

    box = Sandbox([Tool.from_function(leaky)])
    with watch() as calls:
        results = [box.call(ToolCall("leaky", {"kind": k})) for k in ("read", "socket", "process")]
        box.call(ToolCall("leaky", {"kind": "eval"}))
    names = {name for name, _ in calls}
    assert {"builtins.open", "socket.socket", "subprocess.Popen", "compile"} <= names
    assert all(r.error_kind == "tool_error" and "PermissionError" in r.error for r in results)
