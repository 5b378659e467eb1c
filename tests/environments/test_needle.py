"""acbench/Needle-v0: generation, lengths in target tokens, scoring rule, window errors."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

from acbench_env.core.errors import ConfigError, ContextLengthError
from acbench_env.core.models import token_counter
from acbench_env.environments.needle import NeedleEnv, build_task, parse_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4729361", "4729361"),
        ("The special magic number is 4729361.", "4729361"),
        ("4,729,361", "4729361"),
        ("Answer: ４７２９３６１", "4729361"),  # full-width digits, NFKC
        ("no idea", None),
        ("", None),
        ("first 12 then 4729361", "12"),
    ],
)
def test_parse_number(text: str, expected: str | None) -> None:
    assert parse_number(text) == expected


def test_scoring_rule(word_counter) -> None:
    env = NeedleEnv(context_length=300, tokenizer=word_counter, num_tasks=3)
    env.reset(options={"task_index": 1})
    gold = env.oracle_action()
    _, reward, terminated, truncated, info = env.step(f"The number is {gold}.")
    assert (reward, terminated, truncated, info["success"]) == (1.0, True, False, True)
    assert info["parse_error"] is None and info["parsed_action"] == gold

    env.reset(options={"task_index": 1})
    wrong = str(int(gold) + 1)
    _, reward, _, _, info = env.step(wrong)
    assert reward == 0.0 and info["parse_error"] is None and not info["format_failure"]
    assert info["contains"] is False

    env.reset(options={"task_index": 1})
    _, reward, _, _, info = env.step("I could not find it.")
    assert reward == 0.0 and info["format_failure"] and info["parse_error"]

    env.reset(options={"task_index": 1})
    _, reward, _, _, info = env.step(f"maybe 42, or {gold}")  # first number decides
    assert reward == 0.0 and info["contains"] is True


@pytest.mark.parametrize("depth", [0.0, 0.25, 0.5, 1.0])
def test_needle_depth_and_length(word_counter, depth: float) -> None:
    length = 800
    env = NeedleEnv(context_length=length, depth=depth, tokenizer=word_counter, num_tasks=4)
    for index in range(4):
        obs, info = env.reset(options={"task_index": index})
        task = env.task
        assert word_counter.count(obs) == info["context_tokens"] <= length
        assert info["context_tokens"] >= length - 5
        doc = obs.split("<document>\n", 1)[1].split("\n</document>", 1)[0]
        needle = f"The special magic number for {task.key} is {task.value}."
        assert doc.count(needle) == 1
        position = doc.index(needle) / max(len(doc) - len(needle), 1)
        assert abs(position - depth) < 0.06, (position, depth)
        assert sum(ch.isdigit() for ch in doc) == len(task.value)  # the haystack has no digits


def test_tasks_are_pure_functions_of_index(word_counter) -> None:
    a = NeedleEnv(context_length=400, tokenizer=word_counter)
    b = NeedleEnv(context_length=400, tokenizer=word_counter)
    assert a.make_task(7) == b.make_task(7)
    assert a.make_task(7) != a.make_task(8)
    c = NeedleEnv(context_length=400, tokenizer=word_counter, generator_seed=1)
    assert c.make_task(7) != a.make_task(7)


def test_lengths_in_default_tokenizer_tokens() -> None:
    counter = token_counter("default")
    assert counter.window == 8192
    for length in (512, 2048):
        task = build_task(0, np.random.default_rng(0), counter, length, 0.5)
        assert task.context_tokens == counter.count(task.observation)
        assert length * 0.99 <= task.context_tokens <= length


def test_context_beyond_window_is_a_clear_error() -> None:
    with pytest.raises(ContextLengthError, match=r"8192 tokens.*context_length <= 8128"):
        gymnasium.make("acbench/Needle-v0", context_length=9000)


def test_window_override_and_too_short(word_counter) -> None:
    with pytest.raises(ContextLengthError, match="500 tokens"):
        NeedleEnv(context_length=600, tokenizer=word_counter, window=500)
    env = NeedleEnv(context_length=20, tokenizer=word_counter)
    with pytest.raises(ConfigError, match="too short"):
        env.reset(seed=0)


@pytest.mark.parametrize(
    "kwargs",
    [{"context_length": 0}, {"depth": 1.5}, {"num_tasks": 0}, {"depths": (0.2, -0.1)}],
)
def test_bad_arguments(word_counter, kwargs) -> None:
    with pytest.raises(ConfigError):
        NeedleEnv(tokenizer=word_counter, **kwargs)


def test_task_index_out_of_range(word_counter) -> None:
    env = NeedleEnv(context_length=300, tokenizer=word_counter, num_tasks=3)
    with pytest.raises(ConfigError, match="out of range"):
        env.reset(options={"task_index": 3})
    with pytest.raises(ConfigError, match="must be an int"):
        env.reset(options={"task_index": "1"})


def test_step_after_end_and_before_reset(word_counter) -> None:
    env = NeedleEnv(context_length=300, tokenizer=word_counter)
    with pytest.raises(ConfigError, match="reset"):
        env.step("1")
    env.reset(seed=0)
    env.step("1")
    with pytest.raises(ConfigError, match="reset"):
        env.step("1")
