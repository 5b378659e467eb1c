"""BFCL: every single-turn category, Java/JavaScript values, and the two checking modes.

Each documented difference between ``mode="fixed"`` and ``mode="upstream"``
(``docs/scoring-modes.md``) has a test here where the two modes disagree exactly there;
the upstream mode's verdicts are compared with the reference checker's, recorded for the
mutation set of ``bfcl_mutations.py`` (``tests/tools/data/bfcl_reference_verdicts.json``,
made by ``benchmarks/bfcl_reference.py``).
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.environments.bfcl import BFCLEnv
from acbench_env.tools.bfcl import (
    BFCL_CATEGORIES,
    argument_accuracy,
    bfcl_categories_in,
    check_answer,
    check_call,
    load_bfcl,
    oracle_calls,
)
from acbench_env.tools.bfcl_lang import java_literal, java_value, js_literal, js_value
from acbench_env.tools.sandbox import ToolCall
from tests.conftest import SHARED_DATA
from tests.tools.bfcl_mutations import candidates, labels_digest


def bfcl_data_dir() -> Path:
    """The BFCL files to test on: ACBENCH_BFCL_DIR if set; else the data folder of the
    bfcl-eval package (gorilla's own files, all 13 single-turn categories; ``setup.sh --dev``
    installs it with --no-deps for its data only, so it is located, never imported); else
    the shared data folder."""
    if "ACBENCH_BFCL_DIR" in os.environ:
        return Path(os.environ["ACBENCH_BFCL_DIR"])
    spec = importlib.util.find_spec("bfcl_eval")
    if spec is not None and spec.submodule_search_locations:
        data = Path(next(iter(spec.submodule_search_locations))) / "data"
        if (data / "BFCL_v4_live_simple.json").is_file():
            return data
    return SHARED_DATA / "bfcl"


BFCL_DIR = bfcl_data_dir()
needs_bfcl = pytest.mark.skipif(
    not (BFCL_DIR / "BFCL_v4_simple_python.json").is_file(),
    reason=f"the real BFCL files are not in {BFCL_DIR} (see shared/data/README.md)",
)
VERDICTS = Path(__file__).parent / "data" / "bfcl_reference_verdicts.json"

#: Items per category in BFCL v4 (gorilla commit 6ea5797, bfcl-eval 2026.3.23).
COUNTS = {
    "simple_python": 400,
    "multiple": 200,
    "parallel": 200,
    "parallel_multiple": 200,
    "irrelevance": 240,
    "live_simple": 258,
    "live_multiple": 1053,
    "live_parallel": 16,
    "live_parallel_multiple": 24,
    "live_irrelevance": 884,
    "live_relevance": 16,
    "simple_java": 100,
    "simple_javascript": 50,
}

#: Items whose own ground truth cannot be met (the reference rejects every answer to them
#: too): a required parameter with no accepted value at all (live_simple_106-63-0,
#: live_simple_112-68-0) or missing from the answer (live_multiple_964-207-0); a parameter
#: that must be given but is not declared (live_multiple_862-181-3); Java lists typed
#: ``any`` whose answers hold numbers and booleans, while ``any`` reads every item as text
#: (simple_java_36, simple_java_65).
INCONSISTENT = {
    "live_simple_106-63-0",
    "live_simple_112-68-0",
    "live_multiple_862-181-3",
    "live_multiple_964-207-0",
    "simple_java_36",
    "simple_java_65",
}
#: ... and in upstream mode only: a dict answer written as a bare string, not a list of
#: accepted values, which upstream reads character by character (simple_java_64).
INCONSISTENT_UPSTREAM = INCONSISTENT | {"simple_java_64"}

F_X = {"name": "f", "parameters": {"properties": {"x": {"type": "integer"}}, "required": ["x"]}}


def _both(functions: list, calls: list | None, gt: list, **kw: object) -> tuple[bool, bool]:
    fixed = check_answer(functions, calls, gt, mode="fixed", **kw).valid  # type: ignore[arg-type]
    upstream = check_answer(functions, calls, gt, mode="upstream", **kw).valid  # type: ignore[arg-type]
    return fixed, upstream


# ------------------------------------------------------------------ the documented differences
def test_difference_1_parallel_matching_full_vs_greedy() -> None:
    gt = [{"f": {"x": [1, 2]}}, {"f": {"x": [1]}}]
    # Greedy: the first answer takes call 0 (x=1), and x=2 is left for the answer [1].
    calls = [ToolCall("f", {"x": 1}), ToolCall("f", {"x": 2})]
    assert _both([F_X], calls, gt, category="parallel") == (True, False)
    assert _both([F_X], calls[::-1], gt, category="parallel") == (True, True)


AREA = {
    "name": "area",
    "parameters": {
        "type": "dict",
        "properties": {
            "width": {"type": "float"},
            "sides": {"type": "array", "items": {"type": "float"}},
            "counts": {"type": "array", "items": {"type": "integer"}},
            "tags": {"type": "array", "items": {"type": "string"}},
            "flag": {"type": "boolean"},
            "n": {"type": "integer"},
            "meta": {"type": "dict"},
            "rows": {"type": "array", "items": {"type": "dict"}},
        },
        "required": ["width"],
    },
}


def _area(args: dict, answer: dict) -> tuple[bool, bool]:
    call = ToolCall("area", args)
    return (
        check_call(AREA, call, answer, mode="fixed").valid,
        check_call(AREA, call, answer, mode="upstream").valid,
    )


def test_difference_2_int_items_in_a_float_list() -> None:
    answer = {"width": [3.0], "sides": [[1.0, 2.0]]}
    assert _area({"width": 3.0, "sides": [1, 2]}, answer) == (True, False)
    assert _area({"width": 3, "sides": [1.0, 2.0]}, answer) == (True, True)  # top level: both


def test_difference_3_empty_list_for_an_optional_list() -> None:
    answer = {"width": [3.0], "counts": [[1, 2], ""], "rows": [[{"a": [1]}], ""]}
    assert _area({"width": 3.0, "counts": []}, answer) == (False, True)
    assert _area({"width": 3.0, "rows": []}, answer) == (False, True)
    assert _area({"width": 3.0}, answer) == (True, True)  # omitted: both
    # "" among the answers also switches off upstream's item type check.
    assert _area({"width": 3.0, "counts": [1.0, 2.0]}, answer) == (False, True)
    assert _area({"width": 3.0, "counts": [1.0, 2.0]}, {**answer, "counts": [[1, 2]]}) == (
        False,
        False,
    )


def test_difference_4_item_types_of_any_answer_vs_the_first_item() -> None:
    answer = {"width": [3.0], "tags": [["a", 1]]}
    assert _area({"width": 3.0, "tags": ["a", 1]}, answer) == (True, False)
    assert _area({"width": 3.0, "tags": ["a", "b"]}, {**answer, "tags": [["a", "b"]]}) == (
        True,
        True,
    )


def test_difference_5_scalars_compared_with_python_equality() -> None:
    assert _area({"width": 3.0, "flag": True}, {"width": [3.0], "flag": [1]}) == (False, True)
    assert _area({"width": 3.0, "n": 1}, {"width": [3.0], "n": [1.0]}) == (False, True)
    assert _area({"width": 3.0, "flag": True}, {"width": [3.0], "flag": [True]}) == (True, True)


def test_difference_6_unparsed_answer_on_an_irrelevance_item() -> None:
    assert _both([F_X], None, [], parse_error="bad json", category="irrelevance") == (False, True)
    assert _both([F_X], None, [], parse_error="bad json", category="live_irrelevance") == (
        False,
        True,
    )
    gt = [{"f": {"x": [1]}}]
    assert _both([F_X], None, gt, parse_error="bad json", category="simple_python") == (
        False,
        False,
    )


def test_difference_7_relevance_needs_an_offered_function() -> None:
    assert _both([F_X], [ToolCall("g", {})], [], category="live_relevance") == (False, True)
    assert _both([F_X], [ToolCall("f", {})], [], category="live_relevance") == (True, True)
    assert _both([F_X], [], [], category="live_relevance") == (False, False)


def test_difference_8_simple_categories_use_the_first_function_doc_upstream() -> None:
    g = {"name": "g", "parameters": {"properties": {}, "required": []}}
    gt = [{"f": {"x": [1]}}]
    calls = [ToolCall("f", {"x": 1})]
    assert _both([g, F_X], calls, gt, category="simple_python") == (True, False)
    assert _both([g, F_X], calls, gt, category="multiple") == (True, True)


JAVA_KEYS = {
    "name": "Tool.run",
    "parameters": {
        "type": "dict",
        "properties": {"keys": {"type": "Array", "items": {"type": "String"}}},
        "required": ["keys"],
    },
}


def test_difference_9_quoted_items_of_a_java_string_array() -> None:
    gt = [{"Tool.run": {"keys": [["a", "b"]]}}]

    def both(text: str) -> tuple[bool, bool]:
        return _both(
            [JAVA_KEYS], [ToolCall("Tool.run", {"keys": text})], gt, category="simple_java"
        )

    assert both('new String[]{"a", "b"}') == (True, False)
    assert both("new String[]{a, b}") == (True, True)


def test_difference_10_dict_answer_written_as_a_bare_string() -> None:
    answer = {"width": [3.0], "meta": [{"format": "epoch_millis"}]}
    assert _area({"width": 3.0, "meta": {"format": "epoch_millis"}}, answer) == (True, False)
    assert _area({"width": 3.0, "meta": {"format": "e"}}, answer) == (False, True)


# ------------------------------------------------------------------ Java / JavaScript values
@pytest.mark.parametrize(
    ("text", "type_name", "nested", "value"),
    [
        ("42", "integer", None, 42),
        ("42L", "long", None, 42),
        ("42", "long", None, "42"),  # no L: stays text
        ("1.5f", "float", None, 1.5),
        ("1.5", "float", None, "1.5"),
        ("2.5e3", "double", None, 2500.0),
        ("true", "boolean", None, True),
        ("True", "boolean", None, "True"),
        ("new int[]{1, 2, 3}", "Array", "integer", [1, 2, 3]),
        ("new long[]{1L, 2, 3L}", "Array", "long", [1, "2", 3]),
        ('new ArrayList<>(Arrays.asList("a", "b"))', "ArrayList", "String", ["a", "b"]),
        ("new ArrayList<Float>() {{ add(1.0f); add(2.0f); }}", "ArrayList", "float", [1.0, 2.0]),
        ("new ArrayList<>()", "ArrayList", "String", []),
        (
            'new HashMap<String, Object>() {{ put("k", 1); put("s", "v"); }}',
            "HashMap",
            None,
            {"k": 1, "s": "v"},
        ),
        ("new HashMap<>()", "HashMap", None, {}),
        ("someVariable", "HashMap", None, "someVariable"),
    ],
)
def test_java_values_follow_bfcl_rules(
    text: str, type_name: str, nested: str | None, value: object
) -> None:
    assert java_value(text, type_name, nested) == value


@pytest.mark.parametrize(
    ("text", "type_name", "nested", "value"),
    [
        ("'abc'", "String", None, "abc"),
        ("abc", "String", None, "abc"),
        ("3", "float", None, 3.0),
        ("3e2", "float", None, "3e2"),  # no exponents in BFCL's JavaScript floats
        ("12n", "Bigint", None, 12),
        ("false", "Boolean", None, False),
        ("[1, 2]", "array", "integer", [1, 2]),
        ("['a', \"b\"]", "array", "String", ["a", "b"]),
        ("[[1, 2], [3, 4]]", "array", "float", [[1, 2], [3, 4]]),
        ("{key: 'value', n: 3, ok: true}", "dict", None, {"key": "value", "n": 3, "ok": True}),
        ("{}", "dict", None, {}),
        ("someObject", "dict", None, "someObject"),
    ],
)
def test_javascript_values_follow_bfcl_rules(
    text: str, type_name: str, nested: str | None, value: object
) -> None:
    assert js_value(text, type_name, nested) == value


def test_literal_writers_round_trip() -> None:
    for value, type_name, nested in [
        (5, "long", None),
        (0.25, "float", None),
        (1e-05, "double", None),
        ([1, 2], "Array", "integer"),
        (["x", "y"], "ArrayList", "String"),
        ({"k": 1, "s": "v", "b": True}, "HashMap", None),
    ]:
        assert java_value(java_literal(value, type_name, nested), type_name, nested) == value
    for value, type_name, nested in [
        (1e-07, "float", None),
        ("hi there", "String", None),
        (["a", "b"], "array", "String"),
        ({"k": "v", "n": 2}, "dict", None),
    ]:
        assert js_value(js_literal(value, type_name, nested), type_name, nested) == value


def test_java_values_must_be_source_text() -> None:
    gt = [{"Tool.run": {"keys": [["a", "b"]]}}]
    result = check_answer(
        [JAVA_KEYS], [ToolCall("Tool.run", {"keys": ["a", "b"]})], gt, category="simple_java"
    )
    assert result.category == "wrong_type" and result.error_type == "type_error:java"


# ------------------------------------------------------------------ the real files
@needs_bfcl
def test_every_category_present_loads_with_its_item_count() -> None:
    present = bfcl_categories_in(BFCL_DIR)
    assert {"simple_python", "irrelevance", "simple_java", "simple_javascript"} <= set(present)
    for category in present:
        assert len(load_bfcl(BFCL_DIR, category)) == COUNTS[category], category
    everything = load_bfcl(BFCL_DIR, "all")
    assert len(everything) == sum(COUNTS[c] for c in present)
    assert [c for c in BFCL_CATEGORIES if c in present] == present


@needs_bfcl
@pytest.mark.parametrize("mode", ["fixed", "upstream"])
def test_gold_answer_accepted_except_inconsistent_ground_truth(mode: str) -> None:
    expected_bad = INCONSISTENT if mode == "fixed" else INCONSISTENT_UPSTREAM
    rejected = set()
    for item in load_bfcl(BFCL_DIR, "all"):
        calls = oracle_calls(item.functions, item.ground_truth, item.category)
        result = check_answer(
            item.functions, calls, item.ground_truth, mode=mode, category=item.category
        )  # type: ignore[arg-type]
        if not result.valid:
            rejected.add(item.id)
    ids = {item.id for item in load_bfcl(BFCL_DIR, "all")}
    assert rejected == expected_bad & ids


@needs_bfcl
def test_upstream_verdicts_equal_the_reference_checker_on_the_mutation_set() -> None:
    recorded = json.loads(VERDICTS.read_text())
    compared = 0
    for category in bfcl_categories_in(BFCL_DIR):
        labels, ours, fixed = [], [], []
        for item in load_bfcl(BFCL_DIR, category):
            for k, (label, calls) in enumerate(candidates(item)):
                labels.append(f"{item.id}#{k} {label}")
                for mode, out in (("upstream", ours), ("fixed", fixed)):
                    result = check_answer(
                        item.functions, calls, item.ground_truth, mode=mode, category=category
                    )  # type: ignore[arg-type]
                    out.append("1" if result.valid else "0")
        entry = recorded[category]
        assert labels_digest(labels) == entry["labels_sha256"], (
            f"{category}: the candidate set changed; rerun benchmarks/bfcl_reference.py"
        )
        assert "".join(ours) == entry["verdicts"], category
        compared += len(labels)
        if category in ("irrelevance", "parallel", "simple_python"):
            assert "".join(fixed) != entry["verdicts"]  # the fixed mode does differ
    assert compared > 20_000


# ------------------------------------------------------------------ loader and environment
def test_all_reads_every_file_present_with_or_without_possible_answer(tmp_path: Path) -> None:
    q = {
        "id": "live_relevance_0",
        "question": [[{"role": "user", "content": "hi"}]],
        "function": [F_X],
    }
    (tmp_path / "BFCL_v4_live_relevance.json").write_text(json.dumps(q) + "\n")
    items = load_bfcl(tmp_path, "all")
    assert [i.category for i in items] == ["live_relevance"]
    (tmp_path / "BFCL_v4_live_simple.json").write_text(json.dumps({**q, "id": "ls_0"}) + "\n")
    with pytest.raises(ConfigError, match="possible_answer"):
        load_bfcl(tmp_path, "all")
    with pytest.raises(ConfigError, match="holds no BFCL_v4"):
        load_bfcl(tmp_path / "nothing", "all")


def test_relevance_oracle_and_partial_credit() -> None:
    calls = oracle_calls([F_X], [], "live_relevance")
    assert [c.name for c in calls] == ["f"]
    assert argument_accuracy([F_X], calls, [], category="live_relevance") == 1.0
    assert argument_accuracy([F_X], [], [], category="live_relevance") == 0.0


@needs_bfcl
@pytest.mark.parametrize("mode", ["fixed", "upstream"])
def test_environment_records_the_mode_and_applies_it(mode: str) -> None:
    env = BFCLEnv(data_dir=BFCL_DIR, category="irrelevance", max_tasks=2, mode=mode)  # type: ignore[arg-type]
    _, info = env.reset(options={"task_index": 0})
    assert info["scoring_mode"] == mode
    _, reward, terminated, _, info = env.step("I would rather not {call")
    assert terminated and info["scoring_mode"] == mode
    assert reward == (1.0 if mode == "upstream" else 0.0)  # difference 6
    with pytest.raises(ConfigError, match="mode must be one of"):
        BFCLEnv(data_dir=BFCL_DIR, mode="strict")  # type: ignore[arg-type]


@needs_bfcl
def test_environment_java_oracle_and_prompt() -> None:
    env = BFCLEnv(data_dir=BFCL_DIR, category="simple_java", max_tasks=5)
    for i in range(env.num_tasks):
        obs, _ = env.reset(options={"task_index": i})
        assert "Java source text" in obs
        _, reward, _, _, info = env.step(env.oracle_action())
        assert reward == 1.0 and info["validation_errors"] == 0, info
