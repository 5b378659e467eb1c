"""The parts of a simulator's state machine that the simulators build on: subgoals and
transitions, how a model's text becomes a command (:func:`parse_command`), the progress
rate (:func:`progress_rate`, see :mod:`acbench_env.environments.simulator`), a
breadth-first planner (:func:`bfs_plan`) and the lookup of a difficulty level."""

from __future__ import annotations

import re
import unicodedata
from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from acbench_env.core.errors import ConfigError

StateT = TypeVar("StateT", bound=Hashable)

#: Longest first line of an action that is looked at (the rest is ignored).
MAX_COMMAND_CHARS = 300

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")
_PREFIX = re.compile(
    r"^(?:(?:action|next action|your action|answer|command|thought)\s*[:=]\s*|[>\-*#]+\s*"
    r"|\d+[.)]\s+)",
    re.IGNORECASE,
)
_BRACKET = re.compile(r"^([a-z_][a-z0-9_ ]*?)\s*\[(.*)\]$", re.DOTALL)


@dataclass(frozen=True)
class Subgoal(Generic[StateT]):
    """A named predicate over a simulator state."""

    description: str
    holds: Callable[[StateT], bool]


@dataclass(frozen=True)
class Transition(Generic[StateT]):
    """The result of carrying out one (recognised) action.

    ``valid=False`` means the action was understood but cannot be carried out in this state
    (the state is unchanged and the action counts as invalid); ``done`` ends the episode
    (e.g. buying an item or submitting an answer).
    """

    state: StateT
    feedback: str
    valid: bool = True
    done: bool = False


@dataclass(frozen=True)
class ParsedCommand:
    """An action text matched against the valid actions (``action``) or a template verb."""

    action: str | None
    verb: str | None = None
    argument: str | None = None
    error: str | None = None


def normalize_command(text: str) -> str:
    """The command in ``text``: first non-empty line, NFKC, lower case, no decoration."""
    text = unicodedata.normalize("NFKC", text)
    text = _CONTROL.sub(" ", text)
    line = ""
    for raw in text.splitlines():
        if raw.strip():
            line = raw.strip()
            break
    line = line[:MAX_COMMAND_CHARS]
    for _ in range(3):
        stripped = _PREFIX.sub("", line).strip()
        if stripped == line:
            break
        line = stripped
    line = line.strip("`'\"").strip()
    line = line.rstrip(".!;,").strip()
    return " ".join(line.lower().split())


def parse_command(
    text: str, valid_actions: Sequence[str], template_verbs: Iterable[str] = ()
) -> ParsedCommand:
    """Match ``text`` to one of ``valid_actions`` (case-insensitive) or a ``verb[arg]`` template.

    Exact matches win; otherwise the longest valid action that the command starts with
    (followed by a non-word character) is taken, so "go to cabinet 1 now" is "go to
    cabinet 1". A command of the form ``verb[argument]`` whose verb is in
    ``template_verbs`` is returned with its argument. Anything else is a format failure.
    """
    command = normalize_command(text)
    if not command:
        return ParsedCommand(action=None, error="empty action")
    lowered = {a.lower(): a for a in valid_actions}
    if command in lowered:
        return ParsedCommand(action=lowered[command])
    best: str | None = None
    for low in lowered:
        if (
            command.startswith(low)
            and not command[len(low) : len(low) + 1].isalnum()
            and (best is None or len(low) > len(best))
        ):
            best = low
    if best is not None:
        return ParsedCommand(action=lowered[best])
    match = _BRACKET.match(command)
    if match is not None:
        verb = match.group(1).strip().replace(" ", "_")
        if verb in set(template_verbs):
            return ParsedCommand(action=None, verb=verb, argument=match.group(2).strip())
    return ParsedCommand(action=None, error="not one of the valid actions")


def progress_vector(subgoals: Sequence[Subgoal[StateT]], state: StateT) -> tuple[bool, ...]:
    """Which subgoals hold in ``state``."""
    return tuple(bool(g.holds(state)) for g in subgoals)


def progress_rate(reached: Sequence[bool]) -> float:
    """Fraction of subgoals reached (AgentBoard's progress rate at one state)."""
    return sum(reached) / len(reached) if reached else 0.0


def bfs_plan(
    start: StateT,
    is_goal: Callable[[StateT], bool],
    successors: Callable[[StateT], Iterable[tuple[str, StateT]]],
    max_states: int = 200_000,
) -> tuple[str, ...] | None:
    """A shortest action sequence from ``start`` to a goal state, or None (breadth-first)."""
    if is_goal(start):
        return ()
    parent: dict[StateT, tuple[StateT, str] | None] = {start: None}
    queue: deque[StateT] = deque([start])
    while queue:
        state = queue.popleft()
        for action, nxt in successors(state):
            if nxt in parent:
                continue
            parent[nxt] = (state, action)
            if is_goal(nxt):
                path: list[str] = []
                node: StateT = nxt
                while (link := parent[node]) is not None:
                    node, act = link
                    path.append(act)
                return tuple(reversed(path))
            if len(parent) >= max_states:
                return None
            queue.append(nxt)
    return None


def level_config(levels: dict[str, Any], level: str, env_name: str) -> Any:
    """The configuration of difficulty ``level``, or a clear error naming the choices."""
    if level not in levels:
        raise ConfigError(
            f"{env_name}: unknown level {level!r}; use one of {', '.join(sorted(levels))}"
        )
    return levels[level]
