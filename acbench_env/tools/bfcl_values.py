"""BFCL value checks: one argument's type (with one level of list items) and its value
against the accepted ones, per checking mode (see :mod:`acbench_env.tools.bfcl_check`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from acbench_env.tools.bfcl_types import CheckMode, CheckResult, reject, standardize_string


def _answer_type(answers: Sequence[Any]) -> type | None:
    for a in answers:
        if a != "":
            return type(a)
    return None


def _std(value: Any) -> Any:
    return standardize_string(value) if isinstance(value, str) else value


def _std_list(values: Sequence[Any]) -> list[Any]:
    return [_std(v) for v in values]


def _items_ok(value: list[Any], item_type: type, answers: Sequence[Any], mode: CheckMode) -> bool:
    """The one level of item type checking, per mode."""
    if mode == "upstream":
        for answer in answers:
            if not isinstance(answer, list):
                return True  # a non-list answer ("" or a variable) skips the item check
            first = _answer_type(answer)
            if all(type(v) is item_type or type(v) is first for v in value):
                return True
        return False
    answer_item_types = {type(x) for a in answers if isinstance(a, list) for x in a}
    return all(
        type(v) is item_type
        or (item_type is float and type(v) is int)
        or type(v) in answer_item_types
        for v in value
    )


def check_type(
    param: str,
    value: Any,
    answers: Sequence[Any],
    type_name: str,
    expected: type,
    item_type: type | None,
    mode: CheckMode,
) -> tuple[CheckResult, bool]:
    """Type check one (read) value; returns (result, is_variable)."""
    answer_type = _answer_type(answers)
    is_variable = answer_type is not None and answer_type is not expected
    if type(value) is expected:
        if item_type is None or _items_ok(cast(list, value), item_type, answers, mode):
            return CheckResult.ok(), is_variable
        return reject(
            "wrong_type",
            "type_error:nested",
            f"parameter {param!r}: items must be {item_type.__name__}, got {value!r}",
        ), is_variable
    if answer_type is not None and type(value) is answer_type:
        return CheckResult.ok(), True
    return reject(
        "wrong_type",
        "type_error:simple",
        f"parameter {param!r} must be {type_name}, got {type(value).__name__} ({value!r})",
    ), is_variable


def _key_values(accepted: Any, mode: CheckMode) -> Any:
    """The accepted values of one dict key. Upstream iterates whatever is there, so an
    answer written as a bare string (not a list) accepts its characters one by one."""
    if isinstance(accepted, list):
        return accepted
    if mode == "upstream" and isinstance(accepted, (str, dict)):
        return accepted if isinstance(accepted, str) else list(accepted)
    return [accepted]


def _check_dict(
    param: str, value: Mapping[str, Any], answers: Sequence[Any], mode: CheckMode
) -> CheckResult:
    last = reject("wrong_value", "value_error:dict_value", f"parameter {param!r}: no accepted dict")
    for answer in answers:
        if answer == "" or not isinstance(answer, Mapping):
            continue
        problem: CheckResult | None = None
        for key, v in value.items():
            if key not in answer:
                problem = reject(
                    "wrong_value", "value_error:dict_key", f"parameter {param!r}: key {key!r}"
                )
                break
            accepted = _key_values(answer[key], mode)
            if _std(v) not in _std_list(accepted):
                problem = reject(
                    "wrong_value",
                    "value_error:dict_value",
                    f"parameter {param!r}: key {key!r} = {v!r} is not among {accepted!r}",
                )
                break
        if problem is None:
            for key, accepted in answer.items():
                values = _key_values(accepted, mode)  # upstream: "" is in every string
                if key not in value and "" not in values:
                    problem = reject(
                        "wrong_value",
                        "value_error:dict_key",
                        f"parameter {param!r}: missing key {key!r}",
                    )
                    break
        if problem is None:
            return CheckResult.ok()
        last = problem
    return last


def _check_list_of_dicts(
    param: str, value: Sequence[Any], answers: Sequence[Any], mode: CheckMode
) -> CheckResult:
    last = reject(
        "wrong_value", "value_error:list_dict_count", f"parameter {param!r}: wrong number of dicts"
    )
    for answer in answers:
        # Upstream reads the "may be omitted" marker "" as a list of no dicts.
        if not isinstance(answer, list) and not (mode == "upstream" and answer == ""):
            continue
        if len(answer) != len(value):
            continue
        results = [
            _check_dict(param, v, [a], mode)
            if isinstance(v, Mapping)
            else reject(
                "wrong_type", "type_error:nested", f"parameter {param!r}: items must be dicts"
            )
            for v, a in zip(value, answer)
        ]
        bad = [r for r in results if not r.valid]
        if not bad:
            return CheckResult.ok()
        last = bad[0]
    return last


def _scalar_ok(value: Any, accepted: Sequence[Any], mode: CheckMode) -> bool:
    if mode == "upstream":
        return value in accepted  # Python ==: True == 1 == 1.0
    return any(
        type(value) is type(a) or (isinstance(value, float) and type(a) is int)
        for a in accepted
        if a == value
    )


def check_value(
    param: str,
    value: Any,
    accepted: list[Any],
    expected: type,
    item_type: type | None,
    is_variable: bool,
    mode: CheckMode,
) -> CheckResult:
    if not is_variable and expected is dict:
        return _check_dict(param, value, accepted, mode)
    if not is_variable and expected is list and item_type is dict:
        return _check_list_of_dicts(param, value, accepted, mode)
    if not is_variable and expected is str:
        ok = standardize_string(value) in [
            standardize_string(a) for a in accepted if isinstance(a, str)
        ]
        error = "value_error:string"
    elif not is_variable and expected is list:
        lists = [a for a in accepted if isinstance(a, list)]
        if mode == "upstream":
            lists += [[] for a in accepted if a == ""]  # "" reads as an empty list
        ok = _std_list(value) in [_std_list(a) for a in lists]
        error = "value_error:list/tuple"
    else:
        ok = _scalar_ok(value, accepted, mode)
        error = "value_error:others"
    if ok:
        return CheckResult.ok()
    return reject("wrong_value", error, f"argument {param!r} = {value!r} is not among {accepted!r}")
