"""Stateful tool sandboxes: typed state, canonical hash, tools, seeded required calls.

An *app* is a small stateful system written by the project (a file system, a calendar, a
bank). Its state is an immutable, typed value (a frozen dataclass) with a flat *view*
(``view() -> {key: JSON value}``, the canonical form) and therefore a canonical hash
(:func:`state_hash`, SHA-256 of the view as sorted JSON). Its tools are typed Python
functions ``fn(state, **arguments)`` (JSON Schema from the signature,
:func:`acbench_env.tools.function_schema`) that run in a
:class:`~acbench_env.tools.Sandbox`: the sandbox's state dict holds the app state under
:data:`STATE_KEY`, a tool that changes it stores a *new* value there, and a call that
would break an invariant (double booking, overdraft, deleting a missing file) raises
:class:`InvariantError` *before* anything is stored, so the state is unchanged and the
sandbox returns the reason as an error result (``error_kind == "tool_error"``). Unknown
tools and arguments that fail the schema are rejected by the sandbox before the tool runs.

Task generation (:func:`sample_instructions`) draws required calls one after another from
the app's samplers, runs each on the evolving state, and records the *changes* it makes
(the view keys whose value differs, with the new value; ``None`` = the key is gone). A
call is kept only when it changes something and its keys are disjoint from those of the
calls before it, so the required changes are independent predicates over state: after
the first ``k`` of ``n`` calls exactly ``k`` of them hold.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Generic, Protocol, TypeVar, cast

import numpy as np

from acbench_env.core.errors import ConfigError
from acbench_env.tools.sandbox import Sandbox, Tool, ToolCall, ToolResult

#: Key of the app state in a sandbox's state dict.
STATE_KEY = "app"

#: How many draws :func:`sample_instructions` tries per required call.
_MAX_DRAWS = 200


class InvariantError(Exception):
    """A call that would break an invariant of the app state; the state stays unchanged."""


class AppState(Protocol):
    """A typed, immutable app state."""

    def view(self) -> dict[str, Any]:
        """The canonical flat form: ``{key: JSON value}``."""
        ...


_FrozenT = TypeVar("_FrozenT", bound="FrozenState")


class FrozenState:
    """Base of the app state dataclasses (frozen, made of tuples, strings and numbers only):
    a deep copy is the value itself, so a sandbox's copy of its initial state costs nothing."""

    __slots__ = ()

    def __deepcopy__(self: _FrozenT, memo: dict[int, Any]) -> _FrozenT:
        return self


_V = TypeVar("_V")
_PairsT = TypeVar("_PairsT", bound="PairsState[Any]")


class PairsState(FrozenState, Generic[_V]):
    """Base of a state dataclass whose one field holds ``(name, value)`` pairs sorted by
    name; its view keys are ``"{view_prefix}:{name}"``."""

    __slots__ = ()

    #: The view keys' prefix (``"account"``: ``account:savings``).
    view_prefix: ClassVar[str] = ""

    @classmethod
    def of(cls: type[_PairsT], items: Mapping[str, Any]) -> _PairsT:
        """The state holding ``items``, sorted by name."""
        return cls(tuple(sorted(items.items())))  # type: ignore[call-arg]

    def pairs(self) -> tuple[tuple[str, _V], ...]:
        """The ``(name, value)`` pairs (the dataclass's one field)."""
        pairs: tuple[tuple[str, _V], ...] = getattr(self, fields(cast(Any, self))[0].name)
        return pairs

    def as_dict(self) -> dict[str, _V]:
        return dict(self.pairs())

    def view(self) -> dict[str, Any]:
        return {f"{self.view_prefix}:{name}": value for name, value in self.pairs()}


def canonical_json(view: Mapping[str, Any]) -> str:
    """``view`` as JSON with sorted keys and no whitespace (the hashed form)."""
    return json.dumps(dict(view), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def view_hash(view: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``view``."""
    return hashlib.sha256(canonical_json(view).encode("utf-8")).hexdigest()


def state_hash(state: AppState) -> str:
    """SHA-256 (hex) of the canonical JSON of ``state.view()``."""
    return view_hash(state.view())


def bounded(t: Tool, constraints: Mapping[str, Mapping[str, Any]]) -> Tool:
    """``t`` with extra JSON Schema keywords (e.g. ``minimum``) on some parameters."""
    params = copy.deepcopy(dict(t.parameters))
    for name, extra in constraints.items():
        params["properties"][name].update(extra)
    return Tool(t.name, t.description, params, t.fn)


@dataclass(frozen=True)
class Instruction:
    """One required call of a task: the instruction in English, the reference call, and
    the state changes it makes (``(view key, value after)``; ``None`` = the key is gone)."""

    text: str
    call: ToolCall
    changes: tuple[tuple[str, Any], ...]

    def holds(self, view: Mapping[str, Any]) -> bool:
        """Whether every change of this call holds in ``view``."""
        return all(view.get(key) == value for key, value in self.changes)


#: A sampler draws one instruction (text and call) for a state, or None if none fits.
Sampler = Callable[[np.random.Generator, Any], "tuple[str, ToolCall] | None"]


@dataclass(frozen=True)
class App:
    """A stateful sandbox: its tools, a seeded initial-state generator and call samplers.

    ``read_tools`` name the tools that never change state; ``description`` says what the
    app is (for prompts, e.g. "a virtual file system").
    """

    name: str
    description: str
    tools: tuple[Tool, ...]
    read_tools: tuple[str, ...]
    initial_state: Callable[[np.random.Generator], Any]
    samplers: tuple[Sampler, ...]

    @property
    def tool_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tools)

    def tool(self, name: str) -> Tool:
        for t in self.tools:
            if t.name == name:
                return t
        raise ConfigError(f"app {self.name!r} has no tool {name!r}; it has {self.tool_names}")

    def sandbox(self, state: Any, names: Sequence[str] | None = None) -> Sandbox:
        """A fresh sandbox over ``state`` with the tools ``names`` (default: all)."""
        tools = self.tools if names is None else tuple(self.tool(n) for n in names)
        return Sandbox(tools, {STATE_KEY: state})


def run_call(app: App, state: Any, call: ToolCall) -> tuple[Any, ToolResult]:
    """The state after ``call`` on ``state`` (unchanged on any error) and the result."""
    sandbox = app.sandbox(state)
    result = sandbox.call(call)
    return sandbox.state[STATE_KEY], result


def changes_between(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """The keys whose value differs between two views, with the value after (None = gone)."""
    keys = set(before) | set(after)
    return {k: after.get(k) for k in sorted(keys) if before.get(k) != after.get(k)}


def sample_instructions(
    app: App, rng: np.random.Generator, state: Any, n: int
) -> tuple[tuple[Instruction, ...], Any]:
    """``n`` independent required calls starting from ``state`` (see the module docstring),
    and the state after them (the target state of a task)."""
    out: list[Instruction] = []
    used: set[str] = set()
    current = state
    draws = 0
    while len(out) < n:
        draws += 1
        if draws > _MAX_DRAWS * n:
            raise ConfigError(
                f"app {app.name!r}: could not draw {n} independent calls; ask for fewer calls"
            )
        sampler = app.samplers[int(rng.integers(len(app.samplers)))]
        drawn = sampler(rng, current)
        if drawn is None:
            continue
        text, call = drawn
        after, result = run_call(app, current, call)
        if not result.ok:
            continue
        changed = changes_between(current.view(), after.view())
        if not changed or used & set(changed):
            continue
        used |= set(changed)
        out.append(Instruction(text=text, call=call, changes=tuple(changed.items())))
        current = after
    return tuple(out), current
