"""Seeds: the reset seeds of a run, the per-request sampling seeds derived from them, and
the RNG streams of generated tasks.

A run resets episode ``k`` with seed ``seed + k`` (:func:`episode_seeds`); ``reset`` turns
that seed into a task index with the environment's own ``np_random``
(:meth:`acbench_env.core.env.TextEnv.reset`). A generated task is then a pure function of
its index: environments whose tasks are generated draw task ``i`` (and its few-shot
examples) from :func:`task_rng` keyed by their ``generator_seed``
(:class:`acbench_env.core.env.GeneratedTasks`), never from the reset seed.
"""

from __future__ import annotations

import numpy as np

from acbench_env.core.validation import int_at_least, positive_int


def episode_seeds(episodes: int, seed: int) -> list[int]:
    """The reset seeds of a run: ``seed, seed + 1, ...``."""
    episodes = positive_int("episodes", episodes)
    seed = int_at_least("seed", seed, 0)
    return [seed + i for i in range(episodes)]


def request_seed(episode_seed: int, step: int) -> int:
    """The sampling seed of the agent request at ``step`` of the episode with ``episode_seed``."""
    return int(np.random.SeedSequence([episode_seed, step]).generate_state(1)[0])


def task_rng(generator_seed: int, *stream: int) -> np.random.Generator:
    """The RNG of one generated task or of one of its parts: ``stream`` names it (e.g. the
    task index, then ``1 + k`` for few-shot example ``k``), ``generator_seed`` picks the
    family of tasks. The same arguments always give the same draws."""
    return np.random.default_rng([generator_seed, *stream])
