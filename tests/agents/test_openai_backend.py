"""The openai backend against a small in-process fake server (protocol and error paths).

The fake server below is NOT vLLM: it checks the wire protocol, retries, timeouts and error
messages. The real vLLM server is exercised in tests/integration/test_vllm.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from acbench_env.agents import LLMPolicyAgent
from acbench_env.agents.backends import GenerationRequest, create_backend
from acbench_env.agents.serve import free_port
from acbench_env.core.errors import BackendError, ConfigError
from acbench_env.core.runner import run_episodes


class FakeState:
    def __init__(self) -> None:
        self.mode = "ok"
        self.failures_left = 0
        self.bodies: list[dict[str, Any]] = []
        self.lock = threading.Lock()


def _handler(state: FakeState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def _send(self, code: int, payload: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:
            models = {"data": [{"id": "default", "owned_by": "vllm"}]}
            self._send(200, json.dumps(models).encode())

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.bodies.append(body)
                if state.failures_left > 0:
                    state.failures_left -= 1
                    self._send(503, b'{"error": {"message": "overloaded"}}')
                    return
            if state.mode == "malformed":
                self._send(200, b"{not json")
                return
            if state.mode == "too_long":
                msg = {"error": {"message": "maximum context length is 8192 tokens"}}
                self._send(400, json.dumps(msg).encode())
                return
            text = body["messages"][-1]["content"][::-1]
            choice: dict[str, Any] = {
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "token_ids": [1, 2, 3],
            }
            if body.get("logprobs"):
                choice["logprobs"] = {"content": [{"logprob": -0.5}] * 3}
            reply = {
                "choices": [choice],
                "usage": {"prompt_tokens": 7, "completion_tokens": 3},
                "prompt_token_ids": [9, 9, 9, 9, 9, 9, 9],
            }
            self._send(200, json.dumps(reply).encode())

    return Handler


@pytest.fixture
def fake_server() -> Iterator[tuple[str, FakeState]]:
    state = FakeState()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    finally:
        server.shutdown()
        server.server_close()


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
