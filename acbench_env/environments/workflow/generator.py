"""Workflow: plan the dependency graph of a generated tool-use or household task."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from acbench_env.core.env import GeneratedTasks
from acbench_env.core.errors import ConfigError
from acbench_env.core.validation import int_in_range
from acbench_env.environments import ladders
from acbench_env.environments.workflow.base import (
    FORMAT_INSTRUCTIONS,
    WorkflowEnvBase,
    WorkflowTask,
)
from acbench_env.environments.workflow.templates import (
    HOUSE_BRANCHES,
    HOUSE_FINALS,
    HOUSE_INTRO,
    HOUSE_JOINS,
    SLOTS,
    TOOL_BRANCHES,
    TOOL_FINALS,
    TOOL_JOINS,
    TOOLS,
)
from acbench_env.scoring.workflow import DEFAULT_THRESHOLD, END, START, Workflow, format_workflow
from acbench_env.scoring.workflow.graph import Endpoint

DOMAINS = ("tools", "household")
LEVELS = (1, 2, 3)

INSTRUCTIONS = (
    "You are a helpful task planner. Break the task into subtasks (nodes); each node is one "
    "step{unit}. Some subtasks do not depend on each other and can be done in parallel; "
    "others need an earlier subtask to be finished first. Connect the nodes into a "
    "dependency graph that starts at the START node and ends at the END node: an edge (a,b) "
    "means that subtask b needs subtask a."
)


@dataclass(frozen=True)
class Plan:
    """A generated task before rendering: its description and gold workflow."""

    domain: str
    description: str
    tools: tuple[str, ...]
    workflow: Workflow


def _fill(text: str, slots: dict[str, str]) -> str:
    return text.format(**slots)


def _sizes(rng: np.random.Generator, level: int) -> tuple[list[int], bool]:
    """Branch lengths and whether a final step follows the join."""
    if level == 1:
        if rng.random() < 0.5:
            return [int(rng.integers(1, 3))], False
        return [1, 1], False
    if level == 2:
        n = int(rng.integers(2, 4))
        lengths = [int(rng.integers(1, 3)) for _ in range(n)]
        while sum(lengths) + 1 > 6:
            lengths[lengths.index(max(lengths))] -= 1
        return lengths, False
    n = int(rng.integers(3, 5))
    lengths = [int(rng.integers(1, 4)) for _ in range(n)]
    final = bool(rng.random() < 0.5)
    while sum(lengths) + 1 + int(final) > 10:
        lengths[lengths.index(max(lengths))] -= 1
    return lengths, final


def generate_plan(rng: np.random.Generator, domain: str, level: int) -> Plan:
    """A random task of ``domain`` at difficulty ``level`` with its gold workflow.

    Structure: independent branches (chains of dependent steps) start after ``START``;
    a join step needs the last step of every branch; at level 3 a final step may follow
    the join. Level 1: 2-3 nodes; level 2: 3-6 nodes, 2-3 branches; level 3: 5-10
    nodes, 3-4 branches.
    """
    slots = {k: str(v[int(rng.integers(len(v)))]) for k, v in SLOTS.items()}
    if slots["city"] == slots["city2"]:  # pragma: no cover - disjoint lists
        slots["city2"] = "Paris"
    templates = TOOL_BRANCHES if domain == "tools" else HOUSE_BRANCHES
    joins = TOOL_JOINS if domain == "tools" else HOUSE_JOINS
    finals = TOOL_FINALS if domain == "tools" else HOUSE_FINALS
    lengths, with_final = _sizes(rng, level)
    chosen = rng.choice(len(templates), size=len(lengths), replace=False)
    nodes: list[str] = []
    edges: list[tuple[Endpoint, Endpoint]] = []
    phrases: list[str] = []
    tools: list[str] = []
    ends: list[int] = []
    for t_index, length in zip(chosen, lengths):
        template = templates[int(t_index)]
        length = min(max(1, length), len(template.steps))
        sel = slice(len(template.steps) - length, None) if template.suffix else slice(0, length)
        steps = [_fill(s, slots) for s in template.steps[sel]]
        branch_phrases = [_fill(p, slots) for p in template.phrases[sel]]
        prev: Endpoint = START
        for step in steps:
            idx = len(nodes)
            nodes.append(step)
            edges.append((prev, idx))
            prev = idx
            tools.extend(t for t in TOOLS if f" with {t}." in step)
        ends.append(int(prev))
        phrases.append(", then ".join(branch_phrases))
    join_phrase, join_step = joins[int(rng.integers(len(joins)))]
    join_idx = len(nodes)
    nodes.append(_fill(join_step, slots))
    tools.extend(t for t in TOOLS if f" with {t}." in nodes[-1])
    edges.extend((e, join_idx) for e in ends)
    last = join_idx
    final_phrase = ""
    if with_final:
        final_phrase, final_step = finals[int(rng.integers(len(finals)))]
        nodes.append(_fill(final_step, slots))
        tools.extend(t for t in TOOLS if f" with {t}." in nodes[-1])
        edges.append((join_idx, len(nodes) - 1))
        last = len(nodes) - 1
        final_phrase = _fill(final_phrase, slots)
    edges.append((last, END))
    if len(phrases) > 1:
        labelled = [f"({'abcdefgh'[k]}) {p}" for k, p in enumerate(phrases)]
        body = f"Do these independently of each other: {'; '.join(labelled)}."
        body += f" When all of that is done, {_fill(join_phrase, slots)}."
    else:
        body = f"First {phrases[0]}. When that is done, {_fill(join_phrase, slots)}."
    if final_phrase:
        body += f" Finally, {final_phrase}."
    return Plan(
        domain=domain,
        description=body[0].upper() + body[1:],
        tools=tuple(dict.fromkeys(tools)),
        workflow=Workflow(nodes=tuple(nodes), edges=tuple(edges)),
    )


def render_task(plan: Plan, rng: np.random.Generator, distractors: int = 3) -> str:
    """The task part of the prompt: description plus, for tools, the tool list."""
    lines = []
    if plan.domain == "household":
        lines.append(HOUSE_INTRO)
    lines.append(f"Task: {plan.description}")
    if plan.domain == "tools":
        others = [t for t in TOOLS if t not in plan.tools]
        extra = rng.choice(len(others), size=min(distractors, len(others)), replace=False)
        names = list(plan.tools) + [others[int(i)] for i in extra]
        order = rng.permutation(len(names))
        lines.append("Tools you can use:")
        for i in order:
            sig, desc = TOOLS[names[int(i)]]
            lines.append(f"- {names[int(i)]}({sig}): {desc}")
    return "\n".join(lines)


class WorkflowEnv(GeneratedTasks, WorkflowEnvBase):
    """Plan the workflow graph of a generated tool-use or household task.

    ## Description
    Each task describes a goal made of independent parts (branches of dependent steps,
    such as "find flights, then book the cheapest one") that come together in a final
    step (such as "email the results"). The agent must list the subtasks and connect them
    into a dependency graph from ``START`` to ``END``: branches in parallel, steps inside
    a branch in sequence.

    ## Action / Observation
    Observation: the task (with the tool catalog for tool tasks). ``few_shot`` solved
    examples of the same domain and level come before it as prior chat turns
    (``info["few_shot_messages"]``); the planner instructions and the output format open
    the first turn (the observation itself without examples). Action: the workflow in
    WorfBench's text format (``Node:`` list, ``Edges:`` pairs; ``1.text``, ``1. text`` and
    ``1: text`` all read) or the JSON form.

    ## Rewards / Metric
    As for ``acbench/WorfBench-v0``: reward and ``info["score"]`` are ``metric``
    (``graph_f1`` by default, or ``node_f1``) of
    :func:`~acbench_env.scoring.workflow.score_workflow` in ``mode`` (``"fixed"`` by
    default); ``info`` holds all node/graph/edge figures and the similarity backend. An
    unreadable workflow scores 0 with ``info["parse_error"]``. ``success``: node F1 and
    graph F1 both 1.

    ## Episode End
    After one answer.

    ## Task source
    Generated by the project (contamination-free): tool-use tasks over a catalog of 23
    tools (weather, stocks, currency, flights, hotels, news, translation, recipes, files,
    email, chat, documents) and household procedures (cooking, cleaning, laundry,
    chores). Task ``i`` is a pure function of ``i``, ``generator_seed``, ``domain`` and
    ``level``. The gold workflow's node texts name the tool of each step; the oracle
    answers with the gold workflow.

    ## Arguments
    ``level`` (1-3, default 2), ``domain`` (``"tools"``, ``"household"`` or ``"mixed"``,
    alternating by task index; default ``"mixed"``), ``few_shot`` (solved examples in the
    prompt, default 1), ``num_tasks`` (default 100), ``generator_seed``, ``mode``,
    ``similarity`` (``"auto"``, ``"embedding"``, ``"lexical"`` or a model folder),
    ``threshold`` (default 0.6), ``metric``.

    ## Difficulty levels
    1: 2-3 nodes, at most two parallel branches of one step; 2: 3-6 nodes, 2-3 branches
    of up to two steps; 3: 5-10 nodes, 3-4 branches of up to three steps and possibly a
    final step after the join.

    ## Version History
    v0: initial version.
    """

    #: Difficulty settings, easiest first (:mod:`acbench_env.environments.ladders`).
    ladder = ladders.WORKFLOW

    def __init__(
        self,
        level: int = 2,
        domain: str = "mixed",
        few_shot: int = 1,
        num_tasks: int = 100,
        generator_seed: int = 0,
        mode: str = "fixed",
        similarity: str = "auto",
        threshold: float = DEFAULT_THRESHOLD,
        metric: str = "graph_f1",
        render_mode: str | None = None,
    ) -> None:
        super().__init__(render_mode, mode, similarity, threshold, metric)
        if level not in LEVELS:
            raise ConfigError(f"level must be one of {LEVELS}, got {level!r}")
        if domain not in (*DOMAINS, "mixed"):
            raise ConfigError(f"domain must be one of {(*DOMAINS, 'mixed')}, got {domain!r}")
        self.few_shot = int_in_range("few_shot", few_shot, 0, 3)
        self._set_generated_tasks(num_tasks, generator_seed)
        self.level = level
        self.domain = domain

    def _domain_of(self, index: int) -> str:
        return DOMAINS[index % 2] if self.domain == "mixed" else self.domain

    def make_task(self, index: int) -> WorkflowTask:
        domain = self._domain_of(index)
        rng = self.task_rng(index, 0)
        plan = generate_plan(rng, domain, self.level)
        task_text = render_task(plan, rng)
        unit = " (for tools: one tool call)" if domain == "tools" else ""
        header = f"{INSTRUCTIONS.format(unit=unit)}\n\n{FORMAT_INSTRUCTIONS}\n\n"
        # The instructions (with the format template) open the conversation once: in the
        # first example's turn, or in the observation without examples. Repeated next to the
        # task, small models copy the template instead of answering.
        examples = []
        for k in range(self.few_shot):
            ex_rng = self.task_rng(index, 1 + k)
            example = generate_plan(ex_rng, domain, self.level)
            prompt = (header if k == 0 else "") + render_task(example, ex_rng)
            examples.append((prompt, format_workflow(example.workflow)))
        gold_text = format_workflow(plan.workflow)
        meta: dict[str, Any] = {"domain": domain, "level": self.level}
        return WorkflowTask(
            index=index,
            task_id=f"workflow-{domain}-l{self.level}-{index}",
            observation=task_text if examples else header + task_text,
            gold_text=gold_text,
            gold=plan.workflow,
            meta=meta,
            examples=tuple(examples),
        )
