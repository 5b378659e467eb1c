"""Tools from typed functions, JSON Schema mapping, and the per-episode sandbox."""

from __future__ import annotations

from typing import Literal

import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.tools import Sandbox, Tool, ToolCall, bfcl_to_json_schema, function_schema, tool


def book_room(
    state: dict,
    room: str,
    nights: int,
    guests: list[str] | None = None,
    view: Literal["sea", "city"] = "city",
) -> str:
    """Book a hotel room.

    Args:
        room: Room number, e.g. "101".
        nights: How many nights,
            at least one.
        guests: Names of the guests.
        view: Which view the room has.

    Returns:
        A confirmation.
    """
    if room in state["booked"]:
        raise ValueError(f"room {room} is taken")
    state["booked"][room] = nights
    return f"booked {room}"


def test_schema_comes_from_signature_and_docstring() -> None:
    spec = function_schema(book_room)
    assert spec["name"] == "book_room"
    assert spec["description"] == "Book a hotel room."
    params = spec["parameters"]
    assert params["required"] == ["room", "nights"]
    assert "state" not in params["properties"]
    assert params["properties"]["nights"] == {
        "type": "integer",
        "description": "How many nights, at least one.",
    }
    assert params["properties"]["guests"]["anyOf"][0] == {
        "type": "array",
        "items": {"type": "string"},
    }
    assert params["properties"]["view"]["enum"] == ["sea", "city"]
    assert params["properties"]["view"]["default"] == "city"


def test_unannotated_parameter_is_a_clear_error() -> None:
    def bad(x):  # type: ignore[no-untyped-def]
        """No types."""

    with pytest.raises(ConfigError, match="'x' has no type annotation"):
        function_schema(bad)


def test_bfcl_types_map_to_json_schema() -> None:
    doc = {
        "type": "dict",
        "properties": {
            "a": {"type": "float"},
            "b": {"type": "tuple", "items": {"type": "integer"}},
            "c": {"type": "any", "description": "anything"},
            "d": {"type": "dict", "properties": {"type": {"type": "string"}}, "optional": True},
        },
        "required": ["a"],
    }
    out = bfcl_to_json_schema(doc)
    assert out["type"] == "object"
    assert out["properties"]["a"] == {"type": "number"}
    assert out["properties"]["b"] == {"type": "array", "items": {"type": "integer"}}
    assert out["properties"]["c"] == {"description": "anything"}
    assert out["properties"]["d"] == {"type": "object", "properties": {"type": {"type": "string"}}}


def test_sandbox_validates_and_returns_errors_as_results() -> None:
    t = tool(book_room)
    initial = {"booked": {}}
    box = Sandbox([t], initial)
    assert box.call(ToolCall("book_room", {"room": "101", "nights": 2})).output == "booked 101"
    bad_type = box.call(ToolCall("book_room", {"room": "102", "nights": "two"}))
    assert (
        not bad_type.ok
        and bad_type.error_kind == "invalid_arguments"
        and "nights" in bad_type.error
    )
    extra = box.call(ToolCall("book_room", {"room": "102", "nights": 1, "pets": True}))
    assert extra.error_kind == "invalid_arguments"
    missing = box.call(ToolCall("book_room", {"room": "102"}))
    assert missing.error_kind == "invalid_arguments" and "nights" in missing.error
    unknown = box.call(ToolCall("cancel", {}))
    assert unknown.error_kind == "unknown_tool"
    raised = box.call(ToolCall("book_room", {"room": "101", "nights": 1}))
    assert raised.error_kind == "tool_error" and "taken" in raised.observation()
    assert box.error_counts == {"unknown_tool": 1, "invalid_arguments": 3, "tool_error": 1}
    # State is per episode: the initial mapping is never changed.
    assert initial == {"booked": {}}
    assert Sandbox([t], initial).state == {"booked": {}}


def test_invalid_json_schema_is_rejected() -> None:
    with pytest.raises(ConfigError, match="not a valid JSON Schema"):
        Tool("t", "", {"type": "object", "properties": {"x": {"type": "nonsense"}}})
    with pytest.raises(ConfigError, match="two tools"):
        Sandbox([tool(book_room), tool(book_room)])
