"""Parse a model's raw text into tool calls, recording which format it used.

Accepted formats (:data:`FORMATS`):

- ``hermes``: one or more ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``
  blocks (a block may also hold a JSON list of calls; a missing closing tag at the end of
  the text is tolerated, since generation often stops there);
- ``json``: a JSON object ``{"name": ..., "arguments": {...}}`` or a list of them,
  optionally inside a Markdown code fence or after some prose;
- ``react``: ``Action: name`` followed by ``Action Input: {...}`` (repeatable).

``"arguments"`` may also be spelled ``"parameters"`` and may be a JSON-encoded string
(the OpenAI wire format). An empty list (``[]``, ``<tool_call>[]</tool_call>``) or
``Action: none`` is an explicit *no call*. Text that holds no call and no explicit
``[]`` is a *format failure* (``ParsedCalls.error``), as is a call that does not decode:
format failures are reported apart from wrong calls and are never scored as correct.
:func:`parse_tool_calls` never raises.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from acbench_env.tools.sandbox import ToolCall

FORMATS = ("hermes", "json", "react")

_TOOL_BLOCK = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_FENCE = re.compile(r"```(?:json|JSON|tool_call)?\s*\n?(.*?)```", re.DOTALL)
_REACT_ACTION = re.compile(r"^\s*Action\s*:\s*(.*?)\s*$", re.MULTILINE)
_REACT_INPUT = re.compile(r"^\s*Action\s+Input\s*:\s*", re.MULTILINE)
_NO_CALL_WORDS = {"none", "no_call", "no tool", "nothing", "null"}
#: How many opening brackets are tried as the start of a JSON value.
_MAX_DECODE_ATTEMPTS = 32
_NAME = re.compile(r"^[A-Za-z_][\w.\-]*$")
#: Deepest nesting of lists/objects accepted in a call; deeper JSON is a format failure
#: (no tool takes such arguments, and copying or validating them would exhaust the stack).
MAX_JSON_DEPTH = 64


@dataclass(frozen=True)
class ParsedCalls:
    """What :func:`parse_tool_calls` made of a text.

    ``calls`` is ``None`` on a format failure (then ``error`` says why); an empty tuple is
    an explicit decision not to call any tool.
    """

    calls: tuple[ToolCall, ...] | None
    format: str | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "calls": None if self.calls is None else [c.to_dict() for c in self.calls],
        }


def _fail(fmt: str | None, error: str) -> ParsedCalls:
    return ParsedCalls(calls=None, format=fmt, error=error)


def _too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether lists and objects nest more than ``limit`` levels in ``value`` (iterative)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def _loads(text: str) -> Any:
    """``json.loads`` that reports every failure (including deep nesting) as ValueError."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if isinstance(value, (dict, list)) and _too_deep(value):
        raise ValueError(f"JSON nested more than {MAX_JSON_DEPTH} levels deep")
    return value


def _raw_decode_first(text: str) -> tuple[Any, int] | None:
    """The first JSON object or array that decodes in ``text``, and where it ends.

    An empty list found inside an earlier bracket that did not decode (``{"a": [], ...``
    cut off) is not returned: ``[]`` means "no call" only when it stands on its own.
    """
    decoder = json.JSONDecoder()
    for attempt, m in enumerate(re.finditer(r"[\[{]", text)):
        if attempt >= _MAX_DECODE_ATTEMPTS:
            break
        try:
            value, end = decoder.raw_decode(text, m.start())
        except (ValueError, RecursionError):
            continue
        if value == [] and attempt > 0:
            return None
        if isinstance(value, (dict, list)) and not _too_deep(value):
            return value, end
    return None


def _to_call(obj: Any) -> ToolCall | str:
    """A ToolCall from a decoded JSON value, or the reason it is not one."""
    if not isinstance(obj, dict):
        return f"a tool call must be a JSON object, got {type(obj).__name__}"
    if "function" in obj and isinstance(obj["function"], dict) and "name" not in obj:
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name.strip():
        return 'a tool call needs a "name" string'
    args: Any = obj.get("arguments", obj.get("parameters", {}))
    if args is None:
        args = {}
    if isinstance(args, str):
        try:
            args = _loads(args) if args.strip() else {}
        except ValueError:
            return f"the arguments of {name!r} are a string that is not JSON"
    if not isinstance(args, dict):
        return f'the "arguments" of {name!r} must be a JSON object'
    return ToolCall(name=name.strip(), arguments=args)


def _calls_from_value(value: Any) -> tuple[ToolCall, ...] | str:
    items = value if isinstance(value, list) else [value]
    calls = []
    for item in items:
        call = _to_call(item)
        if isinstance(call, str):
            return call
        calls.append(call)
    return tuple(calls)


def _parse_hermes(text: str) -> ParsedCalls:
    calls: list[ToolCall] = []
    for block in _TOOL_BLOCK.findall(text):
        body = block.strip()
        fence = _FENCE.search(body)
        if fence:
            body = fence.group(1).strip()
        try:
            value = _loads(body)
        except ValueError:
            found = _raw_decode_first(body)
            if found is None:
                return _fail("hermes", "a <tool_call> block does not hold valid JSON")
            value = found[0]
        parsed = _calls_from_value(value)
        if isinstance(parsed, str):
            return _fail("hermes", parsed)
        calls.extend(parsed)
    return ParsedCalls(calls=tuple(calls), format="hermes")


def _parse_react(text: str) -> ParsedCalls:
    actions = list(_REACT_ACTION.finditer(text))
    calls: list[ToolCall] = []
    for i, m in enumerate(actions):
        name = m.group(1).strip().strip("`'\"")
        if name.lower() in _NO_CALL_WORDS:
            continue
        if not _NAME.match(name):
            return _fail("react", f"'Action:' must name a tool, got {name[:60]!r}")
        end = actions[i + 1].start() if i + 1 < len(actions) else len(text)
        segment = text[m.end() : end]
        inp = _REACT_INPUT.search(segment)
        if inp is None:
            calls.append(ToolCall(name=name, arguments={}))
            continue
        rest = segment[inp.end() :].strip()
        if not rest:
            calls.append(ToolCall(name=name, arguments={}))
            continue
        found = _raw_decode_first(rest)
        if found is None or not isinstance(found[0], dict) or not rest.startswith("{"):
            return _fail("react", f"the 'Action Input' of {name!r} is not a JSON object")
        calls.append(ToolCall(name=name, arguments=found[0]))
    return ParsedCalls(calls=tuple(calls), format="react")


def parse_tool_calls(text: str) -> ParsedCalls:
    """Parse ``text`` (see the module docstring); never raises."""
    if not isinstance(text, str):
        return _fail(None, f"the action must be text, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        return _fail(None, "empty answer: no tool call and no explicit [] (no call)")
    if "<tool_call>" in stripped:
        return _parse_hermes(stripped)
    if _REACT_ACTION.search(stripped):
        return _parse_react(stripped)
    fence = _FENCE.search(stripped)
    body = fence.group(1).strip() if fence else stripped
    try:
        value: Any = _loads(body)
    except ValueError:
        found = _raw_decode_first(body)
        if found is None:
            if re.search(r"[\[{]", body):
                return _fail("json", "the answer holds no valid JSON tool call")
            return _fail(None, "no tool call in the answer (to call none, answer [])")
        value = found[0]
    if isinstance(value, list) and not value:
        return ParsedCalls(calls=(), format="json")
    parsed = _calls_from_value(value)
    if isinstance(parsed, str):
        return _fail("json", parsed)
    return ParsedCalls(calls=parsed, format="json")


def format_calls(calls: list[ToolCall] | tuple[ToolCall, ...], fmt: str = "hermes") -> str:
    """Render ``calls`` in ``fmt`` (the inverse of :func:`parse_tool_calls`)."""
    if fmt == "hermes":
        if not calls:
            return "<tool_call>[]</tool_call>"
        return "\n".join(
            f"<tool_call>{json.dumps({'name': c.name, 'arguments': c.arguments})}</tool_call>"
            for c in calls
        )
    if fmt == "json":
        if len(calls) == 1:
            return json.dumps({"name": calls[0].name, "arguments": calls[0].arguments})
        return json.dumps([{"name": c.name, "arguments": c.arguments} for c in calls])
    if fmt == "react":
        if not calls:
            return "Action: none"
        return "\n".join(
            f"Action: {c.name}\nAction Input: {json.dumps(c.arguments)}" for c in calls
        )
    raise ValueError(f"unknown tool-call format {fmt!r}; use one of {FORMATS}")
