"""The pure diagnostics core: per-token KL / top-1 / rank and their aggregation."""

from __future__ import annotations

import numpy as np
import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.scoring.diagnostics import (
    StepDiagnosis,
    position_histogram,
    summarize,
    token_stats,
)


def test_token_stats_against_hand_computed():
    base = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]))
    comp = np.log(np.array([[0.5, 0.4, 0.1], [0.6, 0.3, 0.1]]))
    kl, top1, rank = token_stats(base, comp, [0, 2])
    expected0 = 0.7 * np.log(0.7 / 0.5) + 0.2 * np.log(0.2 / 0.4) + 0.1 * np.log(1.0)
    expected1 = 0.1 * np.log(0.1 / 0.6) + 0.1 * np.log(0.1 / 0.3) + 0.8 * np.log(0.8 / 0.1)
    assert kl == pytest.approx([expected0, expected1])
    assert top1.tolist() == [True, False]
    assert rank.tolist() == [1, 3]
    kl, top1, rank = token_stats(base, base + 5.0, [0, 2])  # a shift changes nothing
    assert kl == pytest.approx([0.0, 0.0], abs=1e-12)
    assert top1.all() and (rank == 1).all()
    with pytest.raises(ConfigError, match="one row per target"):
        token_stats(base, comp, [0])


def _step(env, seed, step, classes, kl, top1, cap="tool"):
    return StepDiagnosis(
        env, seed, step, cap, tuple(classes), tuple(kl), tuple(top1), tuple(1 for _ in kl)
    )


def test_summarize_means_first_divergence_and_intervals():
    steps = [
        _step("a", 0, 0, ["structure", "tool_name", "arg_value"], [0.0, 1.0, 2.0], [1, 0, 0]),
        _step("a", 1, 0, ["structure", "tool_name"], [0.2, 3.0], [1, 1]),
        _step("b", 0, 0, ["answer", "answer"], [0.5, 0.5], [0, 1], cap="long"),
    ]
    out = summarize(steps, resamples=200)
    cls = out["classes"]
    assert cls["tool_name"]["tokens"] == 2
    assert cls["tool_name"]["kl"] == pytest.approx(2.0)
    assert cls["tool_name"]["top1_agreement"] == pytest.approx(0.5)
    assert cls["all"]["tokens"] == 7
    lo, hi = cls["all"]["kl_ci"]
    assert lo <= cls["all"]["kl"] <= hi and lo < hi
    assert set(out["capabilities"]) == {"tool", "long"}
    assert out["capabilities"]["long"]["answer"]["kl"] == pytest.approx(0.5)
    first = out["first_divergence"]
    assert first["outputs"] == 3 and first["diverged"] == 2
    assert first["by_class"] == {"tool_name": 1, "answer": 1}
    assert first["positions"] == {"tool_name": [1], "answer": [0]}
    assert position_histogram(first["positions"])["tool_name"][:2] == [0, 1]
    again = summarize(steps, resamples=200)
    assert again == out  # seeded bootstrap: same inputs, same intervals
    roundtrip = [StepDiagnosis.from_dict(s.to_dict()) for s in steps]
    assert roundtrip == steps
