"""Statistical power of paired comparisons: episodes needed for an effect, and the minimum
detectable effect (MDE) of the episodes run.

A delta is detected when its interval (the default adjusted t interval of
:mod:`acbench_env.scoring.intervals`) excludes 0. For ``n`` paired differences with
standard deviation ``sd`` and true mean ``effect``, that interval is centred on
``N = n + 2k`` (``k`` = :data:`~acbench_env.scoring.intervals.PSEUDO_PAIRS`, the
pseudo-differences at each end): its centre ``sum(d) / N`` has mean ``n effect / N`` and
sampling spread ``se_true = sd sqrt(n) / N``, while its half-width is ``t * se_est`` with
``se_est = sqrt((n sd^2 + 2k) / ((N - 1) N))`` (the pseudo-pairs widen the interval, they
add no sampling noise). So the power is about
``Phi((|effect| n / N - t se_est) / se_true)``. :func:`episodes_for_effect`
finds the smallest ``n`` with power >= ``power``; :func:`mde` inverts it for a given ``n``.
Both also take the plain t interval (``method="t"``, no pseudo-pairs).

For a weighted mean over tasks (a capability or overall delta) the variances add:
:func:`weighted_mde` gives its MDE and :func:`allocate_episodes` the fewest episodes per task
(Neyman allocation, ``n_t`` proportional to ``w_t sd_t``) that reach a target MDE.

The paired-difference spread is not known before the compressed model runs; from a base-only
pilot, :func:`sd_diff_from_pilot` assumes the compressed scores spread like the base's with
correlation ``pair_correlation`` (``sd_diff = sd * sqrt(2 (1 - rho))``); a pilot whose scores
are all equal (all 0s or all 1s) gets the add-one (Laplace) Bernoulli spread instead of 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from acbench_env.core.errors import ConfigError
from acbench_env.scoring.intervals import PSEUDO_PAIRS

#: Power used when none is given (the issue's 80%).
DEFAULT_POWER = 0.8
#: Largest episode count the planners return (a task that needs more is capped and flagged).
MAX_EPISODES = 100_000


def _quantiles(confidence: float, power: float, df: float) -> tuple[float, float]:
    from scipy import stats

    return float(stats.t.ppf(0.5 + confidence / 2.0, df)), float(stats.norm.ppf(power))


def _check(sd: float, power: float, confidence: float) -> None:
    if not sd >= 0 or math.isinf(sd):
        raise ConfigError(f"the paired-difference sd must be a finite number >= 0, got {sd}")
    if not 0.0 < power < 1.0:
        raise ConfigError(f"power must be in (0, 1), got {power}")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}")


def _shape(
    n: float, sd: float, method: str, pseudo: float = PSEUDO_PAIRS
) -> tuple[float, float, float, float]:
    """(shrink of the effect, estimated standard error (sets the half-width), sampling
    spread of the centre, df) of the interval over ``n`` pairs with ``pseudo``
    pseudo-differences at each end (a task of weight ``w`` in a weighted delta gets
    ``w * PSEUDO_PAIRS``, as in the interval)."""
    if method == "adjusted-t":
        size = n + 2.0 * pseudo
        var = (n * sd * sd + 2.0 * pseudo) / (size - 1.0)
        return n / size, math.sqrt(var / size), sd * math.sqrt(n) / size, size - 1.0
    if method == "t":
        se = sd / math.sqrt(n)
        return 1.0, se, se, max(n - 1.0, 1.0)
    raise ConfigError(f"power is planned for method 'adjusted-t' or 't', not {method!r}")


def power_of(
    n: int,
    sd: float,
    effect: float,
    *,
    confidence: float = 0.95,
    method: str = "adjusted-t",
) -> float:
    """Probability that ``n`` pairs detect a true mean difference ``effect`` (normal approx.)."""
    from scipy import stats

    _check(sd, 0.5, confidence)
    if n < 2:
        return 0.0
    shrink, se_est, se_true, df = _shape(float(n), sd, method)
    crit, _ = _quantiles(confidence, 0.5, df)
    margin = abs(effect) * shrink - crit * se_est
    if se_true == 0:
        return 1.0 if margin > 0 else 0.0
    return float(stats.norm.cdf(margin / se_true))


def episodes_for_effect(
    sd: float,
    effect: float,
    *,
    power: float = DEFAULT_POWER,
    confidence: float = 0.95,
    method: str = "adjusted-t",
) -> int:
    """Fewest pairs whose interval detects ``effect`` with probability ``power``
    (capped at :data:`MAX_EPISODES`)."""
    _check(sd, power, confidence)
    if effect == 0:
        raise ConfigError("the effect to detect must be nonzero")

    def enough(n: int) -> bool:
        return power_of(n, sd, effect, confidence=confidence, method=method) >= power

    hi = 2
    while not enough(hi):
        if hi >= MAX_EPISODES:
            return MAX_EPISODES
        hi = min(hi * 2, MAX_EPISODES)
    lo = max(hi // 2, 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if enough(mid):
            hi = mid
        else:
            lo = mid
    return hi


def mde(
    n: int,
    sd: float,
    *,
    power: float = DEFAULT_POWER,
    confidence: float = 0.95,
    method: str = "adjusted-t",
) -> float:
    """The smallest true mean difference that ``n`` pairs detect with probability ``power``."""
    _check(sd, power, confidence)
    if n < 2:
        return float("inf")
    shrink, se_est, se_true, df = _shape(float(n), sd, method)
    crit, z_pow = _quantiles(confidence, power, df)
    return (crit * se_est + z_pow * se_true) / shrink


def weighted_mde(
    sds: Sequence[float],
    ns: Sequence[int],
    weights: Sequence[float] | None = None,
    *,
    power: float = DEFAULT_POWER,
    confidence: float = 0.95,
) -> float:
    """MDE of ``sum_t w_t mean_t`` (weights normalised) with ``ns[t]`` pairs of spread
    ``sds[t]`` per task: about ``(z_{1-alpha/2} + z_power) * sqrt(sum w_t^2 sd_t^2 / n_t)``,
    with the adjustment's pseudo-pairs shared out over the tasks by weight, as in the
    interval."""
    w = _weights(weights, len(sds))
    if len(ns) != len(sds):
        raise ConfigError("pass one episode count per task")
    if any(n < 2 for n in ns):
        return float("inf")
    var_est = var_true = shrink = 0.0
    for wt, sd, n in zip(w, sds, ns):
        _check(sd, power, confidence)
        s, se_est, se_true, _ = _shape(float(n), sd, "adjusted-t", PSEUDO_PAIRS * wt)
        var_est += wt * wt * se_est * se_est
        var_true += wt * wt * se_true * se_true
        shrink += wt * s
    crit, z_pow = _quantiles(confidence, power, 1e9)
    return (crit * math.sqrt(var_est) + z_pow * math.sqrt(var_true)) / shrink


def allocate_episodes(
    sds: Sequence[float],
    target_mde: float,
    weights: Sequence[float] | None = None,
    *,
    power: float = DEFAULT_POWER,
    confidence: float = 0.95,
    min_episodes: int = 2,
) -> list[int]:
    """Episodes per task so that the weighted delta's MDE is at most ``target_mde``: Neyman
    allocation ``n_t = c * w_t * sd_t`` (at least ``min_episodes``), with ``c`` the smallest
    (found by bisection) that reaches the target."""
    if target_mde <= 0:
        raise ConfigError(f"the target MDE must be > 0, got {target_mde}")
    w = _weights(weights, len(sds))
    floor = max(2, min_episodes)
    # The interval's pseudo-pairs give every task some variance: a task with sd 0 in the
    # pilot is allocated as if its spread were 0.1.
    shares = [wt * max(sd, 0.1) for wt, sd in zip(w, sds)]

    def plan(c: float) -> list[int]:
        return [min(MAX_EPISODES, max(floor, math.ceil(c * s))) for s in shares]

    def ok(c: float) -> bool:
        return weighted_mde(sds, plan(c), w, power=power, confidence=confidence) <= target_mde

    lo, hi = 0.0, 1.0
    while not ok(hi):
        hi *= 2.0
        if hi > 1e12:
            return [MAX_EPISODES] * len(sds)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return plan(hi)


def sd_diff_from_pilot(scores: Sequence[float], pair_correlation: float = 0.5) -> float:
    """The paired-difference spread expected from a base-only pilot (see module doc)."""
    if not 0.0 <= pair_correlation < 1.0:
        raise ConfigError(f"pair_correlation must be in [0, 1), got {pair_correlation}")
    n = len(scores)
    if n == 0:
        return 0.5 * math.sqrt(2.0 * (1.0 - pair_correlation))
    mean = sum(scores) / n
    sd = math.sqrt(sum((s - mean) ** 2 for s in scores) / (n - 1)) if n > 1 else 0.0
    if sd == 0.0:
        p = (min(max(mean, 0.0), 1.0) * n + 1.0) / (n + 2.0)
        sd = math.sqrt(p * (1.0 - p))
    return sd * math.sqrt(2.0 * (1.0 - pair_correlation))


def _weights(weights: Sequence[float] | None, n: int) -> list[float]:
    w = [1.0] * n if weights is None else [float(x) for x in weights]
    if len(w) != n or any(x < 0 for x in w) or sum(w) <= 0:
        raise ConfigError("weights must be one non-negative number per task, not all 0")
    total = sum(w)
    return [x / total for x in w]


def delta_mde(
    diffs: Sequence[Sequence[float]],
    weights: Sequence[float] | None = None,
    *,
    power: float = DEFAULT_POWER,
    confidence: float = 0.95,
) -> float:
    """The MDE that a delta's own pairs give: ``diffs[t]`` are task ``t``'s paired
    differences (compressed - base), ``weights`` the tasks' weights in the delta. The
    spread of each task is its observed sd (a task whose differences are all equal counts
    with the adjustment's pseudo-pairs only). This is what a report prints beside a delta."""
    used = [(list(d), i) for i, d in enumerate(diffs) if len(d)]
    if not used:
        return float("inf")
    w_all = [1.0] * len(diffs) if weights is None else [float(x) for x in weights]
    sds = []
    for d, _ in used:
        n = len(d)
        m = sum(d) / n
        sds.append(math.sqrt(sum((x - m) ** 2 for x in d) / (n - 1)) if n > 1 else 0.0)
    return weighted_mde(
        sds,
        [len(d) for d, _ in used],
        [w_all[i] for _, i in used],
        power=power,
        confidence=confidence,
    )
