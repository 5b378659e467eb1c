"""The paper's three claims as paired contrasts over a suite folder's trajectories.

Usage: ``python benchmarks/paper_claims.py SUITE_DIR`` where SUITE_DIR holds runs of the
base ``default`` and the variants ``gptq-w4``, ``awq-w4``, ``rtn-w4`` (4-bit) and
``magnitude-50``, ``wanda-50``, ``sparsegpt-50`` (50% pruning), paired by env and seed.
Each contrast uses the report's weighting (capabilities equal, tasks equal within one) and
its interval (adjusted-t) and MDE.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from acbench_env.scoring.intervals import paired_interval
from acbench_env.scoring.power import delta_mde

QUANT = ("gptq-w4", "awq-w4", "rtn-w4")
PRUNE = ("magnitude-50", "wanda-50", "sparsegpt-50")
Key = tuple[str, int]


def load(root: Path) -> tuple[dict[str, dict[Key, float]], dict[str, str]]:
    scores: dict[str, dict[Key, float]] = defaultdict(dict)
    caps: dict[str, str] = {}
    for folder in sorted((root / "runs").iterdir()):
        for f in sorted(folder.glob("*.jsonl")):
            for line in f.read_text().splitlines():
                t = json.loads(line)
                scores[folder.name][(t["env_id"], t["seed"])] = float(t["score"])
                caps[t["env_id"]] = str(t.get("capability"))
    return scores, caps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("suite_dir", type=Path)
    args = ap.parse_args()
    scores, caps = load(args.suite_dir)
    by_cap: dict[str, list[str]] = defaultdict(list)
    for env in sorted(caps):
        by_cap[caps[env]].append(env)
    keys = {e: sorted(k for k in scores["default"] if k[0] == e) for e in caps}

    def contrast(
        name: str, f: Callable[[Key], float], weight: dict[str, float], scale: float = 1.0
    ) -> None:
        """``scale`` times the weighted mean of ``f`` (the weights are normalized)."""
        envs = [e for e in sorted(caps) if weight.get(e)]
        diffs = [[f(k) for k in keys[e]] for e in envs]
        w = [weight[e] for e in envs]
        iv = paired_interval(diffs, w)
        mark = "excludes 0" if iv.excludes_zero else "includes 0"
        print(
            f"{name:58s} {scale * iv.estimate:+.3f} [{scale * iv.low:+.3f}, "
            f"{scale * iv.high:+.3f}] pairs {iv.pairs} {mark}, "
            f"MDE {scale * delta_mde(diffs, w):.3f}"
        )

    overall = {e: 1 / (len(by_cap) * len(by_cap[caps[e]])) for e in caps}

    def mean(labels: tuple[str, ...], k: Key) -> float:
        return sum(scores[label][k] for label in labels) / len(labels)

    contrast(
        "4-bit (mean of 3) minus 50% pruning (mean of 3)",
        lambda k: mean(QUANT, k) - mean(PRUNE, k),
        overall,
    )
    others = (*QUANT, *PRUNE[1:])
    for other in others:
        contrast(
            f"magnitude-50 minus {other}",
            lambda k, o=other: scores["magnitude-50"][k] - scores[o][k],  # type: ignore[misc]
            overall,
        )
    contrast(
        "magnitude-50 minus the mean of the other five",
        lambda k: scores["magnitude-50"][k] - mean(others, k),
        overall,
    )
    # Real-world delta minus the mean of the workflow and tool-use deltas: the sign of the
    # other capabilities' differences is flipped, and weights give each side its mean (they
    # sum to 2, and the interval normalizes them: hence scale 2).
    rw, wf, tu = by_cap["real_world_application"], by_cap["workflow_generation"], by_cap["tool_use"]
    weight = {e: 1 / len(rw) for e in rw} | {e: 0.5 / len(wf) for e in wf}
    weight |= {e: 0.5 / len(tu) for e in tu}
    for v in (*QUANT, *PRUNE):
        contrast(
            f"{v}: real-world delta minus mean(workflow, tool-use) delta",
            lambda k, v=v: (1 if k[0] in rw else -1) * (scores[v][k] - scores["default"][k]),  # type: ignore[misc]
            weight,
            scale=2.0,
        )


if __name__ == "__main__":
    main()
