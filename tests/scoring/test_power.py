"""Power planning for paired comparisons, checked by simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.scoring.intervals import Scenario, coverage, paired_interval
from acbench_env.scoring.power import (
    allocate_episodes,
    episodes_for_effect,
    mde,
    power_of,
    sd_diff_from_pilot,
    weighted_mde,
)


def _sd(s: Scenario) -> float:
    """The sd of a scenario's paired difference (exact for binary, from 200,000 draws for
    graded)."""
    if s.kind == "binary":
        p_minus, p_plus = s.p * s.loss, (1 - s.p) * s.gain
        mean = p_plus - p_minus
        return math.sqrt(p_plus + p_minus - mean * mean)
    return float(np.std(s.sample(np.random.default_rng(0), 200_000), ddof=1))


@pytest.mark.parametrize(
    "scenario",
    [
        Scenario("loss 0.1", "binary", 0.5, 0.25, 0.05),  # delta -0.1, sd ~0.39
        Scenario("graded", "graded", loss=0.3, gain=0.1, levels=5),  # delta -0.04
    ],
    ids=lambda s: s.name,
)
def test_planned_episodes_detect_the_effect_about_80_percent(scenario: Scenario) -> None:
    """Plan n for the scenario's true effect and spread; simulated runs of n pairs must
    flag it (the default interval excludes 0) in 75-85% of 600 runs."""
    effect = scenario.true_delta()
    n = episodes_for_effect(_sd(scenario), effect, power=0.8)
    _, detected = coverage("adjusted-t", n, scenario, sims=600, seed=7)
    assert 0.75 <= detected <= 0.85, (n, detected)
    # And the MDE of n episodes is the effect planned for (to rounding of n).
    assert mde(n, _sd(scenario)) == pytest.approx(abs(effect), rel=0.05)


def test_rare_losses_are_planned_conservatively() -> None:
    """Losses only, at 5% of episodes: the spread of the differences grows with the loss
    count, so the plan (which uses the true spread) over-delivers power; it never falls
    short."""
    rare = Scenario("rare", "binary", 0.8, 0.0625, 0.0)
    n = episodes_for_effect(_sd(rare), rare.true_delta())
    _, detected = coverage("adjusted-t", n, rare, sims=300, seed=7)
    assert detected >= 0.8


def test_weighted_mde_and_allocation_reach_the_target() -> None:
    sds = [0.4, 0.2, 0.0, 0.5]
    ns = allocate_episodes(sds, 0.05, min_episodes=10)
    assert weighted_mde(sds, ns) <= 0.05
    assert ns[2] < ns[1]  # a task with no spread gets few episodes
    assert ns[3] > ns[0] > ns[1]  # Neyman: more episodes where the spread is larger
    fewer = [max(2, n - n // 10) for n in ns]
    assert weighted_mde(sds, fewer) > 0.05 * 0.99
    # Simulation: the planned suite detects a uniform 0.05 loss about 80% of the time.
    rng = np.random.default_rng(3)
    hits = 0
    sims = 300
    for _ in range(sims):
        diffs = [np.clip(rng.normal(-0.05, max(sd, 1e-9), size=n), -1, 1) for sd, n in zip(sds, ns)]
        hits += paired_interval(diffs).excludes_zero
    assert 0.7 <= hits / sims <= 0.9


def test_pilot_spread_and_monotonicity() -> None:
    assert sd_diff_from_pilot([1.0] * 8) > 0  # all successes still leave room to lose
    assert sd_diff_from_pilot([0.0, 1.0] * 4, pair_correlation=0.5) == pytest.approx(
        math.sqrt(8 / 7 * 0.25)
    )
    assert mde(400, 0.4) < mde(100, 0.4) < mde(25, 0.4)
    assert power_of(50, 0.4, -0.2) > power_of(50, 0.4, -0.1)
    assert episodes_for_effect(0.4, 0.05, method="t") < episodes_for_effect(0.4, 0.05)
    with pytest.raises(ConfigError, match="nonzero"):
        episodes_for_effect(0.4, 0.0)
    with pytest.raises(ConfigError, match="pair_correlation"):
        sd_diff_from_pilot([1.0], pair_correlation=1.0)


def test_delta_mde_shrinks_with_pairs() -> None:
    from acbench_env.scoring.power import delta_mde

    rng = np.random.default_rng(0)
    small = [list(rng.choice([-1.0, 0.0, 0.0, 1.0], size=20)) for _ in range(4)]
    large = [list(rng.choice([-1.0, 0.0, 0.0, 1.0], size=500)) for _ in range(4)]
    assert delta_mde(large) < 0.1 < delta_mde(small)
    assert delta_mde([[]]) == float("inf")
