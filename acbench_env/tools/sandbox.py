"""Tools and the per-episode sandbox that runs them.

A :class:`Tool` is a name, a description, a JSON Schema for its arguments and an
implementation: a typed Python function ``fn(state, **arguments)`` (see
:func:`tool`), or a declarative :class:`~acbench_env.tools.scenario.StateOp` from a
scenario file. A :class:`Sandbox` holds one episode's state (a deep copy of the initial
state, so episodes never share mutable data) and runs calls: the arguments are validated
with ``jsonschema`` first, and every failure (unknown tool, invalid arguments, an exception
in the tool) comes back as an error :class:`ToolResult` instead of raising, so the
environment can show it to the agent and count it.

Isolation: a tool receives only the episode state and its validated arguments. Built-in and
declarative tools touch nothing else (no files, network or processes); a user's Python
tool is trusted code and must keep to the same rule.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema
from jsonschema.validators import validator_for

from acbench_env.core.errors import ConfigError
from acbench_env.tools.schema import function_schema

logger = logging.getLogger(__name__)

#: Longest tool result shown to the agent (characters).
MAX_RESULT_CHARS = 4000


@dataclass(frozen=True)
class ToolCall:
    """One parsed call: a tool name and its arguments (a JSON object)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": copy.deepcopy(self.arguments)}


@dataclass(frozen=True)
class ToolResult:
    """The outcome of one call. ``error_kind`` is ``None`` on success, else one of
    ``"unknown_tool"``, ``"invalid_arguments"``, ``"tool_error"``, or the ``error_kind`` an
    exception names (``"server_error"`` for an MCP server that failed)."""

    name: str
    output: Any = None
    error: str | None = None
    error_kind: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def observation(self) -> str:
        """The text shown to the agent."""
        if self.error is not None:
            # Errors quote the call (a huge argument, a huge unknown name): capped as well.
            text = f"Error calling {self.name}: {self.error}"
        else:
            text = (
                self.output
                if isinstance(self.output, str)
                else json.dumps(self.output, default=repr)
            )
        if len(text) > MAX_RESULT_CHARS:
            text = text[:MAX_RESULT_CHARS] + " ...(truncated)"
        return text


@dataclass(frozen=True)
class Tool:
    """A tool: ``spec()`` gives its definition as shown to the model."""

    name: str
    description: str
    parameters: Mapping[str, Any]
    fn: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        check_json_schema(dict(self.parameters), where=f"tool {self.name!r} parameters")

    @classmethod
    def from_function(cls, fn: Callable[..., Any], name: str | None = None) -> Tool:
        """A tool from a typed function ``fn(state, **arguments)`` or ``fn(**arguments)``."""
        spec = function_schema(fn, name=name)
        return cls(spec["name"], spec["description"], spec["parameters"], fn)

    def spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "parameters": copy.deepcopy(dict(self.parameters)),
        }

    def validate(self, arguments: Any) -> str | None:
        """The first validation error of ``arguments`` (as text), or None."""
        if not isinstance(arguments, dict):
            return f"arguments must be a JSON object, got {type(arguments).__name__}"
        validator = _validator(_schema_key(self.parameters))
        errors = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
        if not errors:
            return None
        err = errors[0]
        where = "/".join(str(p) for p in err.absolute_path)
        return f"{err.message}" + (f" (at '{where}')" if where else "")


def tool(fn: Callable[..., Any]) -> Tool:
    """Decorator: turn a typed, documented function into a :class:`Tool`."""
    return Tool.from_function(fn)


def _schema_key(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, default=repr)


@functools.lru_cache(maxsize=4096)
def _validator(key: str) -> Any:
    schema = json.loads(key)
    return validator_for(schema)(schema)


@functools.lru_cache(maxsize=4096)
def _schema_problem(key: str) -> str | None:
    """The first problem of a schema (given as JSON text) as a JSON Schema, or None."""
    schema = json.loads(key)
    try:
        validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        path = "/".join(str(p) for p in exc.absolute_path)
        return exc.message + (f" (at '{path}')" if path else "")
    return None


def check_json_schema(schema: Any, *, where: str) -> None:
    """Raise :class:`ConfigError` if ``schema`` is not a valid JSON Schema object schema."""
    if not isinstance(schema, dict):
        raise ConfigError(f"{where}: a JSON Schema must be an object, got {schema!r}")
    problem = _schema_problem(_schema_key(schema))
    if problem is not None:
        raise ConfigError(f"{where} is not a valid JSON Schema: {problem}")
    if schema.get("type", "object") != "object":
        raise ConfigError(f'{where}: tool parameters must have "type": "object"')


def spec_listing(specs: Iterable[Mapping[str, Any]]) -> str:
    """Tool definitions (``Tool.spec()`` or BFCL function dicts) as one JSON object per line,
    the form every tool prompt shows by default."""
    return "\n".join(json.dumps(spec) for spec in specs)


#: How a prompt lists tools: ``schema`` (one JSON definition per line, the default) or
#: ``signature`` (one compact, Python-like signature per line; see :func:`signature_listing`).
TOOL_LISTINGS = ("schema", "signature")

_TYPE_NAMES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "float": "float",
    "boolean": "bool",
    "object": "dict",
    "dict": "dict",
    "array": "list",
    "tuple": "tuple",
    "any": "Any",
    "null": "None",
}


def _type_text(schema: Mapping[str, Any]) -> str:
    """A JSON Schema (or BFCL parameter) as a short Python-like type: ``str``,
    ``list[int]``, ``"c" | "f"`` for an enum."""
    if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(_TYPE_NAMES.get(str(k), str(k)) for k in kind)
    name = _TYPE_NAMES.get(str(kind), str(kind) if kind else "Any")
    items = schema.get("items")
    if name in ("list", "tuple") and isinstance(items, Mapping):
        return f"{name}[{_type_text(items)}]"
    fields = schema.get("properties")
    if name == "dict" and isinstance(fields, Mapping) and fields:
        inner = ", ".join(
            f"{k}: {_type_text(v if isinstance(v, Mapping) else {})}" for k, v in fields.items()
        )
        return f"dict{{{inner}}}"
    return name


def signature(spec: Mapping[str, Any]) -> str:
    """One tool definition (``Tool.spec()`` form or a BFCL function dict) as one compact
    line: ``name(arg: type, opt: type = default) -- description (arg: what it is; ...)``.

    Required arguments come first, in the schema's order; an optional argument shows its
    default (``= None`` when the schema gives none). It carries the same facts as the JSON
    definition (names, types, enums, defaults, descriptions) without the JSON Schema
    keywords that a small model copies into its calls as if they were arguments.
    """
    params = spec.get("parameters") or {}
    props: Mapping[str, Any] = params.get("properties") or {}
    required = [n for n in params.get("required") or [] if n in props]
    optional = [n for n in props if n not in required]
    args = []
    notes = []
    for name in [*required, *optional]:
        schema = props[name] if isinstance(props[name], Mapping) else {}
        text = f"{name}: {_type_text(schema)}"
        if name in optional:
            text += f" = {json.dumps(schema['default']) if 'default' in schema else 'None'}"
        args.append(text)
        if schema.get("description"):
            notes.append(f"{name}: {str(schema['description']).rstrip('.')}")
    line = f"{spec.get('name', '?')}({', '.join(args)})"
    description = str(spec.get("description") or "").strip()
    if description:
        line += f" -- {description}"
    if notes:
        line += f" ({'; '.join(notes)})"
    return line


def signature_listing(specs: Iterable[Mapping[str, Any]]) -> str:
    """Tool definitions as compact signatures, one per line (see :func:`signature`)."""
    return "\n".join(signature(spec) for spec in specs)


def tool_listing(specs: Iterable[Mapping[str, Any]], style: str = "schema") -> str:
    """Tool definitions in the listing ``style`` (one of :data:`TOOL_LISTINGS`)."""
    if style == "signature":
        return signature_listing(specs)
    return spec_listing(specs)


def check_tool_listing(value: Any) -> str:
    """``value`` if it is one of :data:`TOOL_LISTINGS`, else a ConfigError naming the choices."""
    if value not in TOOL_LISTINGS:
        raise ConfigError(
            f"tool_listing must be one of {', '.join(map(repr, TOOL_LISTINGS))}, got {value!r}"
        )
    return str(value)


class Sandbox:
    """One episode's tools and state; see the module docstring."""

    def __init__(self, tools: Iterable[Tool], state: Mapping[str, Any] | None = None) -> None:
        self.tools: dict[str, Tool] = {}
        for t in tools:
            if t.name in self.tools:
                raise ConfigError(f"two tools are named {t.name!r}; tool names must be unique")
            self.tools[t.name] = t
        self.state: dict[str, Any] = copy.deepcopy(dict(state or {}))
        self.calls: list[ToolCall] = []
        self.results: list[ToolResult] = []

    @property
    def error_counts(self) -> dict[str, int]:
        counts = {"unknown_tool": 0, "invalid_arguments": 0, "tool_error": 0}
        for r in self.results:
            if r.error_kind is not None:
                counts[r.error_kind] = counts.get(r.error_kind, 0) + 1
        return counts

    def call(self, call: ToolCall) -> ToolResult:
        """Validate and run ``call``; never raises."""
        self.calls.append(call)
        result = self._run(call)
        self.results.append(result)
        return result

    def _run(self, call: ToolCall) -> ToolResult:
        t = self.tools.get(call.name)
        if t is None:
            names = ", ".join(sorted(self.tools)) or "none"
            return ToolResult(
                call.name,
                error=f"no tool named {call.name!r} (tools: {names})",
                error_kind="unknown_tool",
            )
        problem = t.validate(call.arguments)
        if problem is not None:
            return ToolResult(
                call.name, error=f"invalid arguments: {problem}", error_kind="invalid_arguments"
            )
        if t.fn is None:
            return ToolResult(call.name, output="ok")
        args = copy.deepcopy(call.arguments)
        try:
            output = t.fn(self.state, **args) if _takes_state(t.fn) else t.fn(**args)
        except Exception as exc:  # a tool's failure is an observation, never a crash
            logger.debug("tool %s raised %r", call.name, exc)
            # An exception may name its own kind (an MCP server that died: "server_error").
            kind = getattr(exc, "error_kind", None)
            return ToolResult(
                call.name,
                error=f"{type(exc).__name__}: {exc}",
                error_kind=kind if isinstance(kind, str) else "tool_error",
            )
        return ToolResult(call.name, output=output)


def _takes_state(fn: Callable[..., Any]) -> bool:
    import inspect

    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return False
    return bool(params) and params[0] == "state"
