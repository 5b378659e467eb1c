"""Where a compressed model departs from its base on the base model's own actions.

The base model's stored outputs are replayed teacher-forced through a compressed model
(the driver is :mod:`acbench_env.experiments.diagnose`); per output token this module
computes, from the two models' next-token logits at that position:

- ``kl``: KL(base || compressed) of the two next-token distributions (nats);
- ``top1``: whether the compressed model's most likely token is the base token;
- ``rank``: the base token's rank under the compressed model (1 = its top choice).

Tokens carry a class (:mod:`acbench_env.scoring.token_classes`); :func:`summarize`
aggregates per class, per capability, and the *first divergence* of each output: the first
token where the compressed model's greedy choice differs from the base token, i.e. where
greedy decoding of the compressed model would leave the base model's path (its position
and class). Intervals are percentile bootstraps over episodes (a class's mean is the
token-weighted mean over the resampled episodes). All functions are pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from acbench_env.core.errors import ConfigError
from acbench_env.scoring.token_classes import CLASSES

#: Bootstrap defaults for diagnostics.
RESAMPLES = 1000
SEED = 0


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise log-softmax in float64."""
    x = np.asarray(logits, dtype=np.float64)
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def token_stats(
    base_logits: np.ndarray, compressed_logits: np.ndarray, targets: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per position ``t`` (rows of ``[T, vocab]`` logits that predict ``targets[t]``):
    KL(base || compressed), whether the compressed argmax is ``targets[t]``, and the rank of
    ``targets[t]`` under the compressed logits (1-based; ties count in its favour)."""
    b = log_softmax(base_logits)
    c = log_softmax(compressed_logits)
    if b.shape != c.shape or b.ndim != 2 or b.shape[0] != len(targets):
        raise ConfigError(
            f"logits must be [tokens, vocab] of the same shape with one row per target; got "
            f"{b.shape}, {c.shape} and {len(targets)} targets"
        )
    kl = np.maximum((np.exp(b) * (b - c)).sum(axis=-1), 0.0)
    tgt = np.asarray(targets, dtype=np.int64)
    at = c[np.arange(len(tgt)), tgt]
    rank = (c > at[:, None]).sum(axis=-1) + 1
    top1 = rank == 1
    return kl, top1, rank.astype(np.int64)


@dataclass(frozen=True)
class StepDiagnosis:
    """The token diagnostics of one base-model output (one step of one episode)."""

    env_id: str
    seed: int
    step: int
    capability: str
    classes: tuple[str, ...]
    kl: tuple[float, ...]
    top1: tuple[bool, ...]
    rank: tuple[int, ...]

    @property
    def episode(self) -> tuple[str, int]:
        return (self.env_id, self.seed)

    def first_divergence(self) -> tuple[int, str] | None:
        """(position, class) of the first token whose compressed top-1 is not the base
        token, or None when greedy decoding would reproduce the whole output."""
        for pos, (ok, cls) in enumerate(zip(self.top1, self.classes)):
            if not ok:
                return pos, cls
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "env_id": self.env_id,
            "seed": self.seed,
            "step": self.step,
            "capability": self.capability,
            "classes": list(self.classes),
            "kl": [round(float(x), 6) for x in self.kl],
            "top1": [bool(x) for x in self.top1],
            "rank": [int(x) for x in self.rank],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepDiagnosis:
        return cls(
            env_id=str(data["env_id"]),
            seed=int(data["seed"]),
            step=int(data["step"]),
            capability=str(data["capability"]),
            classes=tuple(data["classes"]),
            kl=tuple(float(x) for x in data["kl"]),
            top1=tuple(bool(x) for x in data["top1"]),
            rank=tuple(int(x) for x in data["rank"]),
        )


def _interval(boot: np.ndarray, confidence: float) -> list[float]:
    boot = boot[np.isfinite(boot)]
    if boot.size == 0:
        return [float("nan"), float("nan")]
    alpha = (1.0 - confidence) / 2.0
    return [float(np.quantile(boot, alpha)), float(np.quantile(boot, 1.0 - alpha))]


def _class_table(
    steps: Sequence[StepDiagnosis], resamples: int, seed: int, confidence: float
) -> dict[str, dict[str, Any]]:
    """Per class (and ``"all"``): tokens, mean KL, top-1 agreement, mean log2 rank, with
    bootstrap intervals over episodes."""
    episodes = sorted({s.episode for s in steps})
    index = {e: i for i, e in enumerate(episodes)}
    names = [*CLASSES, "all"]
    n_e, n_c = len(episodes), len(names)
    count = np.zeros((n_e, n_c))
    kl_sum = np.zeros((n_e, n_c))
    agree = np.zeros((n_e, n_c))
    col = {c: i for i, c in enumerate(names)}
    for s in steps:
        e = index[s.episode]
        for cls, kl, ok in zip(s.classes, s.kl, s.top1):
            for j in (col[cls], col["all"]):
                count[e, j] += 1
                kl_sum[e, j] += kl
                agree[e, j] += ok
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_e, np.full(n_e, 1.0 / n_e), size=resamples) if n_e else None
    out: dict[str, dict[str, Any]] = {}
    for name, j in col.items():
        tokens = int(count[:, j].sum())
        if tokens == 0:
            continue
        row: dict[str, Any] = {
            "tokens": tokens,
            "episodes": int((count[:, j] > 0).sum()),
            "kl": float(kl_sum[:, j].sum() / tokens),
            "top1_agreement": float(agree[:, j].sum() / tokens),
        }
        if weights is not None:
            with np.errstate(invalid="ignore", divide="ignore"):
                n = weights @ count[:, j]
                row["kl_ci"] = _interval((weights @ kl_sum[:, j]) / n, confidence)
                row["top1_agreement_ci"] = _interval((weights @ agree[:, j]) / n, confidence)
        out[name] = row
    return out


def summarize(
    steps: Iterable[StepDiagnosis],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """Aggregate one variant's step diagnoses.

    Returns ``{"classes": {class: row}, "capabilities": {capability: {class: row}},
    "first_divergence": {...}}``, where a row holds ``tokens``, ``episodes``, ``kl``,
    ``top1_agreement`` and their intervals (``kl_ci``, ``top1_agreement_ci``), and the
    first divergence counts the outputs that diverge, by class, with their positions.
    """
    if resamples < 1:
        raise ConfigError(f"resamples must be at least 1, got {resamples}")
    steps = [s for s in steps if s.classes]
    capabilities: dict[str, list[StepDiagnosis]] = {}
    for s in steps:
        capabilities.setdefault(s.capability, []).append(s)
    by_class = dict.fromkeys(CLASSES, 0)
    positions: dict[str, list[int]] = {c: [] for c in CLASSES}
    diverged = 0
    for s in steps:
        first = s.first_divergence()
        if first is not None:
            diverged += 1
            by_class[first[1]] += 1
            positions[first[1]].append(first[0])
    return {
        "classes": _class_table(steps, resamples, seed, confidence),
        "capabilities": {
            cap: _class_table(group, resamples, seed, confidence)
            for cap, group in sorted(capabilities.items())
        },
        "first_divergence": {
            "outputs": len(steps),
            "diverged": diverged,
            "by_class": {c: n for c, n in by_class.items() if n},
            "positions": {c: p for c, p in positions.items() if p},
            "median_position": (
                float(np.median([p for ps in positions.values() for p in ps])) if diverged else None
            ),
        },
    }


def position_histogram(
    positions: dict[str, Sequence[int]], edges: Sequence[int] = (0, 1, 2, 4, 8, 16, 32, 64)
) -> dict[str, list[int]]:
    """Counts of first-divergence positions per class in the bins ``[edges[i], edges[i+1])``
    (the last bin open-ended)."""
    bounds = [*edges, np.inf]
    out: dict[str, list[int]] = {}
    for cls, ps in positions.items():
        arr = np.asarray(ps)
        out[cls] = [int(((arr >= lo) & (arr < hi)).sum()) for lo, hi in zip(bounds, bounds[1:])]
    return out
