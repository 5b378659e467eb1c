"""Mutations of a correct BFCL answer.

:func:`mutations`: each with the error category it must be rejected with (in both modes).
:func:`candidates`: a wider set of labelled candidate answers (the oracle, its mutations,
and the variants where the checking modes may disagree: reordered parallel calls, int
items in float lists, ``[]`` for optional lists, bool/int swaps, unparsed answers, quoted
Java array items, ...), used to compare our verdicts with the reference checker's.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from typing import Any

from acbench_env.tools.bfcl import PY_TYPES, BFCLItem, oracle_calls
from acbench_env.tools.bfcl_types import category_language, is_relevance
from acbench_env.tools.sandbox import ToolCall

_WRONG_TYPE_CANDIDATES: tuple[Any, ...] = ("not-a-value-xyz", ["zz"], {"zz": 1}, 987654321)

Candidate = tuple[str, "list[ToolCall] | None"]


def _doc(item: BFCLItem, name: str) -> dict[str, Any]:
    return next(f for f in item.functions if f["name"] == name)


def _answer_for(item: BFCLItem, call_index: int) -> dict[str, list[Any]]:
    return next(iter(item.ground_truth[call_index].values()))


def mutations(item: BFCLItem) -> Iterator[tuple[str, list[ToolCall]]]:
    """(expected category, mutated calls) for every applicable mutation of the oracle
    (Python categories with ground truth, and irrelevance)."""
    calls = oracle_calls(item.functions, item.ground_truth, item.category)
    if is_relevance(item.category):
        return
    if not item.ground_truth:
        if item.functions:
            yield "unexpected_call", [ToolCall(item.functions[0]["name"], {})]
        return
    # The first call is mutated; in parallel items its answer is ground_truth[0].
    first = calls[0]
    doc = _doc(item, first.name)
    props = doc["parameters"].get("properties", {})
    answer = _answer_for(item, 0)

    yield "wrong_function", [ToolCall(first.name + "_unknown", first.arguments), *calls[1:]]

    required = [p for p in doc["parameters"].get("required", []) if p in first.arguments]
    if required:
        args = dict(first.arguments)
        del args[required[0]]
        yield "missing_argument", [ToolCall(first.name, args), *calls[1:]]

    if category_language(item.category) != "python":
        return
    for param in first.arguments:
        type_name = str(props[param].get("type", "any")).lower()
        expected = PY_TYPES.get(type_name, (str,))
        answer_types = {type(a) for a in answer[param] if a != ""}
        for candidate in _WRONG_TYPE_CANDIDATES:
            t = type(candidate)
            if t in expected or t in answer_types or (t is int and type_name == "float"):
                continue
            args = {**first.arguments, param: copy.deepcopy(candidate)}
            yield "wrong_type", [ToolCall(first.name, args), *calls[1:]]
            break
        break  # one parameter is enough per item

    for param, value in first.arguments.items():
        accepted = answer[param]
        if type(value) is str:
            new: Any = value + " zq-not-accepted"
        elif type(value) is int:
            new = max([a for a in accepted if type(a) is int] or [0]) + 7919
        elif type(value) is float:
            new = max([a for a in accepted if type(a) in (int, float)] or [0.0]) + 7919.5
        elif type(value) is bool and (not value) not in accepted:
            new = not value
        else:
            continue
        args = {**first.arguments, param: new}
        yield "wrong_value", [ToolCall(first.name, args), *calls[1:]]
        break


def _replace(calls: list[ToolCall], k: int, param: str, value: Any) -> list[ToolCall]:
    out = list(calls)
    out[k] = ToolCall(calls[k].name, {**calls[k].arguments, param: value})
    return out


def _drop(calls: list[ToolCall], k: int, param: str) -> list[ToolCall]:
    out = list(calls)
    out[k] = ToolCall(calls[k].name, {p: v for p, v in calls[k].arguments.items() if p != param})
    return out


def _argument_variants(item: BFCLItem, calls: list[ToolCall]) -> Iterator[Candidate]:
    """Per-argument variants of every call (Python values)."""
    for k, call in enumerate(calls):
        fdoc = next((f for f in item.functions if f["name"] == call.name), None)
        if fdoc is None:
            continue
        props = fdoc["parameters"].get("properties", {})
        answer = _answer_for(item, k)
        for param, accepted in answer.items():
            doc = props.get(param) or {}
            type_name = str(doc.get("type", "any"))
            value = call.arguments.get(param)
            if param in call.arguments:
                yield f"drop:{param}", _drop(calls, k, param)
            if "" in accepted and type_name in ("array", "tuple", "Array", "ArrayList", "array"):
                yield f"empty_list:{param}", _replace(calls, k, param, [])
            if type_name in ("array", "tuple") and param not in call.arguments:
                continue
            floats = isinstance(value, list) and value and all(type(v) is float for v in value)
            if floats and all(v == int(v) for v in value):
                yield f"int_items:{param}", _replace(calls, k, param, [int(v) for v in value])
            if isinstance(value, list) and len(value) > 1:
                yield f"reversed_list:{param}", _replace(calls, k, param, value[::-1])
            if type(value) is float and value == int(value):
                yield f"int_for_float:{param}", _replace(calls, k, param, int(value))
            if type(value) is int and type_name == "integer":
                yield f"float_for_int:{param}", _replace(calls, k, param, float(value))
            if type(value) is int and value in (0, 1):
                yield f"bool_for_int:{param}", _replace(calls, k, param, bool(value))
            if type(value) is bool:
                yield f"int_for_bool:{param}", _replace(calls, k, param, int(value))
            if type(value) is str and value:
                yield f"upper:{param}", _replace(calls, k, param, value.upper() + " ")
                yield f"as_list:{param}", _replace(calls, k, param, [value])
            if type(value) is str and type_name == "integer" and value.isdigit():
                yield f"numeric_text:{param}", _replace(calls, k, param, int(value))
            if isinstance(value, dict) and value:
                first_key = next(iter(value))
                yield (
                    f"dict_drop_key:{param}",
                    _replace(calls, k, param, {a: b for a, b in value.items() if a != first_key}),
                )
                yield f"dict_extra_key:{param}", _replace(calls, k, param, {**value, "zz_k": 1})
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                yield f"list_dict_short:{param}", _replace(calls, k, param, value[:-1])
            if isinstance(value, list) and value and all(type(v) is str for v in value):
                yield f"mixed_items:{param}", _replace(calls, k, param, [*value[:-1], 7])


def _typed_text_variants(item: BFCLItem, calls: list[ToolCall]) -> Iterator[Candidate]:
    """Java / JavaScript source-text variants of every call."""
    for k, call in enumerate(calls):
        fdoc = next((f for f in item.functions if f["name"] == call.name), None)
        if fdoc is None:
            continue
        props = fdoc["parameters"].get("properties", {})
        for param, text in call.arguments.items():
            if not isinstance(text, str):
                continue
            doc = props.get(param) or {}
            type_name = str(doc.get("type", "any"))
            nested = str((doc.get("items") or {}).get("type", ""))
            yield f"raw_text_dropped:{param}", _drop(calls, k, param)
            if text.startswith("new ") and "[]{" in text and nested in ("String", "char"):
                q = '"' if nested == "String" else "'"
                body = text[text.index("{") + 1 : text.rindex("}")]
                quoted = ", ".join(f"{q}{p.strip()}{q}" for p in body.split(",") if p.strip())
                head = text[: text.index("{") + 1]
                yield f"quoted_items:{param}", _replace(calls, k, param, f"{head}{quoted}}}")
            if text.endswith("L") and text[:-1].lstrip("-").isdigit():
                yield f"long_without_L:{param}", _replace(calls, k, param, text[:-1])
            if text in ("true", "false"):
                yield f"python_bool:{param}", _replace(calls, k, param, text == "true")
                yield f"capital_bool:{param}", _replace(calls, k, param, text.title())
            if text.lstrip("-").replace(".", "", 1).isdigit():
                yield f"bare_number:{param}", _replace(calls, k, param, float(text))
                yield f"exp_number:{param}", _replace(calls, k, param, f"{float(text):e}")
            if type_name in ("String", "any") and text:
                yield (
                    f"single_quoted:{param}",
                    _replace(calls, k, param, f"'{text.strip(chr(34))}'"),
                )
                yield f"changed_text:{param}", _replace(calls, k, param, text + "Zq")
            if type_name in ("array", "Array", "ArrayList") and text.count(",") >= 1:
                i = text.rindex(",")
                ends = [j for j in (text.find(c, i) for c in "}])") if j > 0]
                if ends:
                    shorter = text[:i] + text[min(ends) :]
                    yield f"text_one_item_less:{param}", _replace(calls, k, param, shorter)


def candidates(item: BFCLItem) -> Iterator[Candidate]:
    """Labelled candidate answers for ``item`` (``None`` = an answer that did not parse)."""
    calls = oracle_calls(item.functions, item.ground_truth, item.category)
    yield "oracle", calls
    yield "unparsed", None
    yield "no_call", []
    if item.functions:
        f0 = item.functions[0]["name"]
        yield "unknown_function", [ToolCall("zz_not_offered", {})]
        yield "first_function_no_args", [ToolCall(f0, {})]
    if not item.ground_truth:
        return
    for label, mutated in mutations(item):
        yield f"mutation:{label}", mutated
    yield "extra_call", [*calls, calls[0]]
    if len(calls) > 1:
        yield "reversed_calls", calls[::-1]
        yield "rotated_calls", [*calls[1:], calls[0]]
        yield "one_call_less", calls[:-1]
    if category_language(item.category) == "python":
        yield from _argument_variants(item, calls)
    else:
        yield from _typed_text_variants(item, calls)
        yield "untyped_values", _untyped(item)


def _untyped(item: BFCLItem) -> list[ToolCall]:
    """The Python oracle's values, not written as source text (a type error in Java/JS)."""
    out = []
    for ans in item.ground_truth:
        name, accepted = next(iter(ans.items()))
        args = {
            p: next(v for v in vals if v != "")
            for p, vals in accepted.items()
            if any(v != "" for v in vals)
        }
        out.append(ToolCall(name, args))
    return out


def labels_digest(keys_and_labels: list[str]) -> str:
    """The hash that ties a string of recorded verdicts to the candidate list it was made
    for (``"<item id>#<k> <label>"`` per candidate)."""
    return hashlib.sha256("\n".join(keys_and_labels).encode()).hexdigest()
