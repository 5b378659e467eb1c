"""Hostile actions for the reliability tests: hypothesis strategies and fixed payloads.

One strategy, :func:`actions`, mixes the kinds of garbage a compressed model emits (and
some it should never emit): arbitrary unicode with control characters, strings past
``max_action_chars``, deeply nested and broken JSON, and injection-looking tool calls
(path traversal, absolute paths, ``__import__``/``eval`` payloads, huge argument values).
The benchmark ``benchmarks/reliability.py`` uses the same strategies.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

#: Path and code payloads that a sandbox must treat as plain data.
INJECTIONS = (
    "../../../../../../etc/passwd",
    "/etc/shadow",
    "/proc/self/environ",
    "~/.ssh/id_rsa",
    "..\\..\\..\\windows\\system32\\config",
    "file:///etc/passwd",
    "__import__('os').system('touch /tmp/acbench-pwned')",
    "eval(\"__import__('subprocess').Popen(['sh', '-c', 'id'])\")",
    "exec(open('/etc/passwd').read())",
    "().__class__.__base__.__subclasses__()",
    "{{ self.__init__.__globals__ }}",
    "${jndi:ldap://127.0.0.1:1/a}",
    "$(rm -rf ~)",
    "`id`",
    "; cat /etc/passwd",
    "'; DROP TABLE users; --",
    "\x00/etc/passwd",
    "socket://127.0.0.1:22",
    "http://169.254.169.254/latest/meta-data/",
)
TOOL_NAMES = (
    "__import__",
    "eval",
    "exec",
    "open",
    "os.system",
    "subprocess.Popen",
    "__builtins__",
    "getattr",
    "../../bin/sh",
    "/bin/sh",
    "socket.socket",
    "compile",
    "globals",
)
CONTROL = "".join(chr(c) for c in range(32)) + "\x7f\x85\u2028\u2029\u200b\u202e\ufeff\ud7ff"


def nested_json(depth: int, kind: str) -> str:
    """A JSON text nested ``depth`` levels deep (valid or cut off)."""
    if kind == "list":
        return "[" * depth + "1" + "]" * depth
    if kind == "dict":
        return '{"a":' * depth + "1" + "}" * depth
    if kind == "call":
        inner = '{"a":' * depth + "1" + "}" * depth
        return f'<tool_call>{{"name": "x", "arguments": {{"v": {inner}}}}}</tool_call>'
    return "[" * depth  # unterminated


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(INJECTIONS),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
huge_values = st.one_of(
    st.builds(lambda n, c: c * n, st.integers(1_000, 200_000), st.sampled_from("a9{[<\"'\\ é")),
    st.builds(lambda n: 10**n, st.integers(50, 400)),
    st.builds(lambda n: list(range(n)), st.integers(1_000, 20_000)),
)


@st.composite
def tool_calls(draw: st.DrawFn) -> str:
    """A tool call in one of the accepted formats, with hostile names and arguments."""
    name = draw(st.one_of(st.sampled_from(TOOL_NAMES), st.text(max_size=20)))
    args = draw(
        st.one_of(
            st.dictionaries(st.text(max_size=12), json_values, max_size=4),
            st.dictionaries(
                st.sampled_from(["path", "file", "cmd", "item", "query", "code", "url"]),
                st.one_of(st.sampled_from(INJECTIONS), huge_values),
                min_size=1,
                max_size=3,
            ),
            json_values,
        )
    )
    try:
        payload = json.dumps({"name": name, "arguments": args}, ensure_ascii=draw(st.booleans()))
    except ValueError:  # pragma: no cover - ints past the digit limit
        payload = '{"name": "x", "arguments": {}}'
    fmt = draw(st.sampled_from(["hermes", "hermes_open", "json", "fenced", "react", "list"]))
    if fmt == "hermes":
        return f"<tool_call>{payload}</tool_call>"
    if fmt == "hermes_open":
        return f"<tool_call>{payload}"
    if fmt == "fenced":
        return f"```json\n{payload}\n```"
    if fmt == "react":
        return (
            f"Action: {name}\nAction Input: {json.dumps(args) if isinstance(args, dict) else args}"
        )
    if fmt == "list":
        return f"[{payload}, {payload}]"
    return payload


broken_json = st.one_of(
    st.builds(
        nested_json,
        st.one_of(st.integers(1, 5_000), st.sampled_from([63, 65, 300, 500, 700, 900, 990, 1100])),
        st.sampled_from(["list", "dict", "call", "open"]),
    ),
    st.builds(lambda s: s[: len(s) // 2], st.builds(json.dumps, json_values)),
    st.sampled_from(
        [
            "{",
            "}",
            "<tool_call>",
            "</tool_call>",
            "<tool_call>{bad json</tool_call>",
            "<tool_call>[]</tool_call>",
            '<tool_call>{"name": null}</tool_call>',
            '<tool_call>{"name": "x", "arguments": "not json"}</tool_call>',
            '<tool_call>{"name": "x", "arguments": [1, 2]}</tool_call>',
            '{"name": "x", "arguments": NaN}',
            '{"name": 1e999999}',
            "[" * 100_000,
            '{"a": "\\ud800"}',
            "Action: \nAction Input: {",
            "1. \n2. \nEdges: (START,1) (1,END) (1,1)",
            "Node:\nEdge:",
        ]
    ),
)
hostile_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.sampled_from(CONTROL), max_size=50),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.binary(max_size=100).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.sampled_from(INJECTIONS),
)
huge_text = st.builds(
    lambda n, c: c * n,
    # Mostly past the usual max_action_chars (100,000), some right at the boundary
    # (one in five: each of those is parsed in full, which is what costs time).
    st.one_of(*[st.integers(100_001, 400_000)] * 4, st.sampled_from([60_000, 99_999, 100_000])),
    st.sampled_from(["x", "{", "[", "<tool_call>", "\x00", "日本", " ", "\n"]),
)


def actions() -> st.SearchStrategy[str]:
    """Any of the hostile action kinds (see the module docstring)."""
    return st.one_of(
        hostile_text,
        broken_json,
        tool_calls(),
        huge_text,
        st.lists(st.one_of(hostile_text, tool_calls()), min_size=2, max_size=4).map("\n".join),
    )
