"""Custom scenarios: the example file from Python and the CLI, and clear errors for bad files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import gymnasium
import pytest
import yaml

from acbench_env.agents import OracleAgent
from acbench_env.environments.scenario import ScenarioEnv, default_scenario_path
from acbench_env.experiments.runner import run_episodes
from acbench_env.tools import tool
from acbench_env.tools.scenario import ScenarioError, load_scenario
from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "scenarios" / "help_desk.yaml"


def _write(tmp_path: Path, data: object, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data))
    return path


def _base() -> dict:
    return yaml.safe_load(default_scenario_path().read_text())


@pytest.mark.parametrize("path", [EXAMPLE, default_scenario_path()])
def test_example_scenarios_load_and_oracle_solves_them(path: Path) -> None:
    scenario = load_scenario(path)
    env = ScenarioEnv(path=path)
    for index in range(len(scenario.tasks)):
        env.reset(options={"task_index": index})
        done = False
        while not done:
            _, reward, terminated, truncated, info = env.step(env.oracle_action())
            done = terminated or truncated
        assert terminated and reward == 1.0 and info["success"], (index, info)


def test_scenario_episode_counts_errors_and_keeps_state_per_episode() -> None:
    env = gymnasium.make("acbench/Scenario-v0")
    base = env.unwrapped
    index = [t.id for t in base.scenario.tasks].index("restock-beans")
    env.reset(options={"task_index": index})
    obs, reward, term, trunc, info = env.step(
        '<tool_call>{"name": "add_to_list", "arguments": {"item": 5}}</tool_call>'
    )
    assert "invalid arguments" in obs and info["tool_errors"]["invalid_arguments"] == 1
    obs, *_ = env.step('<tool_call>{"name": "burn", "arguments": {}}</tool_call>')
    assert "no tool named" in obs
    _, _, _, _, info = env.step("<tool_call>{oops")
    assert info["format_failure"] and info["format_failures"] == 1
    env.step('<tool_call>{"name": "add_to_list", "arguments": {"item": "beans"}}</tool_call>')
    _, reward, terminated, _, info = env.step("Beans are on the list.")
    assert terminated and reward == 1.0 and info["checks_passed"] == 1
    env.reset(options={"task_index": index})  # a fresh copy of the initial state
    _, reward, terminated, _, info = env.step("Done.")
    assert terminated and reward == 0.0 and info["checks_passed"] == 0


def test_scenario_with_python_tools_from_python(tmp_path: Path) -> None:
    @tool
    def double(x: int) -> int:
        """Double a number.

        Args:
            x: The number.
        """
        return 2 * x

    data = _base()
    data["tasks"].append(
        {
            "id": "note",
            "request": "Put 'eggs' on the list.",
            "success": [{"path": "shopping_list", "contains": "eggs"}],
            "reference": [
                {"name": "double", "arguments": {"x": 2}},
                {"name": "add_to_list", "arguments": {"item": "eggs"}},
            ],
        }
    )
    env = ScenarioEnv(scenario=data, tools=[double])
    result_tasks = [t.id for t in env.scenario.tasks]
    assert "note" in result_tasks
    env.reset(options={"task_index": result_tasks.index("note")})
    obs, *_ = env.step('<tool_call>{"name": "double", "arguments": {"x": 21}}</tool_call>')
    assert obs == "42"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (
            lambda d: d["tools"][0]["parameters"]["properties"].update(item={"type": "strng"}),
            "tools.0.parameters",
        ),
        (
            lambda d: d["tasks"][0]["reference"][0].update(name="teleport"),
            "tasks.0.reference.0.name",
        ),
        (lambda d: d["tasks"][0].pop("request"), "tasks.0.request"),
        (lambda d: d["tools"][1]["ops"][0].update(op="explode"), "tools.1.ops.0.op"),
        (lambda d: d["tasks"][0]["success"][0].update(contains="caviar"), "tasks.0.success.0"),
        (lambda d: d["tasks"][0]["success"][0].update(equals=1), "tasks.0.success.0"),
        (lambda d: d.update(tasks=[]), "tasks"),
    ],
)
def test_malformed_scenarios_name_file_and_field(tmp_path: Path, mutate, field: str) -> None:
    data = _base()
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert str(path) in message and f"'{field}'" in message, message


def test_bad_yaml_and_json_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"not valid YAML \(line \d+, column"):
        load_scenario(_write(tmp_path, "name: x\ntools: [unclosed\n"))
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load_scenario(_write(tmp_path, "{", name="s.json"))
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario(tmp_path / "missing.yaml")


def test_example_runs_from_python_runner(tmp_path: Path) -> None:
    out = tmp_path / "traj.jsonl"
    result = run_episodes(
        "acbench/Scenario-v0", OracleAgent(), episodes=3, env_kwargs={"path": str(EXAMPLE)}, out=out
    )
    assert all(t.success for t in result.trajectories)
    assert len(out.read_text().splitlines()) == 3


def test_example_runs_from_cli(tmp_path: Path, python_exe: str, python_env: dict) -> None:
    out = tmp_path / "cli.jsonl"
    proc = subprocess.run(
        [
            python_exe,
            "-m",
            "acbench_env.cli",
            "run",
            "--scenario",
            str(EXAMPLE),
            "--agent",
            "oracle",
            "--episodes",
            "3",
            "--out",
            str(out),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        env=python_env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 3 and all(r["success"] for r in records)
    assert records[0]["env_id"] == "acbench/Scenario-v0"
    bad = _write(tmp_path, "name: x\n", name="bad.yaml")
    proc = subprocess.run(
        [
            python_exe,
            "-m",
            "acbench_env.cli",
            "run",
            "--scenario",
            str(bad),
            "--agent",
            "oracle",
            "--out",
            str(tmp_path / "x.jsonl"),
        ],
        capture_output=True,
        text=True,
        env=python_env,
        timeout=300,
    )
    assert proc.returncode == 2 and str(bad) in proc.stderr and "field 'tools'" in proc.stderr


def _counter_scenario(ops: list[dict], **task: object) -> dict:
    return {
        "name": "wallet",
        "initial_state": {"balance": 10},
        "tools": [
            {
                "name": "pay",
                "parameters": {
                    "type": "object",
                    "properties": {"amount": {"type": "integer", "minimum": 1}},
                    "required": ["amount"],
                },
                "ops": ops,
            }
        ],
        "tasks": [
            {
                "id": "pay-3",
                "request": "Pay 3.",
                "success": [{"path": "balance", "equals": 7}],
                "reference": [{"name": "pay", "arguments": {"amount": 3}}],
                **task,
            }
        ],
    }


@pytest.mark.parametrize(
    "op",
    [
        {"op": "increment", "path": "balance", "by": "-{amount}"},
        {"op": "increment", "path": "balance", "by": " - {amount}"},
        {"op": "decrement", "path": "balance", "by": "{amount}"},
    ],
)
def test_an_op_can_subtract_an_argument(tmp_path: Path, op: dict) -> None:
    path = _write(tmp_path, _counter_scenario([op]))
    env = ScenarioEnv(path=path)
    env.reset(options={"task_index": 0})
    env.step('<tool_call>{"name": "pay", "arguments": {"amount": 4}}</tool_call>')
    assert env._sandbox is not None and env._sandbox.state["balance"] == 6


def test_decrement_defaults_to_one_and_signed_plus_adds(tmp_path: Path) -> None:
    from acbench_env.tools.scenario import StateOp, apply_op

    state = {"n": 5}
    apply_op(state, StateOp(op="decrement", path="n"), {})
    assert state["n"] == 4
    apply_op(state, StateOp(op="increment", path="n", by="+{k}"), {"k": 2.5})
    assert state["n"] == 6.5
    apply_op(state, StateOp(op="decrement", path="n", by="-{k}"), {"k": 1})
    assert state["n"] == 7.5  # minus a negative amount adds


@pytest.mark.parametrize(
    ("op", "field", "words"),
    [
        # the case: `value:` on an increment was silently ignored (by=1 applied)
        ({"op": "increment", "path": "balance", "value": -3}, "tools.0.ops.0.value", "decrement"),
        ({"op": "get", "path": "balance", "by": 2}, "tools.0.ops.0.by", "takes only path"),
        ({"op": "delete", "path": "balance", "value": 1}, "tools.0.ops.0.value", "not 'value'"),
        ({"op": "set", "path": "balance"}, "tools.0.ops.0.value", "needs 'value'"),
        ({"op": "append", "path": "log"}, "tools.0.ops.0.value", "needs 'value'"),
        ({"op": "increment", "path": "balance", "by": "three"}, "tools.0.ops.0.by", "signed"),
        ({"op": "increment", "path": "balance", "bye": 1}, "tools.0.ops.0.bye", "tool 'pay'"),
    ],
)
def test_each_op_accepts_only_its_own_fields(
    tmp_path: Path, op: dict, field: str, words: str
) -> None:
    path = _write(tmp_path, _counter_scenario([op]))
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert str(path) in message and f"'{field}'" in message and "tool 'pay'" in message, message
    assert words in message, message
    assert "success" not in message  # the error blames the op, not the task's check


def test_native_tool_format_gives_the_tools_in_info() -> None:
    prompt = ScenarioEnv(path=EXAMPLE)
    native = ScenarioEnv(path=EXAMPLE, tool_format="native")
    obs_p, info_p = prompt.reset(options={"task_index": 0})
    obs_n, info_n = native.reset(options={"task_index": 0})
    names = [t["function"]["name"] for t in info_n["tools"]]
    assert names == ["get_ticket", "unlock_account", "close_ticket"] and "tools" not in info_p
    assert "unlock_account" in obs_p and "unlock_account" not in obs_n
    while True:
        _, reward, terminated, truncated, info = native.step(native.oracle_action())
        if terminated or truncated:
            break
    assert reward == 1.0 and info["tool_format"] == "native"
    with pytest.raises(Exception, match="tool_format"):
        ScenarioEnv(path=EXAMPLE, tool_format="xml")
