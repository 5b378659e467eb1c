"""MCP tool servers as scenario tools.

A scenario file may declare MCP servers (see :class:`MCPServerSpec`) next to its own tools::

    mcp_servers:
      - name: inventory
        command: "{python}"             # "{python}" is the interpreter running acbench
        args: [inventory_server.py]     # cwd defaults to the scenario file's folder
        call_timeout_s: 10
        state_tool: dump_state          # read-only tool whose JSON result checks can read
      # or: - {name: remote, url: "http://127.0.0.1:8000/mcp"}

Each episode starts a fresh connection per server (a stdio server is a fresh process, so
its state starts over; a URL server keeps its state unless it names a ``reset_tool``). The
server's tools join the scenario with the schemas of its tool list; the
:class:`~acbench_env.tools.Sandbox` validates every call's arguments with ``jsonschema``
before it is forwarded. Results (structured content, else the text blocks) come back as
observations; a result flagged ``isError`` is a ``tool_error``; a call that times out, or a
server that died or hangs, is a ``server_error`` observation (the sandbox counts it), never
an exception.

The official ``mcp`` SDK (2.x) is async: each :class:`MCPConnection` runs its own event loop
on a private thread, holds the SDK's :class:`mcp.Client` open in one task on that loop, and
hands calls to it through thread-safe futures; :meth:`MCPConnection.close` ends the task,
the transport (the server process is stopped) and the thread. Nothing is shared between
connections or episodes. The SDK is imported lazily: without it, starting a server raises
:class:`~acbench_env.core.errors.MissingDependencyError` naming the ``mcp`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import sys
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from acbench_env.core.errors import ConfigError, MissingDependencyError
from acbench_env.tools.sandbox import Tool, check_json_schema

logger = logging.getLogger(__name__)

#: Extra seconds the caller waits beyond a call's own time limit before giving up on it.
_GRACE_S = 2.0


class MCPServerSpec(BaseModel):
    """One MCP server declared in a scenario file (exactly one of ``command`` or ``url``)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z_][\w\-]*$")
    command: str | None = None
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    url: str | None = Field(default=None, pattern=r"^https?://")
    #: Time limit of one tool call (seconds); a call that takes longer is a server error.
    call_timeout_s: float = Field(default=10.0, gt=0, le=600)
    #: Time limit for starting the server and listing its tools (seconds).
    start_timeout_s: float = Field(default=30.0, gt=0, le=600)
    #: Prefix added to the server's tool names (to avoid clashes with other tools).
    prefix: str = Field(default="", pattern=r"^[\w\-.]*$")
    #: Only these server tools are shown to the agent (default: all).
    include: list[str] | None = None
    #: A read-only tool (no arguments, JSON result) that success checks read the server's
    #: state through: a check's path ``"<name>.a.b"`` looks up ``a.b`` in its result.
    state_tool: str | None = None
    #: A tool called (no arguments) at the start of each episode to reset a URL server.
    reset_tool: str | None = None

    @model_validator(mode="after")
    def _one_transport(self) -> MCPServerSpec:
        if (self.command is None) == (self.url is None):
            raise ValueError("an MCP server needs exactly one of command (stdio) or url")
        if self.url is not None and (self.args or self.env or self.cwd):
            raise ValueError("args, env and cwd apply to a command server, not to a url")
        return self


@dataclass(frozen=True)
class MCPTool:
    """A tool from a server's tool list."""

    name: str
    description: str
    input_schema: dict[str, Any]
    read_only: bool | None


class MCPServerError(RuntimeError):
    """A server failed (died, hung, timed out, broke the protocol); an observation, not a crash."""

    #: How the sandbox counts it (``Sandbox.error_counts``).
    error_kind = "server_error"


class MCPToolError(RuntimeError):
    """A tool reported an error (``isError``); the text is the server's message."""


def _require_sdk() -> Any:
    try:
        import mcp
    except ImportError as exc:
        raise MissingDependencyError("mcp", "mcp", "An MCP server in a scenario") from exc
    return mcp


def _result_value(result: Any) -> Any:
    """What a ``CallToolResult`` shows: structured content, else the text of its blocks."""
    structured = getattr(result, "structured_content", None)
    if structured is None:
        structured = getattr(result, "structuredContent", None)
    texts = []
    for block in getattr(result, "content", None) or []:
        text = getattr(block, "text", None)
        texts.append(text if text is not None else f"[{getattr(block, 'type', 'content')}]")
    if getattr(result, "is_error", None) or getattr(result, "isError", None):
        raise MCPToolError("\n".join(texts) or "the tool reported an error")
    if structured is not None:
        # MCPServer wraps a non-object return value as {"result": value}.
        if isinstance(structured, dict) and list(structured) == ["result"]:
            return structured["result"]
        return structured
    if len(texts) == 1:
        try:
            return json.loads(texts[0])
        except ValueError:
            return texts[0]
    return "\n".join(texts)


class MCPConnection:
    """A live connection to one MCP server, usable from synchronous code (thread-safe)."""

    def __init__(self, spec: MCPServerSpec, base_dir: Path | None = None) -> None:
        self.spec = spec
        self.base_dir = base_dir
        self.tools: list[MCPTool] = []
        self.errors = 0
        self._loop = asyncio.new_event_loop()
        # Bound to the private loop on first use (asyncio.Queue takes no loop at creation).
        self._requests: asyncio.Queue[tuple[str, dict[str, Any], float, Future[Any]] | None] = (
            asyncio.Queue()
        )
        self._stopped = threading.Event()
        self._ready: Future[list[MCPTool]] = Future()
        self._thread = threading.Thread(
            target=self._thread_main, name=f"mcp-{spec.name}", daemon=True
        )
        self._closed = False

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> MCPConnection:
        """Start the server (or connect to it) and read its tool list."""
        _require_sdk()
        self._thread.start()
        try:
            self.tools = self._ready.result(timeout=self.spec.start_timeout_s + _GRACE_S)
        except FutureTimeout:
            self.close()
            raise MCPServerError(
                f"MCP server {self.spec.name!r} did not start within "
                f"{self.spec.start_timeout_s:g} s"
            ) from None
        except BaseException:
            self.close()
            raise
        return self

    def close(self, timeout: float = 10.0) -> None:
        """End the session and the transport (a stdio server is stopped), then the thread."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive() and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop may have stopped already
                self._loop.call_soon_threadsafe(self._stop_requests)
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning(
                    "MCP server %r did not shut down within %g s", self.spec.name, timeout
                )

    def __enter__(self) -> MCPConnection:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._stopped.is_set()

    # ------------------------------------------------------------------ calls
    def call(self, name: str, arguments: Mapping[str, Any], timeout: float | None = None) -> Any:
        """Call tool ``name``; its value (see :func:`_result_value`). Raises
        :class:`MCPToolError` for a tool's own error, :class:`MCPServerError` otherwise."""
        limit = self.spec.call_timeout_s if timeout is None else timeout
        if self._closed or not self.alive:
            self.errors += 1
            raise MCPServerError(f"MCP server {self.spec.name!r} is not running")
        done: Future[Any] = Future()
        try:
            self._loop.call_soon_threadsafe(
                self._requests.put_nowait, (name, dict(arguments), limit, done)
            )
        except RuntimeError:
            self.errors += 1
            raise MCPServerError(f"MCP server {self.spec.name!r} is not running") from None
        try:
            return done.result(timeout=limit + _GRACE_S)
        except FutureTimeout:
            self.errors += 1
            raise MCPServerError(
                f"MCP server {self.spec.name!r} did not answer {name!r} within {limit:g} s"
            ) from None
        except MCPServerError:
            self.errors += 1
            raise

    # ------------------------------------------------------------------ the loop thread
    def _stop_requests(self) -> None:
        self._requests.put_nowait(None)

    def _thread_main(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        except BaseException as exc:  # reported through the futures; never escapes the thread
            logger.debug("MCP server %r loop ended: %r", self.spec.name, exc)
        finally:
            self._stopped.set()
            try:
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            finally:
                self._loop.close()

    def _transport(self) -> Any:
        mcp = _require_sdk()
        spec = self.spec
        if spec.url is not None:
            return spec.url
        command = sys.executable if spec.command == "{python}" else str(spec.command)
        cwd = Path(spec.cwd) if spec.cwd else self.base_dir
        if cwd is not None and not cwd.is_absolute() and self.base_dir is not None:
            cwd = self.base_dir / cwd
        return mcp.StdioServerParameters(
            command=command,
            args=[sys.executable if a == "{python}" else a for a in spec.args],
            env=dict(spec.env) or None,
            cwd=str(cwd) if cwd is not None else None,
        )

    async def _serve(self) -> None:
        mcp = _require_sdk()
        import anyio
        from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT

        pending: Future[Any] | None = None
        try:
            async with mcp.Client(
                self._transport(), read_timeout_seconds=self.spec.start_timeout_s
            ) as client:
                with anyio.fail_after(self.spec.start_timeout_s):
                    listing = await client.list_tools()
                tools = [
                    MCPTool(
                        name=t.name,
                        description=inspect.cleandoc(t.description or ""),
                        input_schema=dict(t.input_schema or {"type": "object"}),
                        read_only=(
                            getattr(t.annotations, "read_only_hint", None)
                            if t.annotations is not None
                            else None
                        ),
                    )
                    for t in listing.tools
                ]
                self._ready.set_result(tools)
                while True:
                    request = await self._requests.get()
                    if request is None:
                        break
                    name, arguments, limit, pending = request
                    if pending.done():  # the caller gave up already
                        continue
                    timed_out = False
                    try:
                        with anyio.fail_after(limit + 1):
                            result = await client.call_tool(
                                name, arguments, read_timeout_seconds=limit
                            )
                        value = _result_value(result)
                    except MCPToolError as exc:
                        _settle(pending, exc=exc)
                    except (asyncio.TimeoutError, TimeoutError):
                        timed_out = True
                    except mcp.MCPError as exc:
                        timed_out = exc.code == REQUEST_TIMEOUT
                        if not timed_out:
                            closed = exc.code == CONNECTION_CLOSED
                            _settle(pending, exc=self._failure(name, exc, closed))
                            if closed:  # the server died: this connection is over
                                break
                    except Exception as exc:  # a transport or protocol failure
                        _settle(pending, exc=self._failure(name, exc, False))
                    else:
                        _settle(pending, value=value)
                    if timed_out:
                        _settle(
                            pending,
                            exc=MCPServerError(
                                f"MCP server {self.spec.name!r} did not answer {name!r} "
                                f"within {limit:g} s"
                            ),
                        )
                    pending = None
        except BaseException as exc:
            error = MCPServerError(
                f"MCP server {self.spec.name!r} stopped: {type(exc).__name__}: {exc}"
            )
            if not self._ready.done():
                self._ready.set_exception(error)
            if pending is not None:
                _settle(pending, exc=error)
            self._fail_queued(error)
            if not isinstance(exc, Exception):
                raise
        finally:
            self._stopped.set()
            self._fail_queued(MCPServerError(f"MCP server {self.spec.name!r} is not running"))

    def _failure(self, name: str, exc: BaseException, closed: bool) -> MCPServerError:
        if closed:
            return MCPServerError(
                f"MCP server {self.spec.name!r} stopped (connection closed) during {name!r}"
            )
        return MCPServerError(
            f"MCP server {self.spec.name!r} failed on {name!r}: {type(exc).__name__}: {exc}"
        )

    def _fail_queued(self, error: MCPServerError) -> None:
        while not self._requests.empty():
            item = self._requests.get_nowait()
            if item is not None:
                _settle(item[3], exc=error)


def _settle(future: Future[Any], value: Any = None, exc: BaseException | None = None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(value)


# ----------------------------------------------------------------------------- tools


def connection_tools(conn: MCPConnection, where: str) -> list[Tool]:
    """The sandbox tools of a started connection (``include`` and ``prefix`` applied).

    ``where`` names the declaration in errors (e.g. ``"pantry.yaml: field 'mcp_servers.0'"``).
    """
    spec = conn.spec
    by_name = {t.name: t for t in conn.tools}
    for field_name in ("state_tool", "reset_tool"):
        wanted = getattr(spec, field_name)
        if wanted is not None and wanted not in by_name:
            raise ConfigError(
                f"{where}.{field_name}': the server has no tool {wanted!r} "
                f"(tools: {', '.join(sorted(by_name)) or 'none'})"
            )
    if spec.state_tool is not None and by_name[spec.state_tool].read_only is False:
        raise ConfigError(
            f"{where}.state_tool': tool {spec.state_tool!r} is marked as not read-only "
            "(readOnlyHint: false); success checks may only read state"
        )
    chosen = list(conn.tools)
    if spec.include is not None:
        missing = [n for n in spec.include if n not in by_name]
        if missing:
            raise ConfigError(
                f"{where}.include': the server has no tool {missing[0]!r} "
                f"(tools: {', '.join(sorted(by_name)) or 'none'})"
            )
        chosen = [by_name[n] for n in spec.include]
    tools = []
    for t in chosen:
        schema = dict(t.input_schema)
        schema.setdefault("type", "object")
        try:
            check_json_schema(schema, where=f"{where}': tool {t.name!r} input schema")
        except ConfigError as exc:
            raise ConfigError(str(exc)) from None
        tools.append(Tool(spec.prefix + t.name, t.description, schema, _forwarder(conn, t.name)))
    return tools


def _forwarder(conn: MCPConnection, name: str) -> Any:
    def forward(**arguments: Any) -> Any:
        return conn.call(name, arguments)

    forward.__name__ = name
    return forward
