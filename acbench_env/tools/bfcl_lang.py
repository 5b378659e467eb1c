"""Java and JavaScript argument values: BFCL's rules for reading typed strings, and writers.

In BFCL's ``simple_java`` and ``simple_javascript`` categories every argument is a string
holding source text (``"true"``, ``"42L"``, ``"new int[]{1, 2}"``, ``"{key: 'v'}"``), read
into a Python value by the parameter's declared type before it is compared with the
accepted values. The rules here reproduce the reference's (the gorilla checker's type
converters), including what they leave unread: text that does not fit a type's pattern
stays a string (and then matches only an answer given as a variable name), a
``char`` keeps its quotes, a Java array (``new T[]{...}``) keeps the quotes of its string
items. The one correction, in ``mode="fixed"`` only: items of a Java array of ``String``
or ``char`` lose their quotes, as items of an ``ArrayList`` already do upstream.

:func:`java_literal` and :func:`js_literal` write a Python value as text these readers
read back (the oracle's answers).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

_INT = re.compile(r"^-?\d+$")
_JAVA_FLOAT = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?[fF]$")
_JAVA_DOUBLE = re.compile(r"^-?\d+(\.\d+)?([eE][+-]?\d+)?$")
_JAVA_LONG = re.compile(r"^-?\d+[lL]$")
_JAVA_ARRAY = re.compile(r"new\s+\w+\[\]\s*\{(.*?)\}")
_JAVA_ASLIST = re.compile(r"new\s+ArrayList<\w*>\(Arrays\.asList\((.+?)\)\)")
_JAVA_ADDS = re.compile(r"new\s+ArrayList<\w*>\(\)\s*\{\{\s*(.+?)\s*\}\}", re.DOTALL)
_JAVA_ADD = re.compile(r"add\((.+?)\)")
_JAVA_EMPTY_LIST = re.compile(r"new\s+ArrayList<\w*>\(\)")
_JAVA_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)\s*\{\s*\{?\s*(.*?)\s*\}?\s*\}", re.DOTALL)
_JAVA_PUT = re.compile(r"put\(\"(.*?)\",\s*(.*?)\)")
_JAVA_EMPTY_MAP = re.compile(r"new\s+HashMap<.*?>\s*\(\)")
_JS_FLOAT = re.compile(r"^-?\d+(\.\d+)?$")
_JS_BIGINT = re.compile(r"^-?\d+n$")
_JS_2D = re.compile(
    r"\[\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\]|\bnew\s+Array\(\s*\[.*?\]\s*(,\s*\[.*?\]\s*)*\)"
)
_JS_1D = re.compile(r"\[(.*?)\]|\bnew\s+Array\((.*?)\)")
_JS_INNER = re.compile(r"\[(.*?)\]")
_JS_DICT = re.compile(r"\{(.*?)\}")
_JS_PAIR = re.compile(r"([^:]+):\s*(.*?)(?:,\s*(?=[^,]+:)|$)")
_BOOLEAN = re.compile(r"(?:true|false)\Z")

_Scalar = tuple[re.Pattern[str], Callable[[str], Any]]


def _without_suffix(read: Callable[[str], Any]) -> Callable[[str], Any]:
    return lambda text: read(text[:-1])


def _is_true(text: str) -> bool:
    return text == "true"


#: Scalar types: the pattern a value's text must match, and how to read matching text.
_JAVA_SCALARS: dict[str, _Scalar] = {
    "byte": (_INT, int),
    "short": (_INT, int),
    "integer": (_INT, int),
    "float": (_JAVA_FLOAT, _without_suffix(float)),
    "double": (_JAVA_DOUBLE, float),
    "long": (_JAVA_LONG, _without_suffix(int)),
    "boolean": (_BOOLEAN, _is_true),
}
_JS_SCALARS: dict[str, _Scalar] = {
    "integer": (_INT, int),
    "float": (_JS_FLOAT, float),
    "Bigint": (_JS_BIGINT, _without_suffix(int)),
    "Boolean": (_BOOLEAN, _is_true),
}


def _scalar(text: str, scalar: _Scalar) -> Any:
    """``text`` read by ``scalar`` if it matches the pattern; else ``text`` unchanged."""
    pattern, read = scalar
    return read(text) if pattern.match(text) else text


def _number(text: str) -> Any:
    """Python's own reading of a number literal, else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


# --------------------------------------------------------------------------- Java


def java_plain_value(text: str) -> Any:
    """A Java literal read without a declared type (items of maps and untyped lists)."""
    if text in ("true", "false"):
        return text == "true"
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    if _JAVA_LONG.match(text):
        return int(text[:-1])
    if _JAVA_FLOAT.match(text):
        return float(text[:-1])
    return _number(text)


def _java_items(parts: list[str], nested: str | None) -> list[Any]:
    out = []
    for part in parts:
        if nested in ("char", "String"):
            out.append(part[1:-1])  # the quotes go, whatever they are
        elif nested:
            out.append(java_value(part, nested))
        else:
            out.append(java_plain_value(part))
    return out


def _java_array(text: str, nested: str | None, mode: str) -> Any:
    match = _JAVA_ARRAY.search(text)
    if not match:
        return text
    parts = [p.strip() for p in match.group(1).split(",") if p.strip()]
    out = []
    for part in parts:
        if nested is None:
            out.append(java_plain_value(part))
            continue
        quote = {"String": '"', "char": "'"}.get(nested)
        if mode == "fixed" and quote and len(part) >= 2 and part[0] == part[-1] == quote:
            part = part[1:-1]
        out.append(java_value(part, nested, mode=mode))
    return out


def _java_arraylist(text: str, nested: str | None) -> Any:
    match = _JAVA_ASLIST.search(text)
    if match:
        return _java_items([p.strip() for p in match.group(1).split(",")], nested)
    match = _JAVA_ADDS.search(text)
    if match:
        return _java_items([m.strip() for m in _JAVA_ADD.findall(match.group(1))], nested)
    if _JAVA_EMPTY_LIST.search(text):
        return []
    return text


def _java_hashmap(text: str) -> Any:
    match = _JAVA_MAP.search(text)
    if match:
        body = match.group(1)
        if not body.strip():
            return {}
        return {key: java_plain_value(value.strip()) for key, value in _JAVA_PUT.findall(body)}
    if _JAVA_EMPTY_MAP.search(text):
        return {}
    return text


def java_value(text: str, type_name: str, nested: str | None = None, *, mode: str = "fixed") -> Any:
    """``text`` read as a Java value of ``type_name`` (``nested``: the item type of an
    ``Array``/``ArrayList``); text that does not fit stays a string."""
    if type_name in _JAVA_SCALARS:
        return _scalar(text, _JAVA_SCALARS[type_name])
    if type_name == "Array":
        return _java_array(text, nested, mode)
    if type_name == "ArrayList":
        return _java_arraylist(text, nested)
    if type_name == "HashMap":
        return _java_hashmap(text)
    # String, any, char (whose quotes stay) and the collections BFCL never reads.
    return text


_JAVA_ELEMENT = {"integer": "int", "boolean": "boolean", "any": "Object"}


def java_literal(value: Any, type_name: str, nested: str | None = None) -> str:
    """Java source text for ``value`` that :func:`java_value` reads back as ``value``
    (in both modes); a string given for a non-string type (a variable name) as it is."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if type_name == "long" and isinstance(value, int):
        return f"{value}L"
    if type_name == "float" and isinstance(value, (int, float)):
        return f"{float(value)!r}f"
    if type_name == "double" and isinstance(value, (int, float)):
        return repr(float(value))
    if type_name == "Array" and isinstance(value, list):
        element = _JAVA_ELEMENT.get(nested or "any", nested or "Object")
        items = ", ".join(java_literal(v, nested or "any") for v in value)
        return f"new {element}[]{{{items}}}"
    if type_name == "ArrayList" and isinstance(value, list):
        if not value:
            return "new ArrayList<>()"
        if nested in ("String", "char"):
            q = '"' if nested == "String" else "'"
            items = ", ".join(f"{q}{v}{q}" for v in value)
        else:
            items = ", ".join(java_literal(v, nested or "any") for v in value)
        return f"new ArrayList<>(Arrays.asList({items}))"
    if type_name == "HashMap" and isinstance(value, dict):
        if not value:
            return "new HashMap<>()"
        puts = " ".join(f'put("{k}", {_java_plain_literal(v)});' for k, v in value.items())
        return f"new HashMap<String, Object>() {{{{ {puts} }}}}"
    return str(value)


def _java_plain_literal(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


# --------------------------------------------------------------------------- JavaScript


def js_plain_value(text: str) -> Any:
    """A JavaScript literal read without a declared type."""
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if len(text) >= 1 and text[0] == text[-1] and text[0] in "\"'":
        return text[1:-1]
    return _number(text)


def _js_array(code: str, nested: str | None) -> Any:
    match = _JS_2D.match(code)
    if match:
        rows = []
        for k, inner in enumerate(_JS_INNER.findall(match.group(0))):
            inner = inner.strip()
            if k == 0 and inner.startswith("["):
                inner = inner[1:]
            rows.append([js_plain_value(e.strip()) for e in inner.split(",")])
        return rows
    match = _JS_1D.match(code)
    if not match:
        return code
    body = match.group(1) if match.group(1) is not None else match.group(2)
    parts = body.strip().split(",") if body is not None and body.strip() else []
    if not nested:
        return [js_plain_value(p.strip()) for p in parts]
    out = []
    for part in parts:
        out.append(js_value(part.strip(), nested))
    return out


def _js_dict(code: str) -> Any:
    if code == "{}":
        return {}
    match = _JS_DICT.match(code)
    if not match:
        return code
    out: dict[str, Any] = {}
    for key, value in _JS_PAIR.findall(match.group(1)):
        key, value = key.strip().strip("'\""), value.strip()
        if value.startswith("[") and value.endswith("]"):
            out[key] = _js_collection(value, "array")
        elif value.startswith("{") and value.endswith("}"):
            out[key] = _js_collection(value, "dict")
        else:
            out[key] = js_plain_value(value.strip("'\""))
    return out


def _js_collection(code: str, kind: str, nested: str | None = None) -> Any:
    code = code.strip()
    try:
        return _js_array(code, nested) if kind == "array" else _js_dict(code)
    except ValueError:
        return code  # BFCL gives up on the whole value and keeps the text


def js_value(text: str, type_name: str, nested: str | None = None) -> Any:
    """``text`` read as a JavaScript value of ``type_name``; text that does not fit stays a
    string. Raises ValueError for a type outside BFCL's JavaScript table."""
    if type_name == "String":
        quoted = len(text) >= 1 and text[0] == text[-1] and text[0] in "\"'"
        return text[1:-1] if quoted else text
    if type_name in _JS_SCALARS:
        return _scalar(text, _JS_SCALARS[type_name])
    if type_name in ("dict", "array"):
        return _js_collection(text, type_name, nested)
    if type_name == "any":
        return text
    raise ValueError(f"Unsupported type: {type_name}")


def _js_number(value: float) -> str:
    text = repr(float(value))
    return format(Decimal(text), "f") if "e" in text else text


def js_literal(value: Any, type_name: str, nested: str | None = None) -> str:
    """JavaScript source text for ``value`` that :func:`js_value` reads back as ``value``;
    a string given for a non-string type (a variable name) as it is."""
    if isinstance(value, str):
        return f'"{value}"' if type_name == "String" else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if type_name == "Bigint" and isinstance(value, int):
        return f"{value}n"
    if type_name == "float" and isinstance(value, (int, float)):
        return _js_number(value)
    if isinstance(value, list):
        return "[" + ", ".join(_js_item(v, nested) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_js_item(v, None)}" for k, v in value.items()) + "}"
    return str(value)


def _js_item(value: Any, nested: str | None) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list):
        return "[" + ", ".join(_js_item(v, None) for v in value) + "]"
    if nested and not isinstance(value, (bool, dict)):
        return js_literal(value, nested)
    return js_literal(value, "any")
