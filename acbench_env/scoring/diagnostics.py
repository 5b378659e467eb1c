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

From a backend that returns only the top-k of each next-token distribution (vLLM's prompt
logprobs), :func:`topk_token_stats` gives ``top1`` and ``rank`` exactly (vLLM ranks the
target over the whole vocabulary) and, instead of the full KL, ``KL_topk``: the KL of the two
distributions coarsened to the tokens listed by both plus one "rest" bucket. Coarsening
never increases a KL (data-processing inequality), so ``KL_topk <= KL``: a lower bound,
recorded as ``kl_method: "topk-<k>"``, never as the full KL. :func:`backend_agreement`
compares two backends' numbers on the same replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
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


#: One position of a top-k listing, as vLLM's prompt logprobs give it: token id ->
#: (logprob, rank over the whole vocabulary, 1-based). It holds the k most likely tokens and
#: the target token (with its own rank, whatever it is).
TopK = Mapping[int, tuple[float, int]]


def kl_method_name(k: int | None) -> str:
    """``"full"`` (KL over the whole vocabulary) or ``"topk-<k>"`` (the coarsened lower
    bound of :func:`topk_token_stats`)."""
    return "full" if k is None else f"topk-{int(k)}"


def coarse_kl(base: TopK, compressed: TopK) -> float:
    """KL(base || compressed) of the two distributions coarsened to the tokens listed in
    both (exact probabilities under both models) plus one bucket for every other token.
    A lower bound on the full KL (data-processing inequality); 0 when they agree on every
    shared token and on the rest."""
    shared = set(base) & set(compressed)
    lb = np.array([base[t][0] for t in shared], dtype=np.float64)
    lc = np.array([compressed[t][0] for t in shared], dtype=np.float64)
    kl = float((np.exp(lb) * (lb - lc)).sum()) if shared else 0.0
    rest_b = max(0.0, 1.0 - float(np.exp(lb).sum()))
    rest_c = max(0.0, 1.0 - float(np.exp(lc).sum()))
    # A rest mass below float32 resolution (the listing holds ~all the mass) adds nothing.
    if rest_b > 1e-6:
        kl += rest_b * (np.log(rest_b) - np.log(max(rest_c, 1e-12)))
    return max(kl, 0.0)


def topk_token_stats(
    base: Sequence[TopK], compressed: Sequence[TopK], targets: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per position ``t`` from top-k listings that predict ``targets[t]``: the coarsened
    KL lower bound (:func:`coarse_kl`), whether the compressed top-1 is ``targets[t]``, the
    rank of ``targets[t]`` under the compressed model (exact: the listing's own rank), its
    compressed logprob, and the compressed model's top-1 token."""
    if not len(base) == len(compressed) == len(targets):
        raise ConfigError(
            f"one top-k listing per target from each model; got {len(base)}, "
            f"{len(compressed)} and {len(targets)} targets"
        )
    n = len(targets)
    kl, lp = np.zeros(n), np.zeros(n)
    rank = np.zeros(n, dtype=np.int64)
    argmax = np.zeros(n, dtype=np.int64)
    for i, (b, c, tgt) in enumerate(zip(base, compressed, targets)):
        if int(tgt) not in c:
            raise ConfigError(
                f"position {i}: the compressed listing lacks the target token {int(tgt)} "
                "(vLLM's prompt logprobs always list the prompt token; was it the same prompt?)"
            )
        lp[i], rank[i] = float(c[tgt][0]), int(c[tgt][1])
        argmax[i] = max(c, key=lambda t: (c[t][0], -c[t][1]))
        kl[i] = coarse_kl(b, c)
    return kl, rank == 1, rank, lp, argmax


def backend_agreement(
    a: Mapping[str, Sequence[Any]], b: Mapping[str, Sequence[Any]]
) -> dict[str, Any]:
    """How far two backends agree on one teacher-forced replay. ``a`` and ``b`` hold, per
    output token in the same order, ``"pred"`` (the model's top-1 token id), ``"rank"`` (the
    base token's rank) and ``"logprob"`` (the base token's logprob). Returns the token count,
    the share of tokens with the same top-1 token, the same ``top1`` verdict, the same rank
    and a rank within 1, and the mean / max / p99 absolute logprob difference."""
    n = len(a["pred"])
    if any(len(x[key]) != n for x in (a, b) for key in ("pred", "rank", "logprob")):
        raise ConfigError("both backends need pred, rank and logprob for every token")
    if n == 0:
        raise ConfigError("no tokens to compare")
    pa, pb = np.asarray(a["pred"]), np.asarray(b["pred"])
    ra, rb = np.asarray(a["rank"]), np.asarray(b["rank"])
    d = np.abs(np.asarray(a["logprob"], dtype=np.float64) - np.asarray(b["logprob"]))
    return {
        "tokens": n,
        "same_top1_token": float((pa == pb).mean()),
        "same_top1_verdict": float(((ra == 1) == (rb == 1)).mean()),
        "same_rank": float((ra == rb).mean()),
        "rank_within_1": float((np.abs(ra - rb) <= 1).mean()),
        "logprob_abs_diff_mean": float(d.mean()),
        "logprob_abs_diff_p99": float(np.quantile(d, 0.99)),
        "logprob_abs_diff_max": float(d.max()),
    }


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
