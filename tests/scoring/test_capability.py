"""Capability roll-up (weighting v1) against hand-computed values."""

from __future__ import annotations

import math

import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.scoring.capability import (
    WEIGHTING_V1,
    TaskScore,
    Weighting,
    capability_scores,
    get_weighting,
    overall_score,
)


def _t(env: str, cap: str, mean: float, episodes: int = 4, expected: int = 4, ff: float = 0.0):
    return TaskScore(env, cap, "score", episodes, expected, mean, ff)


def test_capability_is_the_mean_of_its_tasks_and_overall_the_mean_of_capabilities() -> None:
    tasks = [
        _t("a", "tool_use", 0.2, ff=0.5),
        _t("b", "tool_use", 0.6, episodes=40, expected=40, ff=0.0),  # more episodes, same weight
        _t("c", "long_context", 0.9),
    ]
    caps = {c.capability: c for c in capability_scores(tasks)}
    assert list(caps) == ["tool_use", "long_context"]  # CAPABILITIES order
    assert caps["tool_use"].score == pytest.approx(0.4)
    assert caps["tool_use"].format_failure_rate == pytest.approx(0.25)
    assert caps["long_context"].score == pytest.approx(0.9)
    assert overall_score(list(caps.values())) == pytest.approx((0.4 + 0.9) / 2)


def test_custom_weights() -> None:
    w = Weighting(
        version=99, description="t", task_weights={"a": 3.0}, capability_weights={"tool_use": 0.0}
    )
    tasks = [_t("a", "tool_use", 0.2), _t("b", "tool_use", 0.6), _t("c", "long_context", 0.9)]
    caps = capability_scores(tasks, w)
    assert caps[0].score == pytest.approx((3 * 0.2 + 0.6) / 4)
    assert overall_score(caps, w) == pytest.approx(0.9)


def test_empty_tasks_are_left_out_never_zero() -> None:
    tasks = [
        _t("a", "tool_use", 0.8),
        _t("b", "tool_use", float("nan"), episodes=0),
        _t("c", "long_context", float("nan"), episodes=0),
        _t("d", "real_world_application", 0.5, episodes=2, expected=4),
    ]
    caps = {c.capability: c for c in capability_scores(tasks)}
    assert caps["tool_use"].score == pytest.approx(0.8) and caps["tool_use"].status == "partial"
    assert math.isnan(caps["long_context"].score) and caps["long_context"].status == "empty"
    assert caps["real_world_application"].status == "partial"
    assert (
        tasks[1].status == "empty"
        and tasks[3].status == "partial"
        and tasks[0].status == "complete"
    )
    assert overall_score(list(caps.values())) == pytest.approx((0.8 + 0.5) / 2)
    assert math.isnan(overall_score([caps["long_context"]]))


def test_unknown_capability_and_version() -> None:
    with pytest.raises(ConfigError, match="unknown capabilities"):
        capability_scores([_t("a", "juggling", 1.0)])
    assert get_weighting(1) is WEIGHTING_V1
    with pytest.raises(ConfigError, match="unknown weighting version 7"):
        get_weighting(7)
