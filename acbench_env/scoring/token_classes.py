"""Token classes of an action: which part of the action each output character and token is.

Every character of a model's output gets exactly one class (:data:`CLASSES`), from the
same parse the environment makes of it:

- ``tool_name``: the function or tool named by a call (the ``"name"`` value of a JSON or
  Hermes call, the ReAct ``Action:`` name, a simulator action's verb);
- ``arg_key``: an argument's key inside a call's arguments;
- ``arg_value``: an argument's value (strings, numbers, literals; a simulator action's
  object);
- ``structure``: format tokens: JSON punctuation and quotes, the ``"name"``/``"arguments"``
  keys, ``<tool_call>`` tags and code fences, workflow headers, numbering and edge syntax,
  action keywords (``Action:``, ``Thought:``, ``Answer k:``);
- ``free_text``: prose and thoughts around or instead of an action;
- ``answer``: the values an answer-scoring environment reads (needle and QA answers,
  LongGen answers, workflow node texts).

:func:`char_spans` returns spans ``(start, end, class)`` that partition the text;
:func:`token_classes` maps them to tokens through the tokenizer's character offsets (a
token's class is the class of most of its non-space characters; ties go to the more
specific class, :data:`CLASSES` order). Which parse applies is the environment's *output
kind* (:func:`output_kind`). Everything here is pure and never raises on model output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from acbench_env.tools.parsing import parse_tool_calls

#: The token classes, most specific first (the tie-break order of :func:`token_classes`).
CLASSES = ("answer", "tool_name", "arg_value", "arg_key", "free_text", "structure")

#: Output kinds: how an environment's action text is parsed.
KINDS = ("tool", "workflow", "simulator", "answer", "longgen", "steps", "text")

Span = tuple[int, int, str]

_KIND_BY_ENV = {
    "FunctionCall": "tool",
    "BFCL": "tool",
    "Scenario": "tool",
    "ToolMultiTurn": "tool",
    "ToolMultiTurnHard": "tool",
    "ToolSteps": "steps",
    "Workflow": "workflow",
    "WorfBench": "workflow",
    "BlocksWorld": "simulator",
    "Household": "simulator",
    "WebShop": "simulator",
    "ToolQuery": "simulator",
    "Needle": "answer",
    "NeedleMultiKey": "answer",
    "NeedleMultiValue": "answer",
    "NeedleMultiQuery": "answer",
    "VariableTracking": "answer",
    "LongDocQA": "answer",
    "LongGen": "longgen",
}


def output_kind(env_id: str) -> str:
    """The output kind of ``env_id`` (``acbench/Name-vN``); unknown envs get ``"steps"``
    (a tool call when one parses, else free text)."""
    name = env_id.split("/")[-1].rsplit("-v", 1)[0]
    return _KIND_BY_ENV.get(name, "steps")


# ------------------------------------------------------------------ character classes
class _Marks:
    """A class per character; later marks overwrite earlier ones."""

    def __init__(self, text: str, default: str) -> None:
        self.text = text
        self.cls = [default] * len(text)

    def mark(self, start: int, end: int, cls: str) -> None:
        for i in range(max(start, 0), min(end, len(self.cls))):
            self.cls[i] = cls

    def spans(self) -> list[Span]:
        out: list[Span] = []
        start = 0
        for i in range(1, len(self.cls) + 1):
            if i == len(self.cls) or self.cls[i] != self.cls[start]:
                out.append((start, i, self.cls[start]))
                start = i
        return out


_WS = " \t\r\n"


def _skip_ws(text: str, i: int, end: int) -> int:
    while i < end and text[i] in _WS:
        i += 1
    return i


def _string_end(text: str, i: int, end: int) -> int:
    """Index after the JSON string that starts at ``text[i] == '"'``."""
    j = i + 1
    while j < end:
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == '"':
            return j + 1
        j += 1
    return end


def _mark_string(m: _Marks, i: int, j: int, cls: str) -> None:
    """Quotes are structure, the contents ``cls``."""
    m.mark(i, j, "structure")
    m.mark(i + 1, max(i + 1, j - 1), cls)


def _json_value(m: _Marks, text: str, i: int, end: int, role: str) -> int:
    """Mark the JSON value at ``i`` (valid JSON up to ``end``); return the index after it.

    ``role``: ``call`` (a call object or a list of them), ``args`` (an arguments object),
    ``name`` (a tool name), ``value`` (an argument value)."""
    i = _skip_ws(text, i, end)
    if i >= end:
        return end
    c = text[i]
    if c == "{":
        m.mark(i, i + 1, "structure")
        j = _skip_ws(text, i + 1, end)
        while j < end and text[j] != "}":
            if text[j] == ",":
                m.mark(j, j + 1, "structure")
                j = _skip_ws(text, j + 1, end)
                continue
            if text[j] != '"':
                return end
            k = _string_end(text, j, end)
            key = text[j + 1 : k - 1]
            if role == "call":
                key_cls = "structure"
                sub = {"name": "name", "arguments": "args", "parameters": "args"}.get(
                    key, "call" if key == "function" else "value"
                )
            else:
                key_cls, sub = "arg_key", "value"
            _mark_string(m, j, k, key_cls)
            j = _skip_ws(text, k, end)
            if j < end and text[j] == ":":
                m.mark(j, j + 1, "structure")
                j += 1
            j = _skip_ws(text, _json_value(m, text, j, end, sub), end)
        return min(j + 1, end)
    if c == "[":
        m.mark(i, i + 1, "structure")
        j = _skip_ws(text, i + 1, end)
        sub = "call" if role == "call" else "value"
        while j < end and text[j] != "]":
            if text[j] == ",":
                m.mark(j, j + 1, "structure")
                j = _skip_ws(text, j + 1, end)
                continue
            before = j
            j = _skip_ws(text, _json_value(m, text, j, end, sub), end)
            if j == before:
                return end
        return min(j + 1, end)
    cls = {"name": "tool_name", "args": "arg_value", "call": "arg_value"}.get(role, "arg_value")
    if c == '"':
        k = _string_end(text, i, end)
        _mark_string(m, i, k, cls)
        return k
    k = i
    while k < end and text[k] not in ",]}" + _WS:
        k += 1
    m.mark(i, k, cls)
    return max(k, i + 1)


def _mark_json_at(m: _Marks, text: str, start: int, role: str = "call") -> int | None:
    """Decode the JSON value at ``start``; mark it and return its end, or None."""
    try:
        _, end = json.JSONDecoder().raw_decode(text, start)
    except (ValueError, RecursionError):
        return None
    m.mark(start, end, "structure")
    _json_value(m, text, start, end, role)
    return end


def _mark_first_json(m: _Marks, text: str, lo: int, hi: int, role: str = "call") -> int | None:
    for attempt, b in enumerate(re.finditer(r"[\[{]", text[lo:hi])):
        if attempt >= 32:
            break
        end = _mark_json_at(m, text[:hi], lo + b.start(), role)
        if end is not None:
            return end
    return None


_TAG = re.compile(r"</?tool_call>")
_FENCE_MARK = re.compile(r"```(?:json|JSON|tool_call)?")
_KEYWORD = re.compile(
    r"^[ \t]*(Action[ \t]+Input|Action|Thought|Observation|Final[ \t]+Answer|Answer)[ \t]*:",
    re.MULTILINE | re.IGNORECASE,
)
_REACT_ACTION = re.compile(r"^[ \t]*Action[ \t]*:[ \t]*(.*?)[ \t]*$", re.MULTILINE)
_REACT_INPUT = re.compile(r"^[ \t]*Action\s+Input[ \t]*:[ \t]*", re.MULTILINE)


def _tool_spans(text: str) -> _Marks:
    m = _Marks(text, "free_text")
    for kw in _KEYWORD.finditer(text):
        m.mark(kw.start(1), kw.end(), "structure")
    for f in _FENCE_MARK.finditer(text):
        m.mark(f.start(), f.end(), "structure")
    if "<tool_call>" in text:
        blocks = list(re.finditer(r"<tool_call>(.*?)(?:</tool_call>|$)", text, re.DOTALL))
        for b in blocks:
            m.mark(b.start(), b.end(), "structure")
            _mark_first_json(m, text, b.start(1), b.end(1))
        return m
    actions = list(_REACT_ACTION.finditer(text))
    if actions:
        for n, a in enumerate(actions):
            m.mark(a.start(1), a.end(1), "tool_name")
            hi = actions[n + 1].start() if n + 1 < len(actions) else len(text)
            inp = _REACT_INPUT.search(text, a.end(), hi)
            if inp is not None:
                _mark_first_json(m, text, inp.end(), hi, "args")
        return m
    _mark_first_json(m, text, 0, len(text))
    return m


_WF_HEADER = re.compile(r"^[\s#*_>-]*(?:nodes?|edges?)[\s*_]*:?", re.IGNORECASE | re.MULTILINE)
_WF_NUMBER = re.compile(
    r"^[\s>]*(?:[-*\u2022]\s*)?(?:\*\*)?(?:node\s*)?\d+(?:\*\*)?\s*[.:)]\s*(?:\*\*)?",
    re.IGNORECASE | re.MULTILINE,
)
_WF_EDGE = re.compile(r"\(\s*(?:START|END|\d+)?\s*,?\s*(?:START|END|\d+)?\s*\)?", re.IGNORECASE)


def _workflow_spans(text: str) -> _Marks:
    """Node texts are the answer; headers, numbering and edges are structure."""
    m = _Marks(text, "answer")
    for line in re.finditer(r"[^\n]*", text):
        body = line.group(0)
        if not body.strip():
            m.mark(line.start(), line.end(), "structure")
            continue
        h = _WF_HEADER.match(body)
        num = _WF_NUMBER.match(body)
        if num and not body.lstrip().startswith("("):
            m.mark(line.start(), line.start() + num.end(), "structure")
        elif h:
            m.mark(line.start(), line.start() + h.end(), "structure")
        edges = list(_WF_EDGE.finditer(body))
        if edges and (h or body.lstrip().startswith("(")):
            start = h.end() if h else 0
            m.mark(line.start() + start, line.end(), "structure")
    for nl in re.finditer(r"\n", text):
        m.mark(nl.start(), nl.end(), "structure")
    return m


_SIM_PREFIX = re.compile(
    r"^\s*(?:(?:action|next action|your action|answer|command|thought)\s*[:=]\s*|[>\-*#]+\s*"
    r"|\d+[.)]\s+)",
    re.IGNORECASE,
)


def _simulator_spans(text: str) -> _Marks:
    """The first non-empty line is the command: prefix structure, first word the verb
    (tool_name), brackets structure, the rest its object (arg_value); other lines prose."""
    m = _Marks(text, "free_text")
    line = re.search(r"[^\n]*\S[^\n]*", text)
    if line is None:
        return m
    lo, hi = line.start(), line.end()
    pre = _SIM_PREFIX.match(text, lo, hi)
    start = pre.end() if pre else lo
    m.mark(lo, start, "structure")
    verb = re.compile(r"\s*([A-Za-z_]+)").match(text, start, hi)
    if verb is None:
        m.mark(start, hi, "arg_value")
        return m
    m.mark(start, verb.end(), "tool_name")
    m.mark(verb.end(), hi, "arg_value")
    bracket = re.compile(r"\s*\[").match(text, verb.end(), hi)
    if bracket is not None:
        m.mark(verb.end(), bracket.end(), "structure")
        close = text.rfind("]", bracket.end(), hi)
        if close >= 0:
            m.mark(close, hi, "structure")
    return m


_ANSWER_PREFIX = re.compile(r"^\s*(?:final\s+answer|answer)\s*[:=]", re.IGNORECASE)
_LONGGEN_LINE = re.compile(r"^\W*answer\s*\d+\s*[:.)\-]", re.IGNORECASE | re.MULTILINE)


def _answer_spans(text: str) -> _Marks:
    m = _Marks(text, "answer")
    pre = _ANSWER_PREFIX.match(text)
    if pre is not None:
        m.mark(0, pre.end(), "structure")
    return m


def _longgen_spans(text: str) -> _Marks:
    """``Answer k:`` labels are structure, what follows on the line the answer."""
    m = _Marks(text, "free_text")
    for label in _LONGGEN_LINE.finditer(text):
        m.mark(label.start(), label.end(), "structure")
        eol = text.find("\n", label.end())
        m.mark(label.end(), len(text) if eol < 0 else eol, "answer")
    return m


def _steps_spans(text: str) -> _Marks:
    """A tool call when one parses; otherwise ``Thought:`` lines are thoughts (free text)
    and any other answer (a tool name, a label) is the answer."""
    if parse_tool_calls(text).ok:
        return _tool_spans(text)
    thought = re.match(r"\s*Thought\s*:", text, re.IGNORECASE)
    m = _Marks(text, "free_text" if thought else "answer")
    for kw in _KEYWORD.finditer(text):
        m.mark(kw.start(1), kw.end(), "structure")
    return m


_MARKERS = {
    "tool": _tool_spans,
    "workflow": _workflow_spans,
    "simulator": _simulator_spans,
    "answer": _answer_spans,
    "longgen": _longgen_spans,
    "steps": _steps_spans,
    "text": lambda text: _Marks(text, "free_text"),
}


def char_spans(text: str, kind: str) -> list[Span]:
    """Spans ``(start, end, class)`` that partition ``text`` (sorted, contiguous, each of one
    class) under the parse of output kind ``kind``; whitespace between JSON tokens counts as
    structure, elsewhere it takes the class around it."""
    if kind not in _MARKERS:
        raise ValueError(f"unknown output kind {kind!r}; use one of {KINDS}")
    if not text:
        return []
    try:
        return _MARKERS[kind](text).spans()
    except RecursionError:  # absurdly deep JSON: no structure to recover
        return [(0, len(text), "free_text")]


def char_classes(text: str, kind: str) -> list[str]:
    """One class per character of ``text``."""
    out: list[str] = []
    for start, end, cls in char_spans(text, kind):
        out.extend([cls] * (end - start))
    return out


_RANK = {c: i for i, c in enumerate(CLASSES)}


def token_classes(
    text: str, offsets: Sequence[tuple[int, int]], kind: str, *, chars: Sequence[str] | None = None
) -> list[str]:
    """One class per token, from each token's character ``offsets`` into ``text``.

    A token's class is the majority class of its non-space characters (all its characters
    when it has only spaces); ties go to the earlier class in :data:`CLASSES`. A token
    with no characters (an empty offset, e.g. a byte-fallback piece of a character already
    counted) takes the class of the character at its start, or of the previous token.
    """
    per_char = list(chars) if chars is not None else char_classes(text, kind)
    out: list[str] = []
    for start, end in offsets:
        start, end = max(0, min(start, len(text))), max(0, min(end, len(text)))
        idx = [i for i in range(start, end) if not text[i].isspace()] or list(range(start, end))
        if not idx:
            if start < len(per_char):
                out.append(per_char[start])
            else:
                out.append(out[-1] if out else "free_text")
            continue
        counts: dict[str, int] = {}
        for i in idx:
            counts[per_char[i]] = counts.get(per_char[i], 0) + 1
        out.append(min(counts, key=lambda c: (-counts[c], _RANK[c])))
    return out


def token_offsets(tokenizer: Any, token_ids: Sequence[int]) -> tuple[str, list[tuple[int, int]]]:
    """The decoded text of ``token_ids`` and each token's character span in it.

    Decodes prefix by prefix (robust to any tokenizer, including ones without offset
    mappings and multi-byte characters split across tokens): token ``i`` spans the text
    that decoding ``ids[: i + 1]`` adds to decoding ``ids[:i]``.
    """
    offsets: list[tuple[int, int]] = []
    prev = ""
    for i in range(len(token_ids)):
        cur = tokenizer.decode(list(token_ids[: i + 1]), skip_special_tokens=True)
        if cur.startswith(prev) and "\ufffd" not in cur[len(prev) :]:
            offsets.append((len(prev), len(cur)))
            prev = cur
        else:
            offsets.append((len(prev), len(prev)))
    text = tokenizer.decode(list(token_ids), skip_special_tokens=True)
    if offsets and len(text) > offsets[-1][1]:
        offsets[-1] = (offsets[-1][0], len(text))
    return text, offsets
