"""acbench/ToolSteps-v0: one task family per T-Eval dimension, each with its scorer."""

from __future__ import annotations

import json

import pytest

from acbench_env.agents import LLMPolicyAgent, OracleAgent
from acbench_env.agents.backends.scripted import ScriptedBackend
from acbench_env.core.errors import ConfigError
from acbench_env.environments.multiturn.steps import FAMILIES, LEVELS, ToolStepsEnv
from acbench_env.experiments.runner import run_episodes
from acbench_env.scoring.tool_steps import DIMENSIONS, tool_steps_summary


@pytest.mark.parametrize("difficulty", sorted(LEVELS))
def test_oracle_scores_one_on_every_task(difficulty: int) -> None:
    env = ToolStepsEnv(difficulty=difficulty)
    families = set()
    for index in range(env.num_tasks):
        _, info = env.reset(options={"task_index": index})
        families.add((info["dimension"], info["format"]))
        _, reward, terminated, _, info = env.step(env.oracle_action())
        assert terminated and reward == 1.0 and info["success"], (index, info)
        assert info["parse_error"] is None
    assert families == set(FAMILIES)


def _index(
    env: ToolStepsEnv, dimension: str, fmt: str | None = None, app: str | None = None
) -> int:
    return next(
        i
        for i in range(env.num_tasks)
        if env.get_task(i).dimension == dimension
        and (fmt is None or env.get_task(i).format == fmt)
        and (app is None or env.get_task(i).app == app)
    )


def _score(env: ToolStepsEnv, index: int, answer: str) -> dict:
    env.reset(options={"task_index": index})
    return env.step(answer)[-1]


def test_plan_scores_order_and_arguments() -> None:
    env = ToolStepsEnv(difficulty=1)
    i = _index(env, "plan")
    gold = env.get_task(i).gold
    assert _score(env, i, json.dumps(gold[::-1]))["score"] < 1.0
    names_only = [{"name": c["name"], "arguments": {}} for c in gold]
    info = _score(env, i, json.dumps(names_only))
    assert info["score"] == pytest.approx(0.5) and info["name_match"] == 1.0
    assert _score(env, i, json.dumps(gold[:1]))["score"] == pytest.approx(1 / len(gold))
    assert _score(env, i, "I would first look around.")["format_failure"]


def test_reason_rewards_the_next_step_not_the_whole_task() -> None:
    env = ToolStepsEnv(difficulty=1)
    i = _index(env, "reason")
    task = env.get_task(i)
    assert _score(env, i, env.get_task(i).answer)["score"] == 1.0
    everything = " ".join(task.gold["next"] + task.gold["others"])
    assert 0.0 < _score(env, i, f"Thought: {everything}")["score"] < 1.0
    assert _score(env, i, "Thought: I should think about it.")["score"] == 0.0
    assert _score(env, i, "  ")["format_failure"]


def test_retrieve_understand_instruct_review_scorers() -> None:
    env = ToolStepsEnv()
    r = _index(env, "retrieve")
    gold_tool = env.get_task(r).gold["tool"]
    other = next(t for t in env.get_task(r).gold["tools"] if t != gold_tool)
    assert _score(env, r, f"`{gold_tool}`")["score"] == 1.0
    assert _score(env, r, other)["score"] == 0.0
    assert _score(env, r, "the first one")["format_failure"]

    u = _index(env, "understand")
    args = dict(env.get_task(u).gold)
    key = next(iter(args))
    wrong = {**args, key: "something else"}
    assert _score(env, u, json.dumps(wrong))["score"] == pytest.approx((len(args) - 1) / len(args))
    assert _score(env, u, json.dumps({**args, "extra": 1}))["score"] == pytest.approx(
        len(args) / (len(args) + 1)
    )
    assert _score(env, u, "no idea")["format_failure"]

    j = _index(env, "instruct", "json")
    s = _index(env, "instruct", "str")
    call_j, call_s = env.get_task(j).gold, env.get_task(s).gold
    hermes = f"<tool_call>{json.dumps(call_j)}</tool_call>"
    info = _score(env, j, hermes)
    assert info["format_failure"] and info["score"] == 0.0 and info["format"] == "json"
    bad_args = json.dumps({"name": call_j["name"], "arguments": {}})
    assert _score(env, j, bad_args)["score"] == 0.5
    react = f"Action: {call_s['name']}\nAction Input: {json.dumps(call_s['arguments'])}"
    info = _score(env, s, react)
    assert info["score"] == 1.0 and info["format"] == "str" and info["dimension"] == "instruct"
    assert _score(env, s, json.dumps(call_s))["format_failure"]

    labels = set()
    for i in range(env.num_tasks):
        if env.get_task(i).dimension != "review":
            continue
        gold = env.get_task(i).gold
        labels.add(gold)
        wrong_label = "success" if gold != "success" else "wrong"
        assert _score(env, i, f"{wrong_label}.")["score"] == 0.0
        assert _score(env, i, f"The answer is {gold}")["score"] == 1.0
    assert labels == {"success", "error", "wrong"}


def test_dimension_subset_and_bad_arguments() -> None:
    env = ToolStepsEnv(dimensions=["review", "instruct"])
    assert {env.get_task(i).dimension for i in range(10)} == {"review", "instruct"}
    with pytest.raises(ConfigError, match="dimensions"):
        ToolStepsEnv(dimensions=["dance"])
    with pytest.raises(ConfigError, match="difficulty"):
        ToolStepsEnv(difficulty=5)


def test_few_shot_examples_are_of_the_same_family_on_other_apps() -> None:
    env = ToolStepsEnv(difficulty=0)
    for index in range(7):
        obs, info = env.reset(options={"task_index": index})
        messages = info["few_shot_messages"]
        assert [m["role"] for m in messages] == ["user", "assistant"] * LEVELS[0]["few_shot"]
        assert all(m["content"] != obs for m in messages)
        # The same question (the last line, up to the tool names) of another task.
        assert obs.split("\n")[-1][:18] == messages[0]["content"].split("\n")[-1][:18]
    assert (
        ToolStepsEnv(difficulty=2).reset(options={"task_index": 0})[1].get("few_shot_messages")
        is None
    )


def test_summary_reports_every_dimension_and_format() -> None:
    result = run_episodes("acbench/ToolSteps-v0", OracleAgent(), episodes=30, seed=0, batch_size=4)
    rows = tool_steps_summary(result.trajectories)
    dims = [r.dimension for r in rows if r.format is None]
    assert dims == [d for d in DIMENSIONS if d in dims] and len(dims) == len(DIMENSIONS)
    assert {r.format for r in rows if r.format} == {"json", "str"}
    assert all(r.mean_score == 1.0 and r.format_failure_rate == 0.0 for r in rows)

    agent = LLMPolicyAgent(ScriptedBackend(["success"]))
    result = run_episodes("acbench/ToolSteps-v0", agent, episodes=30, seed=0, batch_size=4)
    by = {(r.dimension, r.format): r for r in tool_steps_summary(result.trajectories)}
    assert by[("plan", None)].format_failure_rate == 1.0 and by[("plan", None)].mean_score == 0
    env = ToolStepsEnv()
    review = [t for t in result.trajectories if env.get_task(t.task_index).dimension == "review"]
    expected = sum(env.get_task(t.task_index).gold == "success" for t in review) / len(review)
    assert by[("review", None)].mean_score == expected
    assert by[("review", None)].format_failure_rate == 0.0


def test_generation_budget_follows_the_family() -> None:
    env = ToolStepsEnv(difficulty=2)
    env.reset(options={"task_index": _index(env, "plan")})
    plan_budget = env.answer_tokens
    env.reset(options={"task_index": _index(env, "review")})
    assert env.answer_tokens < 64 < plan_budget
    assert plan_budget >= 64 * (LEVELS[2]["calls"] + 1)
