"""Web shop: a WebShop-like store with search, result pages, item pages, options and buying."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from acbench_env.core.errors import ConfigError
from acbench_env.environments.simulator import SimSpec, SimulatorEnv
from acbench_env.environments.statemachine import (
    ParsedCommand,
    Subgoal,
    Transition,
)

CATEGORIES = (
    "running shoes",
    "rain jacket",
    "coffee mug",
    "wireless headphones",
    "yoga mat",
    "backpack",
    "desk lamp",
    "water bottle",
    "wool socks",
    "phone case",
)
ATTRIBUTES = (
    "waterproof",
    "lightweight",
    "organic",
    "recycled",
    "foldable",
    "insulated",
    "handmade",
    "vegan",
)
COLORS = ("black", "white", "red", "blue", "green", "grey")
SIZES = ("small", "medium", "large")
PAGE_SIZE = 5
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class WebShopLevel:
    products: int
    same_category: int  # distractors of the goal's category
    options: tuple[str, ...]  # option kinds the goal asks for
    max_steps: int


LEVELS = {
    "easy": WebShopLevel(products=6, same_category=1, options=("color",), max_steps=8),
    "medium": WebShopLevel(products=20, same_category=4, options=("color", "size"), max_steps=15),
    "hard": WebShopLevel(products=40, same_category=8, options=("color", "size"), max_steps=20),
}

#: The instructions: rules, then a prose example (see ``SimulatorEnv.with_example``).
_GUIDE = (
    "You are shopping in a web store. Find the item that fits the instruction, choose "
    "its options and buy it.",
    "Example: search[waterproof rain jacket] then click[B01A2C] then click[red] then "
    "click[buy now].",
)


@dataclass(frozen=True)
class Product:
    pid: str
    category: str
    attributes: tuple[str, ...]
    price: float
    options: tuple[tuple[str, tuple[str, ...]], ...]  # (kind, values)

    @property
    def title(self) -> str:
        return " ".join([*self.attributes, self.category]).title()

    def words(self) -> frozenset[str]:
        return frozenset(_WORD.findall(f"{self.category} {' '.join(self.attributes)}"))


@dataclass(frozen=True)
class WebShopTask:
    index: int
    level: str
    products: tuple[Product, ...]
    category: str
    attribute: str
    max_price: float
    wanted: tuple[tuple[str, str], ...]  # (option kind, value)

    @cached_property
    def by_id(self) -> dict[str, Product]:
        return {p.pid: p for p in self.products}

    def product(self, pid: str) -> Product:
        return self.by_id[pid]

    def matches(self, pid: str) -> bool:
        p = self.product(pid)
        opts = dict(p.options)
        return (
            p.category == self.category
            and self.attribute in p.attributes
            and p.price < self.max_price
            and all(v in opts.get(k, ()) for k, v in self.wanted)
        )


@dataclass(frozen=True)
class WebShopState:
    page: str  # "search" | "results" | "item"
    query: str = ""
    results: tuple[str, ...] = ()
    page_no: int = 0
    item: str | None = None
    selected: tuple[tuple[str, str], ...] = ()  # (kind, value), sorted
    viewed: frozenset[str] = frozenset()
    purchased: tuple[str, tuple[tuple[str, str], ...]] | None = None


def search(products: tuple[Product, ...], query: str) -> tuple[str, ...]:
    """Product ids ranked by how many query words they match (ties by id); no match: none."""
    words = set(_WORD.findall(query.lower()))
    scored = [(len(words & p.words()), p.pid) for p in products]
    return tuple(pid for score, pid in sorted(scored, key=lambda x: (-x[0], x[1])) if score > 0)


def _product(
    rng: np.random.Generator, pid: str, category: str, attrs: tuple[str, ...], price: float
) -> Product:
    colors = tuple(sorted(COLORS[int(i)] for i in rng.choice(len(COLORS), size=3, replace=False)))
    sizes = tuple(SIZES[: int(rng.integers(2, 4))])
    return Product(pid, category, attrs, round(price, 2), (("color", colors), ("size", sizes)))


def build_task(index: int, level: str, rng: np.random.Generator) -> WebShopTask:
    cfg = LEVELS[level]
    category = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
    attribute = ATTRIBUTES[int(rng.integers(len(ATTRIBUTES)))]
    max_price = float(int(rng.integers(3, 10)) * 10)
    others = [a for a in ATTRIBUTES if a != attribute]
    ids = [f"B0{int(x):04X}" for x in rng.choice(0xFFFF, size=cfg.products, replace=False)]
    target = _product(
        rng, ids[0], category, (attribute,), max_price * float(rng.uniform(0.4, 0.95))
    )
    opts = dict(target.options)
    wanted = tuple((kind, opts[kind][int(rng.integers(len(opts[kind])))]) for kind in cfg.options)
    products = [target]
    for k, pid in enumerate(ids[1:]):
        if k < cfg.same_category:
            # Distractors of the same category: wrong attribute, too expensive or other colours.
            kind = k % 3
            attrs = (others[int(rng.integers(len(others)))],) if kind == 0 else (attribute,)
            price = max_price * float(rng.uniform(1.05, 1.6)) if kind == 1 else target.price
            p = _product(rng, pid, category, attrs, price)
            if kind == 2:
                colors = tuple(c for c in COLORS if c != dict(wanted).get("color"))[:3]
                p = replace(p, options=(("color", colors), ("size", dict(p.options)["size"])))
        else:
            cat = CATEGORIES[int(rng.integers(len(CATEGORIES)))]
            attrs = (ATTRIBUTES[int(rng.integers(len(ATTRIBUTES)))],)
            p = _product(rng, pid, cat, attrs, float(rng.uniform(5, 120)))
        products.append(p)
    order = rng.permutation(len(products))
    task = WebShopTask(
        index=index,
        level=level,
        products=tuple(products[int(i)] for i in order),
        category=category,
        attribute=attribute,
        max_price=max_price,
        wanted=wanted,
    )
    if not task.matches(target.pid):  # pragma: no cover - by construction
        raise ConfigError("generated web-shop task has no matching product")
    return task


class WebShopEnv(SimulatorEnv[WebShopTask, WebShopState]):
    """Web shop (WebShop-like): search a store and buy the item that matches an instruction.

    ## Description
    A generated store of products (category, attributes, price, colour and size options).
    The instruction asks for an item of a category with an attribute, options and a price
    limit, as in WebShop ("i need a waterproof rain jacket in red, size large, price lower
    than 50.00 dollars"). Pages: search, results (5 per page), item (options, buy).

    ## Action / Observation
    WebShop's syntax: ``search[<keywords>]`` on the search page, ``click[<item id>]``,
    ``click[next >]``, ``click[< prev]``, ``click[back to search]`` on result pages,
    ``click[<option value>]``, ``click[buy now]``, ``click[< prev]`` on item pages. Every
    observation shows the page and lists the valid actions (``info["valid_actions"]``).

    ## Rewards / Metric
    Subgoals (predicates over state): an item of the right category has been viewed; an
    item that matches category, attribute, price and options has been viewed; each asked
    option is selected on such an item; such an item was bought with those options.
    ``info["score"]`` is the progress rate (best fraction held at once), reward its
    increase; success = all (a correct purchase).

    ## Episode End
    Buying (any item), or ``max_steps`` (truncation).

    ## Task source
    Generated by the project: seeded catalogue with same-category distractors (wrong
    attribute, too expensive, or lacking the colour). The oracle searches for the
    category and attribute, pages to the item, selects the options and buys.

    ## Arguments
    ``level`` (``easy``/``medium``/``hard``), ``num_tasks`` (default 100),
    ``generator_seed``, ``max_steps`` (default per level), ``few_shot`` (solved episodes of
    other tasks shown before the task as chat turns, ``info["few_shot_messages"]``;
    default 1), ``inline_example`` (default True: the instructions also hold a short prose
    example; False drops it, leaving the solved episodes as the only examples).

    ## Difficulty levels
    easy: 6 products, 1 distractor, colour only, 8 steps; medium: 20 products, 4
    distractors, colour and size, 15 steps; hard: 40 products, 8 distractors, 20 steps.

    ## Version History
    v0: initial version.
    """

    template_verbs = ("search",)
    command_verbs = ("click", "search")

    simulator = SimSpec("WebShop", "webshop", 2, LEVELS, build_task, _GUIDE)

    def initial_state(self, task: WebShopTask) -> WebShopState:
        return WebShopState(page="search")

    def goal_text(self, task: WebShopTask) -> str:
        opts = ", ".join(f"{v}" if k == "color" else f"size {v}" for k, v in task.wanted)
        return (
            f"i need a {task.attribute} {task.category}, {opts}, "
            f"price lower than {task.max_price:.2f} dollars."
        )

    def subgoals(self, task: WebShopTask) -> tuple[Subgoal[WebShopState], ...]:
        cat = task.category

        def chosen(s: WebShopState) -> tuple[str | None, tuple[tuple[str, str], ...]]:
            if s.purchased is not None:
                return s.purchased
            return (s.item, s.selected) if s.page == "item" else (None, ())

        def option(kind: str, value: str) -> Subgoal[WebShopState]:
            def holds(s: WebShopState) -> bool:
                pid, sel = chosen(s)
                return pid is not None and task.matches(pid) and (kind, value) in sel

            return Subgoal(f"select {value} on a matching item", holds)

        return (
            Subgoal(
                f"view a {cat}", lambda s: any(task.product(p).category == cat for p in s.viewed)
            ),
            Subgoal("view a matching item", lambda s: any(task.matches(p) for p in s.viewed)),
            *(option(k, v) for k, v in task.wanted),
            Subgoal(
                "buy a matching item with the asked options",
                lambda s: (
                    s.purchased is not None
                    and task.matches(s.purchased[0])
                    and set(task.wanted) <= set(s.purchased[1])
                ),
            ),
        )

    def _page_ids(self, state: WebShopState) -> tuple[str, ...]:
        start = state.page_no * PAGE_SIZE
        return state.results[start : start + PAGE_SIZE]

    def action_templates(self, task: WebShopTask, state: WebShopState) -> tuple[str, ...]:
        return ("search[<keywords>]",) if state.page == "search" else ()

    def valid_actions(self, task: WebShopTask, state: WebShopState) -> tuple[str, ...]:
        if state.page == "results":
            acts = [f"click[{pid}]" for pid in self._page_ids(state)]
            if (state.page_no + 1) * PAGE_SIZE < len(state.results):
                acts.append("click[next >]")
            if state.page_no > 0:
                acts.append("click[< prev]")
            return (*acts, "click[back to search]")
        if state.page == "item" and state.item is not None:
            p = task.product(state.item)
            acts = [f"click[{v}]" for _, values in p.options for v in values]
            return (*acts, "click[buy now]", "click[< prev]", "click[back to search]")
        return ()

    def execute(
        self, task: WebShopTask, state: WebShopState, parsed: ParsedCommand
    ) -> Transition[WebShopState]:
        if parsed.verb == "search":
            if state.page != "search":
                return Transition(state, "Search is only possible on the search page.", False)
            query = " ".join((parsed.argument or "").split())[:200]
            if not query:
                return Transition(state, "Type some keywords between the brackets.", False)
            results = search(task.products, query)
            new = WebShopState(page="results", query=query, results=results, viewed=state.viewed)
            return Transition(new, f"You searched for: {query}.")
        target = (parsed.action or "")[len("click[") : -1]
        if target == "back to search":
            return Transition(WebShopState(page="search", viewed=state.viewed), "Back to search.")
        if state.page == "results":
            if target == "next >":
                return Transition(replace(state, page_no=state.page_no + 1), "Next page.")
            if target == "< prev":
                return Transition(replace(state, page_no=state.page_no - 1), "Previous page.")
            new = replace(
                state, page="item", item=target, selected=(), viewed=state.viewed | {target}
            )
            return Transition(new, f"You open item {target}.")
        # item page
        if target == "< prev":
            return Transition(
                replace(state, page="results", item=None, selected=()), "Back to results."
            )
        assert state.item is not None
        if target == "buy now":
            new = replace(state, purchased=(state.item, state.selected))
            return Transition(new, f"You bought item {state.item}.", done=True)
        kind = next(k for k, values in task.product(state.item).options if target in values)
        selected = tuple(sorted({**dict(state.selected), kind: target}.items()))
        return Transition(replace(state, selected=selected), f"You selected {kind}: {target}.")

    def render_state(self, task: WebShopTask, state: WebShopState) -> str:
        if state.page == "search":
            return "[Search page] Type a search query."
        if state.page == "results":
            ids = self._page_ids(state)
            if not ids:
                return f"[Results for '{state.query}'] No products found."
            pages = (len(state.results) + PAGE_SIZE - 1) // PAGE_SIZE
            lines = [f"[Results for '{state.query}', page {state.page_no + 1} of {pages}]"]
            for pid in ids:
                p = task.product(pid)
                lines.append(f"{pid}: {p.title} ${p.price:.2f}")
            return "\n".join(lines)
        assert state.item is not None
        p = task.product(state.item)
        lines = [f"[Item {p.pid}] {p.title}", f"Price: ${p.price:.2f}"]
        lines += [f"{kind}: {', '.join(values)}" for kind, values in p.options]
        sel = ", ".join(f"{k}={v}" for k, v in state.selected) or "none"
        lines.append(f"Selected: {sel}")
        return "\n".join(lines)

    def plan(self, task: WebShopTask, state: WebShopState) -> tuple[str, ...]:
        plan: list[str] = []
        s = state
        wanted = dict(task.wanted)

        def do(action: str) -> None:
            nonlocal s
            plan.append(action)
            parsed = ParsedCommand(action=action)
            if action.startswith("search["):
                parsed = ParsedCommand(action=None, verb="search", argument=action[7:-1])
            s = self.execute(task, s, parsed).state

        if s.page == "item" and s.item is not None and task.matches(s.item):
            pass
        else:
            if s.page != "search":
                do("click[back to search]")
            do(f"search[{task.attribute} {task.category}]")
            pid = next(p for p in s.results if task.matches(p))
            while pid not in self._page_ids(s):
                do("click[next >]")
            do(f"click[{pid}]")
        for kind, value in sorted(wanted.items()):
            if dict(s.selected).get(kind) != value:
                do(f"click[{value}]")
        do("click[buy now]")
        return tuple(plan)
