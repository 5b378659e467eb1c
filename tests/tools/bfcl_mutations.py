"""Mutations of a correct BFCL answer, each with the error category it must be rejected with."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from acbench_env.tools.bfcl import PY_TYPES, BFCLItem, oracle_calls
from acbench_env.tools.sandbox import ToolCall

_WRONG_TYPE_CANDIDATES: tuple[Any, ...] = ("not-a-value-xyz", ["zz"], {"zz": 1}, 987654321)


def _doc(item: BFCLItem, name: str) -> dict[str, Any]:
    return next(f for f in item.functions if f["name"] == name)


def _answer_for(item: BFCLItem, call_index: int) -> dict[str, list[Any]]:
    return next(iter(item.ground_truth[call_index].values()))


def mutations(item: BFCLItem) -> Iterator[tuple[str, list[ToolCall]]]:
    """(expected category, mutated calls) for every applicable mutation of the oracle."""
    calls = oracle_calls(item.functions, item.ground_truth)
    if not item.ground_truth:
        f = item.functions[0]
        yield "unexpected_call", [ToolCall(f["name"], {})]
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
