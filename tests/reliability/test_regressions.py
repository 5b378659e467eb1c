"""Crashes and miscounts the fuzzer found, pinned as regression tests."""

from __future__ import annotations

import json

import gymnasium
import pytest

from acbench_env.agents import LLMPolicyAgent
from acbench_env.agents.backends.scripted import ScriptedBackend
from acbench_env.core.jsonl import read_trajectories, to_jsonable
from acbench_env.experiments.runner import run_episodes
from acbench_env.tools.parsing import MAX_JSON_DEPTH, parse_tool_calls


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 600, 990])
@pytest.mark.parametrize(
    "env_id", ["acbench/Scenario-v0", "acbench/FunctionCall-v0", "acbench/BFCL-v0"]
)
def test_deeply_nested_arguments_are_a_format_failure(env_id: str, depth: int) -> None:
    # Before: json.loads accepted ~990 levels, then copying the arguments hit the
    # recursion limit and step() raised RecursionError.
    inner = "[" * depth + "1" + "]" * depth
    env = gymnasium.make(env_id)
    env.reset(seed=0)
    _, reward, _, _, info = env.step(
        f'<tool_call>{{"name": "check_stock", "arguments": {{"item": {inner}}}}}</tool_call>'
    )
    assert info["format_failure"] and reward == 0.0
    json.dumps(to_jsonable(info))
    env.close()


def test_nesting_at_the_limit_still_parses() -> None:
    inner = "[" * (MAX_JSON_DEPTH - 2) + "1" + "]" * (MAX_JSON_DEPTH - 2)
    parsed = parse_tool_calls(f'{{"name": "f", "arguments": {{"v": {inner}}}}}')
    assert parsed.ok and parsed.calls is not None and parsed.calls[0].name == "f"


def test_empty_list_inside_broken_json_is_not_an_explicit_no_call() -> None:
    # Before: '{"a": [], "b": {' (cut off) decoded the inner [] as "no call", which an
    # irrelevance task scores as correct: garbage counted as a right answer.
    for text in ['{"a": [], "b": {"c', '<tool_call>{"x": [], "y": </tool_call>']:
        parsed = parse_tool_calls(text)
        assert not parsed.ok and parsed.calls is None, text
    assert parse_tool_calls("[]").calls == ()
    assert parse_tool_calls("No tool fits, so: []").calls == ()
    assert parse_tool_calls("<tool_call>[]</tool_call>").calls == ()


def test_lone_surrogate_in_a_reply_is_saved_and_resumed(tmp_path) -> None:
    # Before: a reply holding a lone surrogate (a server may send "\\ud800" in its JSON)
    # made append_trajectory raise UnicodeEncodeError and the run crash.
    out = tmp_path / "s.jsonl"
    agent = LLMPolicyAgent(ScriptedBackend(["bad \udc80 \ud800 text"]))
    res = run_episodes("acbench/BlocksWorld-v0", agent, episodes=2, seed=0, out=out)
    back = read_trajectories(out)
    assert [t.steps[0].raw_output for t in back] == [
        t.steps[0].raw_output for t in res.trajectories
    ]
    assert back[0].steps[0].raw_output == "bad \udc80 \ud800 text"
    again = run_episodes("acbench/BlocksWorld-v0", agent, episodes=2, seed=0, out=out)
    assert again.resumed_episodes == 2 and again.new_episodes == 0


def test_scenario_answer_must_hold_the_number_not_a_digit_of_it() -> None:
    # Before: answer_contains "2" was a substring test, so fuzzed garbage such as
    # "..\\windows\\system32\\config" solved the pantry's count-rice task.
    env = gymnasium.make("acbench/Scenario-v0")
    tasks = [t.id for t in env.unwrapped.scenario.tasks]
    index = tasks.index("count-rice")
    results = {}
    for answer in ["..\\windows\\system32\\config", "Year 2026", "There are 2 units of rice."]:
        env.reset(options={"task_index": index})
        env.step('<tool_call>{"name": "check_stock", "arguments": {"item": "rice"}}</tool_call>')
        _, reward, terminated, _, info = env.step(answer)
        assert terminated
        results[answer] = (reward, info["success"])
    assert results == {
        "..\\windows\\system32\\config": (0.0, False),
        "Year 2026": (0.0, False),
        "There are 2 units of rice.": (1.0, True),
    }
