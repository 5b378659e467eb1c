"""The Berkeley Function Calling Leaderboard (BFCL) file format, checked with BFCL semantics."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from acbench_env.core.env import StepOutcome, TextEnv
from acbench_env.core.errors import ConfigError
from acbench_env.core.validation import positive_int
from acbench_env.tools.bfcl import (
    BFCL_CATEGORIES,
    BFCLItem,
    answer_outcome,
    load_bfcl,
    oracle_calls,
)
from acbench_env.tools.parsing import format_calls
from acbench_env.tools.sandbox import Sandbox, Tool, spec_listing
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


def to_tool(function: dict[str, Any]) -> Tool:
    """A sandbox tool (no implementation) whose schema is the BFCL doc mapped to JSON Schema."""
    params = bfcl_to_json_schema(function.get("parameters") or {"type": "dict", "properties": {}})
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
    ``<tool_call>[]</tool_call>`` calls nothing. Observation: the instructions with the
    function docs, then the item's user turn(s) (reset); a verdict (after the answer).

    ## Rewards / Metric
    Reward and ``info["score"]`` (``call_accuracy``) are 1.0 when the checker accepts the
    answer, else 0.0. ``info`` holds ``argument_accuracy``, ``error_category`` (see
    :data:`acbench_env.tools.bfcl.ERROR_CATEGORIES`), BFCL's ``error_type``, ``call_format``
    and ``validation_errors`` (calls whose arguments fail the JSON Schema made from the
    BFCL doc: ``dict`` -> ``object``, ``float`` -> ``number``, ``tuple`` -> ``array``,
    ``any`` -> unconstrained). Deliberate difference from upstream: text that does not parse
    is a format failure, never a correct irrelevance answer.

    ## Episode End
    After one answer.

    ## Task source
    BFCL v4 files (``BFCL_v4_<category>.json`` and ``possible_answer/``) from ``data_dir``.
    Without ``data_dir``, a small sample in the same format written by the project and
    shipped with the package (:func:`sample_data_dir`).

    ## Arguments
    ``data_dir`` (a BFCL data folder; default: the packaged sample), ``category`` (one of
    ``simple_python``, ``multiple``, ``parallel``, ``parallel_multiple``, ``irrelevance``,
    or ``"all"``: every category present in ``data_dir``), ``max_tasks``.

    ## Difficulty levels
    As in BFCL: ``simple_python`` < ``multiple`` < ``parallel`` < ``parallel_multiple``;
    ``irrelevance`` measures restraint.

    ## Version History
    v0: initial version.
    """

    capability = "tool_use"
    primary_metric = "call_accuracy"
    answer_tokens = 192

    def __init__(
        self,
        data_dir: str | Path | None = None,
        category: str = "all",
        max_tasks: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(max_steps=1, render_mode=render_mode)
        root = sample_data_dir() if data_dir is None else Path(data_dir)
        if not root.is_dir():
            raise ConfigError(f"data_dir {str(root)!r} is not a folder; pass a BFCL data folder")
        if category == "all":
            cats = [c for c in BFCL_CATEGORIES if (root / f"BFCL_v4_{c}.json").is_file()]
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

    def start(self, task: BFCLItem) -> tuple[str, dict[str, Any]]:
        functions = spec_listing(task.functions)
        turns = "\n".join(f"{m.get('role', 'user')}: {m.get('content', '')}" for m in task.messages)
        return INSTRUCTIONS.format(functions=functions) + turns, {"category": task.category}

    def apply(self, task: BFCLItem, action: str) -> StepOutcome:
        return answer_outcome(
            task.category,
            task.functions,
            task.ground_truth,
            action,
            Sandbox(to_tool(f) for f in task.functions),
            lambda result, _: "Correct." if result.valid else f"Not accepted: {result.message}",
        )

    def oracle_action(self) -> str:
        task = self.task
        return format_calls(oracle_calls(task.functions, task.ground_truth), "hermes")
