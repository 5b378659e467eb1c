"""RULER-style variants: generation per level, stated scoring rules, oracle answers."""

from __future__ import annotations

import re

import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.environments.ruler import (
    MultiKeyNeedleEnv,
    MultiQueryNeedleEnv,
    MultiValueNeedleEnv,
    VariableTrackingEnv,
)

VARIANTS = [MultiKeyNeedleEnv, MultiValueNeedleEnv, MultiQueryNeedleEnv, VariableTrackingEnv]
NEEDLE = re.compile(r"The special magic number for ([a-z]+-[a-z]+) is (\d+)\.")


def _doc(obs: str) -> str:
    return obs.split("<document>\n", 1)[1].split("\n</document>", 1)[0]


@pytest.mark.parametrize("cls", VARIANTS)
@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_oracle_scores_one_at_every_level(word_counter, cls, level) -> None:
    env = cls(context_length=600, level=level, tokenizer=word_counter, num_tasks=8)
    for index in range(8):
        obs, info = env.reset(options={"task_index": index})
        assert word_counter.count(obs) == info["context_tokens"] <= 600
        assert info["context_tokens"] >= 590
        _, reward, terminated, _, info = env.step(env.oracle_action())
        assert (reward, terminated, info["success"], info["parse_error"]) == (1.0, True, True, None)


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_multikey_needles_and_near_misses(word_counter, level) -> None:
    env = MultiKeyNeedleEnv(context_length=600, level=level, tokenizer=word_counter)
    env.reset(options={"task_index": 2})
    doc = _doc(env.task.observation)
    found = NEEDLE.findall(doc)
    assert len(found) == MultiKeyNeedleEnv.presets[level]["needles"]
    keys = [k for k, _ in found]
    assert len(set(keys)) == len(keys)
    query = re.search(r"number for ([a-z]+-[a-z]+) mentioned", env.task.observation).group(1)
    assert dict(found)[query] == env.task.gold[0]
    if level != "easy":  # near-miss distractors share a word with the queried key
        first, second = query.split("-")
        assert all(first in k or second in k for k in keys)
    wrong = next(v for k, v in found if k != query)
    assert env.step(wrong)[1] == 0.0


def test_multivalue_rule(word_counter) -> None:
    env = MultiValueNeedleEnv(context_length=600, level="medium", tokenizer=word_counter)
    env.reset(options={"task_index": 0})
    gold = list(env.task.gold)
    assert len(gold) == 3
    found = NEEDLE.findall(_doc(env.task.observation))
    assert len(found) == 5  # 3 values + 2 distractor needles
    others = [v for _, v in found if v not in gold]
    cases = [
        (", ".join(reversed(gold)), 1.0),  # any order
        (gold[0], 1 / 3),
        (", ".join(gold + others), 3 / 5),  # listing every number costs
        ("I do not know", 0.0),
    ]
    for answer, expected in cases:
        env.reset(options={"task_index": 0})
        _, reward, _, _, info = env.step(answer)
        assert reward == pytest.approx(expected), answer
    assert info["format_failure"]


def test_multiquery_rule_is_positional(word_counter) -> None:
    env = MultiQueryNeedleEnv(context_length=600, level="hard", tokenizer=word_counter)
    env.reset(options={"task_index": 1})
    gold = list(env.task.gold)
    assert len(gold) == 4
    question = env.task.observation.rsplit("Question:", 1)[1]
    named = re.findall(r"[a-z]+-[a-z]+", question)
    values = dict(NEEDLE.findall(_doc(env.task.observation)))
    assert [values[k] for k in named] == gold  # asked order = gold order
    env.reset(options={"task_index": 1})
    assert env.step(", ".join(reversed(gold)))[1] == 0.0
    env.reset(options={"task_index": 1})
    assert env.step(f"{gold[0]}, {gold[1]}")[1] == 0.5


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_variable_tracking_chain(word_counter, level) -> None:
    env = VariableTrackingEnv(context_length=700, level=level, tokenizer=word_counter)
    env.reset(options={"task_index": 3})
    doc = _doc(env.task.observation)
    chain = list(env.task.gold)
    p = VariableTrackingEnv.presets[level]
    assert len(chain) == p["chain"]
    assigned = re.findall(r"VAR ([A-Z]{5}) = ", doc)
    assert len(assigned) == p["chain"] * (1 + p["distractor_chains"])
    value = re.search(r"assigned the value (\d+)", env.task.observation).group(1)
    assert f"VAR {chain[0]} = {value}." in doc
    positions = [doc.index(f"VAR {name} = ") for name in chain]
    assert positions == sorted(positions)  # the chain is hidden in order
    for prev, name in zip(chain, chain[1:]):
        assert f"VAR {name} = VAR {prev}." in doc
    env.reset(options={"task_index": 3})
    _, reward, _, _, info = env.step(" ".join(chain[:-1]).lower())
    assert reward == 0.0 and info["format_failure"]  # names must be written in capitals
    env.reset(options={"task_index": 3})
    assert env.step(" ".join(chain[:-1]))[1] == pytest.approx((p["chain"] - 1) / p["chain"])


def test_variants_are_pure_functions_of_index(word_counter) -> None:
    for cls in VARIANTS:
        a = cls(context_length=500, level="hard", tokenizer=word_counter)
        b = cls(context_length=500, level="hard", tokenizer=word_counter)
        assert a.make_task(4) == b.make_task(4)
        assert a.make_task(4) != a.make_task(5)


@pytest.mark.parametrize(
    "kwargs",
    [{"level": "extreme"}, {"num_tasks": 0}, {"context_length": -1}, {"truncation": "both"}],
)
def test_bad_arguments(word_counter, kwargs) -> None:
    for cls in VARIANTS:
        with pytest.raises(ConfigError):
            cls(tokenizer=word_counter, **kwargs)
