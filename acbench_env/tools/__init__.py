"""The tool layer: typed tools with JSON Schema, a per-episode sandbox, tool-call parsing,
BFCL-compatible checking, and custom scenarios.

- :func:`tool` / :class:`Tool`: a tool from a typed, documented Python function
  (:func:`function_schema`) or declared with a JSON Schema;
- :class:`Sandbox`: one episode's state and tools; validates arguments with ``jsonschema``
  and returns every failure as an error result; :func:`spec_listing`: tool definitions as
  prompt text (one JSON object per line);
- :func:`parse_tool_calls`: Hermes ``<tool_call>``, plain JSON and ReAct text;
- :mod:`acbench_env.tools.bfcl`: the BFCL checker and file loader;
- :mod:`acbench_env.tools.scenario`: custom scenario files.
"""

from acbench_env.tools.parsing import FORMATS, ParsedCalls, format_calls, parse_tool_calls
from acbench_env.tools.sandbox import (
    Sandbox,
    Tool,
    ToolCall,
    ToolResult,
    spec_listing,
    tool,
)
from acbench_env.tools.schema import bfcl_to_json_schema, function_schema

__all__ = [
    "FORMATS",
    "ParsedCalls",
    "Sandbox",
    "Tool",
    "ToolCall",
    "ToolResult",
    "bfcl_to_json_schema",
    "format_calls",
    "function_schema",
    "parse_tool_calls",
    "spec_listing",
    "tool",
]
