"""Function calling over project-written tool domains: single, multiple, parallel, irrelevance."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from acbench_env.core.env import GeneratedTasks, StepOutcome, TextEnv
from acbench_env.core.errors import ConfigError
from acbench_env.core.validation import int_in_range
from acbench_env.environments import ladders
from acbench_env.environments.sampling import shuffle
from acbench_env.environments.tool_domains import TEMPLATES, Answer, ToolTemplate
from acbench_env.tools.bfcl import answer_outcome, oracle_calls
from acbench_env.tools.parsing import format_calls, parse_tool_calls
from acbench_env.tools.sandbox import Sandbox, Tool, check_tool_listing, tool_listing

#: Task categories, as in BFCL.
CATEGORIES = ("single", "multiple", "parallel", "irrelevance")

#: Most distractor tools the ``distractors`` argument accepts (level 2's number).
MAX_DISTRACTORS = 5
#: Per difficulty level: few-shot examples, distractor tools, whether parallel calls mix tools.
LEVELS: dict[int, dict[str, int]] = {
    0: {"few_shot": 2, "distractors": 2, "mixed_parallel": 0},
    1: {"few_shot": 1, "distractors": 3, "mixed_parallel": 1},
    2: {"few_shot": 0, "distractors": 5, "mixed_parallel": 1},
}

INSTRUCTIONS = (
    "You are a function-calling assistant. Answer the request by calling tools.\n"
    'To call a tool, answer with <tool_call>{"name": ..., "arguments": {...}}</tool_call>; '
    "use one block per call. If none of the tools fits the request, answer with "
    "<tool_call>[]</tool_call>. Answer with tool calls only."
)


#: How tools reach the model: listed in the prompt text, or passed through the chat API.
TOOL_FORMATS = ("prompt", "native")

NATIVE_INSTRUCTIONS = (
    "You are a function-calling assistant. Answer the request by calling the tools you are "
    "given. If none of the tools fits the request, answer in plain text without calling a tool."
)


def api_tools(functions: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    """Tool definitions in the chat API's form (``{"type": "function", "function": ...}``)."""
    return [{"type": "function", "function": dict(f)} for f in functions]


@dataclass(frozen=True)
class Example:
    """A solved request shown in the prompt."""

    functions: tuple[dict[str, Any], ...]
    request: str
    answer: str


@dataclass(frozen=True)
class FunctionCallTask:
    """One request, the tools offered, the ground truth (``()`` = call nothing)."""

    index: int
    category: str
    domains: tuple[str, ...]
    request: str
    functions: tuple[dict[str, Any], ...]
    ground_truth: tuple[dict[str, Answer], ...]
    examples: tuple[Example, ...]


@functools.cache
def _tool(t: ToolTemplate) -> Tool:
    return Tool.from_function(t.fn)


def _spec(t: ToolTemplate) -> dict[str, Any]:
    return _tool(t).spec()


def _join(requests: list[str]) -> str:
    return " Also, ".join([requests[0]] + [r[0].lower() + r[1:] for r in requests[1:]])


def generate(
    rng: np.random.Generator,
    category: str,
    distractors: int,
    mixed_parallel: bool,
    exclude: frozenset[str] = frozenset(),
) -> tuple[str, list[ToolTemplate], list[dict[str, Answer]], tuple[str, ...]]:
    """(request, offered tools, ground truth, domains) for one task of ``category``."""
    pool = [t for t in TEMPLATES if t.domain not in exclude]
    order = shuffle(rng, pool)
    main = order[0]
    others = [t for t in order[1:] if t.domain != main.domain]
    if category == "irrelevance":
        question, _ = main.sample(rng)
        offered = others[: max(1, distractors)]
        return question, offered, [], (main.domain,)
    if category == "parallel":
        if mixed_parallel:
            second = others[0]
            q1, a1 = main.sample(rng)
            q2, a2 = second.sample(rng)
            offered = [main, second, *others[1 : 1 + max(0, distractors - 2)]]
            gt = [{main.name: a1}, {second.name: a2}]
            return _join([q1, q2]), offered, gt, (main.domain, second.domain)
        q1, a1 = main.sample(rng)
        for _ in range(20):
            q2, a2 = main.sample(rng)
            if q2 != q1:
                break
        return _join([q1, q2]), [main], [{main.name: a1}, {main.name: a2}], (main.domain,)
    question, answer = main.sample(rng)
    offered = [main] if category == "single" else [main, *others[:distractors]]
    return question, offered, [{main.name: answer}], (main.domain,)


def render_request(
    functions: tuple[dict[str, Any], ...], request: str, listing_style: str = "schema"
) -> str:
    """One user turn: instructions, the tools offered (in ``listing_style``, see
    :func:`~acbench_env.tools.sandbox.tool_listing`) and the request."""
    listing = [tool_listing(functions, listing_style)] if functions else []
    return "\n".join([INSTRUCTIONS, "", "Tools:", *listing, f"Request: {request}"])


def render(task: FunctionCallTask, listing_style: str = "schema") -> str:
    """The observation: instructions, tools and the request (examples are separate turns)."""
    return render_request(task.functions, task.request, listing_style)


class FunctionCallEnv(GeneratedTasks, TextEnv[FunctionCallTask]):
    """Call the right tools with the right arguments, or none when no tool fits.

    ## Description
    The observation lists tools (JSON Schema derived from typed Python functions of
    several domains: weather, finance, math, messaging, calendar, travel, shopping, music,
    language) and a request. Categories (as in BFCL): ``single`` (one tool offered, call it),
    ``multiple`` (choose the one right tool among several), ``parallel`` (two calls in one
    answer, of the same tool or of two tools), ``irrelevance`` (no tool fits: call none).

    ## Action / Observation
    Action: the model's text, holding tool calls as ``<tool_call>{...}</tool_call>`` blocks,
    plain JSON (an object or a list) or ReAct ``Action:``/``Action Input:`` lines;
    ``<tool_call>[]</tool_call>`` (or ``[]``) calls nothing. Observation: the prompt
    (reset); the tool results or the errors (after the answer). The calls run in a
    :class:`~acbench_env.tools.Sandbox`, which validates arguments with ``jsonschema``.

    ## Rewards / Metric
    BFCL semantics (:func:`acbench_env.tools.bfcl.check_answer`): reward and
    ``info["score"]`` (``call_accuracy``) are 1.0 when the answer is accepted, else 0.0.
    ``info`` also holds ``argument_accuracy`` (share of the expected arguments given with
    an accepted value), ``error_category`` (``None`` or one of ``format``, ``no_call``,
    ``unexpected_call``, ``wrong_count``, ``wrong_function``, ``missing_argument``,
    ``extra_argument``, ``wrong_type``, ``wrong_value``), ``call_format`` (which format
    parsed), ``category`` and ``validation_errors`` (calls the sandbox rejected). Text that
    holds no call and no explicit ``[]`` is a format failure, never a correct "no call".

    With ``tool_format="native"`` the tools are not listed in the prompt: the reset
    ``info["tools"]`` holds them in the chat API's form, the runner hands them to the agent,
    and a model agent passes them to its backend (the ``openai`` backend sends them as the
    API's ``tools`` and reads the server's ``tool_calls``; local backends render them with
    the chat template). The answer is parsed as above (calls the server parsed arrive as
    ``<tool_call>`` blocks, and calls the server missed are still read from the text); a
    plain-text answer without any call syntax calls nothing (``call_format`` ``"text"``),
    as in the chat API. Few-shot examples are the same chat turns in both formats. ``info``
    records ``tool_format``.

    ## Episode End
    After one answer.

    ## Task source
    Generated by the project (:mod:`acbench_env.environments.tool_domains`): task ``i`` is
    a pure function of ``i``, ``generator_seed``, ``categories`` and ``difficulty``.
    Few-shot examples use tools of other domains than the task's and categories drawn
    independently of the task's, so they reveal neither the answer nor the category.

    ## Arguments
    ``difficulty`` (0, 1 or 2), ``categories`` (subset of ``single``, ``multiple``,
    ``parallel``, ``irrelevance``; task ``i`` has category ``categories[i % len]``),
    ``few_shot`` (overrides the level's number of examples), ``num_tasks`` (default 200),
    ``generator_seed``, ``tool_format`` (``"prompt"``, the default, or ``"native"``),
    ``tool_listing`` (with ``tool_format="prompt"``: ``"schema"``, the default, lists each
    tool as its JSON definition; ``"signature"`` as one compact line
    ``name(arg: type, opt: type = default) -- description (arg: ...)``, the same facts
    without the JSON Schema keywords that a small model copies into its calls),
    ``distractors`` (0 to 5; overrides the level's number of distractor tools offered beside
    the right one in ``multiple`` tasks (and in mixed ``parallel`` ones beyond the second
    tool; ``irrelevance`` tasks offer ``max(1, distractors)`` unrelated tools); the
    examples use at most 2; ``None``, the default, keeps the level's).

    ## Difficulty levels
    0: two examples (as prior chat turns), two distractor tools, parallel calls of one tool;
    1: one example, three distractors, parallel calls of two tools; 2: no example, five
    distractors.

    ## Version History
    v0: initial version.
    """

    #: Difficulty settings, easiest first (:mod:`acbench_env.environments.ladders`).
    ladder = ladders.FUNCTION_CALL

    capability = "tool_use"
    primary_metric = "call_accuracy"
    answer_tokens = 128

    def __init__(
        self,
        difficulty: int = 0,
        categories: tuple[str, ...] | list[str] = CATEGORIES,
        few_shot: int | None = None,
        num_tasks: int = 200,
        generator_seed: int = 0,
        tool_format: str = "prompt",
        tool_listing: str = "schema",
        distractors: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(max_steps=1, render_mode=render_mode)
        if tool_format not in TOOL_FORMATS:
            raise ConfigError(f"tool_format must be one of {TOOL_FORMATS}, got {tool_format!r}")
        self.tool_format = tool_format
        self.tool_listing = check_tool_listing(tool_listing)
        if difficulty not in LEVELS:
            raise ConfigError(f"difficulty must be one of {sorted(LEVELS)}, got {difficulty!r}")
        if isinstance(categories, str):
            categories = [categories]
        cats = tuple(categories)
        bad = [c for c in cats if c not in CATEGORIES]
        if not cats or bad:
            raise ConfigError(
                f"categories must be a non-empty subset of {CATEGORIES}, got {list(cats)}"
            )
        if few_shot is not None:
            few_shot = int_in_range("few_shot", few_shot, 0, 8)
        if distractors is not None:
            distractors = int_in_range("distractors", distractors, 0, MAX_DISTRACTORS)
        self._set_generated_tasks(num_tasks, generator_seed)
        self.difficulty = int(difficulty)
        self.categories = cats
        self.few_shot = LEVELS[self.difficulty]["few_shot"] if few_shot is None else few_shot
        level_distractors = LEVELS[self.difficulty]["distractors"]
        self.distractors = level_distractors if distractors is None else distractors
        self._tools = {t.name: _tool(t) for t in TEMPLATES}
        self._sandbox: Sandbox | None = None

    def make_task(self, index: int) -> FunctionCallTask:
        level = LEVELS[self.difficulty]
        rng = self.task_rng(self.difficulty, index)
        category = self.categories[index % len(self.categories)]
        request, offered, gt, domains = generate(
            rng, category, self.distractors, bool(level["mixed_parallel"])
        )
        functions = tuple(_spec(t) for t in shuffle(rng, offered))
        examples = []
        ex_rng = self.task_rng(self.difficulty, index, 1)
        used = frozenset(t.domain for t in offered) | frozenset(domains)
        # Example categories are drawn independently of the task's (distinct while they
        # last), so the examples show the formats without revealing the task's category.
        ex_cats = shuffle(ex_rng, CATEGORIES)
        for k in range(self.few_shot):
            ex_cat = ex_cats[k % len(ex_cats)]
            ex_req, ex_offered, ex_gt, _ = generate(
                ex_rng,
                ex_cat,
                min(self.distractors, 2),
                bool(level["mixed_parallel"]),
                exclude=used,
            )
            ex_functions = tuple(_spec(t) for t in shuffle(ex_rng, ex_offered))
            answer = format_calls(oracle_calls(ex_functions, ex_gt), "hermes")
            examples.append(Example(ex_functions, ex_req, answer))
        return FunctionCallTask(
            index=index,
            category=category,
            domains=domains,
            request=request,
            functions=functions,
            ground_truth=tuple(gt),
            examples=tuple(examples),
        )

    def task_id(self, task: FunctionCallTask) -> str:
        return f"functioncall-d{self.difficulty}-{task.category}-{task.index}"

    def start(self, task: FunctionCallTask) -> tuple[str, dict[str, Any]]:
        self._sandbox = Sandbox(self._tools[f["name"]] for f in task.functions)
        info: dict[str, Any] = {
            "category": task.category,
            "domains": list(task.domains),
            "tool_format": self.tool_format,
        }
        if self.tool_format == "native":
            info["tools"] = api_tools(task.functions)
            return f"{NATIVE_INSTRUCTIONS}\nRequest: {task.request}", info
        return render(task, self.tool_listing), info

    def examples(self, task: FunctionCallTask) -> tuple[tuple[str, str], ...]:
        return tuple(
            (render_request(ex.functions, ex.request, self.tool_listing), ex.answer)
            for ex in task.examples
        )

    def apply(self, task: FunctionCallTask, action: str) -> StepOutcome:
        sandbox = self._sandbox or Sandbox(self._tools[f["name"]] for f in task.functions)
        text_answer = False
        if self.tool_format == "native":
            parsed = parse_tool_calls(action)
            # The chat API's "no call": text without any call syntax (a broken call is not).
            text_answer = parsed.format is None and parsed.calls is None and action.strip() != ""
        outcome = answer_outcome(
            task.category,
            task.functions,
            task.ground_truth,
            "[]" if text_answer else action,
            sandbox,
            lambda _, results: "\n".join(results) if results else "No tool was called.",
        )
        info = {**outcome.info, "tool_format": self.tool_format}
        if text_answer:
            info["call_format"] = "text"
        return dataclasses.replace(outcome, info=info)

    def oracle_action(self) -> str:
        task = self.task
        return format_calls(oracle_calls(task.functions, task.ground_truth), "hermes")
