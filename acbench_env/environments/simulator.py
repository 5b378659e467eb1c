"""Shared machinery of the multi-turn application simulators (AgentBoard-style).

A simulator is a deterministic state machine over an immutable, hashable state (a frozen
dataclass). Each one implements a handful of pure methods (initial state, valid actions,
transition, subgoals, rendering, a planner) and :class:`SimulatorEnv` does the rest:
parsing the model's text into an action, counting invalid actions and format failures,
computing the progress rate from subgoal predicates, composing observations and the oracle.

Progress rate (AgentBoard, Ma et al. 2024): with subgoals ``g_1..g_K`` (predicates over
state), the progress at state ``s`` is ``f(s) = (1/K) * #{k : g_k(s)}``; the progress rate
of an episode after step ``t`` is ``max_{i <= t} f(s_i)``, the best progress reached so
far. It is therefore monotone over the episode, and it is exactly 1.0 iff some state met
every subgoal at once, which is the success condition (the episode ends there). Generators
make sure that no subgoal holds in the initial state, so progress above 0 means the agent
did something useful.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from acbench_env.core.env import GeneratedTasks, StepOutcome, TextEnv
from acbench_env.core.errors import ConfigError
from acbench_env.core.validation import int_in_range
from acbench_env.environments import ladders
from acbench_env.environments.statemachine import (
    ParsedCommand,
    Subgoal,
    Transition,
    level_config,
    normalize_command,
    parse_command,
    progress_rate,
    progress_vector,
)

TaskT = TypeVar("TaskT")
StateT = TypeVar("StateT", bound=Hashable)


@dataclass(frozen=True)
class SimSpec:
    """What tells one simulator from another, besides its methods.

    ``name`` is used in error messages, ``prefix`` starts the task ids, ``rng_salt`` is
    mixed into each task's RNG seed (so simulators draw different streams), ``levels`` maps
    a level name to a configuration with at least ``max_steps``, ``build(index, level,
    rng)`` draws task ``index`` of a level, and ``guide`` holds the instructions' rules and
    prose example (see :meth:`SimulatorEnv.with_example`; none by default).
    """

    name: str
    prefix: str
    rng_salt: int
    levels: dict[str, Any]
    build: Callable[[int, str, np.random.Generator], Any]
    guide: tuple[str, str] = ("", "")


class SimulatorEnv(GeneratedTasks, TextEnv[TaskT], Generic[TaskT, StateT]):
    """A :class:`TextEnv` over a deterministic simulator with subgoals and progress rate.

    Subclasses implement :meth:`initial_state`, :meth:`goal_text`, :meth:`subgoals`,
    :meth:`valid_actions`, :meth:`execute`, :meth:`render_state` and :meth:`plan`, and may
    set :attr:`template_verbs` (free-text commands such as ``search[...]``),
    :attr:`command_verbs` (first words of well-formed but inapplicable commands, counted
    as invalid actions rather than format failures) and :meth:`instructions`.

    ``info`` after each step holds ``progress`` (the progress rate so far), ``subgoals``
    (which hold now), ``valid_actions``, ``invalid_action`` (this step), ``invalid_actions``
    and ``format_failures`` (counts so far). Reward is the increase of the progress rate,
    so an episode's rewards sum to its final progress.
    """

    #: Difficulty settings, easiest first (:mod:`acbench_env.environments.ladders`).
    ladder = ladders.SIMULATOR

    capability = "real_world_application"
    primary_metric = "progress_rate"
    answer_tokens = 32
    #: Verbs of free-text commands written ``verb[argument]``.
    template_verbs: ClassVar[tuple[str, ...]] = ()
    #: First words of commands that are understood but not applicable now.
    command_verbs: ClassVar[tuple[str, ...]] = ()
    #: How many valid actions the observation lists at most.
    max_listed_actions: ClassVar[int] = 40

    #: Name, task id prefix, RNG salt, levels and task builder of the simulator.
    simulator: ClassVar[SimSpec]

    def __init__(
        self,
        level: str = "easy",
        num_tasks: int = 100,
        generator_seed: int = 0,
        max_steps: int | None = None,
        render_mode: str | None = None,
        few_shot: int = 1,
        inline_example: bool = True,
    ) -> None:
        cfg = level_config(self.simulator.levels, level, self.simulator.name)
        few_shot = int_in_range("few_shot", few_shot, 0, 3)
        if not isinstance(inline_example, bool):
            raise ConfigError(f"inline_example must be True or False, got {inline_example!r}")
        self.inline_example = inline_example
        super().__init__(max_steps=max_steps or cfg.max_steps, render_mode=render_mode)
        self._set_generated_tasks(num_tasks, generator_seed)
        self.level = level
        self.few_shot = few_shot
        self._state: StateT | None = None
        self._subgoals: tuple[Subgoal[StateT], ...] = ()
        self._best = 0.0
        self._invalid = 0
        self._format_failures = 0
        self._plans: dict[StateT, tuple[str, ...]] = {}
        self._actions_cache: dict[StateT, tuple[str, ...]] = {}

    def make_task(self, index: int) -> TaskT:
        return self.generate(index, self.task_rng(index, self.simulator.rng_salt))

    def task_id(self, task: TaskT) -> str:
        return f"{self.simulator.prefix}-{getattr(task, 'level', self.level)}-{getattr(task, 'index', '?')}"

    # ------------------------------------------------------------------ simulator API
    def generate(self, index: int, rng: np.random.Generator) -> TaskT:
        """Task ``index`` of this env's level, drawn from ``rng`` (seeded per index)."""
        task: TaskT = self.simulator.build(index, self.level, rng)
        return task

    @abstractmethod
    def initial_state(self, task: TaskT) -> StateT:
        """The state an episode on ``task`` starts in."""

    @abstractmethod
    def goal_text(self, task: TaskT) -> str:
        """The instruction shown to the agent."""

    @abstractmethod
    def subgoals(self, task: TaskT) -> tuple[Subgoal[StateT], ...]:
        """The task's subgoals; success means all of them hold at once."""

    @abstractmethod
    def valid_actions(self, task: TaskT, state: StateT) -> tuple[str, ...]:
        """Every concrete action that can be carried out in ``state`` (in a fixed order)."""

    def action_templates(self, task: TaskT, state: StateT) -> tuple[str, ...]:
        """Free-text action forms shown next to the concrete ones (e.g. ``search[<words>]``)."""
        return ()

    @abstractmethod
    def execute(self, task: TaskT, state: StateT, parsed: ParsedCommand) -> Transition[StateT]:
        """Carry out a parsed command (a valid action or a template verb with argument)."""

    @abstractmethod
    def render_state(self, task: TaskT, state: StateT) -> str:
        """What the agent sees of ``state``."""

    @abstractmethod
    def plan(self, task: TaskT, state: StateT) -> tuple[str, ...]:
        """Actions that lead from ``state`` to success (a planner or hand-written solver)."""

    def instructions(self, task: TaskT) -> str:
        """Text before the goal in the first observation (rules, a short example)."""
        return self.with_example(*self.simulator.guide) if any(self.simulator.guide) else ""

    # ------------------------------------------------------------------ helpers
    @property
    def state(self) -> StateT:
        if self._state is None:
            raise ConfigError("no episode is running; call reset() first")
        return self._state

    def actions(self, task: TaskT, state: StateT) -> tuple[str, ...]:
        """:meth:`valid_actions`, memoised per state for the current episode."""
        found = self._actions_cache.get(state)
        if found is None:
            found = self._actions_cache[state] = self.valid_actions(task, state)
        return found

    def listing(self, task: TaskT, state: StateT, actions: Sequence[str] | None = None) -> str:
        actions = list(self.actions(task, state) if actions is None else actions)
        shown = actions[: self.max_listed_actions]
        more = len(actions) - len(shown)
        items = [*self.action_templates(task, state), *shown]
        text = "Valid actions: " + " | ".join(items)
        if more > 0:
            text += f" | ... ({more} more)"
        return text

    def _info(self, task: TaskT, state: StateT) -> dict[str, Any]:
        return {
            "goal": self.goal_text(task),
            "progress": self._best,
            "subgoals": list(progress_vector(self._subgoals, state)),
            "subgoal_names": [g.description for g in self._subgoals],
            "valid_actions": [
                *self.action_templates(task, state),
                *self.actions(task, state),
            ],
            "invalid_actions": self._invalid,
            "format_failures": self._format_failures,
        }

    # ------------------------------------------------------------------ TextEnv API
    def start(self, task: TaskT) -> tuple[str, dict[str, Any]]:
        state = self.initial_state(task)
        self._state = state
        self._subgoals = self.subgoals(task)
        self._best = progress_rate(progress_vector(self._subgoals, state))
        self._invalid = 0
        self._format_failures = 0
        self._plans = {}
        self._actions_cache = {}
        return self._first_observation(task, state), self._info(task, state)

    def _first_observation(
        self, task: TaskT, state: StateT, actions: Sequence[str] | None = None
    ) -> str:
        parts = [self.instructions(task), f"Your task: {self.goal_text(task)}"]
        parts += [self.render_state(task, state), self.listing(task, state, actions)]
        parts.append("Reply with exactly one action.")
        return "\n".join(p for p in parts if p)

    def with_example(self, intro: str, example: str) -> str:
        """The instructions: ``intro``, then the prose ``example`` on the next line unless
        ``inline_example`` is off (the solved ``few_shot`` episodes then are the only
        examples; a small model tends to copy the prose example's final answer)."""
        return f"{intro}\n{example}" if self.inline_example else intro

    def _next_observation(
        self, task: TaskT, state: StateT, feedback: str, actions: Sequence[str] | None = None
    ) -> str:
        parts = [feedback, self.render_state(task, state), self.listing(task, state, actions)]
        return "\n".join(p for p in parts if p)

    def examples(self, task: TaskT) -> tuple[tuple[str, str], ...]:
        """``few_shot`` solved episodes of other tasks of the same level: each step's
        observation and the planner's action, as chat turns."""
        turns: list[tuple[str, str]] = []
        index = int(getattr(task, "index", 0))
        # ``execute`` may read the per-state action memo; the example tasks' states must not
        # be left in it, since this episode's task can reach the same states.
        episode_memo, self._actions_cache = self._actions_cache, {}
        try:
            self._example_turns(index, turns)
        finally:
            self._actions_cache = episode_memo
        return tuple(turns)

    def _example_turns(self, index: int, turns: list[tuple[str, str]]) -> None:
        for k in range(self.few_shot):
            rng = self.task_rng(index, self.simulator.rng_salt, 1 + k)
            example = self.generate(index, rng)
            state = self.initial_state(example)
            # valid_actions directly, not the per-episode memo: it holds this episode's states.
            actions = self.valid_actions(example, state)
            observation = self._first_observation(example, state, actions)
            for act in self.plan(example, state):
                turns.append((observation, act))
                parsed = parse_command(act, actions, self.template_verbs)
                outcome = self.execute(example, state, parsed)
                state = outcome.state
                actions = self.valid_actions(example, state)
                observation = self._next_observation(example, state, outcome.feedback, actions)

    def apply(self, task: TaskT, action: str) -> StepOutcome:
        state = self.state
        parsed = parse_command(action, self.actions(task, state), self.template_verbs)
        parse_error: str | None = None
        invalid = False
        done = False
        if parsed.action is None and parsed.verb is None:
            first = normalize_command(action).split(" ", 1)[0]
            if first and first in self.command_verbs:
                feedback = "Nothing happens: that action is not possible here."
                invalid = True
            else:
                parse_error = parsed.error or "not one of the valid actions"
                self._format_failures += 1
                feedback = "Invalid action: answer with one action from the list of valid actions."
        else:
            outcome = self.execute(task, state, parsed)
            feedback, done = outcome.feedback, outcome.done
            if outcome.valid:
                state = outcome.state
            else:
                invalid = True
        if invalid or parse_error is not None:
            self._invalid += 1
        self._state = state
        reached = progress_vector(self._subgoals, state)
        success = all(reached)
        now = progress_rate(reached)
        previous = self._best
        self._best = max(self._best, now)
        terminated = success or done
        if terminated:
            observation = feedback + ("\nTask completed." if success else "\nEpisode over.")
        else:
            observation = self._next_observation(task, state, feedback)
        return StepOutcome(
            observation=observation,
            reward=self._best - previous,
            terminated=terminated,
            score=self._best,
            success=success,
            parsed_action=parsed.action
            if parsed.action is not None
            else (None if parsed.verb is None else f"{parsed.verb}[{parsed.argument}]"),
            parse_error=parse_error,
            info={**self._info(task, state), "invalid_action": invalid or parse_error is not None},
        )

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = super().step(action)
        # The base class scores over-long actions 0.0; the progress rate never goes down.
        if info.get("parse_error") and "longer than" in str(info["parse_error"]):
            self._invalid += 1
            self._format_failures += 1
            info = {**info, **self._info(self.task, self.state), "invalid_action": True}
            info["score"] = self._best
        return observation, reward, terminated, truncated, info

    def oracle_action(self) -> str:
        task, state = self.task, self.state
        if state not in self._plans:
            plan = self.plan(task, state)
            # Index the remaining plan by every state along it, so it is computed once.
            current = state
            for i, act in enumerate(plan):
                self._plans[current] = plan[i:]
                parsed = parse_command(act, self.actions(task, current), self.template_verbs)
                current = self.execute(task, current, parsed).state
        remaining = self._plans.get(state, ())
        return remaining[0] if remaining else "look"
