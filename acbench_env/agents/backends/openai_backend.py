"""The ``openai`` backend: any OpenAI-compatible chat-completions endpoint over HTTP.

Made for a vLLM server (``acbench serve``), works with any server that speaks the
``/v1/chat/completions`` protocol. Only the standard library is used (``urllib`` in a
thread pool), so the backend has no optional dependency.

- A batch of requests is sent as concurrent HTTP requests (``concurrency`` at a time); the
  server batches them itself.
- Every call has a timeout (``timeout`` seconds, for the connection and for the whole
  answer: a server that trickles its answer is cut off too); connection failures,
  resets, timeouts, HTTP 429 and 5xx answers are retried ``max_retries`` times with
  exponential backoff; anything else (a 4xx answer such as a prompt past the context
  window) fails at once.
- A failure raises :class:`~acbench_env.core.errors.BackendError` with the server's
  message; the rollout runner stops, the episodes finished so far are saved, and running
  again resumes.
- Per-request ``seed``, ``logprobs`` (one per generated token) and, from vLLM servers,
  token ids (``return_token_ids``) are passed through.
- Native tool calling: a request's ``tools`` (an environment asked for
  ``tool_format="native"``) are sent as the API's ``tools``; calls that the server's
  tool-call parser read (``tool_calls`` in the reply) are returned in
  ``Completion.tool_calls`` and appended to the text as
  ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``, so the environment sees the
  model's whole action. When the server returns no ``tool_calls`` (its parser found none,
  or it has none), the text is used as it is: the environment's own parser reads it (the
  text fallback).
- ``tool_parser`` and ``chat_template`` say which parser and template the server runs
  (:meth:`ServerConfig.client_settings <acbench_env.agents.serve.ServerConfig.client_settings>`
  gives them for a server started by ``acbench serve``); they are recorded with every
  trajectory (:meth:`OpenAIBackend.tool_call_info`), ``None`` when not given.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from acbench_env.core.errors import BackendError, ConfigError
from acbench_env.core.fingerprint import read_fingerprint
from acbench_env.core.protocols import Completion, GenerationRequest
from acbench_env.core.validation import int_at_least, positive_int

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"

#: HTTP statuses worth retrying (rate limit, server overloaded or restarting).
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class _Retryable(Exception):
    pass


class OpenAIBackend:
    """Chat completions from an OpenAI-compatible server at ``base_url``.

    ``model`` is the served model name (``acbench serve --model default`` serves it as
    ``"default"``); when it names a local model folder, that folder's compression
    fingerprint is recorded. On creation the server's ``/models`` list is checked: an
    unreachable server or a model name it does not serve is an error at once.
    """

    name = "openai"

    def __init__(
        self,
        model: str = "default",
        *,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str | None = None,
        timeout: float = 120.0,
        max_retries: int = 3,
        backoff_s: float = 0.5,
        concurrency: int = 64,
        batch_size: int | None = None,
        check_model: bool = True,
        tool_parser: str | None = None,
        chat_template: str | Path | None = None,
    ) -> None:
        if timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {timeout}")
        int_at_least("max_retries", max_retries, 0)
        positive_int("concurrency", concurrency)
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"base_url must start with http:// or https://, got {base_url!r} "
                "(e.g. http://127.0.0.1:8000/v1)"
            )
        del batch_size  # the server batches; accepted so every backend takes the same options
        self.base_url = base_url.rstrip("/")
        self.model_id = str(model)
        self.api_key = api_key
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff_s = float(backoff_s)
        self.concurrency = int(concurrency)
        folder = Path(self.model_id)
        self.compression = read_fingerprint(folder) if folder.is_dir() else None
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency)
        #: The server's tool-call parser (as told; recorded with each trajectory).
        self.tool_parser = tool_parser
        #: SHA-256 of the chat template the server renders with (as told), or None.
        self.chat_template_sha256 = _template_sha256(chat_template)
        #: Whether the server is vLLM (asked for token ids on every request).
        self.is_vllm = False
        if check_model:
            self._check_model()

    # -- HTTP ------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _once(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        url = self.base_url + path
        data = None if body is None else json.dumps(body).encode("utf-8")
        req = urllib.request.Request(url, data=data, method=method, headers=self._headers())
        try:
            deadline = time.monotonic() + self.timeout
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = _read_before(resp, deadline)
        except TimeoutError as exc:
            raise _Retryable(f"no complete answer from {url} within {self.timeout:g} s") from exc
        except urllib.error.HTTPError as exc:
            detail = _error_detail(exc)
            if exc.code in _RETRY_STATUS:
                raise _Retryable(f"HTTP {exc.code} from {url}: {detail}") from exc
            raise BackendError(
                f"the server at {self.base_url} refused the request (HTTP {exc.code}): {detail}"
            ) from exc
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise _Retryable(f"cannot reach {url}: {reason}") from exc
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise BackendError(
                f"the server at {self.base_url} returned malformed JSON for {path} "
                f"({raw[:80]!r}...); is it an OpenAI-compatible endpoint?"
            ) from exc

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """One call with retries and exponential backoff; every attempt has the timeout."""
        delay = self.backoff_s
        for attempt in range(self.max_retries + 1):
            try:
                return self._once(method, path, body)
            except _Retryable as exc:
                if attempt == self.max_retries:
                    raise BackendError(
                        f"{exc} (after {self.max_retries + 1} attempts, timeout {self.timeout:g} s "
                        "each); is the server running? start one with: acbench serve --model "
                        "default, or pass --base-url"
                    ) from exc
                logger.warning("%s; retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay *= 2
        raise AssertionError("unreachable")

    def _check_model(self) -> None:
        listing = self._call("GET", "/models")
        try:
            served = [str(m["id"]) for m in listing["data"]]
            self.is_vllm = any(m.get("owned_by") == "vllm" for m in listing["data"])
        except (KeyError, TypeError) as exc:
            raise BackendError(
                f"the server at {self.base_url} returned an unexpected /models reply: "
                f"{str(listing)[:120]}"
            ) from exc
        if self.model_id not in served:
            raise ConfigError(
                f"the server at {self.base_url} does not serve model {self.model_id!r}; it serves "
                f"{', '.join(map(repr, served)) or 'nothing'}: pass one of those as --model"
            )

    def tool_call_info(self) -> dict[str, Any]:
        """What rendered and parsed tool calls: recorded in every trajectory's decoding."""
        return {
            "tool_parser": self.tool_parser,
            "chat_template_sha256": self.chat_template_sha256,
            "tools_chat_template_sha256": self.chat_template_sha256,
        }

    # -- generation ------------------------------------------------------------------------

    def _body(self, req: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model_id,
            "messages": [dict(m) for m in req.messages],
            "max_tokens": req.max_new_tokens,
            "temperature": req.temperature,
            "top_p": req.top_p,
        }
        if req.seed is not None:
            body["seed"] = int(req.seed) % (2**63)
        if req.logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = 0
        if req.tools:
            body["tools"] = [_api_tool(t) for t in req.tools]
            body["tool_choice"] = "auto"
        if req.return_token_ids or self.is_vllm:
            body["return_token_ids"] = True  # vLLM extension: prompt and completion token ids
        return body

    def _one(self, req: GenerationRequest) -> Completion:
        reply = self._call("POST", "/chat/completions", self._body(req))
        try:
            return _parse_completion(reply, req)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise BackendError(
                f"the server at {self.base_url} returned a chat completion without the expected "
                f"fields ({exc!r}): {str(reply)[:160]}"
            ) from exc

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        if not requests:
            return []
        futures = [self._pool.submit(self._one, r) for r in requests]
        results: list[Completion] = []
        error: BaseException | None = None
        for fut in futures:
            try:
                results.append(fut.result())
            except BaseException as exc:  # collect every reply first, then raise the first error
                error = error or exc
        if error is not None:
            raise error
        return results

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _read_before(resp: Any, deadline: float) -> bytes:
    """The body of ``resp``, read in pieces; :class:`TimeoutError` once ``deadline`` passes.

    The socket timeout bounds each read, not the whole answer: a server that sends a byte
    now and then would otherwise keep a request open for ever.
    """
    chunks: list[bytes] = []
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("the answer did not complete in time")
        chunk = resp.read1(65536)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        raw = exc.read()
    except OSError:
        return str(exc.reason)
    try:
        data = json.loads(raw)
    except ValueError:
        return raw[:200].decode("utf-8", "replace") or str(exc.reason)
    err = data.get("error", data) if isinstance(data, dict) else data
    if isinstance(err, dict):
        return str(err.get("message") or err)[:400]
    return str(err)[:400]


def _template_sha256(template: str | Path | None) -> str | None:
    """SHA-256 of the chat template file ``template`` (None when not given)."""
    if template is None:
        return None
    try:
        text = Path(template).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the chat template file {template}: {exc}") from exc
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _api_tool(tool: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI ``tools`` entry: ``{"type": "function", "function": {...}}``."""
    if tool.get("type") == "function" and "function" in tool:
        return dict(tool)
    return {"type": "function", "function": dict(tool)}


def _api_call(call: dict[str, Any]) -> dict[str, Any]:
    """A reply's tool call as ``{"name": ..., "arguments": {...}}`` (arguments parsed)."""
    fn = call.get("function") or {}
    args = fn.get("arguments", "{}")
    try:
        args_obj = json.loads(args) if isinstance(args, str) else args
    except ValueError:
        args_obj = args
    return {"name": fn.get("name"), "arguments": args_obj}


def _tool_call_text(call: dict[str, Any]) -> str:
    payload = json.dumps(call, ensure_ascii=False)
    return f"<tool_call>\n{payload}\n</tool_call>"


def _parse_completion(reply: dict[str, Any], req: GenerationRequest) -> Completion:
    choice = reply["choices"][0]
    message = choice["message"]
    text = message.get("content") or ""
    calls = [_api_call(c) for c in message.get("tool_calls") or []]
    if calls:
        text = "\n".join([text.strip(), *(_tool_call_text(c) for c in calls)]).strip()
    usage = reply.get("usage") or {}
    token_ids = tuple(int(t) for t in choice.get("token_ids") or ())
    logprobs = None
    if req.logprobs:
        content = (choice.get("logprobs") or {}).get("content") or []
        logprobs = tuple(float(item["logprob"]) for item in content)
    prompt_ids = reply.get("prompt_token_ids") if req.return_token_ids else None
    finish = str(choice.get("finish_reason") or "stop")
    return Completion(
        text=text,
        token_ids=token_ids,
        prompt_tokens=int(usage.get("prompt_tokens", len(prompt_ids or ()))),
        finish_reason="length" if finish == "length" else "stop",
        logprobs=logprobs,
        prompt_token_ids=None if prompt_ids is None else tuple(int(t) for t in prompt_ids),
        tool_calls=tuple(calls) if calls else None,
    )
