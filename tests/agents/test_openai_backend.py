"""The openai backend against a small in-process fake server (protocol and error paths).

The fake server (tests/agents/fake_openai_server.py) is NOT vLLM: it checks the wire
protocol, retries, timeouts and error messages. The real vLLM server is exercised in
tests/integration/test_vllm_server.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from acbench_env.agents import LLMPolicyAgent
from acbench_env.agents.backends import GenerationRequest, create_backend
from acbench_env.agents.serve import free_port
from acbench_env.core.errors import BackendError, ConfigError
from acbench_env.experiments.runner import run_episodes
from tests.agents.fake_openai_server import FakeState, serve_fake


@pytest.fixture
def fake_server() -> Iterator[tuple[str, FakeState]]:
    with serve_fake() as (url, state):
        yield url, state


def _req(text: str, **kw: Any) -> GenerationRequest:
    return GenerationRequest(messages=({"role": "user", "content": text},), **kw)


def test_generate_in_order_with_seed_logprobs_and_token_ids(fake_server) -> None:
    url, state = fake_server
    backend = create_backend("openai", model="default", base_url=url)
    outs = backend.generate(
        [_req(f"abc{i}", seed=i, logprobs=True, return_token_ids=True) for i in range(8)]
    )
    assert [o.text for o in outs] == [f"abc{i}"[::-1] for i in range(8)]
    assert outs[0].logprobs == (-0.5, -0.5, -0.5)
    assert outs[0].prompt_token_ids == (9,) * 7
    assert outs[0].token_ids == (1, 2, 3)
    assert sorted(b["seed"] for b in state.bodies) == list(range(8))
    assert all(b["return_token_ids"] for b in state.bodies)
    backend.close()


def test_retries_transient_errors(fake_server) -> None:
    url, state = fake_server
    backend = create_backend("openai", model="default", base_url=url, backoff_s=0.01)
    state.failures_left = 2
    assert backend.generate([_req("xy")])[0].text == "yx"
    state.failures_left = 10
    with pytest.raises(BackendError, match="after 4 attempts"):
        backend.generate([_req("xy")])


def test_malformed_json_and_context_overflow_are_clear_errors(fake_server) -> None:
    url, state = fake_server
    backend = create_backend("openai", model="default", base_url=url)
    state.mode = "malformed"
    with pytest.raises(BackendError, match="malformed JSON"):
        backend.generate([_req("xy")])
    state.mode = "too_long"
    with pytest.raises(BackendError, match="HTTP 400.*context length"):
        backend.generate([_req("xy")])


def test_wrong_model_name(fake_server) -> None:
    url, _ = fake_server
    with pytest.raises(ConfigError, match="does not serve model 'nope'.*'default'"):
        create_backend("openai", model="nope", base_url=url)


def test_unreachable_server_fails_fast() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(BackendError, match="cannot reach.*acbench serve"):
        create_backend("openai", model="default", base_url=url, max_retries=1, backoff_s=0.01)


def test_bad_base_url() -> None:
    with pytest.raises(ConfigError, match="http://"):
        create_backend("openai", base_url="localhost:8000", check_model=False)


def test_runner_records_tokens(fake_server, tmp_path) -> None:
    url, _ = fake_server
    backend = create_backend("openai", model="default", base_url=url)
    agent = LLMPolicyAgent(backend, record_tokens=True, max_new_tokens=8)
    res = run_episodes(
        "acbench/Needle-v0",
        agent,
        episodes=3,
        seed=0,
        out=tmp_path / "r.jsonl",
        env_kwargs={"context_length": 128},
        batch_size=3,
    )
    step = res.trajectories[0].steps[0]
    assert step.prompt_token_ids == (9,) * 7
    assert step.completion_token_ids == (1, 2, 3)
    assert step.logprobs == (-0.5, -0.5, -0.5)


def _native_env_kwargs() -> dict[str, Any]:
    return {"categories": ["single"], "num_tasks": 1, "tool_format": "native", "few_shot": 0}


def test_native_tool_calls_are_sent_as_tools_and_read_from_tool_calls(fake_server) -> None:
    import hashlib
    import json

    from acbench_env.agents.templates import template_path
    from acbench_env.environments.function_call import FunctionCallEnv
    from acbench_env.tools.parsing import parse_tool_calls

    url, state = fake_server
    env = FunctionCallEnv(**_native_env_kwargs())
    obs, info = env.reset(options={"task_index": 0})
    assert "Tools:" not in obs and info["tools"][0]["type"] == "function"
    (call,) = parse_tool_calls(env.oracle_action()).calls or ()
    state.tool_calls = [
        {
            "id": "call_0",
            "type": "function",
            "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
        }
    ]
    backend = create_backend(
        "openai",
        model="default",
        base_url=url,
        tool_parser="hermes",
        chat_template=template_path(),
    )
    res = run_episodes(
        "acbench/FunctionCall-v0",
        LLMPolicyAgent(backend),
        episodes=1,
        seed=0,
        env_kwargs=_native_env_kwargs(),
    )
    (traj,) = res.trajectories
    step = traj.steps[0]
    assert traj.score == 1.0 and step.info["tool_format"] == "native"
    assert step.info["api_tool_calls"] == [call.to_dict()]
    assert step.info["call_format"] == "hermes"  # the calls, as <tool_call> blocks
    decoding = traj.model.decoding
    assert decoding["tool_parser"] == "hermes"
    assert (
        decoding["chat_template_sha256"] == hashlib.sha256(template_path().read_bytes()).hexdigest()
    )
    body = state.bodies[-1]
    assert body["tool_choice"] == "auto" and body["tools"] == info["tools"]
    assert "Tools:" not in body["messages"][-1]["content"]


def test_native_falls_back_to_the_text_when_the_server_returns_no_tool_calls(
    fake_server,
) -> None:
    url, state = fake_server
    state.tool_calls = None  # the fake answers with the reversed prompt: text, no call
    backend = create_backend("openai", model="default", base_url=url)
    res = run_episodes(
        "acbench/FunctionCall-v0",
        LLMPolicyAgent(backend),
        episodes=1,
        seed=0,
        env_kwargs=_native_env_kwargs(),
    )
    step = res.trajectories[0].steps[0]
    assert "api_tool_calls" not in step.info and step.info["call_format"] == "text"
    assert step.info["error_category"] == "no_call" and not step.format_failure
    assert res.trajectories[0].model.decoding["tool_parser"] is None
