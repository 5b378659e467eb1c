"""The arguments shared by the multiturn environments (difficulty level, apps, few-shot
examples, number of tasks, generator seed) and their checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from acbench_env.core.env import GeneratedTasks, TextEnv
from acbench_env.core.validation import int_in_range, one_of
from acbench_env.environments.multiturn.tasks import check_apps

TaskT = TypeVar("TaskT")


def check_difficulty(difficulty: int, levels: Mapping[int, Mapping[str, int]]) -> None:
    """Raise a ConfigError unless ``difficulty`` is one of ``levels``."""
    one_of("difficulty", difficulty, sorted(levels))


class AppTaskEnv(GeneratedTasks, TextEnv[TaskT]):
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
        if few_shot is not None:
            few_shot = int_in_range("few_shot", few_shot, 0, 4)
        self._set_generated_tasks(num_tasks, generator_seed)
        self.difficulty = int(difficulty)
        self.apps = check_apps(apps)
        self.few_shot = levels[self.difficulty]["few_shot"] if few_shot is None else few_shot
