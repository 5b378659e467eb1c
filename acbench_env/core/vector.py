"""Batches of text environments through Gymnasium's vector API.

``gymnasium.make_vec("acbench/...", num_envs=N)`` works as is: it builds a
:class:`gymnasium.vector.SyncVectorEnv`, whose observation space is a
:class:`gymnasium.spaces.Tuple` of :class:`~acbench_env.core.spaces.TextSpace` (observations
come back as a tuple of ``N`` strings; actions go in as a sequence of ``N`` strings) and whose
``info`` values are arrays with one entry per env (plus the ``_key`` masks). An env whose
episode ended is reset on its next ``step`` (Gymnasium's default ``NEXT_STEP`` autoreset; the
action passed for it then is ignored), so a multi-turn episode runs to its end in place.

:func:`make_vec` does the same and also allows ``vectorization_mode="async"`` (one process
per env): text spaces have no fixed-size shared-memory layout, so it turns Gymnasium's
shared memory off, which ``gymnasium.make_vec(..., vectorization_mode="async")`` needs
``vector_kwargs={"shared_memory": False}`` for.
"""

from __future__ import annotations

from typing import Any

import gymnasium

from acbench_env.core.errors import ConfigError
from acbench_env.core.registry import check_env_id


def make_vec(
    env_id: str, num_envs: int, *, vectorization_mode: str = "sync", **env_kwargs: Any
) -> gymnasium.vector.VectorEnv[Any, Any, Any]:
    """``num_envs`` copies of ``env_id`` (with ``env_kwargs``) as one Gymnasium vector env."""
    check_env_id(env_id)
    if num_envs < 1:
        raise ConfigError(f"num_envs must be at least 1, got {num_envs}")
    if vectorization_mode not in ("sync", "async"):
        raise ConfigError(
            f"vectorization_mode must be 'sync' or 'async', got {vectorization_mode!r}"
        )
    vector_kwargs = {"shared_memory": False} if vectorization_mode == "async" else {}
    return gymnasium.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode=vectorization_mode,
        vector_kwargs=vector_kwargs,
        **env_kwargs,
    )
