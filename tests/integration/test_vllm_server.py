"""The real vLLM OpenAI-compatible server (CPU, default model, loopback) and the openai backend.

One server is shared by the module (start-up ~30 s on an idle machine); the last test kills
it on purpose. Skipped when vLLM is not installed (``scripts/setup.sh --dev`` installs it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("vllm")

from acbench_env.agents import LLMPolicyAgent  # noqa: E402
from acbench_env.agents.backends import GenerationRequest, create_backend  # noqa: E402
from acbench_env.agents.serve import ServerConfig, VLLMServer, free_port  # noqa: E402
from acbench_env.core.errors import BackendError, ConfigError  # noqa: E402
from acbench_env.experiments.runner import run_episodes  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.vllm]

NEEDLE = {"context_length": 192}
TOOLS = (
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather of a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    },
)


def _start(tmp: Path) -> VLLMServer:
    cfg = ServerConfig(model="default", port=free_port(), kv_cache_gb=1, max_model_len=2048)
    server = VLLMServer(cfg, log=tmp / f"vllm-{cfg.port}.log")
    server.start()
    try:
        server.wait_healthy(timeout_s=400)
    except BaseException:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VLLMServer]:
    srv = _start(tmp_path_factory.mktemp("vllm"))
    try:
        yield srv
    finally:
        srv.stop()


def _user(text: str) -> tuple:
    return ({"role": "user", "content": text},)


def test_serves_default_model_on_loopback(server: VLLMServer) -> None:
    assert server.cfg.host == "127.0.0.1"
    assert server.served_models() == ["default"]
    with pytest.raises(ConfigError, match="does not serve model 'other'"):
        create_backend("openai", model="other", base_url=server.base_url)


def test_logprobs_and_token_ids(server: VLLMServer) -> None:
    from transformers import AutoTokenizer

    from acbench_env.core.models import resolve_model

    backend = create_backend("openai", model="default", base_url=server.base_url)
    msgs = _user("What is the capital of France?")
    [out] = backend.generate(
        [GenerationRequest(messages=msgs, max_new_tokens=12, logprobs=True, return_token_ids=True)]
    )
    assert out.logprobs is not None and len(out.logprobs) == len(out.token_ids) > 0
    assert all(lp <= 0.0 for lp in out.logprobs)
    tok = AutoTokenizer.from_pretrained(resolve_model("default"))
    text = tok.apply_chat_template(list(msgs), tokenize=False, add_generation_prompt=True)
    assert out.prompt_token_ids == tuple(tok(text, add_special_tokens=False)["input_ids"])
    assert out.prompt_tokens == len(out.prompt_token_ids)
    assert tok.decode(out.token_ids, skip_special_tokens=True).strip() == out.text.strip()


def test_tool_call_request_renders_tools(server: VLLMServer) -> None:
    backend = create_backend("openai", model="default", base_url=server.base_url)
    msgs = _user("What is the weather in Paris? Call the tool.")
    plain, with_tools = backend.generate(
        [
            GenerationRequest(messages=msgs, max_new_tokens=40),
            GenerationRequest(messages=msgs, max_new_tokens=40, tools=TOOLS),
        ]
    )
    # The shipped template puts the tool's JSON schema into the prompt.
    assert with_tools.prompt_tokens > plain.prompt_tokens + 40
    assert isinstance(with_tools.text, str)


def test_seeded_sampling_is_reproducible(server: VLLMServer) -> None:
    backend = create_backend("openai", model="default", base_url=server.base_url)
    req = GenerationRequest(messages=_user("Tell me a story."), max_new_tokens=16, temperature=1.0)
    a = backend.generate([dataclasses.replace(req, seed=7)] * 2)
    assert a[0].text == a[1].text


def test_batched_equals_sequential_greedy(server: VLLMServer, tmp_path: Path) -> None:
    backend = create_backend("openai", model="default", base_url=server.base_url)
    agent = LLMPolicyAgent(backend, max_new_tokens=16)
    runs = {
        bs: run_episodes(
            "acbench/Needle-v0",
            agent,
            episodes=6,
            seed=0,
            out=tmp_path / f"b{bs}.jsonl",
            env_kwargs=NEEDLE,
            batch_size=bs,
        )
        for bs in (1, 6)
    }
    actions = {
        bs: [s.raw_output for t in r.trajectories for s in t.steps] for bs, r in runs.items()
    }
    assert actions[1] == actions[6]
    assert all(a for a in actions[1])


def test_function_call_native_tool_format_records_calls_from_tool_calls(
    server: VLLMServer,
) -> None:
    """FunctionCall-v0 with tool_format="native": the tools go as the API's tools, vLLM's
    hermes parser returns tool_calls, and each step records them (api_tool_calls)."""
    import hashlib

    backend = create_backend(
        "openai",
        model="default",
        base_url=server.base_url,
        timeout=900,
        **server.cfg.client_settings(),
    )
    kwargs = {"tool_format": "native", "categories": ["single", "parallel"]}
    res = run_episodes(
        "acbench/FunctionCall-v0",
        LLMPolicyAgent(backend),
        episodes=4,
        seed=0,
        env_kwargs=kwargs,
        batch_size=4,
    )
    steps = [t.steps[0] for t in res.trajectories]
    from_api = [s for s in steps if "api_tool_calls" in s.info]
    assert from_api, [s.raw_output for s in steps]  # the server parsed calls (tool_calls)
    for step in from_api:
        calls = step.info["api_tool_calls"]
        assert calls and all(isinstance(c["name"], str) for c in calls)
        assert step.info["call_format"] == "hermes" and step.parsed_action["calls"] == calls
    for traj in res.trajectories:
        assert traj.steps[0].info["tool_format"] == "native"
        assert traj.model.decoding["tool_parser"] == "hermes"
        assert (
            traj.model.decoding["chat_template_sha256"]
            == hashlib.sha256(server.cfg.template_file().read_bytes()).hexdigest()
        )


def test_killed_server_fails_clearly_then_resumes(
    server: VLLMServer, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Runs last: kills the shared server after the first batch, then resumes on a new one."""
    backend = create_backend(
        "openai", model="default", base_url=server.base_url, max_retries=1, backoff_s=0.1
    )
    calls = {"n": 0}
    generate = backend.generate

    def generate_then_kill(requests):  # the server dies right after answering the first batch
        out = generate(requests)
        calls["n"] += 1
        if calls["n"] == 1:
            server.kill()
        return out

    backend.generate = generate_then_kill  # type: ignore[method-assign]
    out = tmp_path / "run.jsonl"
    agent = LLMPolicyAgent(backend, max_new_tokens=8)
    with pytest.raises(BackendError, match="cannot reach"):
        run_episodes(
            "acbench/Needle-v0", agent, episodes=6, seed=0, out=out, env_kwargs=NEEDLE, batch_size=2
        )
    second = _start(tmp_path_factory.mktemp("vllm2"))
    try:
        backend2 = create_backend("openai", model="default", base_url=second.base_url)
        res = run_episodes(
            "acbench/Needle-v0",
            LLMPolicyAgent(backend2, max_new_tokens=8),
            episodes=6,
            seed=0,
            out=out,
            env_kwargs=NEEDLE,
            batch_size=2,
        )
    finally:
        second.stop()
    assert res.resumed_episodes == 2 and res.new_episodes == 4
    from acbench_env.core.jsonl import read_trajectories

    seeds = [t.seed for t in read_trajectories(out)]
    assert sorted(seeds) == list(range(6))
