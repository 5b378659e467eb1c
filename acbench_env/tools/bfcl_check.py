"""The BFCL AST checker, in two modes.

Semantics (both modes) follow the Berkeley Function Calling Leaderboard's AST checker:

- the function name must match (in ``multiple``, the one function the answer names);
- every required parameter must be present, and no parameter may appear that the function
  does not declare or the answer does not list;
- types are checked against the function doc (``int`` is accepted where ``float`` is
  expected, not the reverse; ``bool`` is never an ``int``; ``tuple`` is a list; ``any``
  accepts text); one level of ``items`` is checked for arrays and tuples; in the Java and
  JavaScript categories every value is a string of source text, read by its declared type
  first (:mod:`acbench_env.tools.bfcl_lang`);
- each value must be among the accepted values of its parameter; ``""`` in the list means
  the parameter may be omitted; strings are compared after BFCL's normalisation (lower case,
  spaces and ``,./-_*^`` removed, ``'`` read as ``"``), also inside lists and dicts;
- parallel calls match the answer in any order, and the number of calls must be equal;
- irrelevance: the correct answer is no call; relevance: some call.

``mode="fixed"`` (the default) corrects the reference checker where it is inconsistent;
``mode="upstream"`` reproduces it verdict for verdict. Every difference is listed, with an
example, in ``docs/scoring-modes.md``:

1. parallel calls: fixed finds a full matching; upstream matches greedily in answer order;
2. int items in a list of floats: fixed accepts them; upstream accepts an int for a float
   only at the top level;
3. ``[]`` for an optional list parameter: upstream accepts it (its "may be omitted" marker
   ``""`` reads as an empty list); fixed requires the parameter to be omitted; likewise
   upstream skips the item type check of a list whenever ``""`` is among its answers;
4. item types: fixed accepts a list item whose type any answer list uses; upstream, the
   type of the first item of the answer list being tried;
5. scalar values: upstream compares with Python ``==`` (``True`` equals ``1``, ``1`` equals
   ``1.0``); fixed also requires the same type (an int for a float excepted);
6. an answer that does not parse: upstream counts it a correct irrelevance decision; fixed,
   always a format failure;
7. relevance: upstream accepts any call; fixed, calls of offered functions only;
8. simple categories: upstream checks the call against the first function doc;
9. Java arrays of ``String``/``char``: fixed drops the quotes of the items (upstream keeps
   them, so correct Java source fails);
10. a dict answer written as a bare string: fixed reads it as the one accepted value;
    upstream iterates it, accepting its characters.

Every rejection carries an :data:`~acbench_env.tools.bfcl_types.ERROR_CATEGORIES` value and
BFCL's finer error type.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from acbench_env.tools.bfcl_lang import java_value, js_value
from acbench_env.tools.bfcl_types import (
    TYPED_COLLECTIONS,
    CheckMode,
    CheckResult,
    Language,
    category_language,
    check_mode,
    expected_type,
    is_irrelevance,
    is_relevance,
    reject,
)
from acbench_env.tools.bfcl_values import check_type, check_value
from acbench_env.tools.sandbox import ToolCall

Answer = Mapping[str, Sequence[Any]]
GroundTruth = Sequence[Mapping[str, Answer]]


def _read_value(
    value: Any, type_name: str, doc: Mapping[str, Any], language: Language, mode: CheckMode
) -> tuple[Any, str | None, CheckResult | None]:
    """(the value as compared, its item type name, a rejection): reads Java/JS text."""
    items = doc.get("items")
    nested = str(items.get("type", "any")) if isinstance(items, Mapping) else None
    if language == "python":
        if type_name.lower() in ("float", "number") and type(value) is int:
            value = float(value)
        return value, (nested if type_name.lower() in ("array", "tuple") else None), None
    if type(value) is not str:
        short = "java" if language == "java" else "js"
        return (
            value,
            None,
            reject(
                "wrong_type",
                f"type_error:{short}",
                f"{language} argument values are source text: give {type(value).__name__} "
                f"{value!r} as a string",
            ),
        )
    nested = nested if type_name in TYPED_COLLECTIONS else None
    if language == "java":
        return java_value(value, type_name, nested, mode=mode), nested, None
    try:
        return js_value(value, type_name, nested), nested, None
    except ValueError:
        return value, nested, None


def check_call(
    function: Mapping[str, Any],
    call: ToolCall,
    answer: Answer,
    *,
    mode: CheckMode = "fixed",
    language: Language = "python",
) -> CheckResult:
    """Check one call against one function doc and its accepted values (BFCL's simple check)."""
    name = str(function["name"])
    if call.name != name:
        return reject(
            "wrong_function",
            "simple_function_checker:wrong_func_name",
            f"expected a call of {name!r}, got {call.name!r}",
        )
    params = function.get("parameters") or {}
    props: Mapping[str, Any] = params.get("properties") or {}
    for req in params.get("required") or []:
        if req not in call.arguments:
            return reject(
                "missing_argument",
                "simple_function_checker:missing_required",
                f"missing required argument {req!r}",
            )
    for param, raw in call.arguments.items():
        if param not in props or param not in answer:
            return reject(
                "extra_argument",
                "simple_function_checker:unexpected_param",
                f"unexpected argument {param!r}",
            )
        doc = props[param] if isinstance(props[param], Mapping) else {}
        accepted = list(answer[param])
        type_name = str(doc.get("type", "any"))
        value, nested, problem = _read_value(raw, type_name, doc, language, mode)
        if problem is not None:
            return problem
        expected = expected_type(language, type_name)
        item_type = expected_type(language, nested) if nested is not None else None
        type_result, is_variable = check_type(
            param, value, accepted, type_name, expected, item_type, mode
        )
        if not type_result.valid:
            return type_result
        result = check_value(param, value, accepted, expected, item_type, is_variable, mode)
        if not result.valid:
            return result
    for param, accepted_values in answer.items():
        if param not in call.arguments and "" not in accepted_values:
            return reject(
                "missing_argument",
                "simple_function_checker:missing_optional",
                f"argument {param!r} is needed here (it has no default that fits)",
            )
    return CheckResult.ok()


def find_function(functions: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    for f in functions:
        if f.get("name") == name:
            return f
    return None


def _docs(functions: Sequence[Mapping[str, Any]], answers: GroundTruth) -> list[Mapping[str, Any]]:
    docs = []
    for ans in answers:
        fname = next(iter(ans))
        docs.append(find_function(functions, fname) or {"name": fname, "parameters": {}})
    return docs


def _explain(
    docs: list[Mapping[str, Any]],
    calls: Sequence[ToolCall],
    answers: GroundTruth,
    i: int,
    free: list[int],
    mode: CheckMode,
    language: Language,
) -> CheckResult:
    """The error of expected call ``i`` against a free call, preferring one of the same
    function, so that the category names the real mistake."""
    fname, accepted = next(iter(answers[i].items()))
    same = [j for j in free if calls[j].name == fname]
    j = (same or free)[0]
    err = check_call(docs[i], calls[j], accepted, mode=mode, language=language)
    return CheckResult(
        False, err.category, err.error_type, f"call {j} vs expected call {i}: {err.message}"
    )


def _match_full(
    docs: list[Mapping[str, Any]],
    calls: Sequence[ToolCall],
    answers: GroundTruth,
    language: Language,
) -> CheckResult:
    """Order-free maximum bipartite matching of calls to answers (fixed mode)."""
    n = len(answers)
    ok = [
        [
            check_call(docs[i], c, next(iter(answers[i].values())), language=language).valid
            for c in calls
        ]
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
    free = [j for j in range(n) if match_of_call[j] < 0]
    return _explain(docs, calls, answers, unmatched[0], free, "fixed", language)


def _match_greedy(
    docs: list[Mapping[str, Any]],
    calls: Sequence[ToolCall],
    answers: GroundTruth,
    language: Language,
) -> CheckResult:
    """Upstream: each expected call, in order, takes the first unused call it accepts."""
    used: set[int] = set()
    for i, ans in enumerate(answers):
        accepted = next(iter(ans.values()))
        for j, call in enumerate(calls):
            if (
                j not in used
                and check_call(docs[i], call, accepted, mode="upstream", language=language).valid
            ):
                used.add(j)
                break
        else:
            free = [j for j in range(len(calls)) if j not in used]
            return _explain(docs, calls, answers, i, free, "upstream", language)
    return CheckResult.ok()


def check_answer(
    functions: Sequence[Mapping[str, Any]],
    calls: Sequence[ToolCall] | None,
    ground_truth: GroundTruth,
    *,
    parse_error: str | None = None,
    mode: CheckMode = "fixed",
    category: str | None = None,
) -> CheckResult:
    """Check a parsed answer against BFCL ground truth.

    ``ground_truth=[]`` means irrelevance (call nothing) unless ``category`` is a relevance
    category (call something). ``category`` also selects the Java / JavaScript type rules
    and, in upstream mode, the checker BFCL picks by name (parallel, multiple, simple).
    ``calls=None`` (or a ``parse_error``) is a format failure (upstream mode: a correct
    irrelevance decision on an irrelevance item).
    """
    mode = check_mode(mode)
    language = category_language(category)
    unparsed = calls is None or parse_error is not None
    if unparsed and mode == "upstream" and is_irrelevance(category):
        return CheckResult.ok()  # upstream: "failed to decode" = "called nothing"
    if calls is None or parse_error is not None:
        return reject("format", "format:unparseable", parse_error or "the answer did not parse")
    if is_relevance(category):
        if not calls:
            return reject("no_call", "relevance_error:no_call", "a function fits; call it")
        offered = {f.get("name") for f in functions}
        if mode == "fixed" and any(c.name not in offered for c in calls):
            return reject("wrong_function", "relevance_error:unknown", "call an offered function")
        return CheckResult.ok()
    if not ground_truth:
        if calls:
            return reject(
                "unexpected_call",
                "irrelevance:called",
                "no function fits; the answer should call none",
            )
        return CheckResult.ok()
    if not calls:
        return reject("no_call", "no_call", "the answer calls no function")
    if len(calls) != len(ground_truth):
        return reject(
            "wrong_count", "wrong_count", f"expected {len(ground_truth)} call(s), got {len(calls)}"
        )
    docs = _docs(functions, ground_truth)
    if mode == "fixed":
        return _match_full(docs, calls, ground_truth, language)
    return _check_upstream(functions, docs, calls, ground_truth, category or "", language)


def _check_upstream(
    functions: Sequence[Mapping[str, Any]],
    docs: list[Mapping[str, Any]],
    calls: Sequence[ToolCall],
    ground_truth: GroundTruth,
    category: str,
    language: Language,
) -> CheckResult:
    """BFCL picks its checker by the category's name: parallel (greedy matching),
    multiple (the first call against the first answer), else simple (one call, checked
    against the first function doc)."""
    if "parallel" in category:
        return _match_greedy(docs, calls, ground_truth, language)
    doc = docs[0] if "multiple" in category or not functions else functions[0]
    accepted = next(iter(ground_truth[0].values()))
    result = check_call(doc, calls[0], accepted, mode="upstream", language=language)
    if not result.valid:
        return CheckResult(False, result.category, result.error_type, f"call 0: {result.message}")
    return result
