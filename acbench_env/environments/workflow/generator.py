"""Workflow: plan the dependency graph of a generated tool-use or household task."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from acbench_env.core.env import GeneratedTasks
from acbench_env.core.errors import ConfigError
from acbench_env.core.validation import int_in_range
from acbench_env.environments.workflow.base import (
    FORMAT_INSTRUCTIONS,
    WorkflowEnvBase,
    WorkflowTask,
)
from acbench_env.scoring.workflow import DEFAULT_THRESHOLD, END, START, Workflow, format_workflow
from acbench_env.scoring.workflow.graph import Endpoint

DOMAINS = ("tools", "household")
LEVELS = (1, 2, 3)

#: The tool catalog: name -> (signature, description).
TOOLS: dict[str, tuple[str, str]] = {
    "get_weather_forecast": ("city, date", "the weather forecast for a city on a date"),
    "convert_units": ("value, from_unit, to_unit", "converts a measurement between units"),
    "get_stock_price": ("symbol", "the latest price of a stock, in USD"),
    "convert_currency": ("amount, from_currency, to_currency", "converts money between currencies"),
    "search_flights": ("origin, destination, date", "lists flights between two cities"),
    "book_flight": ("flight_id", "books a flight"),
    "create_calendar_event": ("title, start, end", "adds an event to the calendar"),
    "search_hotels": ("city, date", "lists hotels in a city with prices and ratings"),
    "book_hotel": ("hotel_id, date", "reserves a hotel room"),
    "get_news": ("topic", "today's news headlines about a topic"),
    "translate_text": ("text, target_language", "translates text"),
    "summarize_text": ("text", "writes a short summary of a text"),
    "web_search": ("query", "searches the web"),
    "search_recipes": ("dish", "finds a recipe for a dish"),
    "extract_ingredients": ("recipe", "lists the ingredients of a recipe"),
    "place_grocery_order": ("items", "orders groceries for delivery"),
    "read_file": ("path", "reads a text file"),
    "count_words": ("text", "counts the words of a text"),
    "send_email": ("to, subject, body", "sends an email"),
    "post_message": ("channel, text", "posts a message to a chat channel"),
    "create_document": ("title, content", "creates a shared document and returns its link"),
    "get_contacts": ("name", "looks up a person's contact details"),
    "set_reminder": ("text, time", "sets a reminder"),
}

_SLOTS: dict[str, tuple[str, ...]] = {
    "city": ("Lisbon", "Osaka", "Nairobi", "Toronto", "Lima", "Oslo", "Hanoi", "Seville"),
    "city2": ("Berlin", "Madrid", "Chicago", "Sydney", "Cairo", "Dublin", "Seoul", "Quito"),
    "date": ("next Monday", "March 3", "tomorrow", "this Friday", "June 12", "next weekend"),
    "symbol": ("AAPL", "MSFT", "NVDA", "TSLA", "AMZN", "SAP", "IBM"),
    "cur": ("EUR", "JPY", "GBP", "CHF", "INR", "BRL"),
    "lang": ("Spanish", "French", "German", "Japanese", "Portuguese", "Italian"),
    "topic": ("renewable energy", "space exploration", "electric cars", "local elections"),
    "query": ("the history of the bicycle", "how solar panels work", "the best hiking boots"),
    "dish": ("lentil soup", "pad thai", "banana bread", "vegetable lasagna", "paella"),
    "file": ("report_q3.txt", "minutes.txt", "draft_essay.txt", "notes_april.txt"),
    "person": ("ana", "kenji", "lucia", "omar", "priya", "tom"),
    "channel": ("team-updates", "travel", "general", "research"),
    "doc": ("Weekly Brief", "Trip Plan", "Research Notes", "Status Report"),
    "food": ("leftover rice", "soup", "pizza slice", "pasta"),
    "loc": ("counter", "cabinet", "shelf", "drawer"),
    "dish_item": ("frying pan", "salad bowl", "cutting board", "teapot"),
    "room": ("living room", "bedroom", "hallway", "kitchen"),
    "fruit": ("apple", "melon", "pineapple", "mango"),
    "spot": ("windowsill", "balcony", "porch", "kitchen shelf"),
}


@dataclass(frozen=True)
class BranchTemplate:
    """A chain of dependent steps; ``phrases[i]``/``steps[i]`` describe step ``i``.

    A branch of length ``L`` uses the first ``L`` steps (tools: each step builds on the
    previous result) or, with ``suffix=True``, the last ``L`` steps (household: the later
    steps are the essential ones).
    """

    phrases: tuple[str, ...]
    steps: tuple[str, ...]
    suffix: bool = False


TOOL_BRANCHES = (
    BranchTemplate(
        (
            "check the weather forecast for {city} on {date}",
            "convert its temperatures to Fahrenheit",
        ),
        (
            "Get the weather forecast for {city} on {date} with get_weather_forecast.",
            "Convert the forecast temperatures to Fahrenheit with convert_units.",
        ),
    ),
    BranchTemplate(
        ("look up the latest price of {symbol} stock", "convert that price to {cur}"),
        (
            "Look up the latest price of {symbol} with get_stock_price.",
            "Convert the {symbol} price from USD to {cur} with convert_currency.",
        ),
    ),
    BranchTemplate(
        (
            "find flights from {city} to {city2} on {date}",
            "book the cheapest one",
            "add the flight to my calendar",
        ),
        (
            "Search flights from {city} to {city2} on {date} with search_flights.",
            "Book the cheapest flight from {city} to {city2} with book_flight.",
            "Add the booked flight to the calendar with create_calendar_event.",
        ),
    ),
    BranchTemplate(
        ("find hotels in {city2} for {date}", "reserve the best-rated one"),
        (
            "Search hotels in {city2} for {date} with search_hotels.",
            "Reserve the best-rated hotel in {city2} with book_hotel.",
        ),
    ),
    BranchTemplate(
        (
            "get today's news about {topic}",
            "translate the headlines into {lang}",
            "summarize the translation",
        ),
        (
            "Fetch today's news headlines about {topic} with get_news.",
            "Translate the {topic} headlines into {lang} with translate_text.",
            "Summarize the translated headlines with summarize_text.",
        ),
    ),
    BranchTemplate(
        ("search the web for {query}", "summarize what you find"),
        (
            "Search the web for {query} with web_search.",
            "Summarize the search results about {query} with summarize_text.",
        ),
    ),
    BranchTemplate(
        ("find a recipe for {dish}", "list its ingredients", "order those ingredients"),
        (
            "Find a recipe for {dish} with search_recipes.",
            "List the ingredients of the {dish} recipe with extract_ingredients.",
            "Order the {dish} ingredients with place_grocery_order.",
        ),
    ),
    BranchTemplate(
        ("read the file {file}", "count its words"),
        (
            "Read the file {file} with read_file.",
            "Count the words in {file} with count_words.",
        ),
    ),
)

TOOL_JOINS = (
    ("email the results to {person}", "Send the results to {person} by email with send_email."),
    (
        "post the results in the #{channel} channel",
        "Post the results to the #{channel} channel with post_message.",
    ),
    (
        "put everything into a document called '{doc}'",
        "Write all results into the document '{doc}' with create_document.",
    ),
)
TOOL_FINALS = (
    (
        "set a reminder to review it tomorrow",
        "Set a reminder to review the results tomorrow with set_reminder.",
    ),
    ("tell {person} about it by email", "Email {person} about the results with send_email."),
)

HOUSE_BRANCHES = (
    BranchTemplate(
        ("take the {food} out of the fridge", "heat the {food} in the microwave"),
        ("Take the {food} out of the fridge.", "Heat the {food} in the microwave."),
        suffix=True,
    ),
    BranchTemplate(
        ("take the bread from the {loc}", "toast the bread"),
        ("Take the bread from the {loc}.", "Toast the bread in the toaster."),
        suffix=True,
    ),
    BranchTemplate(
        ("fill the coffee maker with water", "brew coffee", "pour the coffee into a mug"),
        (
            "Fill the coffee maker with water.",
            "Brew coffee in the coffee maker.",
            "Pour the coffee into a mug.",
        ),
        suffix=True,
    ),
    BranchTemplate(
        ("take the {dish_item} from the {loc}", "wash the {dish_item} in the sink"),
        ("Take the {dish_item} from the {loc}.", "Wash the {dish_item} in the sink."),
        suffix=True,
    ),
    BranchTemplate(
        (
            "load the dirty clothes into the washing machine",
            "run the washing machine",
            "hang the clothes to dry",
        ),
        (
            "Put the dirty clothes in the washing machine.",
            "Run the washing machine.",
            "Hang the clothes up to dry.",
        ),
        suffix=True,
    ),
    BranchTemplate(
        ("get the vacuum cleaner from the closet", "vacuum the {room}"),
        ("Get the vacuum cleaner from the closet.", "Vacuum the {room} floor."),
        suffix=True,
    ),
    BranchTemplate(
        ("fill the watering can", "water the plants on the {spot}"),
        ("Fill the watering can at the sink.", "Water the plants on the {spot}."),
        suffix=True,
    ),
    BranchTemplate(
        ("take the {fruit} from the fruit bowl", "slice the {fruit}"),
        ("Take the {fruit} from the fruit bowl.", "Slice the {fruit} on the cutting board."),
        suffix=True,
    ),
    BranchTemplate(
        ("tie up the trash bag", "take the trash bag out to the bin"),
        ("Tie up the trash bag.", "Carry the trash bag to the outdoor bin."),
        suffix=True,
    ),
)

HOUSE_JOINS = (
    ("serve breakfast at the dining table", "Serve breakfast at the dining table."),
    ("let the guests in", "Open the door and let the guests in."),
    ("tell your roommate that everything is done", "Tell your roommate that everything is done."),
)
HOUSE_FINALS = (
    ("lock the front door", "Lock the front door."),
    ("turn off the kitchen lights", "Turn off the kitchen lights."),
)

_HOUSE_INTRO = (
    "You are a household robot in a home with a kitchen, a living room, a bedroom and a "
    "laundry room."
)

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
    slots = {k: str(v[int(rng.integers(len(v)))]) for k, v in _SLOTS.items()}
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
        lines.append(_HOUSE_INTRO)
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
        super().__init__(
            mode=mode,
            similarity=similarity,
            threshold=threshold,
            metric=metric,
            render_mode=render_mode,
        )
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
