"""The arguments shared by the multiturn environments (difficulty level, apps, few-shot
examples, number of tasks, generator seed) and their checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from acbench_env.core.env import TextEnv
from acbench_env.core.errors import ConfigError
from acbench_env.environments.multiturn.tasks import check_apps

TaskT = TypeVar("TaskT")


def check_difficulty(difficulty: int, levels: Mapping[int, Mapping[str, int]]) -> None:
    """Raise a ConfigError unless ``difficulty`` is one of ``levels``."""
    if difficulty not in levels:
        raise ConfigError(f"difficulty must be one of {sorted(levels)}, got {difficulty!r}")


class AppTaskEnv(TextEnv[TaskT]):
    """A multiturn environment: tasks over the apps at a difficulty level."""

    def _set_arguments(
        self,
        levels: Mapping[int, Mapping[str, int]],
        difficulty: int,
        apps: Sequence[str] | str,
        few_shot: int | None,
        num_tasks: int,
        generator_seed: int,
    ) -> None:
        """Check ``few_shot`` (0..4; None: the level's), ``num_tasks`` and ``apps``, in
        that order, and store the arguments (``difficulty`` is checked by the caller)."""
        if few_shot is not None and not 0 <= int(few_shot) <= 4:
            raise ConfigError(f"few_shot must be between 0 and 4, got {few_shot!r}")
        if num_tasks < 1:
            raise ConfigError(f"num_tasks must be at least 1, got {num_tasks}")
        self.difficulty = int(difficulty)
        self.apps = check_apps(apps)
        self.few_shot = levels[self.difficulty]["few_shot"] if few_shot is None else int(few_shot)
        self._num_tasks = int(num_tasks)
        self.generator_seed = int(generator_seed)

    @property
    def num_tasks(self) -> int:
        return self._num_tasks
