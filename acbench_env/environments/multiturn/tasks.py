"""Seeded multi-turn tasks over the apps: required calls, offered tools, prompts, examples."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from acbench_env.core.errors import ConfigError
from acbench_env.environments.multiturn.apps import (
    App,
    Instruction,
    sample_instructions,
    state_hash,
)
from acbench_env.environments.multiturn.bank import bank_app
from acbench_env.environments.multiturn.booking import booking_app
from acbench_env.environments.multiturn.files import files_app
from acbench_env.environments.sampling import shuffle
from acbench_env.tools.parsing import format_calls
from acbench_env.tools.sandbox import tool_listing as listing_of

#: The apps, in a fixed order.
APP_NAMES = ("files", "booking", "bank")

INSTRUCTIONS = (
    "You work with {description} through tools. Call one tool per turn by answering with\n"
    '<tool_call>{{"name": "TOOL", "arguments": {{...}}}}</tool_call>\n'
    "You then see the result of the call. When the task is complete, answer: done\n"
    "Tools:\n{tools}\n\n"
    "Task: {task}"
)


def get_app(name: str) -> App:
    """The app called ``name`` (one of :data:`APP_NAMES`)."""
    if name == "files":
        return files_app()
    if name == "booking":
        return booking_app()
    if name == "bank":
        return bank_app()
    raise ConfigError(f"unknown app {name!r}; use one of {APP_NAMES}")


def check_apps(apps: Sequence[str] | str) -> tuple[str, ...]:
    """``apps`` as a non-empty tuple of known app names (else a ConfigError)."""
    names = (apps,) if isinstance(apps, str) else tuple(apps)
    bad = [a for a in names if a not in APP_NAMES]
    if not names or bad:
        raise ConfigError(f"apps must be a non-empty subset of {APP_NAMES}, got {list(names)}")
    return names


@dataclass(frozen=True)
class MultiTurnTask:
    """One task: an app, its initial state, the required calls, the tools offered, the
    hash of the target state (the initial state after the reference calls)."""

    index: int
    app: str
    initial_state: Any
    instructions: tuple[Instruction, ...]
    tools: tuple[str, ...]
    target_hash: str

    @property
    def request(self) -> str:
        if len(self.instructions) == 1:
            return self.instructions[0].text
        steps = "\n".join(f"{i}. {ins.text}" for i, ins in enumerate(self.instructions, 1))
        return f"Do these steps in order:\n{steps}"


def offered_tools(
    app: App, needed: Sequence[str], distractors: int, rng: np.random.Generator
) -> tuple[str, ...]:
    """The needed tools plus ``distractors`` other tools of the app, in a shuffled order."""
    need = list(dict.fromkeys(needed))
    others = [n for n in app.tool_names if n not in need]
    extra = shuffle(rng, others)[: max(0, distractors)]
    return tuple(shuffle(rng, need + extra))


def generate_task(
    app_name: str, rng: np.random.Generator, calls: int, distractors: int, index: int = 0
) -> MultiTurnTask:
    """A task of ``calls`` required calls on ``app_name``, drawn with ``rng``."""
    app = get_app(app_name)
    state = app.initial_state(rng)
    instructions, target = sample_instructions(app, rng, state, calls)
    tools = offered_tools(app, [ins.call.name for ins in instructions], distractors, rng)
    return MultiTurnTask(
        index=index,
        app=app_name,
        initial_state=state,
        instructions=instructions,
        tools=tools,
        target_hash=state_hash(target),
    )


def tool_listing(app: App, names: Sequence[str], style: str = "schema") -> str:
    """One tool definition per line: JSON (``style="schema"``) or a compact signature
    (``"signature"``; see :func:`acbench_env.tools.sandbox.signature`)."""
    return listing_of((app.tool(n).spec() for n in names), style)


def render_prompt(task: MultiTurnTask, style: str = "schema") -> str:
    """The first observation of ``task``: instructions, tools (listed in ``style``) and the
    request."""
    app = get_app(task.app)
    return INSTRUCTIONS.format(
        description=app.description, tools=tool_listing(app, task.tools, style), task=task.request
    )


def solved_transcript(
    task: MultiTurnTask, *, say_done: bool = True, style: str = "schema"
) -> list[tuple[str, str]]:
    """``task`` solved by the reference calls, as (user turn, assistant turn) pairs (a
    few-shot example): the prompt and the first call, each result and the next call, and
    the last result and ``done``.

    With ``say_done=False`` the transcript ends with the last call, as an episode does when
    the environment ends it on reaching the target state (a small model imitates the
    last turn it saw: a transcript ending in ``done`` makes it answer ``done`` at once).
    """
    app = get_app(task.app)
    sandbox = app.sandbox(task.initial_state, task.tools)
    request = render_prompt(task, style)
    pairs: list[tuple[str, str]] = []
    for i, ins in enumerate(task.instructions):
        pairs.append((request, format_calls([ins.call], "hermes")))
        if say_done or i + 1 < len(task.instructions):
            request = sandbox.call(ins.call).observation()
    if say_done:
        pairs.append((request, "done"))
    return pairs
