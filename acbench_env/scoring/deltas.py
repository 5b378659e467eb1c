"""Compression deltas with paired bootstrap intervals, and pass@k / pass^k.

A compressed model is compared with its base on the *same* episodes (same env, same env
arguments, same seed, hence the same task). The delta of a task is
``mean(compressed) - mean(base)`` over the paired episodes; its interval comes from a
paired interval over the per-episode differences (so the task-to-task variation that both
models share cancels): by default the adjusted t interval of
:mod:`acbench_env.scoring.intervals`, which keeps its coverage near 95% at small n, and a
delta is flagged as excluding 0 only on enough pairs for the method
(:data:`~acbench_env.scoring.intervals.MIN_PAIRS_TO_FLAG`: 10 for adjusted-t).
``method="percentile"`` gives the earlier stratified percentile bootstrap (which
under-covers at small n, so it flags only from 30 pairs). A capability delta is a weighted
mean of task deltas, its interval stratified by task. Every delta also carries ``mde``, the
minimum detectable effect its own pairs give (:func:`acbench_env.scoring.power.delta_mde`).
The relative change's interval is a stratified paired bootstrap.

All functions are pure; the resampling RNG is a seeded :class:`numpy.random.Generator`,
so the same inputs always give the same interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from acbench_env.core.errors import ConfigError
from acbench_env.core.validation import fraction, positive_int
from acbench_env.scoring.intervals import DEFAULT_METHOD, MIN_PAIRS_TO_FLAG, paired_interval
from acbench_env.scoring.power import delta_mde

#: Bootstrap defaults used in reports.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0


@dataclass(frozen=True)
class PairedGroup:
    """Paired scores of one task: ``base[i]`` and ``compressed[i]`` come from the same episode
    seed. ``weight`` is the task's weight in a weighted (capability) delta."""

    base: tuple[float, ...]
    compressed: tuple[float, ...]
    weight: float = 1.0


@dataclass(frozen=True)
class Delta:
    """Compressed minus base: absolute and relative change, each with a bootstrap interval.

    ``relative`` is ``absolute / base_mean`` (``nan`` when the base mean is 0);
    ``significant`` is true when the absolute interval excludes 0 and ``supported`` (the
    interval ``method`` is trusted to flag at this many pairs). ``mde`` is the minimum
    detectable effect (80% power) of these pairs (``inf`` with fewer than 2 per task).
    """

    pairs: int
    base_mean: float
    compressed_mean: float
    absolute: float
    ci_low: float
    ci_high: float
    relative: float
    relative_ci_low: float
    relative_ci_high: float
    confidence: float
    method: str = "percentile"
    supported: bool = True
    mde: float = float("nan")

    @property
    def significant(self) -> bool:
        return (
            self.supported
            and not math.isnan(self.ci_low)
            and (self.ci_low > 0.0 or self.ci_high < 0.0)
        )


def _ratio(num: float, den: float) -> float:
    return num / den if den != 0 else float("nan")


def stratified_bootstrap(
    groups: Sequence[Sequence[np.ndarray]],
    weights: Sequence[float],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> list[np.ndarray]:
    """Bootstrap distributions of weighted sums of group means, groups resampled independently.

    ``groups[i]`` holds one or more equally long arrays (paired series: the same resampled
    indices are used for all of them) and ``weights[i]`` their weight (already normalised).
    Returns one array of ``resamples`` values per series: ``Σ_i weights[i] * mean`` of the
    resampled ``groups[i][j]``. The RNG (seeded) draws one index matrix per group, in order.
    """
    rng = np.random.default_rng(seed)
    series = len(groups[0]) if groups else 0
    boots = [np.zeros(resamples) for _ in range(series)]
    for arrays, w in zip(groups, weights):
        size = arrays[0].size
        idx = rng.integers(0, size, size=(resamples, size))
        for boot, arr in zip(boots, arrays):
            boot += w * arr[idx].mean(axis=1)
    return boots


def paired_bootstrap_delta(
    groups: Sequence[PairedGroup],
    *,
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    method: str = DEFAULT_METHOD,
) -> Delta:
    """Weighted mean over ``groups`` of ``mean(compressed) - mean(base)``, with a paired
    interval of ``method`` (see :mod:`acbench_env.scoring.intervals`; ``"percentile"`` is
    the stratified percentile bootstrap, pairs resampled within each group) and the MDE of
    its pairs.
    """
    fraction("confidence", confidence, include_low=False, include_high=False)
    resamples = positive_int("resamples", resamples)
    used = [g for g in groups if g.base]
    for g in used:
        if len(g.base) != len(g.compressed):
            raise ConfigError(
                f"paired scores differ in length ({len(g.base)} base, {len(g.compressed)} "
                "compressed); pair episodes by seed before computing a delta"
            )
        if g.weight < 0:
            raise ConfigError(f"group weights must be >= 0, got {g.weight}")
    total_weight = sum(g.weight for g in used)
    if not used or total_weight <= 0:
        nan = float("nan")
        return Delta(0, nan, nan, nan, nan, nan, nan, nan, nan, confidence, method, False)
    base_mean = 0.0
    comp_mean = 0.0
    weights = [g.weight / total_weight for g in used]
    samples = []
    for g, w in zip(used, weights):
        b = np.asarray(g.base, dtype=np.float64)
        c = np.asarray(g.compressed, dtype=np.float64)
        base_mean += w * float(b.mean())
        comp_mean += w * float(c.mean())
        samples.append((b, c))
    boot_base, boot_comp = stratified_bootstrap(samples, weights, resamples=resamples, seed=seed)
    alpha = (1.0 - confidence) / 2.0
    diffs = boot_comp - boot_base
    lo, hi = (float(v) for v in np.quantile(diffs, [alpha, 1.0 - alpha]))
    pair_diffs = [[c - b for b, c in zip(g.base, g.compressed)] for g in used]
    if method == "percentile":
        supported = sum(len(g.base) for g in used) >= MIN_PAIRS_TO_FLAG["percentile"]
    else:
        iv = paired_interval(pair_diffs, weights, method=method, confidence=confidence, seed=seed)
        lo, hi, supported = iv.low, iv.high, iv.supported
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(boot_base != 0, diffs / np.where(boot_base != 0, boot_base, 1.0), np.nan)
    finite = rel[np.isfinite(rel)]
    if base_mean != 0 and finite.size == resamples:
        rlo, rhi = (float(v) for v in np.quantile(finite, [alpha, 1.0 - alpha]))
    else:
        # Some resamples have a base mean of 0: the relative change is unbounded there.
        rlo = rhi = float("nan")
    absolute = comp_mean - base_mean
    return Delta(
        pairs=sum(len(g.base) for g in used),
        base_mean=base_mean,
        compressed_mean=comp_mean,
        absolute=absolute,
        ci_low=lo,
        ci_high=hi,
        relative=_ratio(absolute, base_mean),
        relative_ci_low=rlo,
        relative_ci_high=rhi,
        confidence=confidence,
        method=method,
        supported=supported,
        mde=delta_mde(pair_diffs, weights, confidence=confidence),
    )


def _comb(n: int, k: int) -> int:
    return math.comb(n, k) if 0 <= k <= n else 0


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k: the chance that at least one of ``k`` of the ``n`` attempts (``c``
    of them correct) succeeds, ``1 - C(n-c, k) / C(n, k)``."""
    _check_counts(n, c, k)
    return 1.0 - _comb(n - c, k) / _comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k (tau-bench): the chance that ``k`` attempts drawn from the ``n`` all succeed,
    ``C(c, k) / C(n, k)``."""
    _check_counts(n, c, k)
    return _comb(c, k) / _comb(n, k)


def _check_counts(n: int, c: int, k: int) -> None:
    if n < 1 or not 0 <= c <= n:
        raise ConfigError(f"need n >= 1 attempts and 0 <= c <= n successes, got n={n}, c={c}")
    if not 1 <= k <= n:
        raise ConfigError(f"k must be in 1..n={n}, got {k}")


def mean_pass_at_k(successes: Sequence[Sequence[bool]], k: int) -> tuple[float, float]:
    """(mean pass@k, mean pass^k) over tasks, each given as the outcomes of its attempts."""
    if not successes:
        return (float("nan"), float("nan"))
    at = [pass_at_k(len(s), sum(bool(x) for x in s), k) for s in successes]
    hat = [pass_hat_k(len(s), sum(bool(x) for x in s), k) for s in successes]
    return (float(np.mean(at)), float(np.mean(hat)))
