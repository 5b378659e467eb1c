"""The options that make a task's easiest rung reachable by a small model (issue 18).

For each option: the prompt (or the few-shot turns) changes as intended, the default keeps
the earlier prompt, and the environment's oracle still scores 1 under the option.
"""

from __future__ import annotations

import json
from typing import Any

import gymnasium
import pytest

import acbench_env  # noqa: F401  (registers the environments)
from acbench_env.core.errors import ConfigError
from acbench_env.environments.longgen import KINDS
from acbench_env.tools.parsing import parse_tool_calls
from acbench_env.tools.sandbox import signature, signature_listing, spec_listing


def _oracle_episode(env_id: str, seed: int = 0, **kwargs: Any) -> tuple[str, dict, float]:
    """(first observation, reset info, final score) of one oracle episode."""
    env = gymnasium.make(env_id, **kwargs).unwrapped
    first, info = env.reset(seed=seed)
    done, step_info = False, {}
    while not done:
        _, _, terminated, truncated, step_info = env.step(env.oracle_action())
        done = terminated or truncated
    return first, info, float(step_info["score"])


def _shots(info: dict) -> list[dict[str, str]]:
    return list(info.get("few_shot_messages", ()))


SPEC = {
    "name": "get_weather",
    "description": "Get the weather of a city.",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "Name of the city."},
            "unit": {"type": "string", "enum": ["c", "f"], "default": "c"},
            "days": {"type": "array", "items": {"type": "integer"}},
            "where": {
                "type": "dict",
                "properties": {"lat": {"type": "float"}, "lon": {"type": "float"}},
            },
        },
        "required": ["city"],
        "additionalProperties": False,
    },
}


def test_signature_keeps_the_facts_and_drops_the_schema_keywords() -> None:
    line = signature(SPEC)
    assert line == (
        'get_weather(city: str, unit: "c" | "f" = "c", days: list[int] = None, '
        "where: dict{lat: float, lon: float} = None) -- Get the weather of a city. "
        "(city: Name of the city)"
    )
    for keyword in ("properties", "required", "additionalProperties", '"type"'):
        assert keyword not in line
    assert signature_listing([SPEC, SPEC]).count("\n") == 1
    assert spec_listing([SPEC]) == json.dumps(SPEC)


def test_function_call_signature_listing_in_prompt_and_examples() -> None:
    env_id = "acbench/FunctionCall-v0"
    schema_obs, schema_info, _ = _oracle_episode(env_id, seed=3, few_shot=2)
    obs, info, score = _oracle_episode(env_id, seed=3, few_shot=2, tool_listing="signature")
    assert score == 1.0
    assert '"parameters"' in schema_obs and '"parameters"' not in obs
    assert '"required"' not in obs and ") -- " in obs
    # The request and the instructions are the same; only the tool lines differ.
    assert schema_obs.splitlines()[-1] == obs.splitlines()[-1]
    shots, schema_shots = _shots(info), _shots(schema_info)
    assert len(shots) == len(schema_shots) == 4
    assert all('"parameters"' not in m["content"] for m in shots)
    # The answers (assistant turns) are unchanged: real calls, never signatures.
    assert [m["content"] for m in shots[1::2]] == [m["content"] for m in schema_shots[1::2]]
    with pytest.raises(ConfigError, match="tool_listing must be one of"):
        gymnasium.make(env_id, tool_listing="yaml")


def test_function_call_oracle_scores_one_for_every_category_with_signatures() -> None:
    for seed in range(8):
        _, _, score = _oracle_episode(
            "acbench/FunctionCall-v0", seed=seed, difficulty=2, tool_listing="signature"
        )
        assert score == 1.0


def test_bfcl_signature_listing_and_solved_items_as_turns() -> None:
    env_id = "acbench/BFCL-v0"
    base_obs, base_info, _ = _oracle_episode(env_id, seed=1, category="simple_python")
    assert _shots(base_info) == []
    obs, info, score = _oracle_episode(
        env_id, seed=1, category="simple_python", tool_listing="signature", few_shot=2
    )
    assert score == 1.0
    assert '"parameters"' in base_obs and '"parameters"' not in obs
    shots = _shots(info)
    assert [m["role"] for m in shots] == ["user", "assistant"] * 2
    # The examples are other items of the category, answered with accepted calls.
    assert all(m["content"] != obs for m in shots[::2])
    for answer in shots[1::2]:
        parsed = parse_tool_calls(answer["content"])
        assert parsed.calls
    # Fewer other items than asked: all of them, never the task itself.
    _, info, _ = _oracle_episode(env_id, seed=1, category="simple_python", few_shot=8)
    assert len(_shots(info)) == 2 * 3
    with pytest.raises(ConfigError, match="few_shot"):
        gymnasium.make(env_id, few_shot=-1)


@pytest.mark.parametrize("env_id", ["acbench/ToolMultiTurn-v0", "acbench/ToolMultiTurnHard-v0"])
def test_multiturn_signature_listing(env_id: str) -> None:
    base_obs, _, _ = _oracle_episode(env_id, seed=2, few_shot=1)
    obs, info, score = _oracle_episode(env_id, seed=2, few_shot=1, tool_listing="signature")
    assert score == 1.0
    assert '"parameters"' in base_obs and '"parameters"' not in obs
    assert all('"parameters"' not in m["content"] for m in _shots(info))


def test_tool_steps_signature_listing() -> None:
    env_id = "acbench/ToolSteps-v0"
    for seed in range(6):  # one task of each dimension
        base_obs, _, _ = _oracle_episode(env_id, seed=seed)
        obs, _, score = _oracle_episode(env_id, seed=seed, tool_listing="signature")
        assert score == 1.0
        assert '"parameters"' not in obs
        if '"parameters"' in base_obs:
            assert obs != base_obs


def test_longgen_kinds_and_solved_lists_as_turns() -> None:
    env_id = "acbench/LongGen-v0"
    base_obs, base_info, _ = _oracle_episode(env_id, seed=0, questions=6)
    assert _shots(base_info) == []
    obs, info, score = _oracle_episode(env_id, seed=0, questions=6, kinds=["larger"], few_shot=2)
    assert score == 1.0
    questions = [line for line in obs.splitlines() if line.startswith("Question ")]
    assert len(questions) == 6 and all("Which number is larger" in q for q in questions)
    shots = _shots(info)
    assert len(shots) == 4 and shots[0]["content"] != obs
    assert shots[1]["content"].splitlines()[0].startswith("Answer 1: ")
    assert len(shots[1]["content"].splitlines()) == 6
    # Naming every kind draws the same questions as the default.
    every, _, _ = _oracle_episode(env_id, seed=0, questions=6, kinds=list(KINDS))
    assert every == base_obs
    with pytest.raises(ConfigError, match="kinds must be a non-empty subset"):
        gymnasium.make(env_id, kinds=["poetry"])


@pytest.mark.parametrize(
    "env_id",
    [
        "acbench/ToolQuery-v0",
        "acbench/BlocksWorld-v0",
        "acbench/Household-v0",
        "acbench/WebShop-v0",
    ],
)
def test_simulators_can_drop_the_prose_example(env_id: str) -> None:
    base_obs, _, _ = _oracle_episode(env_id, seed=4)
    obs, info, score = _oracle_episode(env_id, seed=4, inline_example=False, few_shot=2)
    assert score == 1.0
    assert "Example" in base_obs and "Example" not in obs
    assert all("Example" not in m["content"] for m in _shots(info))
    assert base_obs.replace(obs.splitlines()[0], "").count("Example") == 1
    with pytest.raises(ConfigError, match="inline_example"):
        gymnasium.make(env_id, inline_example="no")


def test_scenario_signature_listing() -> None:
    base_obs, _, _ = _oracle_episode("acbench/Scenario-v0")
    obs, _, score = _oracle_episode("acbench/Scenario-v0", tool_listing="signature")
    assert score == 1.0
    assert '"parameters"' in base_obs and '"parameters"' not in obs


def test_worfbench_examples_from_the_task_subset_first() -> None:
    def example_ids(source: str) -> list[str]:
        env = gymnasium.make(
            "acbench/WorfBench-v0", few_shot=2, few_shot_source=source, similarity="lexical"
        ).unwrapped
        _, info = env.reset(options={"task_index": 1})  # sample_toolbench_1
        prompts = [m["content"] for m in info["few_shot_messages"][::2]]
        return [next(i.item_id for i in env._items if i.prompt == p) for p in prompts]

    assert example_ids("next") == ["sample_alfworld_2", "sample_alfworld_3"]
    assert example_ids("subset") == ["sample_toolbench_0", "sample_alfworld_2"]
    _, _, score = _oracle_episode(
        "acbench/WorfBench-v0", seed=1, few_shot=3, few_shot_source="subset", similarity="lexical"
    )
    assert score == 1.0
    with pytest.raises(ConfigError, match="few_shot_source"):
        gymnasium.make("acbench/WorfBench-v0", few_shot_source="random")


def test_blocksworld_tiny_level_has_two_blocks_and_the_oracle_solves_it() -> None:
    env = gymnasium.make("acbench/BlocksWorld-v0", level="tiny").unwrapped
    for seed in range(5):
        env.reset(seed=seed)
        assert env.task.blocks == ("a", "b") and len(env.task.goal) == 1
        _, _, score = _oracle_episode("acbench/BlocksWorld-v0", seed=seed, level="tiny")
        assert score == 1.0


def test_longgen_can_drop_the_inline_form_example() -> None:
    base_obs, _, _ = _oracle_episode("acbench/LongGen-v0", seed=5, questions=3)
    obs, info, score = _oracle_episode(
        "acbench/LongGen-v0", seed=5, questions=3, few_shot=1, inline_example=False
    )
    assert score == 1.0
    assert base_obs.endswith("Example of the form: Answer 1: 42")
    assert "Answer 1: 42" not in obs and base_obs.startswith(obs)
    assert all("Example of the form" not in m["content"] for m in _shots(info))


# --------------------------------------------------------------- calibration levers (cal3)


def test_needle_near_miss_distractors() -> None:
    """``distractors`` hides more needles under keys that share a word with the queried key;
    the default (0) builds the same task as before; the oracle still scores 1."""
    import re

    base_obs, _, _ = _oracle_episode("acbench/Needle-v0", seed=2, context_length=256)
    zero_obs, _, _ = _oracle_episode("acbench/Needle-v0", seed=2, context_length=256, distractors=0)
    assert zero_obs == base_obs and len(re.findall("special magic number for", base_obs)) == 2
    env = gymnasium.make("acbench/Needle-v0", context_length=512, distractors=4).unwrapped
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        found = dict(re.findall(r"special magic number for (\S+) is (\d+)\.", obs))
        key = env.task.key
        assert len(found) == 5 and found[key] == env.task.value
        assert len(set(found.values())) == 5
        for other in set(found) - {key}:
            assert set(other.split("-")) & set(key.split("-")), (other, key)
        _, _, score = _oracle_episode(
            "acbench/Needle-v0", seed=seed, context_length=512, distractors=4
        )
        assert score == 1.0
    with pytest.raises(ConfigError, match="distractors must be an int from 0 to 30"):
        gymnasium.make("acbench/Needle-v0", distractors=31)


def test_function_call_distractors_override() -> None:
    """``distractors`` sets how many other tools a ``multiple`` task offers beside the
    right one (the level's number by default); the model still has to pick the tool."""
    env_id = "acbench/FunctionCall-v0"
    default = gymnasium.make(env_id, categories=["multiple"]).unwrapped
    one = gymnasium.make(env_id, categories=["multiple"], distractors=1).unwrapped
    assert default.distractors == 2
    for seed in range(4):
        default.reset(seed=seed)
        one.reset(seed=seed)
        assert len(default.task.functions) == 3 and len(one.task.functions) == 2
        assert all(len(ex.functions) <= 2 for ex in one.task.examples)
        _, _, score = _oracle_episode(
            env_id, seed=seed, distractors=1, tool_listing="signature", few_shot=4
        )
        assert score == 1.0
    same = gymnasium.make(env_id, distractors=2).unwrapped
    base = gymnasium.make(env_id).unwrapped
    assert same.reset(seed=3)[0] == base.reset(seed=3)[0]
    with pytest.raises(ConfigError, match="distractors must be an int from 0 to 5"):
        gymnasium.make(env_id, distractors=6)


def test_docqa_few_shot_answers_as_turns() -> None:
    """``few_shot`` puts solved questions over other collections before the task, answered
    with the bare gold answer; the default has none and the same task."""
    env_id = "acbench/LongDocQA-v0"
    base_obs, base_info, _ = _oracle_episode(env_id, seed=4, context_length=256)
    obs, info, score = _oracle_episode(env_id, seed=4, context_length=256, few_shot=2)
    assert score == 1.0 and obs == base_obs and not _shots(base_info)
    shots = _shots(info)
    assert [m["role"] for m in shots] == ["user", "assistant"] * 2
    for user, answer in zip(shots[::2], shots[1::2]):
        assert user["content"].startswith("Below is a collection of documents")
        assert user["content"] != obs and answer["content"] in user["content"]
        assert "\n" not in answer["content"] and len(answer["content"].split()) <= 2
    with pytest.raises(ConfigError, match="few_shot must be an int from 0 to 4"):
        gymnasium.make(env_id, few_shot=5)
    with pytest.raises(ConfigError, match="window"):
        gymnasium.make(env_id, few_shot=2, context_length=4096)


def test_household_tiny_level_offers_only_the_asked_object() -> None:
    env = gymnasium.make("acbench/Household-v0", level="tiny").unwrapped
    for seed in range(5):
        env.reset(seed=seed)
        task = env.task
        ((_, receptacles),) = task.rooms
        assert len(receptacles) == 2 and len(task.objects) == 1
        assert task.objects[0].startswith(task.goal_type)
        assert task.start_locations[0] != task.goal_receptacle
        _, _, score = _oracle_episode("acbench/Household-v0", seed=seed, level="tiny")
        assert score == 1.0
    with pytest.raises(ConfigError, match="level"):
        gymnasium.make("acbench/Household-v0", level="micro")


def test_multiturn_distractors_override_and_the_hard_ladder() -> None:
    """``distractors`` sets the distractor tools of a multi-turn task and its examples; the
    Hard env's ladder never reaches ToolMultiTurn's one-call tasks."""
    from acbench_env.core.registry import env_class

    env_id = "acbench/ToolMultiTurnHard-v0"
    base = gymnasium.make(env_id, difficulty=1).unwrapped
    none = gymnasium.make(env_id, difficulty=1, distractors=0).unwrapped
    for seed in range(4):
        base.reset(seed=seed)
        none.reset(seed=seed)
        needed = {ins.call.name for ins in none.task.instructions}
        assert set(none.task.tools) == needed
        assert len(base.task.tools) > len(none.task.tools)
        _, _, score = _oracle_episode(env_id, seed=seed, difficulty=1, distractors=0, few_shot=3)
        assert score == 1.0
    assert (
        gymnasium.make(env_id, difficulty=1, distractors=2).unwrapped.reset(seed=2)[0]
        == (base.reset(seed=2)[0])
    )
    hard = env_class(env_id).ladder
    assert all(r.env_kwargs["difficulty"] >= 1 for r in hard)
    assert env_class("acbench/ToolMultiTurn-v0").ladder[0].env_kwargs["difficulty"] == 0
    with pytest.raises(ConfigError, match="distractors must be an int from 0 to 10"):
        gymnasium.make(env_id, distractors=11)


def test_standard_v3_rungs_narrow_the_items_not_the_skill() -> None:
    """FunctionCall's ``d0-single-shots4-sig`` draws only single-call items (one offered
    tool, one call expected); LongGen's ``q2-shots2-larger`` asks only "which number is
    larger". Both still need the skill (a call with the right arguments; answers written in
    place) and the oracle still scores 1 on them."""
    from acbench_env.environments.function_call import FunctionCallEnv
    from acbench_env.environments.longgen import LongGenEnv

    call_rung = FunctionCallEnv.ladder.rung("d0-single-shots4-sig")
    assert FunctionCallEnv.ladder.rungs[0] is call_rung
    env = gymnasium.make("acbench/FunctionCall-v0", **call_rung.env_kwargs).unwrapped
    for seed in range(6):
        env.reset(seed=seed)
        assert env.task.category == "single" and len(env.task.functions) == 1
        _, _, score = _oracle_episode("acbench/FunctionCall-v0", seed, **call_rung.env_kwargs)
        assert score == 1.0

    gen_rung = LongGenEnv.ladder.rung("q2-shots2-larger")
    assert LongGenEnv.ladder.rungs[0] is gen_rung
    for seed in range(4):
        obs, info, score = _oracle_episode("acbench/LongGen-v0", seed, **gen_rung.env_kwargs)
        questions = [line for line in obs.splitlines() if line.startswith("Question ")]
        assert len(questions) == 2 and all("Which number is larger" in q for q in questions)
        assert len(_shots(info)) == 4 and score == 1.0
