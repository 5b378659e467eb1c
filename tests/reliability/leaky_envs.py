"""Two deliberately broken test environments for the determinism check."""

from __future__ import annotations

import random
from typing import Any

from tests.core.counting_env import CountEnv


class GlobalRandomEnv(CountEnv):
    """Says a number drawn from the global, unseeded RNG (the seed never reaches it).

    ## Description
    Test-only. ## Task source: CountEnv. ## Version History: v0.
    """

    def start(self, task: int) -> tuple[str, dict[str, Any]]:
        obs, info = super().start(task)
        return f"{obs} Lucky number: {random.random():.6f}", info


class SharedCounterEnv(CountEnv):
    """Counts episodes in a class attribute, shared by every instance (state leaks).

    ## Description
    Test-only. ## Task source: CountEnv. ## Version History: v0.
    """

    episodes_started = 0

    def start(self, task: int) -> tuple[str, dict[str, Any]]:
        obs, info = super().start(task)
        type(self).episodes_started += 1
        return f"Episode {type(self).episodes_started}. {obs}", info
