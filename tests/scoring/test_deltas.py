"""Paired bootstrap deltas (with a coverage simulation), pass@k and pass^k."""

from __future__ import annotations

import math

import numpy as np
import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.scoring.deltas import (
    PairedGroup,
    mean_pass_at_k,
    paired_bootstrap_delta,
    pass_at_k,
    pass_hat_k,
)


def test_delta_of_identical_scores_is_zero_and_not_flagged() -> None:
    scores = (0.0, 1.0, 0.5, 1.0)
    d = paired_bootstrap_delta([PairedGroup(scores, scores)])
    assert (d.absolute, d.relative) == (0.0, 0.0)
    # Four equal pairs do not prove "no difference" either: the interval is not a point.
    assert d.ci_low < 0.0 < d.ci_high
    assert not d.significant and d.pairs == 4 and d.method == "adjusted-t"
    # The percentile bootstrap gives the point interval [0, 0] here.
    p = paired_bootstrap_delta([PairedGroup(scores, scores)], method="percentile")
    assert (p.ci_low, p.ci_high) == (0.0, 0.0)


def test_three_equal_losses_are_not_flagged() -> None:
    """The issue's example: 3 pairs all at -0.5. The percentile bootstrap gives
    [-0.5, -0.5]; the default interval is wide and the delta is not flagged."""
    g = PairedGroup((1.0, 1.0, 0.5), (0.5, 0.5, 0.0))
    p = paired_bootstrap_delta([g], method="percentile")
    assert (p.ci_low, p.ci_high) == (-0.5, -0.5) and not p.significant  # below its min pairs
    d = paired_bootstrap_delta([g])
    assert d.absolute == pytest.approx(-0.5)
    assert d.ci_low < -0.5 < 0.0 < d.ci_high and not d.supported and not d.significant


def test_delta_hand_computed_and_flagged() -> None:
    base = (1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0) * 2
    comp = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0) * 2
    d = paired_bootstrap_delta([PairedGroup(base, comp)])
    assert d.base_mean == pytest.approx(7 / 8)
    assert d.compressed_mean == pytest.approx(1 / 8)
    assert d.absolute == pytest.approx(-6 / 8)
    assert d.relative == pytest.approx((-6 / 8) / (7 / 8))
    # Half of it (8 pairs) is below the 10 pairs the default interval needs to flag.
    half = paired_bootstrap_delta([PairedGroup(base[:8], comp[:8])])
    assert half.ci_high < 0 and not half.supported and not half.significant
    assert d.ci_low <= d.absolute <= d.ci_high < 0 and d.significant
    assert d.relative_ci_low <= d.relative <= d.relative_ci_high
    # Seeded: the same inputs give the same interval.
    assert paired_bootstrap_delta([PairedGroup(base, comp)]) == d


def test_pairing_cancels_shared_task_difficulty() -> None:
    # Tasks vary a lot, the compressed model is always 0.05 lower: the paired interval
    # is a point, an unpaired comparison would straddle 0.
    rng = np.random.default_rng(0)
    base = tuple(rng.uniform(0.1, 1.0, size=30).tolist())
    comp = tuple(b - 0.05 for b in base)
    d = paired_bootstrap_delta([PairedGroup(base, comp)], method="percentile")
    assert d.ci_low == pytest.approx(-0.05) and d.ci_high == pytest.approx(-0.05)
    assert d.significant


def test_weighted_groups_and_relative_with_zero_base() -> None:
    g1 = PairedGroup((1.0, 1.0), (0.0, 0.0), weight=1.0)  # delta -1
    g2 = PairedGroup((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), weight=3.0)  # delta 0
    d = paired_bootstrap_delta([g1, g2])
    assert d.absolute == pytest.approx(-0.25)  # (1 * -1 + 3 * 0) / 4
    assert d.pairs == 5
    zero = paired_bootstrap_delta([PairedGroup((0.0, 0.0), (1.0, 0.0))])
    assert math.isnan(zero.relative) and math.isnan(zero.relative_ci_low)
    empty = paired_bootstrap_delta([PairedGroup((), ())])
    assert empty.pairs == 0 and math.isnan(empty.absolute) and not empty.significant


def test_delta_refuses_unpaired_input() -> None:
    with pytest.raises(ConfigError, match="pair episodes by seed"):
        paired_bootstrap_delta([PairedGroup((1.0, 0.0), (1.0,))])
    with pytest.raises(ConfigError, match="confidence"):
        paired_bootstrap_delta([PairedGroup((1.0,), (1.0,))], confidence=1.5)


def test_bootstrap_interval_covers_the_true_difference_about_95_percent() -> None:
    """Simulation: paired scores with a known mean difference; the 95% interval must cover
    it in 93-97% of trials."""
    rng = np.random.default_rng(12345)
    trials, n, true_delta = 1500, 80, -0.1
    covered = 0
    for t in range(trials):
        difficulty = rng.uniform(0.2, 0.9, size=n)
        base = difficulty + rng.normal(0.0, 0.15, size=n)
        comp = difficulty + true_delta + rng.normal(0.0, 0.15, size=n)
        d = paired_bootstrap_delta(
            [PairedGroup(tuple(base.tolist()), tuple(comp.tolist()))],
            resamples=1000,
            seed=t,
            method="percentile",
        )
        covered += d.ci_low <= true_delta <= d.ci_high
    coverage = covered / trials
    assert 0.93 <= coverage <= 0.97, coverage


def test_pass_at_k_and_pass_hat_k_hand_values() -> None:
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 5, 1) == 1.0
    assert pass_at_k(4, 1, 1) == pytest.approx(0.25)
    assert pass_at_k(4, 1, 2) == pytest.approx(1 - 3 / 6)  # 1 - C(3,2)/C(4,2)
    assert pass_at_k(4, 3, 2) == 1.0  # any 2 of 4 include a success
    assert pass_hat_k(4, 2, 2) == pytest.approx(1 / 6)  # C(2,2)/C(4,2)
    assert pass_hat_k(4, 4, 3) == 1.0
    assert pass_hat_k(4, 1, 2) == 0.0
    at, hat = mean_pass_at_k([[True, False], [True, True]], 2)
    assert at == pytest.approx(1.0) and hat == pytest.approx(0.5)
    with pytest.raises(ConfigError, match="k must be"):
        pass_at_k(3, 1, 4)
    with pytest.raises(ConfigError, match="successes"):
        pass_hat_k(3, 4, 1)


def test_every_delta_carries_the_mde_of_its_own_pairs() -> None:
    rng = np.random.default_rng(5)
    base = tuple(rng.choice([0.0, 1.0], size=200).tolist())
    comp = tuple(rng.choice([0.0, 1.0], size=200).tolist())
    small = paired_bootstrap_delta([PairedGroup(base[:20], comp[:20])])
    large = paired_bootstrap_delta([PairedGroup(base, comp)])
    assert 0 < large.mde < small.mde < 1.5
    assert paired_bootstrap_delta([PairedGroup((1.0,), (0.0,))]).mde == float("inf")
