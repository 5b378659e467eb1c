"""BFCL: a loader for its file format, an oracle, partial credit, and the one-step outcome.

The checker lives in :mod:`acbench_env.tools.bfcl_check` (both modes, see
``docs/scoring-modes.md``), the type tables and records in
:mod:`acbench_env.tools.bfcl_types`, the Java / JavaScript value rules in
:mod:`acbench_env.tools.bfcl_lang`; the names most callers need are re-exported here.

Unlike upstream, in the default ``mode="fixed"`` an answer that does not parse is a
*format* failure and never counts as a correct irrelevance decision (see KNOWN-PITFALLS).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from acbench_env.core.env import StepOutcome
from acbench_env.core.errors import ConfigError
from acbench_env.tools.bfcl_check import check_answer, check_call, find_function
from acbench_env.tools.bfcl_lang import java_literal, js_literal
from acbench_env.tools.bfcl_types import (
    BFCL_CATEGORIES,
    CHECK_MODES,
    ERROR_CATEGORIES,
    PY_TYPES,
    TYPED_COLLECTIONS,
    CheckMode,
    CheckResult,
    Language,
    category_language,
    check_mode,
    has_answers,
    is_relevance,
    standardize_string,
)
from acbench_env.tools.parsing import parse_tool_calls
from acbench_env.tools.sandbox import Sandbox, ToolCall

__all__ = [
    "BFCL_CATEGORIES",
    "CHECK_MODES",
    "ERROR_CATEGORIES",
    "PY_TYPES",
    "BFCLItem",
    "CheckMode",
    "CheckResult",
    "answer_outcome",
    "argument_accuracy",
    "bfcl_categories_in",
    "category_language",
    "check_answer",
    "check_call",
    "load_bfcl",
    "oracle_calls",
    "standardize_string",
]

_find_function = find_function


# --------------------------------------------------------------------------- oracle


def _oracle_value(
    value_list: Sequence[Any], doc: Mapping[str, Any], language: Language
) -> tuple[bool, Any]:
    """(include?, value) for one parameter's accepted values (Java / JavaScript values
    written as the source text BFCL reads back)."""
    concrete = [v for v in value_list if v != ""]
    if not concrete:
        return False, None
    value = concrete[0]
    raw_type = str(doc.get("type", ""))
    type_name = raw_type.lower()
    raw_items = doc.get("items")
    items: Mapping[str, Any] = raw_items if isinstance(raw_items, Mapping) else {}
    nested = str(items.get("type", "any")) if items else None
    if type_name in ("dict", "object", "hashmap") and isinstance(value, Mapping):
        value = _oracle_dict(value)
    elif (
        type_name in ("array", "tuple")
        and str(items.get("type", "")).lower() in ("dict", "object")
        and isinstance(value, list)
    ):
        value = [_oracle_dict(v) if isinstance(v, Mapping) else v for v in value]
    if language == "java":
        return True, java_literal(
            value, raw_type, nested if raw_type in TYPED_COLLECTIONS else None
        )
    if language == "javascript":
        return True, js_literal(value, raw_type, nested if raw_type in TYPED_COLLECTIONS else None)
    return True, value


def _oracle_dict(answer: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, accepted in answer.items():
        values = accepted if isinstance(accepted, list) else [accepted]
        concrete = [v for v in values if v != ""]
        if concrete:
            out[key] = concrete[0]
    return out


def oracle_calls(
    functions: Sequence[Mapping[str, Any]],
    ground_truth: Sequence[Mapping[str, Mapping[str, Sequence[Any]]]],
    category: str | None = None,
) -> list[ToolCall]:
    """Calls built from the first accepted value of each parameter (omitting optional ones
    whose only accepted value is ``""``, giving ``""`` for a required one, and leaving out
    parameters the function doc does not declare);
    in a relevance category, a call of the first function (its arguments are not checked).
    Java / JavaScript values (``category``) are written as source text."""
    if is_relevance(category) and functions:
        return [ToolCall(str(functions[0]["name"]), {})]
    language = category_language(category)
    calls = []
    for ans in ground_truth:
        fname, accepted = next(iter(ans.items()))
        fdoc = _find_function(functions, fname) or {}
        props = (fdoc.get("parameters") or {}).get("properties") or {}
        required = set((fdoc.get("parameters") or {}).get("required") or [])
        args = {}
        for param, values in accepted.items():
            if props and param not in props:
                continue  # listed in the answer but not declared (a few upstream items)
            include, value = _oracle_value(values, props.get(param) or {}, language)
            if include:
                args[param] = value
            elif param in required and "" in values:
                args[param] = ""  # required, yet only "" accepted: an explicit empty string
        calls.append(ToolCall(fname, args))
    return calls


# --------------------------------------------------------------------------- loader


class BFCLFunction(BaseModel):
    """A function doc in a BFCL question file."""

    model_config = ConfigDict(extra="allow")
    name: str
    description: str = ""
    parameters: dict[str, Any]


class BFCLQuestion(BaseModel):
    """One line of a BFCL question file."""

    model_config = ConfigDict(extra="allow")
    id: str
    question: list[list[dict[str, Any]]]
    function: list[BFCLFunction]


class BFCLAnswer(BaseModel):
    """One line of a BFCL ``possible_answer`` file."""

    model_config = ConfigDict(extra="allow")
    id: str
    ground_truth: list[dict[str, dict[str, list[Any]]]]


@dataclass(frozen=True)
class BFCLItem:
    """A question with its functions and ground truth (``[]`` for irrelevance)."""

    id: str
    category: str
    messages: tuple[dict[str, Any], ...]
    functions: tuple[dict[str, Any], ...]
    ground_truth: tuple[dict[str, dict[str, list[Any]]], ...]


def _read_jsonl(path: Path, model: type[BaseModel]) -> list[Any]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                out.append(model.model_validate_json(line))
            except ValidationError as exc:
                first = exc.errors()[0]
                field = ".".join(str(p) for p in first["loc"])
                raise ConfigError(
                    f"{path}:{lineno}: not a BFCL {model.__name__} record: field '{field}': "
                    f"{first['msg']}"
                ) from None
    return out


def bfcl_files(data_dir: Path, category: str) -> tuple[Path, Path | None]:
    """The question file and (except for the relevance categories) the answer file."""
    questions = data_dir / f"BFCL_v4_{category}.json"
    answers = data_dir / "possible_answer" / questions.name if has_answers(category) else None
    return questions, answers


def bfcl_categories_in(data_dir: str | Path) -> list[str]:
    """The categories whose question file is in ``data_dir``, in :data:`BFCL_CATEGORIES`
    order (what ``category="all"`` means)."""
    root = Path(data_dir)
    return [c for c in BFCL_CATEGORIES if (root / f"BFCL_v4_{c}.json").is_file()]


def load_bfcl(data_dir: str | Path, category: str) -> list[BFCLItem]:
    """Every item of ``category`` in a BFCL data folder (question files + ``possible_answer/``);
    ``category="all"``: every category whose question file is there."""
    root = Path(data_dir)
    if category == "all":
        cats = bfcl_categories_in(root)
        if not cats:
            raise ConfigError(
                f"{root} holds no BFCL_v4_<category>.json file; pass data_dir= a BFCL data "
                "folder (bfcl_eval/data in the gorilla repository)"
            )
        return [item for c in cats for item in load_bfcl(root, c)]
    if category not in BFCL_CATEGORIES:
        raise ConfigError(
            f"unknown BFCL category {category!r}; use 'all' or one of {', '.join(BFCL_CATEGORIES)}"
        )
    questions_path, answers_path = bfcl_files(root, category)
    if not questions_path.is_file():
        raise ConfigError(
            f"{questions_path} does not exist; pass data_dir= a BFCL data folder that holds "
            f"BFCL_v4_{category}.json (and possible_answer/)"
        )
    questions = _read_jsonl(questions_path, BFCLQuestion)
    answers: dict[str, BFCLAnswer] = {}
    if answers_path is not None:
        if not answers_path.is_file():
            raise ConfigError(
                f"{answers_path} does not exist; BFCL category {category!r} needs its "
                "possible_answer file (copy possible_answer/ along with the question files)"
            )
        answers = {a.id: a for a in _read_jsonl(answers_path, BFCLAnswer)}
    items = []
    for q in questions:
        if answers_path is not None and q.id not in answers:
            raise ConfigError(f"{answers_path}: no answer for question {q.id!r}")
        gt = answers[q.id].ground_truth if answers_path is not None else []
        items.append(
            BFCLItem(
                id=q.id,
                category=category,
                messages=tuple(m for turn in q.question for m in turn),
                functions=tuple(f.model_dump() for f in q.function),
                ground_truth=tuple(gt),
            )
        )
    return items


def dumps_calls(calls: Sequence[ToolCall]) -> str:
    return json.dumps([c.to_dict() for c in calls])


def argument_accuracy(
    functions: Sequence[Mapping[str, Any]],
    calls: Sequence[ToolCall] | None,
    ground_truth: Sequence[Mapping[str, Mapping[str, Sequence[Any]]]],
    *,
    mode: CheckMode = "fixed",
    category: str | None = None,
) -> float:
    """Share of the expected arguments given with an accepted value (partial credit).

    Each expected call is paired with an unused call of the same function (the one with
    most correct arguments); an argument whose only accepted value is ``""`` does not count.
    Irrelevance (no expected call): 1.0 when nothing is called; relevance: 1.0 when
    something is. A format failure: 0.0.
    """
    if calls is None:
        return 0.0
    if is_relevance(category):
        return 1.0 if calls else 0.0
    if not ground_truth:
        return 1.0 if not calls else 0.0
    language = category_language(category)
    total = 0
    correct = 0
    used: set[int] = set()
    for ans in ground_truth:
        fname, accepted = next(iter(ans.items()))
        fdoc = _find_function(functions, fname) or {"name": fname, "parameters": {}}
        props = (fdoc.get("parameters") or {}).get("properties") or {}
        expected = [p for p, vals in accepted.items() if any(v != "" for v in vals)]
        total += len(expected)
        best, best_j = 0, None
        for j, call in enumerate(calls):
            if j in used or call.name != fname:
                continue
            hits = 0
            for p in expected:
                if p not in call.arguments:
                    continue
                single = {"name": fname, "parameters": {"properties": {p: props.get(p, {})}}}
                if check_call(
                    single,
                    ToolCall(fname, {p: call.arguments[p]}),
                    {p: accepted[p]},
                    mode=mode,
                    language=language,
                ).valid:
                    hits += 1
            if best_j is None or hits > best:
                best, best_j = hits, j
        if best_j is not None:
            used.add(best_j)
            correct += best
    if not total:
        return 1.0 if len(used) == len(ground_truth) else 0.0
    return correct / total


def answer_outcome(
    category: str,
    functions: Sequence[Mapping[str, Any]],
    ground_truth: Sequence[Mapping[str, Mapping[str, Sequence[Any]]]],
    action: str,
    sandbox: Sandbox,
    feedback: Callable[[CheckResult, list[str]], str],
    *,
    mode: CheckMode = "fixed",
) -> StepOutcome:
    """The one-step outcome of a tool-call answer, with BFCL semantics (shared by
    ``acbench/BFCL-v0`` and ``acbench/FunctionCall-v0``).

    The calls run in ``sandbox`` (which validates their arguments); ``feedback`` turns the
    check and the tool results into the observation of a parsed answer. ``mode``: the
    checker's mode (:data:`CHECK_MODES`), recorded in ``info["scoring_mode"]``.
    """
    mode = check_mode(mode)
    parsed = parse_tool_calls(action)
    result = check_answer(
        functions,
        parsed.calls,
        ground_truth,
        parse_error=parsed.error,
        mode=mode,
        category=category,
    )
    results = [sandbox.call(c).observation() for c in parsed.calls or ()]
    score = 1.0 if result.valid else 0.0
    if parsed.error is not None:
        observation = f"Your answer could not be parsed: {parsed.error}"
    else:
        observation = feedback(result, results)
    return StepOutcome(
        observation=observation,
        reward=score,
        terminated=True,
        score=score,
        success=result.valid,
        parsed_action=parsed.to_dict(),
        parse_error=parsed.error,
        info={
            "category": category,
            "scoring_mode": mode,
            "call_format": parsed.format,
            "call_accuracy": score,
            "argument_accuracy": argument_accuracy(
                functions, parsed.calls, ground_truth, mode=mode, category=category
            ),
            "error_category": result.category,
            "error_type": result.error_type,
            "error_message": result.message,
            "num_calls": None if parsed.calls is None else len(parsed.calls),
            "validation_errors": sum(sandbox.error_counts.values()),
        },
    )
