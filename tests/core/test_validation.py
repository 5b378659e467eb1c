"""Checked int and fraction arguments (acbench_env.core.validation) and the task-seed helper."""

from __future__ import annotations

import numpy as np
import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.core.seeds import episode_seeds, task_rng
from acbench_env.core.validation import (
    fraction,
    int_at_least,
    int_in_range,
    one_of,
    positive_int,
)


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.uint8(2)])
def test_positive_int_accepts_ints_and_returns_plain_ints(value) -> None:
    out = positive_int("num_tasks", value)
    assert out == int(value) and type(out) is int


@pytest.mark.parametrize("value", [0, -2, True, False, 2.0, 2.5, "3", None, np.float64(3)])
def test_positive_int_refuses_non_positive_and_non_int(value) -> None:
    with pytest.raises(ConfigError, match=r"num_tasks must be a positive int \(at least 1\), got"):
        positive_int("num_tasks", value)


def test_int_at_least_and_in_range_name_their_bounds() -> None:
    assert int_at_least("seed", 0, 0) == 0
    with pytest.raises(ConfigError, match="seed must be an int of at least 0, got -1"):
        int_at_least("seed", -1, 0)
    assert [int_in_range("few_shot", k, 0, 3) for k in (0, 3)] == [0, 3]
    for bad in (-1, 4, 1.0, True, "2"):
        with pytest.raises(ConfigError, match=r"few_shot must be an int from 0 to 3, got"):
            int_in_range("few_shot", bad, 0, 3)


def test_fraction_ends_open_or_closed() -> None:
    assert fraction("depth", 0) == 0.0 and fraction("depth", np.float32(1.0)) == 1.0
    for bad in (-0.01, 1.01, float("nan"), "0.5", None, True):
        with pytest.raises(ConfigError, match=r"depth must be a fraction in \[0, 1\], got"):
            fraction("depth", bad)
    assert fraction("confidence", 0.95, include_low=False, include_high=False) == 0.95
    for bad in (0.0, 1.0):
        with pytest.raises(ConfigError, match=r"confidence must be a fraction in \(0, 1\)"):
            fraction("confidence", bad, include_low=False, include_high=False)
    with pytest.raises(ConfigError, match=r"in \[0, 1\)"):
        fraction("dampening", 1.0, include_high=False)


def test_episode_seeds_and_task_streams() -> None:
    assert episode_seeds(3, 5) == [5, 6, 7]
    with pytest.raises(ConfigError, match="episodes must be"):
        episode_seeds(0, 0)
    with pytest.raises(ConfigError, match="seed must be"):
        episode_seeds(2, -1)
    # A task stream is default_rng([generator_seed, *stream]): the draws that the
    # environments made before the helper existed, so their tasks are unchanged.
    a = task_rng(4, 2, 1).integers(1 << 30, size=5)
    assert a.tolist() == np.random.default_rng([4, 2, 1]).integers(1 << 30, size=5).tolist()
    assert a.tolist() != task_rng(4, 2, 2).integers(1 << 30, size=5).tolist()
    assert a.tolist() != task_rng(5, 2, 1).integers(1 << 30, size=5).tolist()


def test_one_of_returns_the_value_or_names_the_choices() -> None:
    assert one_of("mode", "fixed", ("fixed", "upstream")) == "fixed"
    with pytest.raises(ConfigError, match=r"mode must be one of \('fixed', 'upstream'\), got 'x'"):
        one_of("mode", "x", ("fixed", "upstream"))
    with pytest.raises(ConfigError, match=r"difficulty must be one of \[1, 2\], got \[1\]"):
        one_of("difficulty", [1], [1, 2])  # an unhashable value is refused, not a TypeError
