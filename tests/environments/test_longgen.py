"""acbench/LongGen-v0: many questions answered in one response, each scored in place."""

from __future__ import annotations

import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.environments.longgen import LongGenEnv, parse_answers


def test_parse_answers_first_line_per_label() -> None:
    text = "Sure!\nAnswer 1: 42\nanswer 2 - blue\nAnswer 1: 7\n**Answer 3:** x"
    assert parse_answers(text) == {1: "42", 2: "blue", 3: "x"}


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_oracle_and_question_count(level) -> None:
    env = LongGenEnv(level=level, num_tasks=5)
    for index in range(5):
        obs, info = env.reset(options={"task_index": index})
        assert info["questions"] == LongGenEnv.presets[level]
        assert obs.count("Question ") == info["questions"]
        _, reward, _, _, info = env.step(env.oracle_action())
        assert reward == 1.0 and info["success"] and all(info["correct"])


def test_answers_are_scored_in_place() -> None:
    env = LongGenEnv(level="medium")
    env.reset(options={"task_index": 0})
    lines = env.oracle_action().splitlines()
    gold = [line.split(": ", 1)[1] for line in lines]
    # swap the labels of the first two answers: both are now in the wrong place
    swapped = [f"Answer 1: {gold[1]}", f"Answer 2: {gold[0]}", *lines[2:]]
    env.reset(options={"task_index": 0})
    _, reward, _, _, info = env.step("\n".join(swapped))
    expected = 8 / 10 + sum(gold[0] == gold[1] for _ in range(2)) / 10
    assert reward == pytest.approx(expected)
    env.reset(options={"task_index": 0})
    _, reward, _, _, info = env.step("\n".join(lines[:5]))
    assert reward == 0.5 and info["answered"] == 5
    env.reset(options={"task_index": 0})
    _, reward, _, _, info = env.step(" ".join(gold))  # right answers, no labels
    assert reward == 0.0 and info["format_failure"]


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError):
        LongGenEnv(level="impossible")
    with pytest.raises(ConfigError):
        LongGenEnv(questions=0)
