"""Paired-delta intervals at small n: the coverage simulation the report's flags rely on."""

from __future__ import annotations

import math

import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.scoring.intervals import (
    MIN_PAIRS_TO_FLAG,
    SCENARIOS,
    Scenario,
    coverage,
    min_pairs_to_exclude_zero,
    paired_interval,
    signflip_interval,
)

SIZES = (3, 5, 10, 30)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_default_interval_covers_at_every_suite_size(scenario: Scenario) -> None:
    """At 3, 5, 10 and 30 pairs the default interval covers the true delta in at least 93%
    of 400 simulated runs; where it may flag (>= MIN_PAIRS_TO_FLAG pairs) its coverage is
    checked, below that it never flags."""
    for n in SIZES:
        cov, flagged = coverage("adjusted-t", n, scenario, sims=400, seed=n)
        assert cov >= 0.93, (scenario.name, n, cov)
        if n < MIN_PAIRS_TO_FLAG["adjusted-t"]:
            assert flagged == 0.0


def test_default_interval_holds_its_false_positive_rate_and_has_power() -> None:
    null = Scenario("null", "binary", 0.5, 0.15, 0.15)
    _, false_pos = coverage("adjusted-t", 30, null, tasks=4, sims=400, seed=1)
    assert false_pos <= 0.05
    loss = Scenario("loss", "binary", 0.5, 0.3, 0.0)  # true delta -0.15
    cov, power = coverage("adjusted-t", 30, loss, tasks=4, sims=400, seed=2)
    assert cov >= 0.93 and power >= 0.9


LARGE_LOSS = Scenario("binary p=0.5 loss 0.9", "binary", 0.5, 0.9, 0.0)  # true delta -0.45


@pytest.mark.parametrize("pairs", (2, 3, 5))
def test_many_small_tasks_cover_a_large_loss_and_detect_it(pairs: int) -> None:
    """A suite-level delta over 19 tasks of a few pairs each (the quick and standard suites'
    shape): the pseudo-pairs are shared out over the tasks, so the interval is not shrunk
    toward 0 (with 1.5 pseudo-pairs per task it covered a -0.45 loss in 4-16% of runs) and a
    large loss is detected."""
    cov, power = coverage("adjusted-t", pairs, LARGE_LOSS, tasks=19, sims=200, seed=pairs)
    assert cov >= 0.93, cov
    assert power >= 0.9, power
    for scenario in SCENARIOS:
        cov, _ = coverage("adjusted-t", pairs, scenario, tasks=19, sims=200, seed=pairs)
        assert cov >= 0.93, (scenario.name, cov)


def test_percentile_bootstrap_under_covers_at_three_pairs() -> None:
    """Why the default changed: the percentile bootstrap covers far less than 95% at 3 and
    5 pairs, so it is not allowed to flag there."""
    for n in (3, 5):
        cov, _ = coverage("percentile", n, SCENARIOS[0], sims=300, seed=n)
        assert cov < 0.8
        assert n < MIN_PAIRS_TO_FLAG["percentile"]


def test_three_pairs_all_at_minus_half() -> None:
    diffs = [[-0.5, -0.5, -0.5]]
    boot = paired_interval(diffs, method="percentile")
    assert (boot.low, boot.high) == (-0.5, -0.5) and not boot.excludes_zero
    for method in ("adjusted-t", "signflip"):
        iv = paired_interval(diffs, method=method)
        assert iv.low < 0.0 < iv.high and not iv.excludes_zero, method
    t = paired_interval(diffs, method="t")  # zero variance: a point interval, not trusted
    assert not t.excludes_zero


def test_signflip_is_exact_and_cannot_reject_below_six_pairs() -> None:
    assert min_pairs_to_exclude_zero(0.95) == 6
    five = signflip_interval([[-1.0] * 5])
    assert five.low == -1.0 and five.high == 1.0
    # 12 clear losses: the exact test rejects 0 (p = 2 / 4096).
    twelve = signflip_interval([[-1.0, -0.5] * 6])
    assert twelve.high < 0.0
    assert signflip_interval([[-1.0, -0.5] * 6]) == twelve  # deterministic


def test_weighted_strata_and_bad_input() -> None:
    iv = paired_interval([[-1.0] * 20, [0.0] * 20], weights=[1.0, 3.0])
    assert iv.estimate == pytest.approx(-0.25) and iv.pairs == 40
    assert iv.low <= -0.25 <= iv.high
    empty = paired_interval([[]])
    assert math.isnan(empty.estimate) and not empty.excludes_zero
    with pytest.raises(ConfigError, match="interval method"):
        paired_interval([[0.0]], method="wald")
    for method in ("adjusted-t", "signflip", "t", "percentile"):  # one check for all
        with pytest.raises(ConfigError, match="weights"):
            paired_interval([[0.0], [1.0]], weights=[1.0], method=method)
        with pytest.raises(ConfigError, match="weights"):
            paired_interval([[0.0], [1.0]], weights=[1.0, -1.0], method=method)
        zero = paired_interval([[0.5, 1.0], [1.0, 0.5]], weights=[0.0, 0.0], method=method)
        assert math.isnan(zero.low) and not zero.excludes_zero
