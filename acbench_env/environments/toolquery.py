"""Tool query: answer questions about a local academic database through text tool commands."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace

import numpy as np

from acbench_env.environments.simulator import SimSpec, SimulatorEnv
from acbench_env.environments.statemachine import (
    ParsedCommand,
    Subgoal,
    Transition,
)

FIRST = ("Ada", "Bo", "Chen", "Dara", "Emil", "Farah", "Goran", "Hana", "Ivo", "Jun", "Kira")
LAST = ("Okafor", "Lindqvist", "Tanaka", "Moreau", "Haddad", "Novak", "Silva", "Kowalski", "Iyer")
AFFILIATIONS = (
    "University of Toronto",
    "ETH Zurich",
    "Tsinghua University",
    "MIT",
    "University of Oxford",
    "KAIST",
    "EPFL",
    "University of Tokyo",
)
VENUES = ("NeurIPS", "ICML", "ICLR", "ACL", "CVPR", "AAAI")
TITLE_A = ("Sparse", "Robust", "Efficient", "Scalable", "Causal", "Federated", "Adaptive", "Neural")
TITLE_B = ("Graph", "Language", "Vision", "Policy", "Memory", "Kernel", "Attention", "Reward")
TITLE_C = ("Transformers", "Models", "Learning", "Search", "Networks", "Estimation", "Agents")
_WORD = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True)
class ToolQueryLevel:
    authors: int
    papers: int
    question: str  # "year" | "affiliation" | "top_venue"
    max_steps: int


LEVELS = {
    "easy": ToolQueryLevel(authors=4, papers=6, question="year", max_steps=6),
    "medium": ToolQueryLevel(authors=8, papers=16, question="affiliation", max_steps=10),
    "hard": ToolQueryLevel(authors=10, papers=30, question="top_venue", max_steps=16),
}

#: The instructions: rules, then a prose example (see ``SimulatorEnv.with_example``).
_GUIDE = (
    "You answer questions with tools over a database of papers and authors.",
    "Example: Question: In which year was 'Neural Reward Search' published?\n"
    "search_papers[Neural Reward Search] -> P4: Neural Reward Search (2019)\n"
    "get_paper[P4] -> ... Year: 2019 ...\nfinish[2019]",
)


@dataclass(frozen=True)
class Author:
    name: str
    affiliation: str


@dataclass(frozen=True)
class Paper:
    pid: str
    title: str
    year: int
    venue: str
    authors: tuple[str, ...]
    citations: int


@dataclass(frozen=True)
class ToolQueryTask:
    index: int
    level: str
    authors: tuple[Author, ...]
    papers: tuple[Paper, ...]
    question: str
    paper: str  # the paper the question names
    needed_papers: tuple[str, ...]  # paper records the answer needs
    needed_author: str | None
    answer: str

    def find_paper(self, pid: str) -> Paper | None:
        return next((p for p in self.papers if p.pid.lower() == pid.lower()), None)

    def find_author(self, name: str) -> Author | None:
        key = " ".join(name.lower().split())
        return next((a for a in self.authors if a.name.lower() == key), None)

    def papers_of(self, name: str) -> tuple[Paper, ...]:
        return tuple(p for p in self.papers if name in p.authors)


@dataclass(frozen=True)
class ToolQueryState:
    listed: frozenset[str] = frozenset()  # paper ids shown by a search or an author page
    papers: frozenset[str] = frozenset()  # paper records retrieved
    authors: frozenset[str] = frozenset()  # author records retrieved
    answer: str | None = None


def normalize_answer(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return " ".join(_WORD.findall(text))


def build_task(index: int, level: str, rng: np.random.Generator) -> ToolQueryTask:
    cfg = LEVELS[level]
    names: list[str] = []
    while len(names) < cfg.authors:
        n = f"{FIRST[int(rng.integers(len(FIRST)))]} {LAST[int(rng.integers(len(LAST)))]}"
        if n not in names:
            names.append(n)
    authors = tuple(Author(n, AFFILIATIONS[int(rng.integers(len(AFFILIATIONS)))]) for n in names)
    titles: list[str] = []
    while len(titles) < cfg.papers:
        t = " ".join(
            (
                TITLE_A[int(rng.integers(len(TITLE_A)))],
                TITLE_B[int(rng.integers(len(TITLE_B)))],
                TITLE_C[int(rng.integers(len(TITLE_C)))],
            )
        )
        if t not in titles:
            titles.append(t)
    papers = []
    for i, t in enumerate(titles):
        k = int(rng.integers(1, 4))
        who = tuple(names[int(j)] for j in rng.choice(len(names), size=k, replace=False))
        papers.append(
            Paper(
                pid=f"P{i + 1}",
                title=t,
                year=int(rng.integers(2012, 2025)),
                venue=VENUES[int(rng.integers(len(VENUES)))],
                authors=who,
                citations=int(rng.integers(0, 5000)),
            )
        )
    # Distinct citation counts, so "most cited" is unique.
    cites = rng.choice(5000, size=len(papers), replace=False)
    papers = [replace(p, citations=int(c)) for p, c in zip(papers, cites)]
    target = papers[int(rng.integers(len(papers)))]
    first = target.authors[0]
    if cfg.question == "year":
        question = f"In which year was the paper '{target.title}' published?"
        needed: tuple[str, ...] = (target.pid,)
        needed_author = None
        answer = str(target.year)
    elif cfg.question == "affiliation":
        question = f"Which institution is the first author of the paper '{target.title}' at?"
        needed, needed_author = (target.pid,), first
        answer = next(a.affiliation for a in authors if a.name == first)
    else:
        theirs = [p for p in papers if first in p.authors]
        top = max(theirs, key=lambda p: p.citations)
        question = (
            f"At which venue was the most cited paper of the first author of '{target.title}' "
            "published?"
        )
        needed = tuple(sorted({target.pid, *(p.pid for p in theirs)}))
        needed_author, answer = first, top.venue
    return ToolQueryTask(
        index=index,
        level=level,
        authors=authors,
        papers=tuple(papers),
        question=question,
        paper=target.pid,
        needed_papers=needed,
        needed_author=needed_author,
        answer=answer,
    )


class ToolQueryEnv(SimulatorEnv[ToolQueryTask, ToolQueryState]):
    """Tool query (AgentBoard Tool-Query-like): answer a question from an academic database.

    ## Description
    A generated, local database of authors (name, affiliation) and papers (id, title, year,
    venue, authors, citations), reached only through four text tools. Questions need one
    to several look-ups, like AgentBoard's academic Tool-Query tasks, without a live API.

    ## Action / Observation
    ``search_papers[<keywords>]`` (up to 5 papers whose titles match best),
    ``get_paper[<paper id>]``, ``get_author[<full name>]`` (affiliation and paper ids),
    ``finish[<answer>]``. Observations show the tool's output and list the valid actions:
    the templates and the concrete ``get_paper``/``get_author`` calls for ids and names seen
    so far (``info["valid_actions"]``). A look-up of an unknown id or name is an invalid
    action (counted, feedback given).

    ## Rewards / Metric
    Subgoals (predicates over state): the asked paper was listed by a search; its record
    was retrieved; (medium, hard) the first author's record was retrieved; (hard) every
    paper of that author was retrieved; the answer is correct. ``info["score"]`` is the
    progress rate (best fraction held at once), reward its increase; success = all.

    ## Episode End
    ``finish[...]`` (any answer), or ``max_steps`` (truncation).

    ## Task source
    Generated by the project: seeded names, affiliations, titles, years, venues and
    distinct citation counts. The oracle is a hand-written solver.

    ## Arguments
    ``level`` (``easy``/``medium``/``hard``), ``num_tasks`` (default 100),
    ``generator_seed``, ``max_steps`` (default per level), ``few_shot`` (solved episodes of
    other tasks shown before the task as chat turns, ``info["few_shot_messages"]``;
    default 1), ``inline_example`` (default True: the instructions also hold a short prose
    example; False drops it, leaving the solved episodes as the only examples).

    ## Difficulty levels
    easy: 4 authors, 6 papers, "in which year was <title> published", 6 steps; medium: 8
    authors, 16 papers, the first author's affiliation, 10 steps; hard: 10 authors, 30
    papers, the venue of the first author's most cited paper, 16 steps.

    ## Version History
    v0: initial version.
    """

    template_verbs = ("search_papers", "get_paper", "get_author", "finish")
    command_verbs = template_verbs

    simulator = SimSpec("ToolQuery", "toolquery", 4, LEVELS, build_task, _GUIDE)

    def initial_state(self, task: ToolQueryTask) -> ToolQueryState:
        return ToolQueryState()

    def goal_text(self, task: ToolQueryTask) -> str:
        return task.question

    def subgoals(self, task: ToolQueryTask) -> tuple[Subgoal[ToolQueryState], ...]:
        goals: list[Subgoal[ToolQueryState]] = [
            Subgoal(f"find paper {task.paper}", lambda s: task.paper in s.listed),
            Subgoal(f"get_paper[{task.paper}]", lambda s: task.paper in s.papers),
        ]
        if task.needed_author is not None:
            name = task.needed_author
            goals.append(Subgoal(f"get_author[{name}]", lambda s: name in s.authors))
        extra = set(task.needed_papers) - {task.paper}
        if extra:
            goals.append(Subgoal("get every paper of the author", lambda s: extra <= s.papers))
        want = normalize_answer(task.answer)
        goals.append(
            Subgoal(
                f"finish[{task.answer}]",
                lambda s: s.answer is not None and normalize_answer(s.answer) == want,
            )
        )
        return tuple(goals)

    def action_templates(self, task: ToolQueryTask, state: ToolQueryState) -> tuple[str, ...]:
        return ("search_papers[<keywords>]", "get_author[<full name>]", "finish[<answer>]")

    def valid_actions(self, task: ToolQueryTask, state: ToolQueryState) -> tuple[str, ...]:
        acts = [f"get_paper[{pid}]" for pid in sorted(state.listed, key=lambda p: int(p[1:]))]
        seen_names = sorted(
            {n for pid in state.papers for n in (task.find_paper(pid) or _NONE).authors}
        )
        acts += [f"get_author[{n}]" for n in seen_names]
        return tuple(acts)

    def execute(
        self, task: ToolQueryTask, state: ToolQueryState, parsed: ParsedCommand
    ) -> Transition[ToolQueryState]:
        verb, arg = parsed.verb, parsed.argument or ""
        if parsed.action is not None:
            verb, _, rest = parsed.action.partition("[")
            arg = rest[:-1]
        arg = " ".join(arg.split())[:200]
        if verb == "search_papers":
            words = set(_WORD.findall(arg.lower()))
            if not words:
                return Transition(state, "search_papers needs keywords.", valid=False)
            scored = sorted(
                ((len(words & set(_WORD.findall(p.title.lower()))), p) for p in task.papers),
                key=lambda x: (-x[0], int(x[1].pid[1:])),
            )
            hits = [p for score, p in scored if score > 0][:5]
            if not hits:
                return Transition(state, "No papers found.")
            lines = [f"{p.pid}: {p.title} ({p.year})" for p in hits]
            new = replace(state, listed=state.listed | {p.pid for p in hits})
            return Transition(new, "Papers found:\n" + "\n".join(lines))
        if verb == "get_paper":
            paper = task.find_paper(arg)
            if paper is None:
                return Transition(state, f"No paper with id '{arg}'.", valid=False)
            text = (
                f"{paper.pid}: {paper.title}. Year: {paper.year}. Venue: {paper.venue}. "
                f"Authors: {', '.join(paper.authors)}. Citations: {paper.citations}."
            )
            new = replace(
                state, papers=state.papers | {paper.pid}, listed=state.listed | {paper.pid}
            )
            return Transition(new, text)
        if verb == "get_author":
            author = task.find_author(arg)
            if author is None:
                return Transition(state, f"No author named '{arg}'.", valid=False)
            theirs = task.papers_of(author.name)
            text = (
                f"{author.name}. Affiliation: {author.affiliation}. Papers: "
                + ", ".join(f"{p.pid} ({p.title})" for p in theirs)
                + "."
            )
            new = replace(
                state,
                authors=state.authors | {author.name},
                listed=state.listed | {p.pid for p in theirs},
            )
            return Transition(new, text)
        # finish
        if not arg:
            return Transition(state, "finish needs an answer.", valid=False)
        return Transition(replace(state, answer=arg), f"Your answer: {arg}.", done=True)

    def render_state(self, task: ToolQueryTask, state: ToolQueryState) -> str:
        return ""

    def plan(self, task: ToolQueryTask, state: ToolQueryState) -> tuple[str, ...]:
        plan: list[str] = []
        if task.paper not in state.listed:
            plan.append(f"search_papers[{task.find_paper(task.paper).title.lower()}]")  # type: ignore[union-attr]
        if task.paper not in state.papers:
            plan.append(f"get_paper[{task.paper}]")
        if task.needed_author is not None and task.needed_author not in state.authors:
            plan.append(f"get_author[{task.needed_author.lower()}]")
        for pid in task.needed_papers:
            if pid != task.paper and pid not in state.papers:
                plan.append(f"get_paper[{pid}]")
        plan.append(f"finish[{task.answer.lower()}]")
        return tuple(plan)


_NONE = Paper("", "", 0, "", (), 0)
