"""The BFCL checker: semantics on small cases, the packaged sample, and the real BFCL files."""

from __future__ import annotations

import collections

import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.environments.bfcl import sample_data_dir
from acbench_env.tools.bfcl import (
    argument_accuracy,
    check_answer,
    check_call,
    load_bfcl,
    oracle_calls,
    standardize_string,
)
from acbench_env.tools.parsing import FORMATS, format_calls, parse_tool_calls
from acbench_env.tools.sandbox import ToolCall
from tests.conftest import SHARED_DATA
from tests.tools.bfcl_mutations import mutations

BFCL_DIR = SHARED_DATA / "bfcl"
needs_bfcl = pytest.mark.skipif(
    not (BFCL_DIR / "BFCL_v4_simple_python.json").is_file(),
    reason=f"the real BFCL files are not in {BFCL_DIR} (see shared/data/README.md)",
)

AREA = {
    "name": "area",
    "parameters": {
        "type": "dict",
        "properties": {
            "width": {"type": "float"},
            "unit": {"type": "string"},
            "sides": {"type": "array", "items": {"type": "integer"}},
            "opts": {"type": "dict", "properties": {"round": {"type": "boolean"}}},
        },
        "required": ["width"],
    },
}
ANSWER = {
    "width": [3.0],
    "unit": ["m2", ""],
    "sides": [[1, 2], ""],
    "opts": ["", {"round": [True]}],
}


def _check(args: dict) -> str | None:
    return check_call(AREA, ToolCall("area", args), ANSWER).category


def test_int_is_accepted_for_float_but_not_float_for_int() -> None:
    assert _check({"width": 3}) is None
    assert _check({"width": 3.0, "sides": [1.0, 2.0]}) == "wrong_type"
    assert _check({"width": True}) == "wrong_type"  # bool is not a number here


def test_empty_string_marks_an_omittable_parameter() -> None:
    assert _check({"width": 3.0}) is None
    strict = {**ANSWER, "unit": ["m2"]}
    result = check_call(AREA, ToolCall("area", {"width": 3.0}), strict)
    assert result.category == "missing_argument"


def test_strings_are_compared_after_bfcl_normalisation() -> None:
    assert standardize_string("New York, NY") == standardize_string("new-york ny")
    assert _check({"width": 3.0, "unit": "M2"}) is None
    assert _check({"width": 3.0, "unit": "km2"}) == "wrong_value"


def test_dict_and_list_values() -> None:
    assert _check({"width": 3.0, "opts": {"round": True}}) is None
    assert _check({"width": 3.0, "opts": {"round": False}}) == "wrong_value"
    assert _check({"width": 3.0, "opts": {"other": 1}}) == "wrong_value"
    assert _check({"width": 3.0, "sides": [2, 1]}) == "wrong_value"
    assert _check({"width": 3.0, "height": 2}) == "extra_argument"


def test_parallel_calls_match_in_any_order_and_count_must_agree() -> None:
    f = {"name": "f", "parameters": {"properties": {"x": {"type": "integer"}}, "required": ["x"]}}
    gt = [{"f": {"x": [1]}}, {"f": {"x": [2]}}]
    assert check_answer([f], [ToolCall("f", {"x": 2}), ToolCall("f", {"x": 1})], gt).valid
    assert check_answer([f], [ToolCall("f", {"x": 2})], gt).category == "wrong_count"
    assert (
        check_answer([f], [ToolCall("f", {"x": 2}), ToolCall("f", {"x": 3})], gt).category
        == "wrong_value"
    )
    assert check_answer([f], [], gt).category == "no_call"


def test_parallel_matching_is_not_greedy() -> None:
    # The first answer accepts both calls; a greedy match of call 0 to it would fail.
    f = {"name": "f", "parameters": {"properties": {"x": {"type": "integer"}}, "required": ["x"]}}
    gt = [{"f": {"x": [1, 2]}}, {"f": {"x": [1]}}]
    assert check_answer([f], [ToolCall("f", {"x": 1}), ToolCall("f", {"x": 2})], gt).valid


def test_irrelevance_and_format_failures() -> None:
    f = {"name": "f", "parameters": {"properties": {}}}
    assert check_answer([f], [], []).valid
    assert check_answer([f], [ToolCall("f", {})], []).category == "unexpected_call"
    # A parse failure is never a correct "no call" (an upstream bug counted it correct).
    assert check_answer([f], None, [], parse_error="bad json").category == "format"


def test_argument_accuracy_gives_partial_credit() -> None:
    f = {
        "name": "f",
        "parameters": {"properties": {"x": {"type": "integer"}, "y": {"type": "string"}}},
    }
    gt = [{"f": {"x": [1], "y": ["a"]}}]
    assert argument_accuracy([f], [ToolCall("f", {"x": 1, "y": "b"})], gt) == 0.5
    assert argument_accuracy([f], [ToolCall("g", {"x": 1})], gt) == 0.0
    assert argument_accuracy([f], None, gt) == 0.0
    assert argument_accuracy([f], [], []) == 1.0


def _verify_items(items: list) -> collections.Counter:
    """Oracle accepted in every format; every mutation rejected with its category."""
    seen: collections.Counter = collections.Counter()
    for item in items:
        calls = oracle_calls(item.functions, item.ground_truth)
        for fmt in FORMATS:
            parsed = parse_tool_calls(format_calls(calls, fmt))
            result = check_answer(
                item.functions, parsed.calls, item.ground_truth, parse_error=parsed.error
            )
            assert result.valid, (item.id, fmt, result)
        for category, mutated in mutations(item):
            result = check_answer(item.functions, mutated, item.ground_truth)
            assert not result.valid, (item.id, category, mutated)
            assert result.category == category, (item.id, category, result, mutated)
            seen[category] += 1
    return seen


def test_packaged_sample_oracle_and_mutations() -> None:
    items = load_bfcl(sample_data_dir(), "all")
    assert len(items) >= 15
    seen = _verify_items(items)
    for category in (
        "wrong_function",
        "missing_argument",
        "wrong_type",
        "wrong_value",
        "unexpected_call",
    ):
        assert seen[category] > 0, category


@needs_bfcl
def test_real_bfcl_oracle_accepted_for_all_items_and_mutations_rejected() -> None:
    python = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")
    counts = {c: len(load_bfcl(BFCL_DIR, c)) for c in python}
    assert counts == {
        "simple_python": 400,
        "multiple": 200,
        "parallel": 200,
        "parallel_multiple": 200,
        "irrelevance": 240,
    }
    items = [it for c in python for it in load_bfcl(BFCL_DIR, c)]
    seen = _verify_items(items)
    assert seen["wrong_function"] == 1000 and seen["unexpected_call"] == 240
    assert seen["missing_argument"] > 900 and seen["wrong_type"] > 900 and seen["wrong_value"] > 900


def test_loader_errors_name_the_fix(tmp_path) -> None:
    with pytest.raises(ConfigError, match="data_dir"):
        load_bfcl(tmp_path, "simple_python")
    with pytest.raises(ConfigError, match="unknown BFCL category"):
        load_bfcl(tmp_path, "java")
    (tmp_path / "BFCL_v4_irrelevance.json").write_text('{"id": "x", "question": []}\n')
    with pytest.raises(ConfigError, match="field 'function'"):
        load_bfcl(tmp_path, "irrelevance")
