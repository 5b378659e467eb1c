"""The Berkeley Function Calling Leaderboard (BFCL) file format, checked with BFCL semantics."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from acbench_env.core.env import StepOutcome, TextEnv
from acbench_env.core.errors import ConfigError
from acbench_env.core.validation import int_in_range, positive_int
from acbench_env.environments import ladders
from acbench_env.tools.bfcl import (
    BFCL_CATEGORIES,
    BFCLItem,
    CheckMode,
    answer_outcome,
    bfcl_categories_in,
    category_language,
    check_mode,
    load_bfcl,
    oracle_calls,
)
from acbench_env.tools.parsing import format_calls
from acbench_env.tools.sandbox import Sandbox, Tool, check_tool_listing, tool_listing
from acbench_env.tools.schema import bfcl_to_json_schema

INSTRUCTIONS = (
    "You are a function-calling assistant. You can call these functions:\n{functions}\n\n"
    'To call a function, answer with <tool_call>{{"name": ..., "arguments": {{...}}}}</tool_call>; '
    "use one block per call. If none of the functions fits the request, answer with "
    "<tool_call>[]</tool_call>. Answer with function calls only.\n\n"
)


def sample_data_dir() -> Path:
    """The folder of the small BFCL-format sample shipped with the package."""
    return Path(str(resources.files("acbench_env.data") / "bfcl_sample"))


SOURCE_TEXT_NOTE = (
    'Give every argument value as a string of {language} source text, e.g. "true", '
    '"42", {examples}.\n\n'
)
_EXAMPLES = {
    "java": '"42L" (long), "1.5f" (float), "new int[]{1, 2}", '
    '"new ArrayList<>(Arrays.asList(\\"a\\"))", '
    '"new HashMap<String, Object>() {{ put(\\"k\\", 1); }}"',
    "javascript": '"1.5" (float), "42n" (Bigint), "[\'a\', \'b\']", "{key: \'value\'}"',
}


def _source_text_schema(parameters: dict[str, Any], language: str) -> dict[str, Any]:
    """Java / JavaScript: every argument is source text (a JSON string), whatever its type."""
    props = {
        name: {
            "type": "string",
            "description": f"{language} {doc.get('type', 'any')}: {doc.get('description', '')}",
        }
        for name, doc in (parameters.get("properties") or {}).items()
        if isinstance(doc, dict)
    }
    return {
        "type": "object",
        "properties": props,
        "required": list(parameters.get("required") or []),
    }


def to_tool(function: dict[str, Any], language: str = "python") -> Tool:
    """A sandbox tool (no implementation) whose schema is the BFCL doc mapped to JSON Schema
    (Java / JavaScript: every parameter a string of source text)."""
    raw = function.get("parameters") or {"type": "dict", "properties": {}}
    if language in ("java", "javascript"):
        params = _source_text_schema(raw, language)
    else:
        params = bfcl_to_json_schema(raw)
        params.setdefault("type", "object")
    return Tool(str(function["name"]), str(function.get("description", "")), params)


class BFCLEnv(TextEnv[BFCLItem]):
    """Answer Berkeley Function Calling Leaderboard items; checked with BFCL's AST semantics.

    ## Description
    Each task is one BFCL item: a user request and function docs. The agent answers with
    calls, which are checked against the item's ``possible_answer`` as BFCL does (see
    :mod:`acbench_env.tools.bfcl`): function name, required parameters, types (``int``
    accepted for ``float``), every value among the accepted ones (``""`` = may be omitted),
    parallel calls in any order, and irrelevance = no call.

    ## Action / Observation
    Action: text with tool calls (``<tool_call>{...}</tool_call>``, plain JSON or ReAct);
    ``<tool_call>[]</tool_call>`` calls nothing. In the Java and JavaScript categories every
    argument value is a string of source text (``"42L"``, ``"new int[]{1, 2}"``), read by
    the parameter's declared type as BFCL does (:mod:`acbench_env.tools.bfcl_lang`).
    Observation: the instructions with the function docs, then the item's user turn(s)
    (reset); a verdict (after the answer).

    ## Rewards / Metric
    Reward and ``info["score"]`` (``call_accuracy``) are 1.0 when the checker accepts the
    answer, else 0.0. ``info`` holds ``argument_accuracy``, ``error_category`` (see
    :data:`acbench_env.tools.bfcl.ERROR_CATEGORIES`), BFCL's ``error_type``, ``call_format``
    and ``validation_errors`` (calls whose arguments fail the JSON Schema made from the
    BFCL doc: ``dict`` -> ``object``, ``float`` -> ``number``, ``tuple`` -> ``array``,
    ``any`` -> unconstrained), and ``scoring_mode``. ``mode="fixed"`` (default) corrects the
    reference checker where it is inconsistent (text that does not parse is a format
    failure, never a correct irrelevance answer; parallel calls are fully matched; ...);
    ``mode="upstream"`` gives the gorilla AST checker's verdicts. Every difference is listed
    in ``docs/scoring-modes.md``. Relevance items (``live_relevance``) are correct when a
    function is called (fixed mode: an offered one); their arguments are not checked.

    ## Episode End
    After one answer.

    ## Task source
    BFCL v4 files (``BFCL_v4_<category>.json`` and ``possible_answer/``) from ``data_dir``.
    Without ``data_dir``, a small sample in the same format written by the project and
    shipped with the package (:func:`sample_data_dir`).

    ## Arguments
    ``data_dir`` (a BFCL data folder; default: the packaged sample), ``category`` (one of
    :data:`~acbench_env.tools.bfcl.BFCL_CATEGORIES`: ``simple_python``, ``multiple``,
    ``parallel``, ``parallel_multiple``, ``irrelevance``, ``live_simple``,
    ``live_multiple``, ``live_parallel``, ``live_parallel_multiple``, ``live_irrelevance``,
    ``live_relevance``, ``simple_java``, ``simple_javascript``; or ``"all"``: every category
    whose file is in ``data_dir``), ``mode`` (``"fixed"`` or ``"upstream"``), ``max_tasks``,
    ``tool_listing`` (``"schema"``, the default: each function doc as one JSON line;
    ``"signature"``: as one compact line ``name(arg: type, opt: type = None) --
    description (arg: ...)``, the same facts without the schema keywords that a small
    model copies into its calls), ``few_shot`` (default 0, as BFCL: that many other items
    of the task's category, solved, come before it as prior chat turns,
    ``info["few_shot_messages"]``).

    ## Difficulty levels
    As in BFCL: ``simple_python`` < ``multiple`` < ``parallel`` < ``parallel_multiple``;
    ``irrelevance`` measures restraint; the ``live_*`` categories are user-contributed
    requests with more functions and parameters.

    ## Version History
    v0: initial version; all single-turn AST categories and ``mode`` added later (the
    defaults keep the earlier behaviour).
    """

    #: Difficulty settings, easiest first (:mod:`acbench_env.environments.ladders`).
    ladder = ladders.BFCL

    capability = "tool_use"
    primary_metric = "call_accuracy"
    answer_tokens = 192

    def __init__(
        self,
        data_dir: str | Path | None = None,
        category: str = "all",
        max_tasks: int | None = None,
        render_mode: str | None = None,
        mode: CheckMode = "fixed",
        tool_listing: str = "schema",
        few_shot: int = 0,
    ) -> None:
        super().__init__(max_steps=1, render_mode=render_mode)
        self.tool_listing = check_tool_listing(tool_listing)
        self.few_shot = int_in_range("few_shot", few_shot, 0, 8)
        self.mode = check_mode(mode)
        root = sample_data_dir() if data_dir is None else Path(data_dir)
        if not root.is_dir():
            raise ConfigError(f"data_dir {str(root)!r} is not a folder; pass a BFCL data folder")
        if category == "all":
            cats = bfcl_categories_in(root)
            if not cats:
                raise ConfigError(f"{root} holds no BFCL_v4_<category>.json file")
        elif category in BFCL_CATEGORIES:
            cats = [category]
        else:
            raise ConfigError(
                f"unknown BFCL category {category!r}; use 'all' or one of {', '.join(BFCL_CATEGORIES)}"
            )
        items: list[BFCLItem] = []
        for c in cats:
            items.extend(load_bfcl(root, c))
        if max_tasks is not None:
            max_tasks = positive_int("max_tasks", max_tasks)
            items = items[:max_tasks]
        if not items:
            raise ConfigError(f"no BFCL items in {root} for category {category!r}")
        self.data_dir = root
        self.category = category
        self.items = tuple(items)

    @property
    def num_tasks(self) -> int:
        return len(self.items)

    def make_task(self, index: int) -> BFCLItem:
        return self.items[index]

    def task_id(self, task: BFCLItem) -> str:
        return task.id

    def examples(self, task: BFCLItem) -> tuple[tuple[str, str], ...]:
        """``few_shot`` other items of the task's category, each solved by its first
        accepted answer, as (prompt, answer) pairs: the next items after the task's, in
        file order, wrapping around (fewer when the category has fewer other items)."""
        if not self.few_shot:
            return ()
        same = [i for i, item in enumerate(self.items) if item.category == task.category]
        at = next(k for k, i in enumerate(same) if self.items[i] is task)
        others = same[at + 1 :] + same[:at]
        pairs = []
        for i in others[: self.few_shot]:
            item = self.items[i]
            calls = oracle_calls(item.functions, item.ground_truth, item.category)
            pairs.append((self._prompt(item), format_calls(calls, "hermes")))
        return tuple(pairs)

    def start(self, task: BFCLItem) -> tuple[str, dict[str, Any]]:
        return self._prompt(task), {"category": task.category, "scoring_mode": self.mode}

    def _prompt(self, task: BFCLItem) -> str:
        functions = tool_listing(task.functions, self.tool_listing)
        turns = "\n".join(f"{m.get('role', 'user')}: {m.get('content', '')}" for m in task.messages)
        prompt = INSTRUCTIONS.format(functions=functions)
        language = category_language(task.category)
        if language != "python":
            prompt += SOURCE_TEXT_NOTE.format(
                language="Java" if language == "java" else "JavaScript",
                examples=_EXAMPLES[language],
            )
        return prompt + turns

    def apply(self, task: BFCLItem, action: str) -> StepOutcome:
        language = category_language(task.category)
        return answer_outcome(
            task.category,
            task.functions,
            task.ground_truth,
            action,
            Sandbox(to_tool(f, language) for f in task.functions),
            lambda result, _: "Correct." if result.valid else f"Not accepted: {result.message}",
            mode=self.mode,
        )

    def oracle_action(self) -> str:
        task = self.task
        calls = oracle_calls(task.functions, task.ground_truth, task.category)
        return format_calls(calls, "hermes")
