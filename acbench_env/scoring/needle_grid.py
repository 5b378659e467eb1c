"""The needle grid: scores over context length x needle depth, and its heatmap.

:func:`grid_from_trajectories` is a pure function from needle trajectories to a
:class:`NeedleGrid` (the mean episode score per cell, with the scoring rule of the env that
produced them); :func:`render_heatmap` draws it as a PNG with matplotlib's Agg canvas
(no display, no global pyplot state). The sweep that produces the trajectories is
:func:`acbench_env.experiments.needle_sweep.run_needle_grid`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from acbench_env.core.errors import ConfigError, require
from acbench_env.core.types import Trajectory

#: The rule of acbench/Needle-v0, stated once for the run and the plot.
NEEDLE_SCORING_RULE = (
    "exact match: the first number in the answer (NFKC, digit separators removed) equals "
    "the needle's value; greedy decoding"
)


@dataclass(frozen=True)
class NeedleGrid:
    """Mean score per (depth, length) cell; ``scores[i][j]`` is depth ``i``, length ``j``
    (``nan`` where a cell has no episode)."""

    env_id: str
    model_id: str
    lengths: tuple[int, ...]
    depths: tuple[float, ...]
    scores: tuple[tuple[float, ...], ...]
    episodes: tuple[tuple[int, ...], ...]
    scoring_rule: str = NEEDLE_SCORING_RULE
    truncation: str | None = None

    def mean_by_length(self) -> list[float]:
        """Mean over depths of each length (cells without episodes skipped)."""
        out = []
        for j in range(len(self.lengths)):
            col = [row[j] for row in self.scores if not math.isnan(row[j])]
            out.append(sum(col) / len(col) if col else float("nan"))
        return out

    def to_json(self) -> str:
        data = asdict(self)
        data["scores"] = [[None if math.isnan(v) else v for v in row] for row in self.scores]
        data["mean_by_length"] = [None if math.isnan(v) else v for v in self.mean_by_length()]
        return json.dumps(data, indent=2)

    @classmethod
    def from_json(cls, text: str) -> NeedleGrid:
        data = json.loads(text)
        data.pop("mean_by_length", None)
        return cls(
            env_id=data["env_id"],
            model_id=data["model_id"],
            lengths=tuple(int(x) for x in data["lengths"]),
            depths=tuple(float(x) for x in data["depths"]),
            scores=tuple(
                tuple(float("nan") if v is None else float(v) for v in row)
                for row in data["scores"]
            ),
            episodes=tuple(tuple(int(v) for v in row) for row in data["episodes"]),
            scoring_rule=data.get("scoring_rule", NEEDLE_SCORING_RULE),
            truncation=data.get("truncation"),
        )


def grid_from_trajectories(
    trajectories: Iterable[Trajectory],
    lengths: Sequence[int],
    depths: Sequence[float],
    *,
    scoring_rule: str = NEEDLE_SCORING_RULE,
) -> NeedleGrid:
    """Group trajectories by their ``context_length`` and ``depth`` env arguments and
    average their scores. Trajectories of other cells, envs or models are refused."""
    if not lengths or not depths:
        raise ConfigError("a needle grid needs at least one length and one depth")
    trajs = list(trajectories)
    env_ids = {t.env_id for t in trajs}
    models = {t.model.model_id for t in trajs}
    if len(env_ids) > 1 or len(models) > 1:
        raise ConfigError(
            f"a grid holds one env and one model; got envs {sorted(env_ids)} and models "
            f"{sorted(models)}"
        )
    sums = [[0.0] * len(lengths) for _ in depths]
    counts = [[0] * len(lengths) for _ in depths]
    truncation: set[Any] = set()
    for t in trajs:
        kw = t.env_kwargs
        try:
            j = list(lengths).index(int(kw["context_length"]))
            i = [round(float(d), 6) for d in depths].index(round(float(kw["depth"]), 6))
        except (KeyError, ValueError, TypeError):
            raise ConfigError(
                f"trajectory {t.task_id} (env arguments {kw}) is not a cell of this grid"
            ) from None
        truncation.add(kw.get("truncation"))
        sums[i][j] += t.score
        counts[i][j] += 1
    return NeedleGrid(
        env_id=next(iter(env_ids), ""),
        model_id=next(iter(models), ""),
        lengths=tuple(int(x) for x in lengths),
        depths=tuple(float(d) for d in depths),
        scores=tuple(
            tuple(s / c if c else float("nan") for s, c in zip(srow, crow))
            for srow, crow in zip(sums, counts)
        ),
        episodes=tuple(tuple(row) for row in counts),
        scoring_rule=scoring_rule,
        truncation=next(iter(truncation - {None}), None),
    )


def render_heatmap(grid: NeedleGrid, path: str | Path, *, title: str | None = None) -> Path:
    """Draw ``grid`` (x: context length in target tokens, y: needle depth) as a PNG."""
    require("matplotlib", "plot", "Rendering the needle heatmap")
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.figure import Figure

    data = np.array(grid.scores, dtype=float)
    fig = Figure(figsize=(1.6 + 1.1 * len(grid.lengths), 1.4 + 0.6 * len(grid.depths)))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    cmap = LinearSegmentedColormap.from_list("needle", ["#d7301f", "#fee08b", "#1a9850"])
    cmap.set_bad("#cccccc")
    image = ax.imshow(np.ma.masked_invalid(data), cmap=cmap, vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(grid.lengths)), [str(n) for n in grid.lengths])
    ax.set_yticks(range(len(grid.depths)), [f"{d:.0%}" for d in grid.depths])
    ax.set_xlabel("context length (target-model tokens)")
    ax.set_ylabel("needle depth")
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            label = "n/a" if math.isnan(data[i, j]) else f"{data[i, j]:.2f}"
            ax.text(j, i, label, ha="center", va="center", fontsize=8, color="black")
    heading = title or f"{grid.env_id} — {grid.model_id}"
    if grid.truncation:
        heading += f" (truncation: {grid.truncation})"
    ax.set_title(heading, fontsize=10)
    fig.colorbar(image, ax=ax, label="score (exact match)")
    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    return out
