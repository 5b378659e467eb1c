"""acbench/FunctionCall-v0: categories, difficulty levels, metrics and error categories."""

from __future__ import annotations

import json

import gymnasium
import pytest

from acbench_env.agents import LLMPolicyAgent
from acbench_env.agents.backends.scripted import ScriptedBackend
from acbench_env.core.errors import ConfigError
from acbench_env.environments.function_call import CATEGORIES, INSTRUCTIONS, FunctionCallEnv
from acbench_env.experiments.runner import run_episodes
from acbench_env.scoring.tool_use import tool_use_summary
from acbench_env.tools.parsing import parse_tool_calls


def _first(env: FunctionCallEnv, category: str) -> int:
    return next(i for i in range(env.num_tasks) if env.get_task(i).category == category)


def test_categories_have_their_shape() -> None:
    env = FunctionCallEnv(difficulty=1)
    for i in range(40):
        task = env.get_task(i)
        names = {f["name"] for f in task.functions}
        gold = [next(iter(g)) for g in task.ground_truth]
        if task.category == "single":
            assert len(task.functions) == 1 and len(gold) == 1
        elif task.category == "multiple":
            assert len(task.functions) > 1 and len(gold) == 1 and gold[0] in names
        elif task.category == "parallel":
            assert len(gold) == 2 and set(gold) <= names
        else:
            assert gold == [] and task.functions
    assert {env.get_task(i).category for i in range(8)} == set(CATEGORIES)


def test_tasks_are_pure_functions_of_index_and_seed() -> None:
    a, b = FunctionCallEnv(generator_seed=3), FunctionCallEnv(generator_seed=3)
    assert [a.get_task(i) for i in range(12)] == [b.get_task(i) for i in range(12)]
    c = FunctionCallEnv(generator_seed=4)
    assert [a.get_task(i).request for i in range(12)] != [c.get_task(i).request for i in range(12)]


def test_difficulty_sets_examples_and_distractors() -> None:
    easy, hard = FunctionCallEnv(difficulty=0), FunctionCallEnv(difficulty=2)
    i = _first(easy, "multiple")
    assert len(easy.get_task(i).examples) == 2 and len(hard.get_task(i).examples) == 0
    assert len(hard.get_task(i).functions) > len(easy.get_task(i).functions)
    obs, info = easy.reset(options={"task_index": i})
    # Examples are prior chat turns (request, answer), not part of the observation.
    turns = info["few_shot_messages"]
    assert [t["role"] for t in turns] == ["user", "assistant"] * 2
    assert obs.startswith(INSTRUCTIONS) and obs.endswith(f"Request: {easy.get_task(i).request}")
    assert all(t["content"].startswith(INSTRUCTIONS) for t in turns[::2])
    assert [t["content"] for t in turns[1::2]] == [ex.answer for ex in easy.get_task(i).examples]
    assert "few_shot_messages" not in hard.reset(options={"task_index": i})[1]
    # Examples are solved correctly and never use the task's tools.
    task = easy.get_task(i)
    task_tools = {f["name"] for f in task.functions}
    for ex in task.examples:
        assert parse_tool_calls(ex.answer).ok
        assert not task_tools & {f["name"] for f in ex.functions}
    assert FunctionCallEnv(difficulty=2, few_shot=1).get_task(i).examples


def test_metrics_and_error_categories() -> None:
    env = FunctionCallEnv(difficulty=0)
    i = _first(env, "single")
    env.reset(options={"task_index": i})
    task = env.task
    name = task.functions[0]["name"]
    oracle = json.loads(env.oracle_action().split("<tool_call>")[1].split("</tool_call>")[0])
    args = oracle["arguments"]
    key = next(iter(args))

    def step(action: str) -> dict:
        env.reset(options={"task_index": i})
        return env.step(action)[4]

    info = step(f"Action: {name}\nAction Input: {json.dumps(args)}")
    assert info["success"] and info["call_format"] == "react" and info["argument_accuracy"] == 1.0
    info = step(json.dumps({"name": name + "_x", "arguments": args}))
    assert info["error_category"] == "wrong_function" and info["validation_errors"] == 1
    info = step(
        json.dumps({"name": name, "arguments": {k: v for k, v in args.items() if k != key}})
    )
    assert info["error_category"] == "missing_argument"
    if len(args) > 1:
        assert 0 < info["argument_accuracy"] < 1
    info = step(json.dumps({"name": name, "arguments": {**args, key: [1, 2]}}))
    assert info["error_category"] == "wrong_type" and info["validation_errors"] == 1
    info = step("I think it is sunny.")
    assert (
        info["format_failure"]
        and info["error_category"] == "format"
        and info["call_accuracy"] == 0.0
    )
    info = step("<tool_call>[]</tool_call>")
    assert not info["format_failure"] and info["error_category"] == "no_call"

    j = _first(env, "irrelevance")
    env.reset(options={"task_index": j})
    _, reward, *_, info = env.step("<tool_call>[]</tool_call>")
    assert reward == 1.0 and info["argument_accuracy"] == 1.0
    env.reset(options={"task_index": j})
    fname = env.task.functions[0]["name"]
    _, reward, *_, info = env.step(
        f'<tool_call>{{"name": "{fname}", "arguments": {{}}}}</tool_call>'
    )
    assert reward == 0.0 and info["error_category"] == "unexpected_call"


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="difficulty"):
        gymnasium.make("acbench/FunctionCall-v0", difficulty=7)
    with pytest.raises(ConfigError, match="categories"):
        gymnasium.make("acbench/FunctionCall-v0", categories=["simple"])


def test_per_category_summary_from_a_scripted_run() -> None:
    # A scripted model that always declines: right on irrelevance, "no_call" elsewhere.
    backend = ScriptedBackend(["<tool_call>[]</tool_call>"] * 8)
    result = run_episodes("acbench/FunctionCall-v0", LLMPolicyAgent(backend), episodes=8, seed=0)
    by_cat = {s.category: s for s in tool_use_summary(result.trajectories)}
    assert by_cat["all"].episodes == 8
    if "irrelevance" in by_cat:
        assert by_cat["irrelevance"].call_accuracy == 1.0
    others = [s for c, s in by_cat.items() if c not in ("irrelevance", "all")]
    assert others and all(
        s.call_accuracy == 0.0 and s.errors == {"no_call": s.episodes} for s in others
    )
    assert by_cat["all"].format_failure_rate == 0.0


def test_native_tool_format_passes_tools_in_info_and_reads_text_answers() -> None:
    from acbench_env.environments.function_call import FunctionCallEnv

    prompt = FunctionCallEnv(categories=["irrelevance"], num_tasks=2)
    native = FunctionCallEnv(categories=["irrelevance"], num_tasks=2, tool_format="native")
    obs_p, info_p = prompt.reset(options={"task_index": 1})
    obs_n, info_n = native.reset(options={"task_index": 1})
    assert "tools" not in info_p and info_p["tool_format"] == "prompt"
    assert [t["function"] for t in info_n["tools"]] == list(prompt.task.functions)
    assert "Tools:" in obs_p and "Tools:" not in obs_n and prompt.task.request in obs_n
    # The chat API's "no call" is a plain text answer: right for irrelevance in native mode,
    # a format failure in the prompt format (which asks for an explicit []).
    _, reward, _, _, info = native.step("None of these tools can do that.")
    assert reward == 1.0 and info["call_format"] == "text" and not info["format_failure"]
    _, reward, _, _, info = prompt.step("None of these tools can do that.")
    assert reward == 0.0 and info["format_failure"]
    native.reset(options={"task_index": 1})
    _, _, _, _, info = native.step('<tool_call>{"name": oops</tool_call>')
    assert info["format_failure"]  # a broken call stays a format failure
    native.reset(options={"task_index": 0})
    _, reward, *_ = native.step(native.oracle_action())
    assert reward == 1.0
    with pytest.raises(Exception, match="tool_format"):
        FunctionCallEnv(tool_format="xml")
