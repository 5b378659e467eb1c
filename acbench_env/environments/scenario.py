"""A user's own tool-use scenario (YAML/JSON file) as a multi-turn environment."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from acbench_env.core.env import StepOutcome, TextEnv
from acbench_env.core.errors import ConfigError
from acbench_env.environments import ladders
from acbench_env.tools.mcp import MCPConnection, MCPServerError, connection_tools
from acbench_env.tools.parsing import format_calls, parse_tool_calls
from acbench_env.tools.sandbox import Sandbox, Tool, ToolCall, check_tool_listing, tool_listing
from acbench_env.tools.scenario import (
    Scenario,
    ScenarioError,
    TaskSpec,
    answer_matches,
    evaluate,
    load_scenario,
    parse_scenario,
    scenario_tools,
)

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "You can call these tools:\n{tools}\n\n"
    'To call a tool, answer with <tool_call>{{"name": ..., "arguments": {{...}}}}</tool_call> '
    "(one block per call). You will see the results and may call more tools. When the task is "
    "done, answer in plain text without tool calls; that ends the conversation.\n\n"
)


NATIVE_INSTRUCTIONS = (
    "Use the tools you are given to carry out the task. You will see the results and may call "
    "more tools. When the task is done, answer in plain text without tool calls; that ends "
    "the conversation.\n\n"
)

#: How tools reach the model: listed in the prompt text, or passed through the chat API.
TOOL_FORMATS = ("prompt", "native")


def default_scenario_path() -> Path:
    """The example scenario shipped with the package (the default of ``acbench/Scenario-v0``)."""
    return Path(str(resources.files("acbench_env.data") / "scenarios" / "pantry.yaml"))


class ScenarioEnv(TextEnv[TaskSpec]):
    """Solve the tasks of a custom tool-use scenario by calling its tools over several turns.

    ## Description
    A scenario file (:mod:`acbench_env.tools.scenario`) declares tools (JSON Schema
    parameters and declarative state operations, or Python tools passed as ``tools=``), an
    initial state, and tasks with success checks over the final state. Each episode runs
    one task on a fresh copy of the initial state.

    ## Action / Observation
    Action: tool calls (``<tool_call>{...}</tool_call>``, plain JSON or ReAct), or a plain
    text final answer, which ends the episode. Observation: the instructions, tools and
    request (reset); the tool results, or the error messages of unknown tools, invalid
    arguments (``jsonschema``) and failed preconditions (after each call).

    ## Rewards / Metric
    At the end: reward 1.0 when every success check (and ``answer_contains``) holds, else
    0.0; ``info["score"]`` is the share of checks that hold (``checks_passed``). ``info``
    counts ``tool_calls`` and the sandbox's ``tool_errors`` (by kind). A malformed call is a
    format failure: the episode goes on and the error is shown to the agent.

    ## Episode End
    A final answer (text without calls) terminates; ``max_steps`` (from the file) truncates.

    MCP servers declared in the file (``mcp_servers``, see :mod:`acbench_env.tools.mcp`)
    are started afresh at every ``reset`` (a stdio server is a new process) and stopped at
    the next ``reset`` or ``close()``; their tools join the declared ones. A server that
    dies, hangs or times out gives an error observation counted as ``server_error`` in
    ``tool_errors``; success checks read a server's state through its ``state_tool`` (a
    check path ``"<server>.key"``); when that read fails, those checks do not hold.

    ## Task source
    The scenario file ``path`` (default: the packaged example ``pantry.yaml``), or a
    :class:`~acbench_env.tools.scenario.Scenario` / dict given as ``scenario``.

    ## Arguments
    ``path``, ``scenario``, ``tools`` (extra Python :class:`~acbench_env.tools.Tool` objects),
    ``tool_format``: ``"prompt"`` (default: tools listed in the first observation) or
    ``"native"`` (the reset ``info["tools"]`` holds them in the chat API's form for the agent
    to pass as the API's ``tools``; calls the server parsed arrive as ``<tool_call>`` blocks),
    ``tool_listing`` (with ``"prompt"``: ``"schema"``, the default, one JSON definition per
    line, or ``"signature"``, one compact signature per line).

    ## Difficulty levels
    Set by the scenario's author.

    ## Version History
    v0: initial version.
    """

    #: Difficulty settings, easiest first (:mod:`acbench_env.environments.ladders`).
    ladder = ladders.SCENARIO

    capability = "tool_use"
    primary_metric = "checks_passed"
    answer_tokens = 128

    def __init__(
        self,
        path: str | Path | None = None,
        scenario: Scenario | dict[str, Any] | None = None,
        tools: Sequence[Tool] = (),
        tool_format: str = "prompt",
        render_mode: str | None = None,
        tool_listing: str = "schema",
    ) -> None:
        if tool_format not in TOOL_FORMATS:
            raise ConfigError(f"tool_format must be one of {TOOL_FORMATS}, got {tool_format!r}")
        self.tool_listing = check_tool_listing(tool_listing)
        if path is not None and scenario is not None:
            raise ConfigError("pass either path= or scenario=, not both")
        extra = tuple(tools)
        if scenario is None:
            loaded = load_scenario(
                default_scenario_path() if path is None else path, extra_tools=extra
            )
        elif isinstance(scenario, Scenario):
            loaded = parse_scenario(
                scenario.model_dump(), source=f"scenario {scenario.name!r}", extra_tools=extra
            )
        else:
            loaded = parse_scenario(scenario, source="scenario", extra_tools=extra)
        super().__init__(max_steps=loaded.max_steps, render_mode=render_mode)
        self.scenario = loaded
        self.extra_tools = extra
        self.tool_format = tool_format
        self.source = (
            str(path)
            if path is not None
            else (str(default_scenario_path()) if scenario is None else "scenario")
        )
        #: Folder that relative MCP server commands and cwd are resolved against.
        self.base_dir = Path(path).resolve().parent if path is not None else Path.cwd()
        self._sandbox: Sandbox | None = None
        self._format_failures = 0
        self._connections: list[MCPConnection] = []
        self._state_read_failures = 0
        self._references_checked = False

    @property
    def num_tasks(self) -> int:
        return len(self.scenario.tasks)

    def make_task(self, index: int) -> TaskSpec:
        return self.scenario.tasks[index]

    def task_id(self, task: TaskSpec) -> str:
        return f"{self.scenario.name}/{task.id}"

    def _start_servers(self) -> list[Tool]:
        """Stop the previous episode's servers, start fresh ones, and return their tools."""
        self._stop_servers()
        tools: list[Tool] = []
        for i, spec in enumerate(self.scenario.mcp_servers):
            where = f"{self.source}: field 'mcp_servers.{i}"
            try:
                conn = MCPConnection(spec, self.base_dir).start()
            except MCPServerError as exc:
                self._stop_servers()
                raise ScenarioError(f"{where}': {exc}") from None
            self._connections.append(conn)
            try:
                tools.extend(connection_tools(conn, where))
            except ConfigError as exc:
                self._stop_servers()
                raise ScenarioError(str(exc)) from None
            if spec.reset_tool is not None:
                try:
                    conn.call(spec.reset_tool, {})
                except Exception as exc:
                    self._stop_servers()
                    raise ScenarioError(
                        f"{where}.reset_tool': resetting the server failed: {exc}"
                    ) from None
        return tools

    def _stop_servers(self) -> None:
        connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    def close(self) -> None:
        """Stop the MCP servers of the current episode (if any)."""
        self._stop_servers()
        super().close()

    def _check_references(self, names: set[str]) -> None:
        for i, task in enumerate(self.scenario.tasks):
            for j, call in enumerate(task.reference):
                if call.name not in names:
                    self._stop_servers()
                    raise ScenarioError(
                        f"{self.source}: field 'tasks.{i}.reference.{j}.name': no tool named "
                        f"{call.name!r} (tools: {', '.join(sorted(names))})"
                    )
        self._references_checked = True

    def start(self, task: TaskSpec) -> tuple[str, dict[str, Any]]:
        tools = scenario_tools(self.scenario, self.extra_tools)
        if self.scenario.mcp_servers:
            served = self._start_servers()
            taken = {t.name for t in tools}
            for t in served:
                if t.name in taken:
                    self._stop_servers()
                    raise ScenarioError(
                        f"{self.source}: field 'mcp_servers': the server tool {t.name!r} has the "
                        "name of another tool; give the server a prefix"
                    )
                taken.add(t.name)
            tools += served
            if not self._references_checked:
                self._check_references(taken)
        self._sandbox = Sandbox(tools, self.scenario.initial_state)
        self._format_failures = 0
        self._state_read_failures = 0
        header = (self.scenario.instructions + "\n\n") if self.scenario.instructions else ""
        info: dict[str, Any] = {"scenario": self.scenario.name, "tool_format": self.tool_format}
        if self.tool_format == "native":
            info["tools"] = [{"type": "function", "function": t.spec()} for t in tools]
            return header + NATIVE_INSTRUCTIONS + f"Task: {task.request}", info
        listing = tool_listing((t.spec() for t in tools), self.tool_listing)
        return header + INSTRUCTIONS.format(tools=listing) + f"Task: {task.request}", info

    def _check_state(self) -> dict[str, Any]:
        """The state success checks read: the sandbox state, plus each MCP server's state
        (its ``state_tool``'s result) under the server's name; a failed read leaves the
        name out, so checks on it do not hold."""
        assert self._sandbox is not None
        if not self._connections:
            return self._sandbox.state
        view = dict(self._sandbox.state)
        for conn in self._connections:
            if conn.spec.state_tool is None:
                continue
            try:
                view[conn.spec.name] = conn.call(conn.spec.state_tool, {})
            except Exception as exc:  # a dead or hung server: its checks fail
                logger.debug("reading the state of MCP server %r failed: %r", conn.spec.name, exc)
                self._state_read_failures += 1
        return view

    def _progress(self, task: TaskSpec) -> tuple[int, int]:
        state = self._check_state()
        passed = sum(evaluate(c, state) for c in task.success)
        return passed, len(task.success)

    def apply(self, task: TaskSpec, action: str) -> StepOutcome:
        assert self._sandbox is not None
        parsed = parse_tool_calls(action)
        final = parsed.error is not None and parsed.format is None and action.strip() != ""
        if parsed.error is not None and not final:
            self._format_failures += 1
        observations: list[str] = []
        if parsed.calls:
            observations = [self._sandbox.call(c).observation() for c in parsed.calls]
        passed, total = self._progress(task)
        answer_ok = (not task.answer_contains) or (
            final and answer_matches(action, task.answer_contains)
        )
        checks = passed + (1 if task.answer_contains and answer_ok else 0)
        n_checks = total + (1 if task.answer_contains else 0)
        success = final and passed == total and answer_ok
        if final:
            obs = "Final answer recorded."
        elif parsed.error is not None:
            obs = f"Your answer could not be parsed: {parsed.error}"
        elif not parsed.calls:
            obs = "No tool was called. Call a tool, or give your final answer in plain text."
        else:
            obs = "\n".join(observations)
        return StepOutcome(
            observation=obs,
            reward=(1.0 if success else 0.0) if final else 0.0,
            terminated=final,
            score=checks / n_checks,
            success=success,
            parsed_action={"final_answer": action.strip()} if final else parsed.to_dict(),
            parse_error=None if final else parsed.error,
            info={
                "call_format": parsed.format,
                "checks_passed": passed,
                "checks_total": total,
                "tool_calls": len(self._sandbox.calls),
                "tool_errors": self._sandbox.error_counts,
                "format_failures": self._format_failures,
                "tool_format": self.tool_format,
                **(
                    {
                        "mcp_servers_alive": sum(c.alive for c in self._connections),
                        "mcp_state_read_failures": self._state_read_failures,
                    }
                    if self.scenario.mcp_servers
                    else {}
                ),
            },
        )

    def oracle_action(self) -> str:
        task = self.task
        step = self._steps
        if step < len(task.reference):
            ref = task.reference[step]
            return format_calls([ToolCall(ref.name, dict(ref.arguments))], "hermes")
        return task.answer
