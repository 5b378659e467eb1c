"""A small in-process fake OpenAI-compatible server, with injectable faults.

NOT vLLM: it checks the wire protocol, retries, timeouts and error messages of the
``openai`` backend. A chat completion answers the last user message reversed. Faults
(``FakeState.fault``, applied to the next ``fault_count`` chat requests, or all of them
while ``fault_count`` is negative):

- ``"503"``: HTTP 503 ``overloaded`` (retryable);
- ``"stall"``: no answer for ``stall_s`` seconds (past the client's timeout);
- ``"slow"``: the answer comes after ``delay_s`` seconds (within the timeout);
- ``"reset"``: the headers and half the body, then the connection is reset (TCP RST);
- ``"trickle"``: the body one byte every ``delay_s`` seconds (each read is within the
  timeout, the whole answer is not);
- ``"malformed"``: a 200 answer that is not JSON; ``"too_long"``: HTTP 400 (context);
- ``"die"``: the server shuts down (its port then refuses connections).

``inject(fault, count, after=n)`` lets ``n`` more chat requests through first.

The real vLLM server is exercised in tests/integration/test_vllm_server.py.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeState:
    def __init__(self) -> None:
        self.mode = "ok"
        self.failures_left = 0  # HTTP 503 answers before the next success
        self.fault: str | None = None
        self.fault_count = 0
        self.fault_after = 0
        self.server: ThreadingHTTPServer | None = None
        self.stall_s = 30.0
        self.delay_s = 0.05
        self.bodies: list[dict[str, Any]] = []
        #: Returned as the reply's ``tool_calls`` for requests that carry ``tools`` (a server
        #: whose tool-call parser read calls); None: text only (a server that found none).
        self.tool_calls: list[dict[str, Any]] | None = None
        self.faults_injected = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def inject(self, fault: str | None, count: int = -1, after: int = 0) -> None:
        with self.lock:
            self.fault, self.fault_count, self.fault_after = fault, count, after

    def _take_fault(self) -> str | None:
        with self.lock:
            if self.failures_left > 0:
                self.failures_left -= 1
                self.faults_injected += 1
                return "503"
            if self.fault is None or self.fault_count == 0:
                return None
            if self.fault_after > 0:
                self.fault_after -= 1
                return None
            if self.fault_count > 0:
                self.fault_count -= 1
            self.faults_injected += 1
            return self.fault


def _handler(state: FakeState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return None

        def _send(self, code: int, payload: bytes) -> None:
            try:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (timed out) first

        def do_GET(self) -> None:
            models = {"data": [{"id": "default", "owned_by": "vllm"}]}
            self._send(200, json.dumps(models).encode())

        def _reply(self, body: dict[str, Any]) -> bytes:
            text = body["messages"][-1]["content"][::-1]
            choice: dict[str, Any] = {
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "token_ids": [1, 2, 3],
            }
            if body.get("tools") and state.tool_calls is not None:
                choice["message"] = {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": state.tool_calls,
                }
                choice["finish_reason"] = "tool_calls"
            if body.get("logprobs"):
                choice["logprobs"] = {"content": [{"logprob": -0.5}] * 3}
            reply = {
                "choices": [choice],
                "usage": {"prompt_tokens": 7, "completion_tokens": 3},
                "prompt_token_ids": [9, 9, 9, 9, 9, 9, 9],
            }
            return json.dumps(reply).encode()

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with state.lock:
                state.bodies.append(body)
            fault = state._take_fault()
            if fault == "503":
                self._send(503, b'{"error": {"message": "overloaded"}}')
                return
            if fault == "die":
                server = state.server
                if server is not None:
                    state.server = None
                    threading.Thread(target=_stop, args=(server,), daemon=True).start()
                self.close_connection = True
                return
            if fault == "stall":
                state.stop.wait(state.stall_s)
                return
            if fault == "slow":
                state.stop.wait(state.delay_s)
            payload = self._reply(body)
            if fault == "reset":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                # SO_LINGER 0: close() sends a TCP RST instead of a FIN.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.connection.close()
                self.close_connection = True
                return
            if fault == "trickle":
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    for i in range(len(payload)):
                        if state.stop.wait(state.delay_s):
                            return
                        self.wfile.write(payload[i : i + 1])
                        self.wfile.flush()
                except OSError:
                    return
                return
            if fault == "malformed" or state.mode == "malformed":
                self._send(200, b"{not json")
                return
            if fault == "too_long" or state.mode == "too_long":
                msg = {"error": {"message": "maximum context length is 8192 tokens"}}
                self._send(400, json.dumps(msg).encode())
                return
            self._send(200, payload)

    return Handler


def _stop(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


@contextmanager
def serve_fake(port: int = 0, state: FakeState | None = None) -> Iterator[tuple[str, FakeState]]:
    """Run the fake server on 127.0.0.1 (``port`` 0: a free one) until the block ends."""
    state = state or FakeState()
    state.stop.clear()
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(state))
    state.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", state
    finally:
        state.stop.set()
        if state.server is server:
            state.server = None
            _stop(server)
