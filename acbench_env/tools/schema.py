"""JSON Schema for tools: derived from typed Python functions, or converted from BFCL docs.

:func:`function_schema` reads a function's signature (types, defaults) and its docstring
(first paragraph = description; Google-style ``Args:`` section = parameter descriptions)
and returns an OpenAI-style tool definition ``{"name", "description", "parameters"}``
whose ``parameters`` is a JSON Schema object.

:func:`bfcl_to_json_schema` maps the Berkeley Function Calling Leaderboard's
non-standard types (``dict``, ``float``, ``tuple``, ``any``) to JSON Schema.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Union

from acbench_env.core.errors import ConfigError

#: BFCL type name -> JSON Schema type (``any`` has no constraint and is handled apart).
BFCL_TYPES: dict[str, str] = {
    "dict": "object",
    "object": "object",
    "float": "number",
    "number": "number",
    "integer": "integer",
    "int": "integer",
    "string": "string",
    "str": "string",
    "boolean": "boolean",
    "bool": "boolean",
    "array": "array",
    "list": "array",
    "tuple": "array",
    "null": "null",
}

_ARGS_HEADER = re.compile(r"^\s*(Args|Arguments|Parameters)\s*:\s*$")
_SECTION_HEADER = re.compile(r"^\s*[A-Z][A-Za-z ]*:\s*$")
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def python_type_schema(annotation: Any) -> dict[str, Any]:
    """JSON Schema of a Python type annotation (str, int, float, bool, list[...], dict,
    tuple[...], Literal[...], Optional/Union, None, Any)."""
    if annotation is inspect.Parameter.empty or annotation is Any:
        return {}
    if annotation is None or annotation is type(None):
        return {"type": "null"}
    if annotation is bool:
        return {"type": "boolean"}
    if annotation is int:
        return {"type": "integer"}
    if annotation is float:
        return {"type": "number"}
    if annotation is str:
        return {"type": "string"}
    if annotation in (list, Sequence):
        return {"type": "array"}
    if annotation in (dict, Mapping):
        return {"type": "object"}
    if annotation is tuple:
        return {"type": "array"}
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return {"enum": list(args)}
    if origin in (Union, types.UnionType):
        members = [python_type_schema(a) for a in args]
        return members[0] if len(members) == 1 else {"anyOf": members}
    if origin in (list, Sequence, set, frozenset) or (
        isinstance(origin, type) and issubclass(origin, Sequence) and origin is not tuple
    ):
        out: dict[str, Any] = {"type": "array"}
        if args:
            out["items"] = python_type_schema(args[0])
        return out
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": python_type_schema(args[0])}
        return {
            "type": "array",
            "prefixItems": [python_type_schema(a) for a in args],
            "minItems": len(args),
            "maxItems": len(args),
        }
    if origin in (dict, Mapping):
        out = {"type": "object"}
        if len(args) == 2:
            out["additionalProperties"] = python_type_schema(args[1])
        return out
    raise ConfigError(
        f"cannot derive a JSON Schema from the annotation {annotation!r}; use str, int, float, "
        "bool, list[...], dict[str, ...], tuple[...], Literal[...] or Optional[...]"
    )


def parse_docstring(doc: str | None) -> tuple[str, dict[str, str]]:
    """The description (text before the first section) and per-argument descriptions."""
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    description: list[str] = []
    params: dict[str, str] = {}
    i = 0
    while i < len(lines) and not _SECTION_HEADER.match(lines[i]):
        description.append(lines[i])
        i += 1
    current: str | None = None
    in_args = False
    for line in lines[i:]:
        if _ARGS_HEADER.match(line):
            in_args, current = True, None
            continue
        if _SECTION_HEADER.match(line):
            in_args, current = False, None
            continue
        if not in_args:
            continue
        m = _ARG_LINE.match(line)
        if m and (len(line) - len(line.lstrip())) <= 4:
            current = m.group(1).lstrip("*")
            params[current] = m.group(2).strip()
        elif current is not None and line.strip():
            params[current] = (params[current] + " " + line.strip()).strip()
    return " ".join(" ".join(description).split()), params


def function_schema(fn: Callable[..., Any], name: str | None = None) -> dict[str, Any]:
    """An OpenAI-style tool definition for ``fn`` (see the module docstring).

    Every parameter must be annotated; parameters without a default are required.
    ``*args``/``**kwargs`` and a first parameter named ``state`` (the sandbox's episode
    state, injected at call time) are not part of the schema.
    """
    sig = inspect.signature(fn)
    hints = typing.get_type_hints(fn)
    description, arg_docs = parse_docstring(inspect.getdoc(fn))
    properties: dict[str, Any] = {}
    required: list[str] = []
    tool_name = name or fn.__name__
    for index, (pname, param) in enumerate(sig.parameters.items()):
        if param.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        if index == 0 and pname == "state":
            continue
        if pname not in hints:
            raise ConfigError(
                f"tool {tool_name!r}: parameter {pname!r} has no type annotation; annotate it "
                "so that its JSON Schema can be derived"
            )
        prop = python_type_schema(hints[pname])
        if pname in arg_docs:
            prop["description"] = arg_docs[pname]
        if param.default is inspect.Parameter.empty:
            required.append(pname)
        elif param.default is None or isinstance(param.default, (str, int, float, bool)):
            prop["default"] = param.default
        properties[pname] = prop
    return {
        "name": tool_name,
        "description": description,
        "parameters": {
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        },
    }


def bfcl_to_json_schema(schema: Any) -> Any:
    """A BFCL parameter schema converted to JSON Schema (recursively).

    ``dict`` -> ``object``, ``float`` -> ``number``, ``tuple`` -> ``array``, ``any`` -> no
    type constraint; BFCL's ``optional`` flag is dropped (``required`` already says it).
    """
    if isinstance(schema, list):
        return [bfcl_to_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type":
            if isinstance(value, str) and value.lower() == "any":
                continue
            if isinstance(value, str):
                out["type"] = BFCL_TYPES.get(value.lower(), value)
            elif isinstance(value, list):
                out["type"] = [BFCL_TYPES.get(str(v).lower(), v) for v in value]
            else:
                out["type"] = value
        elif key == "optional":
            continue
        elif key == "properties" and isinstance(value, dict):
            out["properties"] = {k: bfcl_to_json_schema(v) for k, v in value.items()}
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf", "prefixItems"):
            out[key] = bfcl_to_json_schema(value)
        else:
            out[key] = value
    return out
