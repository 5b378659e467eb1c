"""The base class of text environments.

A text environment is a :class:`gymnasium.Env` whose observations and actions are strings.
It holds a list of tasks (``num_tasks``; task ``i`` is a pure function of ``i`` and the
environment's arguments), picks one per episode, and turns the agent's raw text into a
parsed action itself, so that format failures are measured rather than hidden: a malformed
action never raises, it yields an error observation and ``info["parse_error"]``.

Subclasses implement :meth:`make_task`, :meth:`start`, :meth:`apply` and
:meth:`oracle_action`, and set :attr:`capability`. Environments that generate their tasks
(rather than read them from files) also mix in :class:`GeneratedTasks`: ``num_tasks`` and
``generator_seed`` arguments, and one seeded RNG stream per task.

Solved examples (few-shot) are not pasted into the first observation: an environment that
shows them implements :meth:`TextEnv.examples`, and ``reset`` returns them as chat turns in
``info["few_shot_messages"]`` (user request, assistant answer, ...). The runner and
:meth:`~acbench_env.agents.base.BaseAgent.reset` put them before the first observation, so
the model sees prior turns it can imitate. Small models copy a prompt back when examples
and task share one message; as turns, they answer the task.
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

import gymnasium
import numpy as np

from acbench_env.core.errors import ConfigError
from acbench_env.core.ladder import Ladder
from acbench_env.core.seeds import task_rng
from acbench_env.core.spaces import TextSpace
from acbench_env.core.types import Message
from acbench_env.core.validation import int_at_least, positive_int

TaskT = TypeVar("TaskT")

#: The four capabilities of the ACBench taxonomy.
CAPABILITIES = ("workflow_generation", "tool_use", "long_context", "real_world_application")


#: Key of the few-shot chat turns in the ``info`` returned by ``reset``.
FEW_SHOT_KEY = "few_shot_messages"


def few_shot_turns(examples: Iterable[tuple[str, str]]) -> list[Message]:
    """Chat turns for solved examples: a user turn (the request) and an assistant turn
    (the answer) per ``(request, answer)`` pair."""
    turns: list[Message] = []
    for request, answer in examples:
        turns.append({"role": "user", "content": request})
        turns.append({"role": "assistant", "content": answer})
    return turns


@dataclass(frozen=True)
class StepOutcome:
    """What an environment makes of one action (returned by :meth:`TextEnv.apply`)."""

    observation: str
    reward: float
    terminated: bool
    score: float
    success: bool
    parsed_action: Any = None
    parse_error: str | None = None
    info: dict[str, Any] = field(default_factory=dict)


class TextEnv(gymnasium.Env[str, str], Generic[TaskT]):
    """Base class of acbench text environments.

    ``reset(seed=s)`` chooses the task from the seed (reproducibly);
    ``reset(options={"task_index": i})`` chooses task ``i``. ``info`` always holds
    ``task_id``, ``task_index``, ``capability`` and ``step``; after a step it also holds
    ``parsed_action``, ``parse_error`` (``None`` when the action parsed), ``format_failure``,
    ``score`` (the primary metric of the episode so far, in [0, 1]) and ``success``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    #: One of :data:`CAPABILITIES`.
    capability: ClassVar[str] = ""
    #: Difficulty settings from easiest to hardest (see :mod:`acbench_env.core.ladder`);
    #: an env without one is calibrated and run at its registered arguments.
    ladder: ClassVar[Ladder] = Ladder()
    #: Name of the episode metric reported in ``info["score"]``.
    primary_metric: ClassVar[str] = "score"
    #: Longest action text that is parsed; longer ones are format failures.
    max_action_chars: ClassVar[int] = 100_000
    #: New tokens a model needs for one good answer; agents use it unless told otherwise.
    answer_tokens: int = 64

    def __init__(
        self,
        *,
        max_steps: int = 1,
        render_mode: str | None = None,
        max_observation_chars: int = 2_000_000,
    ) -> None:
        max_steps = positive_int("max_steps", max_steps)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ConfigError(
                f"render_mode {render_mode!r} is not supported; use one of "
                f"{self.metadata['render_modes']} or None"
            )
        self.max_steps = max_steps
        self.render_mode = render_mode
        self.observation_space = TextSpace(max_observation_chars)
        # Actions longer than max_action_chars are accepted by the space and reported as
        # format failures, so that any string a model emits is a valid action.
        self.action_space = TextSpace(10 * self.max_action_chars)
        self._task: TaskT | None = None
        self._task_index: int = -1
        self._steps = 0
        self._done = False
        self._last_observation = ""
        self._task_cache: dict[int, TaskT] = {}

    # ------------------------------------------------------------------ subclass API
    @property
    @abstractmethod
    def num_tasks(self) -> int:
        """Number of tasks this environment can present."""

    @abstractmethod
    def make_task(self, index: int) -> TaskT:
        """Task ``index`` (a pure function of the index and the env's arguments)."""

    @abstractmethod
    def task_id(self, task: TaskT) -> str:
        """A stable, human-readable id of ``task``."""

    @abstractmethod
    def start(self, task: TaskT) -> tuple[str, dict[str, Any]]:
        """Begin an episode on ``task``: the first observation and extra info."""

    @abstractmethod
    def apply(self, task: TaskT, action: str) -> StepOutcome:
        """Parse, validate and carry out ``action``; never raises on malformed text."""

    @abstractmethod
    def oracle_action(self) -> str:
        """The correct next action for the current state (used by tests and OracleAgent)."""

    def examples(self, task: TaskT) -> Sequence[tuple[str, str]]:
        """Solved examples shown before ``task`` as ``(request, answer)`` chat turns.

        ``reset`` returns them in ``info["few_shot_messages"]`` (see :func:`few_shot_turns`).
        The default is none.
        """
        return ()

    # ------------------------------------------------------------------ gymnasium API
    @property
    def task(self) -> TaskT:
        if self._task is None:
            raise ConfigError("no episode is running; call reset() first")
        return self._task

    @property
    def task_index(self) -> int:
        return self._task_index

    def get_task(self, index: int) -> TaskT:
        """Task ``index``, built once per env instance (tasks are immutable)."""
        if not 0 <= index < self.num_tasks:
            raise ConfigError(
                f"task_index {index} is out of range; this environment has {self.num_tasks} tasks "
                f"(0..{self.num_tasks - 1})"
            )
        if index not in self._task_cache:
            self._task_cache[index] = self.make_task(index)
        return self._task_cache[index]

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        options = dict(options or {})
        if "task_index" in options:
            raw = options["task_index"]
            if isinstance(raw, bool) or not isinstance(raw, int):
                raise ConfigError(f"options['task_index'] must be an int, got {raw!r}")
            index = raw
        else:
            index = int(self.np_random.integers(self.num_tasks))
        task = self.get_task(index)
        self._task, self._task_index = task, index
        self._steps, self._done = 0, False
        observation, extra = self.start(task)
        self._last_observation = observation
        info = {**self._base_info(), **copy.deepcopy(extra)}
        shots = self.examples(task)
        if shots:
            info[FEW_SHOT_KEY] = few_shot_turns(shots)
        return observation, info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict[str, Any]]:
        task = self.task
        if self._done:
            raise ConfigError("the episode has ended; call reset() before step()")
        if not isinstance(action, str):
            action = action.decode("utf-8", "replace") if isinstance(action, bytes) else str(action)
        if len(action) > self.max_action_chars:
            outcome = StepOutcome(
                observation=(
                    f"Your answer was {len(action)} characters long; the limit is "
                    f"{self.max_action_chars}. Answer briefly."
                ),
                reward=0.0,
                terminated=False,
                score=0.0,
                success=False,
                parse_error=f"action longer than {self.max_action_chars} characters",
            )
        else:
            outcome = self.apply(task, action)
        self._steps += 1
        terminated = bool(outcome.terminated)
        truncated = (not terminated) and self._steps >= self.max_steps
        self._done = terminated or truncated
        self._last_observation = outcome.observation
        info = {
            **self._base_info(),
            **copy.deepcopy(outcome.info),
            "parsed_action": copy.deepcopy(outcome.parsed_action),
            "parse_error": outcome.parse_error,
            "format_failure": outcome.parse_error is not None,
            "score": float(outcome.score),
            "success": bool(outcome.success),
        }
        return outcome.observation, float(outcome.reward), terminated, truncated, info

    def render(self) -> str | None:  # type: ignore[override]
        if self.render_mode == "ansi":
            return self._last_observation
        return None

    def _base_info(self) -> dict[str, Any]:
        return {
            "task_id": self.task_id(self.task),
            "task_index": self._task_index,
            "capability": self.capability,
            "step": self._steps,
        }


class GeneratedTasks:
    """Mixin of text environments whose tasks are generated from a seed.

    Put it before the :class:`TextEnv` base (``class MyEnv(GeneratedTasks, TextEnv[Task])``)
    and call :meth:`_set_generated_tasks` in ``__init__``; it provides ``num_tasks``.
    Task ``i`` must be a pure function of ``i`` and the arguments: draw it from
    ``self.task_rng(..., i, ...)`` (a fixed tuple of ints naming the stream, e.g. the task
    index, then ``1 + k`` for few-shot example ``k``), never from the reset seed.
    """

    _num_tasks: int
    #: Picks the family of generated tasks (``generator_seed`` argument, default 0).
    generator_seed: int

    def _set_generated_tasks(self, num_tasks: Any, generator_seed: Any) -> None:
        """Check and store ``num_tasks`` (a positive int) and ``generator_seed`` (an int
        >= 0)."""
        self._num_tasks = positive_int("num_tasks", num_tasks)
        self.generator_seed = int_at_least("generator_seed", generator_seed, 0)

    @property
    def num_tasks(self) -> int:
        return self._num_tasks

    def task_rng(self, *stream: int) -> np.random.Generator:
        """The RNG of the generated stream ``stream`` (see
        :func:`~acbench_env.core.seeds.task_rng`)."""
        return task_rng(self.generator_seed, *stream)
