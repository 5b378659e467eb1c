"""Tool-call parsing: each format, explicit no-call, format failures, and a hypothesis fuzz."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acbench_env.tools.parsing import FORMATS, format_calls, parse_tool_calls
from acbench_env.tools.sandbox import ToolCall


@pytest.mark.parametrize(
    ("text", "fmt", "calls"),
    [
        (
            '<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>',
            "hermes",
            [("f", {"x": 1})],
        ),
        (
            '<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>\n'
            '<tool_call>{"name": "g", "arguments": {}}</tool_call>',
            "hermes",
            [("f", {"x": 1}), ("g", {})],
        ),
        ('<tool_call>{"name": "f", "arguments": {"x": 1}}', "hermes", [("f", {"x": 1})]),
        ('<tool_call>[{"name": "f", "arguments": {}}]</tool_call>', "hermes", [("f", {})]),
        ('{"name": "f", "arguments": {"x": "a"}}', "json", [("f", {"x": "a"})]),
        ('{"name": "f", "parameters": {"x": 2}}', "json", [("f", {"x": 2})]),
        ('{"name": "f", "arguments": "{\\"x\\": 3}"}', "json", [("f", {"x": 3})]),
        ('[{"name": "f", "arguments": {}}, {"name": "g"}]', "json", [("f", {}), ("g", {})]),
        ('Sure! ```json\n{"name": "f", "arguments": {"x": 1}}\n```', "json", [("f", {"x": 1})]),
        ('I will call it: {"name": "f", "arguments": {}} now', "json", [("f", {})]),
        ('Thought: need f\nAction: f\nAction Input: {"x": 1}', "react", [("f", {"x": 1})]),
        (
            'Action: f\nAction Input: {}\nAction: g\nAction Input: {"y": 2}',
            "react",
            [("f", {}), ("g", {"y": 2})],
        ),
        ("[]", "json", []),
        ("<tool_call>[]</tool_call>", "hermes", []),
        ("Action: none", "react", []),
    ],
)
def test_formats_parse_and_are_recorded(text: str, fmt: str, calls: list) -> None:
    parsed = parse_tool_calls(text)
    assert parsed.error is None, parsed.error
    assert parsed.format == fmt
    assert [(c.name, c.arguments) for c in parsed.calls] == calls


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("", None),
        ("The weather is nice.", None),
        ("<tool_call>{bad json", "hermes"),
        ("<tool_call></tool_call>", "hermes"),
        ('<tool_call>{"arguments": {}}</tool_call>', "hermes"),
        ('{"name": "f", "arguments": [1, 2]}', "json"),
        ('{"name": 3}', "json"),
        ("{" * 5000, "json"),
        ("[" * 100_000, "json"),
        ("Action: f\nAction Input: not json", "react"),
        ("Action: two words here", "react"),
    ],
)
def test_unparseable_output_is_a_format_failure(text: str, fmt: str | None) -> None:
    parsed = parse_tool_calls(text)
    assert parsed.calls is None and parsed.error
    assert parsed.format == fmt


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=6,
)
calls_strategy = st.lists(
    st.builds(
        ToolCall,
        name=st.from_regex(r"[A-Za-z_][A-Za-z0-9_.]{0,20}", fullmatch=True),
        arguments=st.dictionaries(st.text(max_size=10), json_values, max_size=4),
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=calls_strategy, fmt=st.sampled_from(FORMATS))
def test_rendered_calls_round_trip(calls: list[ToolCall], fmt: str) -> None:
    parsed = parse_tool_calls(format_calls(calls, fmt))
    assert parsed.error is None, parsed.error
    assert parsed.format == fmt
    assert [(c.name, c.arguments) for c in parsed.calls] == [(c.name, c.arguments) for c in calls]


_PIECES = [
    *'{}[]":,<>/ \n\tabfx0123456789\\',
    "<tool_call>",
    "</tool_call>",
    "Action: ",
    "Action Input: ",
    '"name"',
    '"arguments"',
    "```json",
    "```",
]
model_noise = st.lists(st.sampled_from(_PIECES), max_size=60).map("".join)


@settings(max_examples=100, deadline=None)
@given(text=st.one_of(st.text(max_size=300), model_noise))
def test_parser_never_raises_and_is_consistent(text: str) -> None:
    parsed = parse_tool_calls(text)
    assert (parsed.calls is None) == (parsed.error is not None)
    assert parsed.format in (None, *FORMATS)
    if parsed.calls is not None:
        for call in parsed.calls:
            assert isinstance(call.name, str) and call.name
            assert isinstance(call.arguments, dict)
            json.dumps(call.arguments)


def test_format_calls_rejects_unknown_format() -> None:
    with pytest.raises(ValueError, match="unknown tool-call format"):
        format_calls([], "xml")
