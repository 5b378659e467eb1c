"""A tiny multi-step text env for runner tests: say the numbers 1..target in turn."""

from __future__ import annotations

from typing import Any

from acbench_env.core.env import StepOutcome, TextEnv


class CountEnv(TextEnv[int]):
    """Count from 1 to the target, one number per step.

    ## Description
    Test-only environment. ## Task source: target = 2 + index % 3. ## Version History: v0.
    """

    capability = "tool_use"

    def __init__(self, render_mode: str | None = None, few_shot: int = 0) -> None:
        super().__init__(max_steps=6, render_mode=render_mode)
        self._next = 1
        self.few_shot = few_shot

    @property
    def num_tasks(self) -> int:
        return 9

    def make_task(self, index: int) -> int:
        return 2 + index % 3

    def task_id(self, task: int) -> str:
        return f"count-to-{task}"

    def examples(self, task: int) -> list[tuple[str, str]]:
        return [(f"Example {k}: count to 1. Say 1.", "1") for k in range(self.few_shot)]

    def start(self, task: int) -> tuple[str, dict[str, Any]]:
        self._next = 1
        return f"Count to {task}. Say 1.", {}

    def apply(self, task: int, action: str) -> StepOutcome:
        said = action.strip()
        if not said.isdigit():
            return StepOutcome(
                "Say a number.",
                0.0,
                False,
                (self._next - 1) / task,
                False,
                parse_error="not a number",
            )
        if int(said) == self._next:
            self._next += 1
        done = self._next > task
        progress = (self._next - 1) / task
        return StepOutcome(
            f"Say {self._next}." if not done else "Done.",
            1.0 if done else 0.0,
            done,
            progress,
            done,
            parsed_action=int(said),
        )

    def oracle_action(self) -> str:
        return str(self._next)
