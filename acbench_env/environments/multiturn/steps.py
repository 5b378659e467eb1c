"""``acbench/ToolSteps-v0``: the steps of tool use scored one by one (T-Eval style)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from acbench_env.core.env import StepOutcome
from acbench_env.core.errors import ConfigError
from acbench_env.environments import ladders
from acbench_env.environments.multiturn.apps import App, run_call, sample_instructions
from acbench_env.environments.multiturn.base import AppTaskEnv, check_difficulty
from acbench_env.environments.multiturn.tasks import (
    APP_NAMES,
    generate_task,
    get_app,
    tool_listing,
)
from acbench_env.scoring.tool_steps import (
    DIMENSIONS,
    StepScore,
    score_instruct,
    score_plan,
    score_reason,
    score_retrieve,
    score_review,
    score_understand,
)
from acbench_env.tools.parsing import format_calls
from acbench_env.tools.sandbox import ToolCall, check_tool_listing

#: Task families: (dimension, format). Task ``i`` belongs to ``families[i % len]``.
FAMILIES: tuple[tuple[str, str | None], ...] = (
    ("plan", None),
    ("reason", None),
    ("retrieve", None),
    ("understand", None),
    ("instruct", "json"),
    ("instruct", "str"),
    ("review", None),
)

#: Per difficulty level: calls in plan/reason tasks, distractor tools, few-shot examples.
LEVELS: dict[int, dict[str, int]] = {
    0: {"calls": 2, "distractors": 2, "few_shot": 2},
    1: {"calls": 3, "distractors": 4, "few_shot": 1},
    2: {"calls": 4, "distractors": 10, "few_shot": 0},
}

_HEAD = "You work with {description} through these tools:\n{tools}\n\n"

PROMPTS = {
    "plan": _HEAD
    + "Task: {task}\n\nWrite the plan: the tool calls that do the task, in order, as a JSON "
    'list [{{"name": "TOOL", "arguments": {{...}}}}, ...]. Answer with the list only.',
    "reason": _HEAD
    + "Task: {task}\n\nCalls made so far:\n{history}\n\nWhat should be done next? Answer "
    "with one sentence that starts with Thought:",
    "retrieve": _HEAD + "Step: {task}\n\nWhich tool does this step? Answer with its name only.",
    "understand": _HEAD
    + "Step: {task}\n\nGive the arguments of the call to {tool} as a JSON object. Answer "
    "with the JSON object only.",
    "instruct_json": "Call the tool {tool} with {arguments}.\nAnswer in exactly this format:\n"
    '{{"name": "TOOL", "arguments": {{ARGUMENTS AS JSON}}}}',
    "instruct_str": "Call the tool {tool} with {arguments}.\nAnswer in exactly this format:\n"
    "Action: TOOL\nAction Input: {{ARGUMENTS AS JSON}}",
    "review": "Goal: {task}\nCall: {call}\nResult: {result}\n\nDid the call reach the goal? "
    "Answer with one word: success (it did), error (the call failed) or wrong (the call "
    "worked but did something else).",
}


@dataclass(frozen=True)
class StepTask:
    """One step task: its family, the prompt, the gold answer, the oracle's answer."""

    index: int
    dimension: str
    format: str | None
    app: str
    prompt: str
    gold: Any
    answer: str


def _sentence(texts: Sequence[str]) -> str:
    parts = [t.rstrip(".") for t in texts]
    if len(parts) == 1:
        return parts[0] + "."
    return ". Then ".join([parts[0]] + [p[0].lower() + p[1:] for p in parts[1:]]) + "."


def _entities(call: ToolCall) -> list[str]:
    return [str(v) for v in call.arguments.values() if not isinstance(v, bool)]


def _describe(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {json.dumps(v)}" for k, v in arguments.items())


def _review_case(
    app: App, state: Any, call: ToolCall, variant: int, rng: np.random.Generator
) -> tuple[ToolCall, str, str] | None:
    """(call shown, its result, label) for a review task; None when no case fits."""
    if variant == 0:
        _, result = run_call(app, state, call)
        return call, result.observation(), "success"
    if variant == 1:
        after, _ = run_call(app, state, call)
        candidates = [(after, call)]
        for k, v in call.arguments.items():
            if isinstance(v, str):
                candidates.append((state, ToolCall(call.name, {**call.arguments, k: "nobody"})))
            elif isinstance(v, int):
                candidates.append((state, ToolCall(call.name, {**call.arguments, k: 100000})))
        for s, bad in candidates:
            _, result = run_call(app, s, bad)
            if not result.ok:
                return bad, result.observation(), "error"
        return None
    others, _ = sample_instructions(app, rng, state, 3)
    for other in others:
        if other.call.name != call.name or other.call.arguments != call.arguments:
            _, result = run_call(app, state, other.call)
            return other.call, result.observation(), "wrong"
    return None


def make_step_task(
    index: int,
    family: tuple[str, str | None],
    app_name: str,
    rng: np.random.Generator,
    level: dict[str, int],
    listing_style: str = "schema",
) -> StepTask:
    """A step task of ``family`` on ``app_name`` (see :class:`ToolStepsEnv`)."""
    dimension, fmt = family
    app = get_app(app_name)
    calls = level["calls"] if dimension in ("plan", "reason") else 1
    base = generate_task(app_name, rng, calls, level["distractors"], index)
    tools = tool_listing(app, base.tools, listing_style)
    head = {"description": app.description, "tools": tools}
    first = base.instructions[0]
    gold: Any
    if dimension == "plan":
        prompt = PROMPTS["plan"].format(**head, task=_sentence([i.text for i in base.instructions]))
        gold = [ins.call.to_dict() for ins in base.instructions]
        answer = json.dumps(gold)
    elif dimension == "reason":
        done = int(rng.integers(len(base.instructions)))
        sandbox = app.sandbox(base.initial_state, base.tools)
        lines = []
        for ins in base.instructions[:done]:
            result = sandbox.call(ins.call).observation()
            lines.append(f"{format_calls([ins.call], 'hermes')} -> {result}")
        nxt = base.instructions[done]
        others = [
            e for i, ins in enumerate(base.instructions) if i != done for e in _entities(ins.call)
        ]
        prompt = PROMPTS["reason"].format(
            **head,
            task=_sentence([i.text for i in base.instructions]),
            history="\n".join(lines) or "(none)",
        )
        gold = {"next": _entities(nxt.call), "others": others}
        answer = f"Thought: next I must {nxt.text[0].lower()}{nxt.text[1:]}"
    elif dimension == "retrieve":
        prompt = PROMPTS["retrieve"].format(**head, task=first.text)
        gold = {"tool": first.call.name, "tools": list(base.tools)}
        answer = first.call.name
    elif dimension == "understand":
        listing = tool_listing(app, [first.call.name], listing_style)
        prompt = PROMPTS["understand"].format(
            description=app.description, tools=listing, task=first.text, tool=first.call.name
        )
        gold = dict(first.call.arguments)
        answer = json.dumps(gold)
    elif dimension == "instruct":
        prompt = PROMPTS[f"instruct_{fmt}"].format(
            tool=first.call.name, arguments=_describe(first.call.arguments)
        )
        gold = first.call.to_dict()
        answer = format_calls([first.call], "json" if fmt == "json" else "react")
    elif dimension == "review":
        variant = (index // len(FAMILIES)) % 3
        case = None
        while case is None:
            case = _review_case(app, base.initial_state, first.call, variant, rng)
            variant = (variant + 1) % 3
        shown, result, label = case
        prompt = PROMPTS["review"].format(
            task=first.text, call=format_calls([shown], "hermes"), result=result
        )
        gold = label
        answer = label
    else:
        raise ConfigError(f"unknown dimension {dimension!r}")
    return StepTask(index, dimension, fmt, app_name, prompt, gold, answer)


def score_step(task: StepTask, text: str) -> StepScore:
    """Score ``text`` as the answer to ``task`` with the dimension's scorer."""
    if task.dimension == "plan":
        return score_plan(text, [ToolCall(c["name"], c["arguments"]) for c in task.gold])
    if task.dimension == "reason":
        return score_reason(text, task.gold["next"], task.gold["others"])
    if task.dimension == "retrieve":
        return score_retrieve(text, task.gold["tool"], task.gold["tools"])
    if task.dimension == "understand":
        return score_understand(text, task.gold)
    if task.dimension == "instruct":
        gold = ToolCall(task.gold["name"], task.gold["arguments"])
        return score_instruct(text, gold, task.format or "json")
    return score_review(text, task.gold)


class ToolStepsEnv(AppTaskEnv[StepTask]):
    """Score the steps of tool use one by one: plan, reason, retrieve, understand, instruct, review.

    ## Description
    T-Eval-style (Chen et al. 2024) step tasks built over the stateful sandboxes of
    ``acbench/ToolMultiTurn-v0`` (file system, room booking, bank), one family per
    dimension: **plan** (write the ordered list of tool calls for a task), **reason**
    (given the calls made so far, state the next thought), **retrieve** (name the tool for
    a step), **understand** (fill the arguments of a named tool for a step), **instruct**
    (emit a described call in a required format: ``json`` or the plain-string ReAct
    ``str`` variant), **review** (judge a tool result against the goal: ``success``,
    ``error`` or ``wrong``). ``info["dimension"]`` names the dimension and
    ``info["format"]`` the instruct format.

    ## Action / Observation
    Action: the answer in the form the prompt asks. Observation: the prompt (reset), a
    line with the score (after the answer).

    ## Rewards / Metric
    Each dimension has its scorer (documented in :mod:`acbench_env.scoring.tool_steps`):
    plan = mean of name-LCS and call-LCS over the longer sequence; reason = F1 of the task
    entities mentioned against the next call's; retrieve = exact tool; understand =
    correct arguments / max(gold, given); instruct = 0.5 format + 0.5 exact call; review =
    exact label. The reward and ``info["score"]`` are that score; success = score 1.0. An
    answer without the asked form is a format failure (``parse_error``).
    :func:`acbench_env.scoring.tool_steps.tool_steps_summary` reports per dimension and
    per format.

    ## Episode End
    After one answer.

    ## Task source
    Generated by the project: task ``i`` is a pure function of ``i``, ``generator_seed``,
    ``difficulty``, ``dimensions`` and ``apps`` (family ``i % families``, app
    ``(i // families) % apps``). Few-shot examples of the same family on other apps come
    from ``reset`` as ``info["few_shot_messages"]``.

    ## Arguments
    ``difficulty`` (0, 1, 2), ``dimensions`` (subset of plan, reason, retrieve,
    understand, instruct, review), ``apps``, ``few_shot``, ``num_tasks`` (default 84),
    ``generator_seed``, ``tool_listing`` (``"schema"``, the default, or ``"signature"``:
    tools as compact signatures instead of JSON definitions).

    ## Difficulty levels
    0: two-call tasks for plan/reason, two distractor tools, two examples; 1: three calls,
    four distractors, one example; 2: four calls, every tool of the app, no example.

    ## Version History
    v0: initial version.
    """

    #: Difficulty settings, easiest first (:mod:`acbench_env.environments.ladders`).
    ladder = ladders.TOOL_STEPS

    capability = "tool_use"
    primary_metric = "step_score"
    #: Generation budget per family (plan: per call in the task), set at each reset.
    ANSWER_TOKENS: ClassVar[dict[str, int]] = {
        "plan": 64,
        "reason": 64,
        "retrieve": 24,
        "understand": 96,
        "instruct": 96,
        "review": 16,
    }

    def __init__(
        self,
        difficulty: int = 0,
        dimensions: Sequence[str] | str = DIMENSIONS,
        apps: Sequence[str] | str = APP_NAMES,
        few_shot: int | None = None,
        num_tasks: int = 84,
        generator_seed: int = 0,
        tool_listing: str = "schema",
        render_mode: str | None = None,
    ) -> None:
        super().__init__(max_steps=1, render_mode=render_mode)
        self.tool_listing = check_tool_listing(tool_listing)
        check_difficulty(difficulty, LEVELS)
        dims = (dimensions,) if isinstance(dimensions, str) else tuple(dimensions)
        if not dims or any(d not in DIMENSIONS for d in dims):
            raise ConfigError(
                f"dimensions must be a non-empty subset of {DIMENSIONS}, got {list(dims)}"
            )
        self.families = tuple(f for f in FAMILIES if f[0] in dims)
        self._set_arguments(LEVELS, difficulty, apps, few_shot, num_tasks, generator_seed)

    def _build(self, index: int, family: tuple[str, str | None], app: str, *extra: int) -> StepTask:
        rng = self.task_rng(self.difficulty, index, *extra)
        return make_step_task(index, family, app, rng, LEVELS[self.difficulty], self.tool_listing)

    def make_task(self, index: int) -> StepTask:
        family = self.families[index % len(self.families)]
        app = self.apps[(index // len(self.families)) % len(self.apps)]
        return self._build(index, family, app)

    def examples(self, task: StepTask) -> list[tuple[str, str]]:
        """Solved tasks of the same family on other apps, as (prompt, answer) pairs."""
        family = (task.dimension, task.format)
        others = [a for a in APP_NAMES if a != task.app]
        pairs = []
        for k in range(self.few_shot):
            example = self._build(task.index + k + 1, family, others[k % len(others)], 1, k)
            pairs.append((example.prompt, example.answer))
        return pairs

    def task_id(self, task: StepTask) -> str:
        fam = task.dimension + (f"-{task.format}" if task.format else "")
        return f"toolsteps-d{self.difficulty}-{fam}-{task.app}-{task.index}"

    def _info(self, task: StepTask) -> dict[str, Any]:
        return {"dimension": task.dimension, "format": task.format, "app": task.app}

    def start(self, task: StepTask) -> tuple[str, dict[str, Any]]:
        budget = self.ANSWER_TOKENS[task.dimension]
        self.answer_tokens = budget * (len(task.gold) + 1) if task.dimension == "plan" else budget
        return task.prompt, self._info(task)

    def apply(self, task: StepTask, action: str) -> StepOutcome:
        result = score_step(task, action)
        obs = (
            f"Your answer could not be read: {result.parse_error}"
            if result.parse_error
            else f"Score: {result.score:.2f}"
        )
        return StepOutcome(
            observation=obs,
            reward=result.score,
            terminated=True,
            score=result.score,
            success=result.score == 1.0,
            parsed_action={"answer": action.strip()[:500]},
            parse_error=result.parse_error,
            info={**self._info(task), "step_score": result.score, **result.details},
        )

    def oracle_action(self) -> str:
        return self.task.answer
