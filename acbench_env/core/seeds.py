"""Seeds: the reset seeds of a run and the per-request sampling seeds derived from them."""

from __future__ import annotations

import numpy as np

from acbench_env.core.errors import ConfigError


def episode_seeds(episodes: int, seed: int) -> list[int]:
    """The reset seeds of a run: ``seed, seed + 1, ...``."""
    if episodes < 1:
        raise ConfigError(f"episodes must be at least 1, got {episodes}")
    if seed < 0:
        raise ConfigError(f"seed must be >= 0, got {seed}")
    return [seed + i for i in range(episodes)]


def request_seed(episode_seed: int, step: int) -> int:
    """The sampling seed of the agent request at ``step`` of the episode with ``episode_seed``."""
    return int(np.random.SeedSequence([episode_seed, step]).generate_state(1)[0])
