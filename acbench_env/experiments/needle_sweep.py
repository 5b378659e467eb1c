"""The needle sweep: run an agent over a grid of context lengths x needle depths.

Each cell (length, depth) is a run of ``acbench/Needle-v0`` with ``context_length`` and
``depth`` fixed, saved to its own JSON Lines file under ``out_dir/cells/`` (so an
interrupted sweep resumes cell by cell); the grid (``grid.json``) and, on request, the
heatmap (``heatmap.png``) are written from those trajectories. Every cell's arguments are
checked (window, depth, lengths) before the agent answers anything.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from acbench_env.core.errors import ConfigError
from acbench_env.core.protocols import Agent
from acbench_env.core.registry import make
from acbench_env.core.types import Trajectory
from acbench_env.core.validation import fraction, positive_int
from acbench_env.experiments.runner import run_episodes
from acbench_env.scoring.needle_grid import NeedleGrid, grid_from_trajectories, render_heatmap

logger = logging.getLogger(__name__)

NEEDLE_ENV = "acbench/Needle-v0"


def cell_kwargs(
    length: int, depth: float, truncation: str | None, extra: dict[str, Any] | None
) -> dict[str, Any]:
    """The env arguments of one cell."""
    kwargs: dict[str, Any] = {**(extra or {}), "context_length": length, "depth": depth}
    if truncation is not None:
        kwargs["truncation"] = truncation
    return kwargs


def check_grid_axes(lengths: Sequence[int], depths: Sequence[float]) -> None:
    """Clear errors for empty, duplicate, non-positive lengths and depths outside [0, 1]."""
    if not lengths or not depths:
        raise ConfigError("a needle grid needs at least one length and one depth")
    for n in lengths:
        positive_int("lengths (target tokens)", n)
    for d in depths:
        fraction("depths", d)
    if len(set(lengths)) != len(lengths) or len(set(depths)) != len(depths):
        raise ConfigError("lengths and depths must not repeat")


def check_cells(
    lengths: Sequence[int],
    depths: Sequence[float],
    truncation: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
) -> None:
    """Build every cell's env once (cheap: no task is generated) so that a bad length,
    depth or window fails before any model is loaded or episode run."""
    check_grid_axes(lengths, depths)
    for d in depths:
        for n in lengths:
            make(NEEDLE_ENV, **cell_kwargs(n, float(d), truncation, env_kwargs)).close()


def run_needle_grid(
    agent: Agent,
    lengths: Sequence[int],
    depths: Sequence[float],
    *,
    episodes_per_cell: int = 2,
    seed: int = 0,
    out_dir: str | Path,
    truncation: str | None = None,
    env_kwargs: dict[str, Any] | None = None,
    batch_size: int = 1,
    heatmap: bool = True,
    progress: bool = False,
) -> NeedleGrid:
    """Sweep ``lengths`` x ``depths`` with ``agent``; write trajectories, grid.json and
    (if ``heatmap``) heatmap.png under ``out_dir``; return the grid.

    Decoding is the agent's (use greedy for the reference figure); the scoring rule is
    ``acbench/Needle-v0``'s. Lengths beyond the model's window are refused before any
    episode runs unless ``truncation`` is ``"left"`` or ``"middle"``.
    """
    positive_int("episodes_per_cell", episodes_per_cell)
    check_cells(lengths, depths, truncation, env_kwargs)
    cells = [(n, float(d)) for d in depths for n in lengths]
    out = Path(out_dir)
    (out / "cells").mkdir(parents=True, exist_ok=True)
    trajectories: list[Trajectory] = []
    for n, d in sorted(cells):
        path = out / "cells" / f"len{n}-depth{d:g}.jsonl"
        result = run_episodes(
            NEEDLE_ENV,
            agent,
            episodes=episodes_per_cell,
            seed=seed,
            out=path,
            env_kwargs=cell_kwargs(n, d, truncation, env_kwargs),
            batch_size=batch_size,
            progress=progress,
        )
        mean = sum(t.score for t in result.trajectories) / len(result.trajectories)
        logger.info("needle grid cell length=%d depth=%g: mean score %.3f", n, d, mean)
        trajectories.extend(result.trajectories)
    grid = grid_from_trajectories(trajectories, list(lengths), [float(d) for d in depths])
    (out / "grid.json").write_text(grid.to_json() + "\n")
    if heatmap:
        render_heatmap(grid, out / "heatmap.png")
    return grid
