"""T-Eval-style step scorers for tool use, and per-dimension summaries of trajectories.

One scorer per step dimension of tool use (T-Eval, Chen et al. 2024); each takes the
model's raw text and the gold answer and returns a :class:`StepScore` (a score in [0, 1],
or a parse error when the answer holds nothing of the asked form: a *format failure*):

- **plan** (:func:`score_plan`): the answer is an ordered list of tool calls. Predicted and
  gold sequences are aligned by their longest common subsequence (LCS), once on tool
  names and once on whole calls (name and arguments); each LCS length is divided by the
  longer sequence's length; the score is the mean of the two (order matters, extra and
  missing steps cost alike).
- **reason** (:func:`score_reason`): the answer is a thought about what to do next. The
  task's entities are the argument values of all its required calls; the score is the F1
  of the entities the thought mentions (as whole words, normalised) against those of the
  *next* call, so naming the right next step scores, restating the whole task does not.
- **retrieve** (:func:`score_retrieve`): the answer names one tool (bare or as a call);
  1.0 when it is the right one.
- **understand** (:func:`score_understand`): the answer is the arguments (a JSON object,
  or a whole call); the score is the number of gold arguments given with the right value
  divided by the larger of the number of gold and given arguments.
- **instruct** (:func:`score_instruct`): the answer must be one call in a required format
  (``json``: a JSON object ``{"name", "arguments"}``; ``str``: ReAct text
  ``Action: ...`` / ``Action Input: {...}``). Score = 0.5 for the format + 0.5 for the
  exact call (only counted when the format is right); another format is a format failure.
- **review** (:func:`score_review`): the answer is one label for a tool result against a
  goal: ``success``, ``error`` (the call failed) or ``wrong`` (it worked but did something
  else); 1.0 when it matches (chance level 1/3).

Argument values compare after light normalisation: strings without surrounding blanks,
lower case, inner whitespace collapsed; numbers by value (``17`` equals ``17.0``, but the
string ``"17"`` does not equal ``17``).

:func:`tool_steps_summary` reports, from stored trajectories of ``acbench/ToolSteps-v0``,
the mean score, success and format-failure rate per dimension and, for ``instruct``, per
format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from acbench_env.core.types import Trajectory
from acbench_env.scoring.summary import text_table
from acbench_env.scoring.text_match import normalize_answer
from acbench_env.tools.parsing import parse_tool_calls
from acbench_env.tools.sandbox import ToolCall

#: The step dimensions, in report order.
DIMENSIONS = ("plan", "reason", "retrieve", "understand", "instruct", "review")
#: Formats of the instruct dimension.
INSTRUCT_FORMATS = ("json", "str")
#: Labels of the review dimension.
REVIEW_LABELS = ("success", "error", "wrong")

_LABEL = re.compile(r"\b(success|error|wrong)\b", re.IGNORECASE)
_DECORATION = re.compile(r"^(?:tool|answer|tool name|name|action)\s*:\s*", re.IGNORECASE)


@dataclass(frozen=True)
class StepScore:
    """A score in [0, 1], the parse error (None when the answer had the asked form), details."""

    score: float
    parse_error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def normalize_value(value: Any) -> Any:
    """An argument value in comparable form (see the module docstring)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        return " ".join(value.strip().lower().split())
    if isinstance(value, list):
        return [normalize_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): normalize_value(v) for k, v in value.items()}
    return value


def same_call(a: ToolCall, b: ToolCall) -> bool:
    """Same tool name and the same arguments (normalised values)."""
    return a.name == b.name and normalize_value(a.arguments) == normalize_value(b.arguments)


def lcs_length(a: Sequence[Any], b: Sequence[Any], eq: Any = None) -> int:
    """Length of the longest common subsequence of ``a`` and ``b`` under ``eq``."""
    equal = eq or (lambda x, y: x == y)
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if equal(x, y) else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def score_plan(text: str, gold: Sequence[ToolCall]) -> StepScore:
    """The plan score (see the module docstring)."""
    parsed = parse_tool_calls(text)
    if parsed.calls is None:
        return StepScore(0.0, parsed.error or "no plan")
    pred = list(parsed.calls)
    longest = max(len(pred), len(gold))
    if longest == 0:
        return StepScore(1.0)
    names = lcs_length([c.name for c in pred], [c.name for c in gold]) / longest
    calls = lcs_length(pred, list(gold), same_call) / longest
    return StepScore((names + calls) / 2, details={"name_match": names, "call_match": calls})


def _mentions(norm_text: str, entity: str) -> bool:
    norm = normalize_answer(entity)
    return bool(norm) and re.search(rf"(?<!\w){re.escape(norm)}(?!\w)", norm_text) is not None


def score_reason(
    text: str, next_entities: Sequence[str], other_entities: Sequence[str]
) -> StepScore:
    """Entity F1 of a thought against the next call's entities (see the module docstring)."""
    if not text.strip():
        return StepScore(0.0, "empty answer: no thought")
    norm = normalize_answer(text)
    gold = {normalize_answer(e) for e in next_entities} - {""}
    others = {normalize_answer(e) for e in other_entities} - gold - {""}
    hit = {e for e in gold if _mentions(norm, e)}
    wrong = {e for e in others if _mentions(norm, e)}
    if not hit:
        return StepScore(0.0, details={"mentioned_next": 0, "mentioned_other": len(wrong)})
    precision = len(hit) / (len(hit) + len(wrong))
    recall = len(hit) / len(gold)
    f1 = 2 * precision * recall / (precision + recall)
    return StepScore(f1, details={"mentioned_next": len(hit), "mentioned_other": len(wrong)})


def _named_tool(text: str) -> str | None:
    parsed = parse_tool_calls(text)
    if parsed.calls is not None and len(parsed.calls) == 1:
        return parsed.calls[0].name
    for line in text.strip().splitlines():
        line = _DECORATION.sub("", line.strip()).strip("`'\"*. ")
        if line:
            return line.removesuffix("()").strip()
    return None


def score_retrieve(text: str, gold: str, tools: Sequence[str]) -> StepScore:
    """1.0 when the answer names the ``gold`` tool; naming no offered tool is a format failure."""
    name = _named_tool(text)
    if name is None or name not in tools:
        return StepScore(0.0, "the answer names none of the offered tools")
    return StepScore(1.0 if name == gold else 0.0, details={"named": name})


def _json_object(text: str) -> dict[str, Any] | None:
    decoder = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, m.start())
        except (ValueError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def score_understand(text: str, gold: Mapping[str, Any]) -> StepScore:
    """Argument accuracy (see the module docstring)."""
    obj = _json_object(text)
    if obj is None:
        return StepScore(0.0, "the answer holds no JSON object of arguments")
    if isinstance(obj.get("arguments"), dict) and "name" in obj:
        obj = obj["arguments"]
    correct = sum(
        1 for k, v in gold.items() if k in obj and normalize_value(obj[k]) == normalize_value(v)
    )
    denominator = max(len(gold), len(obj))
    return StepScore(correct / denominator if denominator else 1.0, details={"correct": correct})


def score_instruct(text: str, gold: ToolCall, fmt: str) -> StepScore:
    """Format (0.5) + exact call in that format (0.5); see the module docstring."""
    wanted = {"json": "json", "str": "react"}[fmt]
    parsed = parse_tool_calls(text)
    if parsed.calls is None or parsed.format != wanted or len(parsed.calls) != 1:
        got = parsed.format or "no call"
        return StepScore(0.0, f"the answer is not one call in the {fmt} format (got {got})")
    exact = same_call(parsed.calls[0], gold)
    return StepScore(0.5 + (0.5 if exact else 0.0), details={"exact": exact})


def score_review(text: str, gold: str) -> StepScore:
    """1.0 when the first label in the answer is ``gold``."""
    m = _LABEL.search(text)
    if m is None:
        return StepScore(0.0, f"the answer holds none of the labels {', '.join(REVIEW_LABELS)}")
    label = m.group(1).lower()
    return StepScore(1.0 if label == gold else 0.0, details={"label": label})


# ----------------------------------------------------------------------------- summaries


@dataclass(frozen=True)
class DimensionScore:
    """Mean score, success rate and format-failure rate of one dimension (and format)."""

    dimension: str
    format: str | None
    episodes: int
    mean_score: float
    success_rate: float
    format_failure_rate: float


def _group(key: tuple[str, str | None], trajs: Sequence[Trajectory]) -> DimensionScore:
    n = len(trajs)
    return DimensionScore(
        dimension=key[0],
        format=key[1],
        episodes=n,
        mean_score=sum(t.score for t in trajs) / n,
        success_rate=sum(t.success for t in trajs) / n,
        format_failure_rate=sum(1 for t in trajs if t.steps and t.steps[-1].format_failure) / n,
    )


def tool_steps_summary(trajectories: Iterable[Trajectory]) -> list[DimensionScore]:
    """One row per dimension (from ``info["dimension"]``), then one per instruct format.

    Trajectories without a dimension (other environments) are left out.
    """
    by_dim: dict[str, list[Trajectory]] = {}
    by_format: dict[str, list[Trajectory]] = {}
    for t in trajectories:
        info = t.steps[-1].info if t.steps else {}
        dim = info.get("dimension")
        if not dim:
            continue
        by_dim.setdefault(str(dim), []).append(t)
        if info.get("format"):
            by_format.setdefault(str(info["format"]), []).append(t)
    order = {d: i for i, d in enumerate(DIMENSIONS)}
    rows = [
        _group((d, None), g) for d, g in sorted(by_dim.items(), key=lambda x: order.get(x[0], 99))
    ]
    rows += [_group(("instruct", f), g) for f, g in sorted(by_format.items())]
    return rows


def format_tool_steps_table(rows: Sequence[DimensionScore]) -> str:
    """A plain-text table of :func:`tool_steps_summary`."""
    table = [("dimension", "format", "episodes", "score", "success", "format fail")]
    for r in rows:
        table.append(
            (
                r.dimension,
                r.format or "all",
                str(r.episodes),
                f"{r.mean_score:.3f}",
                f"{r.success_rate:.3f}",
                f"{r.format_failure_rate:.3f}",
            )
        )
    return text_table(table)
