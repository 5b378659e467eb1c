"""acbench/LongDocQA-v0: generated collections, one- and two-document questions, F1/EM."""

from __future__ import annotations

import re

import pytest

from acbench_env.environments.docqa import LongDocQAEnv


def _documents(obs: str) -> dict[str, str]:
    parts = re.split(r"\[Document \d+: ([A-Za-z]+ [A-Za-z]+)\]\n", obs)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("level", ["easy", "medium", "hard"])
def test_collections_and_oracle(word_counter, level) -> None:
    env = LongDocQAEnv(context_length=900, level=level, tokenizer=word_counter, num_tasks=10)
    hops = set()
    for index in range(10):
        obs, info = env.reset(options={"task_index": index})
        assert word_counter.count(obs) == info["context_tokens"]
        assert 890 <= info["context_tokens"] <= 900
        docs = _documents(obs)
        assert len(docs) == LongDocQAEnv.presets[level]["documents"] == info["documents"]
        answer = env.task.answers[0]
        question = env.task.question
        person = re.search(
            r"(?:was|does) (?:the person from whom )?([A-Z][a-z]+ [A-Z][a-z]+)", question
        ).group(1)
        if info["hops"] == 2:
            mentor = re.search(
                rf"{person} learned the trade from ([A-Z][a-z]+ [A-Z][a-z]+)\.", docs[person]
            ).group(1)
            assert answer in docs[mentor] and mentor != person
        else:
            assert answer in docs[person]
        hops.add(info["hops"])
        _, reward, _, _, info = env.step(env.oracle_action())
        assert reward == 1.0 and info["success"] and info["exact_match"] == 1.0
    expected = {"easy": {1}, "medium": {1, 2}, "hard": {2}}[level]
    assert hops == expected


def test_scoring_rule(word_counter) -> None:
    env = LongDocQAEnv(context_length=600, tokenizer=word_counter)
    env.reset(options={"task_index": 0})
    gold = env.task.answers[0]
    cases = [
        (f"The answer is {gold}.", False),
        (f"{gold}\nbecause the document says so", True),  # only the first line is scored
        ("somewhere else entirely", False),
    ]
    for answer, success in cases:
        env.reset(options={"task_index": 0})
        _, reward, _, _, info = env.step(answer)
        assert info["success"] == success and info["parse_error"] is None
        assert 0.0 <= reward <= 1.0
    env.reset(options={"task_index": 0})
    _, reward, _, _, info = env.step(f"The answer is {gold}.")
    assert 0.0 < reward < 1.0  # partial token F1
    env.reset(options={"task_index": 0})
    _, reward, _, _, info = env.step("  ... ")
    assert reward == 0.0 and info["format_failure"]
