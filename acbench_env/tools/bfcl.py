"""BFCL-compatible checking of function calls, and a loader for BFCL's file format.

The checker follows the semantics of the Berkeley Function Calling Leaderboard's AST
checker (Python categories):

- the function name must match (in ``multiple``, the one function the answer names);
- every required parameter must be present, and no parameter may appear that the function
  does not declare or the answer does not list;
- types are checked against the function doc (``int`` is accepted where ``float`` is
  expected, not the reverse; ``bool`` is never an ``int``; ``tuple`` is a list; ``any``
  accepts text); one level of ``items`` is checked for arrays and tuples;
- each value must be among the accepted values of its parameter; ``""`` in the list means
  the parameter may be omitted; strings are compared after BFCL's normalisation (lower case,
  spaces and ``,./-_*^`` removed, ``'`` read as ``"``), also inside lists and dicts;
- parallel calls match the answer in any order (a full matching, so an earlier greedy
  choice never hides a valid assignment), and the number of calls must be equal;
- irrelevance: the correct answer is no call.

Every rejection carries an :data:`ERROR_CATEGORIES` value and BFCL's finer error type.
Unlike upstream, an answer that does not parse is a *format* failure and never counts as a
correct irrelevance decision (see KNOWN-PITFALLS).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from acbench_env.core.env import StepOutcome
from acbench_env.core.errors import ConfigError
from acbench_env.tools.parsing import parse_tool_calls
from acbench_env.tools.sandbox import Sandbox, ToolCall

#: The error categories of a rejected answer.
ERROR_CATEGORIES = (
    "format",
    "no_call",
    "unexpected_call",
    "wrong_count",
    "wrong_function",
    "missing_argument",
    "extra_argument",
    "wrong_type",
    "wrong_value",
)

#: The BFCL categories this loader knows, and their file stems.
BFCL_CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")

PY_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "float": (float,),
    "number": (float,),
    "boolean": (bool,),
    "array": (list,),
    "tuple": (list,),
    "dict": (dict,),
    "object": (dict,),
    "any": (str,),
}
_STD = re.compile(r"[ ,./\-_*^]")


@dataclass(frozen=True)
class CheckResult:
    """Whether an answer is accepted; if not, why (``category`` and BFCL-like ``error_type``)."""

    valid: bool
    category: str | None = None
    error_type: str | None = None
    message: str = ""

    @classmethod
    def ok(cls) -> CheckResult:
        return cls(True)


def _reject(category: str, error_type: str, message: str) -> CheckResult:
    return CheckResult(False, category, error_type, message)


def standardize_string(text: str) -> str:
    """BFCL's string normalisation: drop spaces and ``,./-_*^``, lower case, ``'`` -> ``"``."""
    return _STD.sub("", text).lower().replace("'", '"')


def _exact_type(value: Any, accepted: tuple[type, ...]) -> bool:
    return type(value) in accepted


def _answer_type(answers: Sequence[Any]) -> type | None:
    for a in answers:
        if a != "":
            return type(a)
    return None


def _std_value(value: Any) -> Any:
    return standardize_string(value) if isinstance(value, str) else value


def _std_list(values: Sequence[Any]) -> list[Any]:
    return [_std_value(v) for v in values]


def _check_type(
    param: str, value: Any, answers: Sequence[Any], doc: Mapping[str, Any]
) -> tuple[CheckResult, Any, bool]:
    """Type check one value; returns (result, the value as compared, is_variable)."""
    type_name = str(doc.get("type", "any")).lower()
    expected = PY_TYPES.get(type_name, (str,))
    if type_name in ("float", "number") and type(value) is int:
        value = float(value)
    answer_type = _answer_type(answers)
    is_variable = answer_type is not None and answer_type not in expected
    if _exact_type(value, expected):
        if type_name in ("array", "tuple") and isinstance(doc.get("items"), Mapping):
            item_type = str(doc["items"].get("type", "any")).lower()
            item_expected = PY_TYPES.get(item_type, (str,))
            for item in value:
                if item_type in ("float", "number") and type(item) is int:
                    continue
                if not _exact_type(item, item_expected):
                    # BFCL also accepts an item whose type matches the answer's items.
                    answer_items = [a for a in answers if isinstance(a, list)]
                    if any(type(item) in {type(x) for x in a} for a in answer_items):
                        continue
                    return (
                        _reject(
                            "wrong_type",
                            "type_error:nested",
                            f"parameter {param!r}: items must be {item_type}, got "
                            f"{type(item).__name__} ({item!r})",
                        ),
                        value,
                        is_variable,
                    )
        return CheckResult.ok(), value, is_variable
    if answer_type is not None and type(value) is answer_type:
        return CheckResult.ok(), value, True
    return (
        _reject(
            "wrong_type",
            "type_error:simple",
            f"parameter {param!r} must be {type_name}, got {type(value).__name__} ({value!r})",
        ),
        value,
        is_variable,
    )


def _check_dict(param: str, value: Mapping[str, Any], answers: Sequence[Any]) -> CheckResult:
    last = _reject(
        "wrong_value", "value_error:dict_value", f"parameter {param!r}: no accepted dict"
    )
    for answer in answers:
        if answer == "" or not isinstance(answer, Mapping):
            continue
        problem: CheckResult | None = None
        for key, v in value.items():
            if key not in answer:
                problem = _reject(
                    "wrong_value",
                    "value_error:dict_key",
                    f"parameter {param!r}: unexpected key {key!r}",
                )
                break
            accepted = answer[key] if isinstance(answer[key], list) else [answer[key]]
            if _std_value(v) not in _std_list(accepted):
                problem = _reject(
                    "wrong_value",
                    "value_error:dict_value",
                    f"parameter {param!r}: key {key!r} = {v!r} is not among {accepted!r}",
                )
                break
        if problem is None:
            for key, accepted in answer.items():
                if key not in value and "" not in (
                    accepted if isinstance(accepted, list) else [accepted]
                ):
                    problem = _reject(
                        "wrong_value",
                        "value_error:dict_key",
                        f"parameter {param!r}: missing key {key!r}",
                    )
                    break
        if problem is None:
            return CheckResult.ok()
        last = problem
    return last


def _check_list_of_dicts(param: str, value: Sequence[Any], answers: Sequence[Any]) -> CheckResult:
    last = _reject(
        "wrong_value", "value_error:list_dict_count", f"parameter {param!r}: wrong number of dicts"
    )
    for answer in answers:
        if not isinstance(answer, list):
            continue
        if len(answer) != len(value):
            continue
        results = [
            _check_dict(param, v, [a])
            if isinstance(v, Mapping)
            else _reject(
                "wrong_type", "type_error:nested", f"parameter {param!r}: items must be dicts"
            )
            for v, a in zip(value, answer)
        ]
        bad = [r for r in results if not r.valid]
        if not bad:
            return CheckResult.ok()
        last = bad[0]
    return last


def check_call(
    function: Mapping[str, Any], call: ToolCall, answer: Mapping[str, Sequence[Any]]
) -> CheckResult:
    """Check one call against one function doc and its accepted values (BFCL's simple check)."""
    name = str(function["name"])
    if call.name != name:
        return _reject(
            "wrong_function",
            "simple_function_checker:wrong_func_name",
            f"expected a call of {name!r}, got {call.name!r}",
        )
    params = function.get("parameters") or {}
    props: Mapping[str, Any] = params.get("properties") or {}
    for req in params.get("required") or []:
        if req not in call.arguments:
            return _reject(
                "missing_argument",
                "simple_function_checker:missing_required",
                f"missing required argument {req!r}",
            )
    for param, value in call.arguments.items():
        if param not in props or param not in answer:
            return _reject(
                "extra_argument",
                "simple_function_checker:unexpected_param",
                f"unexpected argument {param!r}",
            )
        doc = props[param] if isinstance(props[param], Mapping) else {}
        accepted = list(answer[param])
        type_result, value, is_variable = _check_type(param, value, accepted, doc)
        if not type_result.valid:
            return type_result
        type_name = str(doc.get("type", "any")).lower()
        raw_items = doc.get("items")
        items: Mapping[str, Any] = raw_items if isinstance(raw_items, Mapping) else {}
        item_type = str(items.get("type", "")).lower()
        if not is_variable and type_name in ("dict", "object"):
            result = _check_dict(param, value, accepted)
        elif (
            not is_variable and type_name in ("array", "tuple") and item_type in ("dict", "object")
        ):
            result = _check_list_of_dicts(param, value, accepted)
        elif not is_variable and isinstance(value, str):
            ok = standardize_string(value) in [
                standardize_string(a) for a in accepted if isinstance(a, str)
            ]
            result = (
                CheckResult.ok()
                if ok
                else _reject(
                    "wrong_value",
                    "value_error:string",
                    f"argument {param!r} = {value!r} is not among {accepted!r}",
                )
            )
        elif not is_variable and isinstance(value, list):
            ok = _std_list(value) in [_std_list(a) for a in accepted if isinstance(a, list)]
            result = (
                CheckResult.ok()
                if ok
                else _reject(
                    "wrong_value",
                    "value_error:list/tuple",
                    f"argument {param!r} = {value!r} is not among {accepted!r}",
                )
            )
        else:
            ok = any(
                type(value) is type(a) or (isinstance(value, float) and type(a) is int)
                for a in accepted
                if a == value
            )
            result = (
                CheckResult.ok()
                if ok
                else _reject(
                    "wrong_value",
                    "value_error:others",
                    f"argument {param!r} = {value!r} is not among {accepted!r}",
                )
            )
        if not result.valid:
            return result
    for param, accepted_values in answer.items():
        if param not in call.arguments and "" not in accepted_values:
            return _reject(
                "missing_argument",
                "simple_function_checker:missing_optional",
                f"argument {param!r} is needed here (it has no default that fits)",
            )
    return CheckResult.ok()


def _find_function(functions: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    for f in functions:
        if f.get("name") == name:
            return f
    return None


def _match(
    functions: Sequence[Mapping[str, Any]],
    calls: Sequence[ToolCall],
    answers: Sequence[Mapping[str, Mapping[str, Sequence[Any]]]],
) -> CheckResult:
    """Order-free matching of ``calls`` to ``answers`` (equal lengths).

    A maximum bipartite matching (accepted pairs) is searched; if it is not perfect, the
    error reported is that of the first unmatched answer against an unmatched call,
    preferring a call of the same function, so that the category names the real mistake.
    """
    n = len(answers)
    docs = []
    for ans in answers:
        fname, _ = next(iter(ans.items()))
        docs.append(_find_function(functions, fname) or {"name": fname, "parameters": {}})
    ok = [
        [check_call(docs[i], call, next(iter(answers[i].values()))).valid for call in calls]
        for i in range(n)
    ]
    match_of_call = [-1] * n

    def augment(i: int, seen: list[bool]) -> bool:
        for j in range(n):
            if ok[i][j] and not seen[j]:
                seen[j] = True
                if match_of_call[j] < 0 or augment(match_of_call[j], seen):
                    match_of_call[j] = i
                    return True
        return False

    unmatched = [i for i in range(n) if not augment(i, [False] * n)]
    if not unmatched:
        return CheckResult.ok()
    i = unmatched[0]
    fname, accepted = next(iter(answers[i].items()))
    free = [j for j in range(n) if match_of_call[j] < 0]
    same = [j for j in free if calls[j].name == fname]
    j = (same or free)[0]
    err = check_call(docs[i], calls[j], accepted)
    return CheckResult(
        False, err.category, err.error_type, f"call {j} vs expected call {i}: {err.message}"
    )


def check_answer(
    functions: Sequence[Mapping[str, Any]],
    calls: Sequence[ToolCall] | None,
    ground_truth: Sequence[Mapping[str, Mapping[str, Sequence[Any]]]],
    *,
    parse_error: str | None = None,
) -> CheckResult:
    """Check a parsed answer against BFCL ground truth (``[]`` = irrelevance: call nothing).

    ``calls=None`` (or a ``parse_error``) is a format failure.
    """
    if calls is None or parse_error is not None:
        return _reject("format", "format:unparseable", parse_error or "the answer did not parse")
    if not ground_truth:
        if calls:
            return _reject(
                "unexpected_call",
                "irrelevance:called",
                "no function fits; the answer should call none",
            )
        return CheckResult.ok()
    if not calls:
        return _reject("no_call", "no_call", "the answer calls no function")
    if len(calls) != len(ground_truth):
        return _reject(
            "wrong_count", "wrong_count", f"expected {len(ground_truth)} call(s), got {len(calls)}"
        )
    return _match(functions, calls, ground_truth)


# --------------------------------------------------------------------------- oracle


def _oracle_value(value_list: Sequence[Any], doc: Mapping[str, Any]) -> tuple[bool, Any]:
    """(include?, value) for one parameter's accepted values."""
    concrete = [v for v in value_list if v != ""]
    if not concrete:
        return False, None
    value = concrete[0]
    type_name = str(doc.get("type", "")).lower()
    raw_items = doc.get("items")
    items: Mapping[str, Any] = raw_items if isinstance(raw_items, Mapping) else {}
    if type_name in ("dict", "object") and isinstance(value, Mapping):
        return True, _oracle_dict(value)
    if (
        type_name in ("array", "tuple")
        and str(items.get("type", "")).lower() in ("dict", "object")
        and isinstance(value, list)
    ):
        return True, [_oracle_dict(v) if isinstance(v, Mapping) else v for v in value]
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
) -> list[ToolCall]:
    """Calls built from the first accepted value of each parameter (omitting optional ones
    whose only accepted value is ``""``, and parameters the function doc does not declare)."""
    calls = []
    for ans in ground_truth:
        fname, accepted = next(iter(ans.items()))
        fdoc = _find_function(functions, fname) or {}
        props = (fdoc.get("parameters") or {}).get("properties") or {}
        args = {}
        for param, values in accepted.items():
            if props and param not in props:
                continue  # listed in the answer but not declared (a few upstream items)
            include, value = _oracle_value(values, props.get(param) or {})
            if include:
                args[param] = value
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
    """The question file and (except for irrelevance) the answer file of ``category``."""
    questions = data_dir / f"BFCL_v4_{category}.json"
    answers = None if category == "irrelevance" else data_dir / "possible_answer" / questions.name
    return questions, answers


def load_bfcl(data_dir: str | Path, category: str) -> list[BFCLItem]:
    """Every item of ``category`` in a BFCL data folder (question files + ``possible_answer/``)."""
    if category not in BFCL_CATEGORIES:
        raise ConfigError(
            f"unknown BFCL category {category!r}; use one of {', '.join(BFCL_CATEGORIES)}"
        )
    root = Path(data_dir)
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
                f"{answers_path} does not exist; BFCL category {category!r} needs its possible_answer file"
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
) -> float:
    """Share of the expected arguments given with an accepted value (partial credit).

    Each expected call is paired with an unused call of the same function (the one with
    most correct arguments); an argument whose only accepted value is ``""`` does not count.
    Irrelevance (no expected call): 1.0 when nothing is called. A format failure: 0.0.
    """
    if calls is None:
        return 0.0
    if not ground_truth:
        return 1.0 if not calls else 0.0
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
                    single, ToolCall(fname, {p: call.arguments[p]}), {p: accepted[p]}
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
) -> StepOutcome:
    """The one-step outcome of a tool-call answer, with BFCL semantics (shared by
    ``acbench/BFCL-v0`` and ``acbench/FunctionCall-v0``).

    The calls run in ``sandbox`` (which validates their arguments); ``feedback`` turns the
    check and the tool results into the observation of a parsed answer.
    """
    parsed = parse_tool_calls(action)
    result = check_answer(functions, parsed.calls, ground_truth, parse_error=parsed.error)
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
            "call_format": parsed.format,
            "call_accuracy": score,
            "argument_accuracy": argument_accuracy(functions, parsed.calls, ground_truth),
            "error_category": result.category,
            "error_type": result.error_type,
            "error_message": result.message,
            "num_calls": None if parsed.calls is None else len(parsed.calls),
            "validation_errors": sum(sandbox.error_counts.values()),
        },
    )
