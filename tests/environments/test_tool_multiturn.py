"""acbench/ToolMultiTurn-v0: state-checked success, progress, isolation and bad input."""

from __future__ import annotations

import json

import gymnasium
import numpy as np
import pytest

from acbench_env.agents import LLMPolicyAgent
from acbench_env.agents.backends.scripted import ScriptedBackend
from acbench_env.core.errors import ConfigError
from acbench_env.environments.multiturn.apps import STATE_KEY, state_hash
from acbench_env.environments.multiturn.bank import Bank
from acbench_env.environments.multiturn.booking import Booking, Calendar
from acbench_env.environments.multiturn.env import LEVELS, ToolMultiTurnEnv
from acbench_env.environments.multiturn.files import FileSystem
from acbench_env.environments.multiturn.tasks import APP_NAMES, get_app, render_prompt
from acbench_env.experiments.runner import run_episodes
from acbench_env.scoring.multi_turn import multi_turn_summary
from acbench_env.tools.parsing import format_calls


def _call(tool_name: str, **arguments: object) -> str:
    return json.dumps({"name": tool_name, "arguments": arguments})


def _state(env: ToolMultiTurnEnv) -> object:
    return env.sandbox.state[STATE_KEY]


@pytest.mark.parametrize("difficulty", sorted(LEVELS))
def test_oracle_succeeds_on_every_task_of_every_app(difficulty: int) -> None:
    env = ToolMultiTurnEnv(difficulty=difficulty)
    seen = set()
    for index in range(env.num_tasks):
        env.reset(options={"task_index": index})
        task = env.task
        seen.add(task.app)
        assert len(task.instructions) == LEVELS[difficulty]["calls"]
        assert state_hash(task.initial_state) != task.target_hash
        done = False
        while not done:
            _, reward, terminated, truncated, info = env.step(env.oracle_action())
            done = terminated or truncated
        assert terminated and reward == 1.0
        assert info["success"] and info["progress"] == 1.0 and info["score"] == 1.0
        assert info["state_hash"] == info["target_hash"] == task.target_hash
        assert sum(info["tool_errors"].values()) == 0
    assert seen == set(APP_NAMES)


@pytest.mark.parametrize("difficulty", [1, 2])
def test_first_k_of_n_calls_give_progress_k_over_n(difficulty: int) -> None:
    env = ToolMultiTurnEnv(difficulty=difficulty)
    for index in range(env.num_tasks):
        n = len(env.get_task(index).instructions)
        for k in range(n):
            env.reset(options={"task_index": index})
            for ins in env.task.instructions[:k]:
                _, _, terminated, _, info = env.step(format_calls([ins.call]))
                assert not terminated
            _, reward, terminated, _, info = env.step("done")
            assert terminated
            assert info["progress"] == pytest.approx(k / n), (index, k)
            assert info["changes_done"] == [True] * k + [False] * (n - k)
            assert not info["success"] and reward == 0.0


def test_all_calls_then_done_without_end_on_goal() -> None:
    env = ToolMultiTurnEnv(difficulty=2, end_on_goal=False)
    env.reset(options={"task_index": 5})
    for ins in env.task.instructions:
        _, _, terminated, _, info = env.step(format_calls([ins.call]))
        assert not terminated
    assert env.oracle_action() == "done"
    _, reward, terminated, _, info = env.step("Done.")
    assert terminated and reward == 1.0 and info["success"] and info["progress"] == 1.0


def test_undoing_a_change_lowers_progress() -> None:
    env = ToolMultiTurnEnv(difficulty=1, apps=["bank"], end_on_goal=False)
    for index in range(env.num_tasks):
        env.reset(options={"task_index": index})
        ins = env.task.instructions[0]
        if ins.call.name != "deposit":
            continue
        env.step(format_calls([ins.call]))
        _, _, _, _, info = env.step(_call("withdraw", **ins.call.arguments))
        assert info["progress"] == 0.0 and not info["success"]
        return
    pytest.fail("no deposit task found")


def test_two_envs_stepped_concurrently_never_share_state() -> None:
    a, b = ToolMultiTurnEnv(difficulty=2), ToolMultiTurnEnv(difficulty=2)
    a.reset(options={"task_index": 2})
    b.reset(options={"task_index": 2})
    start = state_hash(_state(b))
    calls = [ins.call for ins in a.task.instructions]
    expected_b = start
    for i, call in enumerate(calls[:-1]):
        a.step(format_calls([call]))
        assert state_hash(_state(b)) == expected_b  # b sees none of a's changes
        assert state_hash(_state(a)) != start
        if i == 0:
            b.step(format_calls([calls[-1]]))  # b changes state on its own
            expected_b = state_hash(_state(b))
            assert expected_b != start
    _, _, _, _, info_b = b.step("done")
    assert info_b["changes_done"] == [False] * (len(calls) - 1) + [True]
    _, _, terminated, _, info_a = a.step(format_calls([calls[-1]]))
    assert terminated and info_a["success"]
    # Interleaving gives the same result as running alone.
    c = ToolMultiTurnEnv(difficulty=2)
    c.reset(options={"task_index": 2})
    for call in calls:
        _, _, _, _, info_c = c.step(format_calls([call]))
    assert info_c["state_hash"] == info_a["state_hash"]


def test_each_reset_builds_a_fresh_state() -> None:
    env = ToolMultiTurnEnv(difficulty=1, end_on_goal=False)
    env.reset(options={"task_index": 0})
    initial = state_hash(env.task.initial_state)
    env.step(env.oracle_action())
    assert state_hash(_state(env)) != initial
    env.reset(options={"task_index": 0})
    assert state_hash(_state(env)) == initial
    assert state_hash(env.task.initial_state) == initial  # the task itself never changes


def _first_task(env: ToolMultiTurnEnv, app: str) -> int:
    return next(i for i in range(env.num_tasks) if env.get_task(i).app == app)


BAD_CALLS = [
    # (app, action, error kind, words of the reason)
    ("files", _call("format_disk"), "unknown_tool", "no tool named"),
    ("files", _call("delete_file", path="nowhere/missing.txt"), "invariant_violation", "no file"),
    ("files", _call("delete_file", path=3), "invalid_arguments", "not of type"),
    ("files", _call("delete_file"), "invalid_arguments", "required"),
    ("files", _call("delete_file", path="docs/a.txt", force=True), "invalid_arguments", "force"),
    ("files", _call("delete_file", path="../etc/passwd"), "invariant_violation", "invalid path"),
    ("bank", _call("withdraw", account="{rich}", amount=999999), "invariant_violation", "overdraft"),
    ("bank", _call("withdraw", account="{rich}", amount=-5), "invalid_arguments", "minimum"),
    ("bank", _call("withdraw", account="{rich}", amount="ten"), "invalid_arguments", "type"),
    ("bank", _call("transfer", source="{rich}", destination="nobody", amount=10), "invariant_violation", "no account"),
    ("bank", _call("close_account", name="{rich}"), "invariant_violation", "empty it"),
    ("bank", _call("open_account", name="{rich}"), "invariant_violation", "already exists"),
    ("booking", _call("book_room", room="{room}", day="{day}", hour="{hour}", title="x"), "invariant_violation", "double booking"),
    ("booking", _call("book_room", room="{room}", day="sun", hour=10, title="x"), "invalid_arguments", "is not one of"),
    ("booking", _call("book_room", room="{room}", day="mon", hour=23, title="x"), "invalid_arguments", "maximum"),
    ("booking", _call("book_room", room="attic", day="mon", hour=10, title="x"), "invariant_violation", "no room"),
]  # fmt: skip


@pytest.mark.parametrize(("app", "action", "kind", "reason"), BAD_CALLS)
def test_bad_calls_are_error_observations_state_unchanged(
    app: str, action: str, kind: str, reason: str
) -> None:
    env = ToolMultiTurnEnv(difficulty=2, apps=[app])
    env.reset(options={"task_index": 0})
    state = _state(env)
    if isinstance(state, Bank):
        rich = max(state.accounts, key=lambda a: a[1])[0]
        action = action.replace("{rich}", rich)
    if isinstance(state, Calendar):
        b = state.bookings[0]
        action = action.replace("{room}", b.room).replace("{day}", b.day)
        action = action.replace('"{hour}"', str(b.hour))
    before = state_hash(state)
    obs, reward, terminated, truncated, info = env.step(f"<tool_call>{action}</tool_call>")
    assert obs.startswith("Error calling") and reason in obs, obs
    assert state_hash(_state(env)) == before
    assert info["tool_errors"][kind] == 1
    assert sum(info["tool_errors"].values()) == 1
    assert info["parse_error"] is None and not terminated and reward == 0.0


def test_tool_not_offered_at_this_level_is_unknown() -> None:
    env = ToolMultiTurnEnv(difficulty=0, apps=["files"])
    env.reset(options={"task_index": 0})
    missing = next(n for n in ("list_files", "read_file") if n not in env.task.tools)
    obs, *_, info = env.step(f"<tool_call>{_call(missing)}</tool_call>")
    assert "no tool named" in obs and info["tool_errors"]["unknown_tool"] == 1


def test_prose_is_a_counted_format_failure_and_the_episode_goes_on() -> None:
    env = ToolMultiTurnEnv(difficulty=1)
    env.reset(options={"task_index": 0})
    obs, reward, terminated, truncated, info = env.step("I will now create the file.")
    assert info["format_failure"] and info["format_failures"] == 1 and not terminated
    assert "could not be parsed" in obs
    _, _, terminated, _, info = env.step(env.oracle_action())
    assert info["format_failures"] == 1 and info["progress"] == 0.5


def test_episode_truncates_at_max_steps() -> None:
    env = ToolMultiTurnEnv(difficulty=0)
    env.reset(options={"task_index": 0})
    for _ in range(env.max_steps):
        _, reward, terminated, truncated, info = env.step("hmm")
    assert truncated and not terminated and reward == 0.0 and not info["success"]


def test_state_hash_is_canonical() -> None:
    a = FileSystem.of({"docs/a.txt": "x", "notes/b.txt": "y"})
    b = FileSystem.of({"notes/b.txt": "y", "docs/a.txt": "x"})
    assert state_hash(a) == state_hash(b)
    assert state_hash(a) != state_hash(FileSystem.of({"docs/a.txt": "x", "notes/b.txt": "z"}))
    moved = a.move("/docs/a.txt", "./archive/a.txt")
    assert moved.as_dict() == {"archive/a.txt": "x", "notes/b.txt": "y"}
    cal = Calendar(("atlas",)).book("atlas", "mon", 9, "x").book("atlas", "tue", 10, "y")
    cal2 = Calendar(("atlas",)).book("atlas", "tue", 10, "y").book("atlas", "mon", 9, "x")
    assert cal == cal2 and state_hash(cal) == state_hash(cal2)
    assert cal.bookings[0] == Booking("atlas", "mon", 9, "x")


def test_tasks_are_pure_functions_of_index_and_seed() -> None:
    a, b = ToolMultiTurnEnv(generator_seed=1), ToolMultiTurnEnv(generator_seed=1)
    assert [render_prompt(a.get_task(i)) for i in range(9)] == [
        render_prompt(b.get_task(i)) for i in range(9)
    ]
    c = ToolMultiTurnEnv(generator_seed=2)
    assert [a.get_task(i).target_hash for i in range(9)] != [
        c.get_task(i).target_hash for i in range(9)
    ]


def test_levels_set_calls_distractors_and_examples() -> None:
    easy, hard = ToolMultiTurnEnv(difficulty=0), ToolMultiTurnEnv(difficulty=2)
    for i in range(9):
        e, h = easy.get_task(i), hard.get_task(i)
        assert set(e.tools) == {ins.call.name for ins in e.instructions}
        assert len(h.tools) > len({ins.call.name for ins in h.instructions})
    _, info = easy.reset(options={"task_index": 0})
    assert info["few_shot_messages"] and info["required_calls"] == 1
    _, info = hard.reset(options={"task_index": 0})
    assert "few_shot_messages" not in info and info["required_calls"] == 3
    shots = ToolMultiTurnEnv(difficulty=2, few_shot=2).reset(options={"task_index": 0})[1]
    assert len(shots["few_shot_messages"]) == 2 * 2 * 3  # two episodes of three calls


def test_few_shot_messages_are_solved_episodes_of_other_apps() -> None:
    env = ToolMultiTurnEnv(difficulty=1)
    obs, info = env.reset(options={"task_index": 0})
    messages = info["few_shot_messages"]
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant"] * (len(messages) // 2)
    # The env ends an episode on reaching the target: the example ends with its last call.
    assert messages[-1]["content"].startswith("<tool_call>")
    said_done = ToolMultiTurnEnv(difficulty=1, end_on_goal=False).reset(options={"task_index": 0})
    assert said_done[1]["few_shot_messages"][-1]["content"] == "done"
    assert said_done[1]["few_shot_messages"][:-2] == messages
    assert env.task.app not in messages[0]["content"] or "Task:" in messages[0]["content"]
    assert messages[0]["content"] != obs and obs not in messages[0]["content"]
    assert "Example" not in obs  # the observation holds only the instructions and the task
    # The example's calls are its own reference calls and its results are not errors.
    for m in messages[1:-1:2]:
        assert m["content"].startswith("<tool_call>")
    for m in messages[2:-1:2]:
        assert not m["content"].startswith("Error")


def test_bad_arguments_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="difficulty"):
        ToolMultiTurnEnv(difficulty=7)
    with pytest.raises(ConfigError, match="apps"):
        ToolMultiTurnEnv(apps=["zoo"])
    with pytest.raises(ConfigError, match="num_tasks"):
        ToolMultiTurnEnv(num_tasks=0)


def test_registered_presets() -> None:
    assert gymnasium.make("acbench/ToolMultiTurn-v0").unwrapped.difficulty == 0
    assert gymnasium.make("acbench/ToolMultiTurnHard-v0").unwrapped.difficulty == 2


def test_scripted_model_through_runner_and_summary() -> None:
    """A model that does the first required call then says done: progress 1/2 per episode."""

    env = ToolMultiTurnEnv(difficulty=1)
    prompts = {render_prompt(env.get_task(i)): env.get_task(i) for i in range(env.num_tasks)}

    def respond(messages: tuple[dict[str, str], ...]) -> str:
        task = prompts.get(messages[-1]["content"])
        return "done" if task is None else format_calls([task.instructions[0].call])

    agent = LLMPolicyAgent(ScriptedBackend(respond))
    result = run_episodes(
        "acbench/ToolMultiTurn-v0",
        agent,
        episodes=4,
        seed=0,
        env_kwargs={"difficulty": 1},
        batch_size=2,
    )
    assert all(t.score == 0.5 and not t.success for t in result.trajectories)
    rows = multi_turn_summary(result.trajectories)
    overall = rows[-1]
    assert overall.app == "all" and overall.episodes == 4
    assert overall.mean_progress == 0.5 and overall.success_rate == 0.0
    assert overall.mean_tool_calls == 1.0


def test_random_calls_never_raise_and_failed_calls_change_nothing() -> None:
    rng = np.random.default_rng(0)
    values: list[object] = ["docs/todo.txt", "alice", "atlas", "mon", 10, 50, -1, "", None, [1]]
    for app in APP_NAMES:
        env = ToolMultiTurnEnv(difficulty=2, apps=[app], end_on_goal=False)
        for index in range(3):
            env.reset(options={"task_index": index})
            tools = {t.name: t for t in (get_app(app).tool(n) for n in env.task.tools)}
            for _ in range(env.max_steps):
                name = str(rng.choice([*tools, "nonexistent"]))
                props = tools[name].parameters["properties"] if name in tools else {"x": {}}
                args = {p: values[int(rng.integers(len(values)))] for p in props}
                before = state_hash(_state(env))
                calls_before = sum(env.sandbox.error_counts.values())
                obs, reward, terminated, truncated, info = env.step(_call(name, **args))
                failed = sum(env.sandbox.error_counts.values()) > calls_before
                assert failed == obs.startswith("Error calling")
                if failed or name in get_app(app).read_tools:
                    assert state_hash(_state(env)) == before
                if terminated or truncated:
                    break
