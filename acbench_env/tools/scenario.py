"""Custom tool-use scenarios: a user's tools, initial state, tasks and success checks.

A scenario is a YAML or JSON file (validated by :class:`Scenario`)::

    name: pantry
    description: A kitchen pantry with a shopping list.
    initial_state:                  # any JSON value; tools read and change it
      stock: {rice: 2, beans: 0}
      shopping_list: []
    tools:
      - name: check_stock
        description: How many units of an item are in stock.
        parameters:                 # JSON Schema of the arguments (validated at call time)
          type: object
          properties: {item: {type: string}}
          required: [item]
        ops:                        # what the tool does, in order
          - {op: get, path: "stock.{item}"}
      - name: add_to_list
        description: Put an item on the shopping list.
        parameters: {type: object, properties: {item: {type: string}}, required: [item]}
        requires:                   # preconditions; a failed one is a tool error
          - {path: "stock.{item}", exists: true, message: "unknown item {item}"}
        ops:
          - {op: append, path: shopping_list, value: "{item}"}
        result: "added {item}"
    tasks:
      - id: restock-beans
        request: We are out of beans. Put them on the shopping list.
        success:                    # checks over the final state (all must hold)
          - {path: shopping_list, contains: beans}
        reference:                  # a correct sequence of calls (the oracle)
          - {name: add_to_list, arguments: {item: beans}}

Operations: ``get`` (return the value at ``path``), ``set`` (``path``, ``value``),
``append`` (``path``, ``value``), ``increment`` and ``decrement`` (``path``, ``by``, default
1), ``delete`` (``path``). Each op takes only its own fields: anything else (a ``value:`` on
an ``increment``) is an error naming the file, the tool and the field. ``by`` may be a
number, an argument (``"{amount}"``) or a signed template (``"-{amount}"`` subtracts it).
Paths are dot-separated keys (list positions as integers, ``-1`` = last). In paths and
values, ``"{arg}"`` is replaced by the call's argument (keeping its type when it is the
whole string). Checks: ``equals``, ``contains``, ``exists``, ``gte``, ``lte``, ``length``.
A task may add ``answer_contains`` (the final answer must contain it, case-insensitively and
as a whole word or number: ``"2"`` is in "2 units" but not in "32") with a reference
``answer``.

A scenario may also declare ``mcp_servers`` (see :mod:`acbench_env.tools.mcp`) whose tools
join the declared ones (``tools`` may then be empty); checks read a server's state through
its ``state_tool`` as ``"<server>.<key>"``. Reference solutions of such scenarios need the
live server, so they are checked when the environment starts it, not when the file loads.

The agent acts in turns: tool calls run in a :class:`~acbench_env.tools.Sandbox` holding
a deep copy of ``initial_state``; a reply without calls is the final answer and ends the
episode. :func:`load_scenario` reads and checks a file; malformed files raise
:class:`ScenarioError` naming the file and the field.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from acbench_env.core.errors import ConfigError
from acbench_env.tools.mcp import MCPServerSpec
from acbench_env.tools.sandbox import Sandbox, Tool, ToolCall, check_json_schema

_WHOLE = re.compile(r"^\{(\w+)\}$")
_SIGNED = re.compile(r"^\s*([+-])\s*\{(\w+)\}\s*$")
_PART = re.compile(r"\{(\w+)\}")


class ScenarioError(ConfigError):
    """A scenario file is malformed; the message names the file and the field."""


class Check(BaseModel):
    """A predicate over the state at ``path`` (exactly one of the comparisons)."""

    model_config = ConfigDict(extra="forbid")
    path: str
    equals: Any = None
    contains: Any = None
    exists: bool | None = None
    gte: float | None = None
    lte: float | None = None
    length: int | None = None
    message: str | None = None

    @model_validator(mode="after")
    def _one_comparison(self) -> Check:
        given = [
            k
            for k in ("equals", "contains", "exists", "gte", "lte", "length")
            if k in self.model_fields_set
        ]
        if len(given) != 1:
            raise ValueError(
                "a check needs exactly one of equals, contains, exists, gte, lte, length; "
                f"got {given or 'none'}"
            )
        return self


class StateOp(BaseModel):
    """One operation of a declarative tool."""

    model_config = ConfigDict(extra="forbid")
    op: Literal["get", "set", "append", "increment", "decrement", "delete"]
    path: str
    value: Any = None
    by: Any = 1


#: The fields each op accepts besides ``op`` (required ones first).
OP_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "get": (("path",), ()),
    "set": (("path", "value"), ()),
    "append": (("path", "value"), ()),
    "increment": (("path",), ("by",)),
    "decrement": (("path",), ("by",)),
    "delete": (("path",), ()),
}


def op_field_problem(op: StateOp) -> tuple[str, str] | None:
    """``(field, problem)`` when ``op`` carries a field its kind does not take, or lacks one
    it needs; None when it is well formed."""
    required, optional = OP_FIELDS[op.op]
    allowed = ("op", *required, *optional)
    takes = ", ".join(required + optional)
    for name in sorted(op.model_fields_set):
        if name not in allowed:
            hint = (
                ' (an increment adds `by`; to subtract write by: "-{amount}" or op: decrement)'
                if op.op in ("increment", "decrement") and name == "value"
                else ""
            )
            return name, f"op {op.op!r} takes only {takes}, not {name!r}{hint}"
    for name in required:
        if name not in op.model_fields_set:
            return name, f"op {op.op!r} needs {name!r}"
    if "by" in op.model_fields_set:
        by = op.by
        number = isinstance(by, (int, float)) and not isinstance(by, bool)
        template = isinstance(by, str) and bool(_WHOLE.match(by) or _SIGNED.match(by))
        if not (number or template):
            return "by", (f'`by` must be a number, "{{arg}}" or a signed "-{{arg}}", got {by!r}')
    return None


class ToolSpec(BaseModel):
    """A tool declared in a scenario file."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(pattern=r"^[A-Za-z_][\w.\-]*$")
    description: str = ""
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    requires: list[Check] = Field(default_factory=list)
    ops: list[StateOp] = Field(default_factory=list)
    result: Any = None


class CallSpec(BaseModel):
    """A reference call."""

    model_config = ConfigDict(extra="forbid")
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class TaskSpec(BaseModel):
    """A task: a request, the checks that define success, and a reference solution."""

    model_config = ConfigDict(extra="forbid")
    id: str
    request: str
    success: list[Check] = Field(min_length=1)
    reference: list[CallSpec] = Field(default_factory=list)
    answer_contains: str | None = None
    answer: str = "Done."


class Scenario(BaseModel):
    """A custom tool-use scenario (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    instructions: str | None = None
    initial_state: Any = Field(default_factory=dict)
    tools: list[ToolSpec] = Field(default_factory=list)
    mcp_servers: list[MCPServerSpec] = Field(default_factory=list)
    tasks: list[TaskSpec] = Field(min_length=1)
    max_steps: int = Field(default=8, ge=1, le=100)

    @model_validator(mode="after")
    def _some_tools(self) -> Scenario:
        if not self.tools and not self.mcp_servers:
            raise ValueError("a scenario needs tools, mcp_servers, or both")
        return self


# ----------------------------------------------------------------------------- state ops


class _StateError(Exception):
    pass


def substitute(template: Any, args: Mapping[str, Any]) -> Any:
    """``template`` with ``{arg}`` placeholders replaced by ``args`` (recursively)."""
    if isinstance(template, str):
        whole = _WHOLE.match(template)
        if whole and whole.group(1) in args:
            return copy.deepcopy(args[whole.group(1)])
        return _PART.sub(
            lambda m: str(args[m.group(1)]) if m.group(1) in args else m.group(0), template
        )
    if isinstance(template, list):
        return [substitute(t, args) for t in template]
    if isinstance(template, dict):
        return {substitute(k, args): substitute(v, args) for k, v in template.items()}
    return template


def _amount(template: Any, args: Mapping[str, Any]) -> Any:
    """The ``by`` of an increment: a number, ``"{arg}"``, or a signed ``"-{arg}"``."""
    if isinstance(template, str):
        signed = _SIGNED.match(template)
        if signed and signed.group(2) in args:
            value = args[signed.group(2)]
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return -value if signed.group(1) == "-" else value
            return template
    return substitute(template, args)


def _keys(path: str) -> list[str]:
    return [k for k in path.split(".") if k != ""]


def _step(node: Any, key: str, create: bool) -> Any:
    if isinstance(node, dict):
        if key not in node:
            if not create:
                raise _StateError(f"nothing at {key!r}")
            node[key] = {}
        return node[key]
    if isinstance(node, list):
        try:
            return node[int(key)]
        except (ValueError, IndexError):
            raise _StateError(f"no position {key!r} in a list of {len(node)}") from None
    raise _StateError(f"cannot look up {key!r} in a {type(node).__name__}")


def get_path(state: Any, path: str) -> Any:
    node = state
    for key in _keys(path):
        node = _step(node, key, create=False)
    return node


def _parent(state: Any, path: str) -> tuple[Any, str]:
    keys = _keys(path)
    if not keys:
        raise _StateError("an empty path cannot be changed")
    node = state
    for key in keys[:-1]:
        node = _step(node, key, create=True)
    return node, keys[-1]


def apply_op(state: Any, op: StateOp, args: Mapping[str, Any]) -> Any:
    """Carry out ``op`` on ``state`` (in place); returns what a ``get`` reads."""
    path = str(substitute(op.path, args))
    if op.op == "get":
        return copy.deepcopy(get_path(state, path))
    parent, key = _parent(state, path)
    if op.op == "delete":
        if isinstance(parent, dict) and key in parent:
            del parent[key]
            return None
        raise _StateError(f"nothing to delete at {path!r}")
    if op.op == "set":
        value = substitute(op.value, args)
        if isinstance(parent, list):
            parent[int(key)] = value
        else:
            parent[key] = value
        return None
    if op.op == "append":
        target = (
            parent.setdefault(key, []) if isinstance(parent, dict) else _step(parent, key, False)
        )
        if not isinstance(target, list):
            raise _StateError(f"{path!r} is not a list")
        target.append(substitute(op.value, args))
        return None
    by = _amount(op.by, args)
    if op.op == "decrement" and isinstance(by, (int, float)) and not isinstance(by, bool):
        by = -by
    current = parent.get(key, 0) if isinstance(parent, dict) else _step(parent, key, False)
    if (
        isinstance(current, bool)
        or not isinstance(current, (int, float))
        or isinstance(by, bool)
        or not isinstance(by, (int, float))
    ):
        raise _StateError(f"{path!r} and the {op.op} amount must be numbers (got {by!r})")
    parent[key] = current + by
    return None


def evaluate(check: Check, state: Any, args: Mapping[str, Any] | None = None) -> bool:
    """Whether ``check`` holds in ``state``."""
    args = args or {}
    try:
        value = get_path(state, str(substitute(check.path, args)))
    except _StateError:
        return check.exists is False
    if check.exists is not None:
        return check.exists
    if "equals" in check.model_fields_set:
        return bool(value == substitute(check.equals, args))
    if "contains" in check.model_fields_set:
        try:
            return substitute(check.contains, args) in value
        except TypeError:
            return False
    if check.length is not None:
        return hasattr(value, "__len__") and len(value) == check.length
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return False
    if check.gte is not None:
        return value >= check.gte
    return check.lte is not None and value <= check.lte


def answer_matches(answer: str, expected: str) -> bool:
    """Whether ``answer`` holds ``expected`` case-insensitively, not glued to letters or
    digits (so a number is not found inside a longer number or a word)."""
    if not expected:
        return True
    left = r"(?<![^\W_])" if expected[0].isalnum() else ""
    right = r"(?![^\W_])" if expected[-1].isalnum() else ""
    return re.search(left + re.escape(expected) + right, answer, re.IGNORECASE) is not None


def make_tool(spec: ToolSpec) -> Tool:
    """A sandbox tool that runs ``spec``'s checks and operations on the episode state."""

    def run(state: Any, **args: Any) -> Any:
        for check in spec.requires:
            if not evaluate(check, state, args):
                raise RuntimeError(
                    str(substitute(check.message, args))
                    if check.message
                    else f"requirement on {check.path!r} not met"
                )
        trial = copy.deepcopy(state)  # all operations succeed, or none does
        out: Any = None
        try:
            for op in spec.ops:
                got = apply_op(trial, op, args)
                if op.op == "get":
                    out = got
        except _StateError as exc:
            raise RuntimeError(str(exc)) from None
        state.clear()
        state.update(trial)
        if spec.result is not None:
            return substitute(spec.result, {**args, "result": out} if out is not None else args)
        return out if out is not None else "ok"

    params = dict(spec.parameters)
    params.setdefault("type", "object")
    return Tool(spec.name, spec.description, params, run)


# ----------------------------------------------------------------------------- loading


def _field(loc: Iterable[Any]) -> str:
    return ".".join(str(p) for p in loc)


def _tool_named(data: Mapping[str, Any], loc: Sequence[Any]) -> str:
    """`` (tool 'name')`` when ``loc`` points inside a tool that has a name."""
    if len(loc) >= 2 and loc[0] == "tools" and isinstance(loc[1], int):
        tools = data.get("tools")
        if isinstance(tools, list) and loc[1] < len(tools) and isinstance(tools[loc[1]], dict):
            name = tools[loc[1]].get("name")
            if isinstance(name, str):
                return f" (tool {name!r})"
    return ""


def parse_scenario(
    data: Any, source: str = "<scenario>", extra_tools: Sequence[Tool] = ()
) -> Scenario:
    """Validate a scenario given as a Python value; see :func:`load_scenario`."""
    if not isinstance(data, dict):
        raise ScenarioError(f"{source}: a scenario must be a mapping with name, tools and tasks")
    if not data.get("tools") and not data.get("mcp_servers"):
        raise ScenarioError(
            f"{source}: field 'tools': a scenario needs tools, mcp_servers, or both "
            "(at least one tool)"
        )
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = list(first["loc"])
        raise ScenarioError(
            f"{source}: field '{_field(loc)}'{_tool_named(data, loc)}: {first['msg']}"
        ) from None
    if not isinstance(scenario.initial_state, dict):
        raise ScenarioError(f"{source}: field 'initial_state' must be a mapping")
    servers: set[str] = set()
    for i, server in enumerate(scenario.mcp_servers):
        if server.name in servers:
            raise ScenarioError(
                f"{source}: field 'mcp_servers.{i}.name': server {server.name!r} is declared twice"
            )
        if server.state_tool is not None and server.name in scenario.initial_state:
            raise ScenarioError(
                f"{source}: field 'mcp_servers.{i}.name': checks read this server's state as "
                f"{server.name!r}, which initial_state also uses; rename one of them"
            )
        servers.add(server.name)
    names: dict[str, Tool] = {t.name: t for t in extra_tools}
    for i, spec in enumerate(scenario.tools):
        for j, op in enumerate(spec.ops):
            problem = op_field_problem(op)
            if problem is not None:
                raise ScenarioError(
                    f"{source}: field 'tools.{i}.ops.{j}.{problem[0]}' (tool {spec.name!r}): "
                    f"{problem[1]}"
                )
        where = f"{source}: field 'tools.{i}.parameters'"
        try:
            check_json_schema(spec.parameters, where=where)
        except ConfigError as exc:
            raise ScenarioError(str(exc)) from None
        if spec.name in names:
            raise ScenarioError(
                f"{source}: field 'tools.{i}.name': tool {spec.name!r} is defined twice"
            )
        names[spec.name] = make_tool(spec)
    ids = set()
    for i, task in enumerate(scenario.tasks):
        if task.id in ids:
            raise ScenarioError(
                f"{source}: field 'tasks.{i}.id': task id {task.id!r} is used twice"
            )
        ids.add(task.id)
        if task.answer_contains and not answer_matches(task.answer, task.answer_contains):
            raise ScenarioError(
                f"{source}: field 'tasks.{i}.answer': the reference answer must contain "
                f"answer_contains ({task.answer_contains!r})"
            )
        if scenario.mcp_servers:
            # The server's tools and state exist only while it runs: the environment checks
            # reference names against its tool list when it starts, and the oracle test of a
            # scenario (see examples/mcp) runs the references against the live server.
            continue
        sandbox = Sandbox(names.values(), scenario.initial_state)
        if not task.answer_contains and all(evaluate(c, sandbox.state) for c in task.success):
            raise ScenarioError(
                f"{source}: field 'tasks.{i}.success': the checks already hold in the initial "
                "state, so the task would be solved by doing nothing"
            )
        for j, call in enumerate(task.reference):
            if call.name not in names:
                raise ScenarioError(
                    f"{source}: field 'tasks.{i}.reference.{j}.name': no tool named {call.name!r} "
                    f"(tools: {', '.join(sorted(names))})"
                )
            result = sandbox.call(ToolCall(call.name, call.arguments))
            if not result.ok:
                raise ScenarioError(
                    f"{source}: field 'tasks.{i}.reference.{j}': the reference call fails: {result.error}"
                )
        failing = [k for k, c in enumerate(task.success) if not evaluate(c, sandbox.state)]
        if failing:
            raise ScenarioError(
                f"{source}: field 'tasks.{i}.success.{failing[0]}': the check does not hold after the "
                "reference calls; fix the check or the reference"
            )
    return scenario


def load_scenario(path: str | Path, extra_tools: Sequence[Tool] = ()) -> Scenario:
    """Read and check a scenario file (``.yaml``, ``.yml`` or ``.json``).

    ``extra_tools``: Python tools (see :func:`acbench_env.tools.tool`) that tasks may use
    besides the declared ones. Every reference solution is run once to check that it meets
    its task's success checks.
    """
    p = Path(path)
    if not p.is_file():
        raise ScenarioError(f"{p}: scenario file not found")
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ScenarioError(f"{p}: not valid JSON: {exc}") from None
    else:
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
            problem = getattr(exc, "problem", None) or str(exc)
            raise ScenarioError(f"{p}: not valid YAML{where}: {problem}") from None
    return parse_scenario(data, source=str(p), extra_tools=extra_tools)


def scenario_tools(scenario: Scenario, extra_tools: Sequence[Tool] = ()) -> list[Tool]:
    """The sandbox tools of ``scenario`` (declared ones, then ``extra_tools``)."""
    return [make_tool(s) for s in scenario.tools] + list(extra_tools)
