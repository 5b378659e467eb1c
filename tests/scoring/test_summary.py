"""Run summaries: means, bootstrap intervals, format-failure rates."""

from __future__ import annotations

import dataclasses

import pytest

from acbench_env.scoring import bootstrap_ci, format_table, summarize
from tests.core.test_types import make_traj


def test_bootstrap_ci_properties() -> None:
    assert bootstrap_ci([1.0, 1.0, 1.0]) == (1.0, 1.0)
    lo, hi = bootstrap_ci([0.0, 1.0] * 20)
    assert 0.3 < lo < 0.5 < hi < 0.7
    assert bootstrap_ci([0.0, 1.0] * 20) == (lo, hi)  # seeded
    wide = bootstrap_ci([0.0, 1.0] * 3)
    assert wide[1] - wide[0] > hi - lo  # fewer episodes, wider interval


def test_summarize_groups_and_rates() -> None:
    trajs = [
        dataclasses.replace(make_traj(seed=i, fail=i % 2 == 0), score=float(i % 2))
        for i in range(4)
    ]
    other = dataclasses.replace(
        make_traj(seed=9), model=dataclasses.replace(trajs[0].model, model_id="n")
    )
    summaries = summarize(trajs + [other])
    assert [s.model_id for s in summaries] == ["m", "n"]
    s = summaries[0]
    assert s.episodes == 4 and s.mean_score == pytest.approx(0.5)
    assert s.format_failures == 2 and s.format_failure_rate == pytest.approx(0.5)
    assert s.compression == "gptq-w4"
    table = format_table(summaries)
    assert "gptq-w4" in table and "2/4 steps" in table
