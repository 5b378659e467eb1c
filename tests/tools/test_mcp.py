"""MCP servers in scenarios: the shipped example server (started for real, over stdio)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
import yaml

from acbench_env.core.errors import MissingDependencyError
from acbench_env.environments.scenario import ScenarioEnv
from acbench_env.tools.mcp import MCPConnection, MCPServerError, MCPServerSpec
from acbench_env.tools.scenario import ScenarioError, load_scenario
from tests.conftest import ROOT

pytest.importorskip("mcp")
psutil = pytest.importorskip("psutil")  # finds the server's process (accelerate installs it)

SHOP = ROOT / "examples" / "mcp" / "shop.yaml"
SERVER = ROOT / "examples" / "mcp" / "inventory_server.py"
SLOW = Path(__file__).with_name("mcp_slow_server.py")


def _call(name: str, **arguments: object) -> str:
    import json

    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def _server_processes(script: str) -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if any(script in part for part in child.cmdline()):
                found.append(child)
        except psutil.Error:
            continue
    return found


def _shop(tmp_path: Path, **server: object) -> Path:
    data = yaml.safe_load(SHOP.read_text())
    data["mcp_servers"][0].update(args=[str(SERVER)], **server)
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_example_scenario_with_mcp_server_oracle_scores_one() -> None:
    env = ScenarioEnv(path=SHOP)
    try:
        for index in range(env.num_tasks):
            env.reset(options={"task_index": index})
            done = False
            while not done:
                _, reward, terminated, truncated, info = env.step(env.oracle_action())
                done = terminated or truncated
            assert terminated and reward == 1.0 and info["score"] == 1.0, (index, info)
            assert info["tool_errors"]["tool_error"] == 0 and info["mcp_servers_alive"] == 1
    finally:
        env.close()
    assert not _server_processes(SERVER.name)  # close() stopped the server


def test_mcp_calls_are_validated_and_errors_are_observations_with_fresh_state() -> None:
    env = ScenarioEnv(path=SHOP)
    try:
        env.reset(options={"task_index": 0})
        # Invalid arguments never reach the server (validated with the server's schema).
        obs, *_, info = env.step(_call("take_stock", item="apples", quantity="five"))
        assert "invalid arguments" in obs and info["tool_errors"]["invalid_arguments"] == 1
        # The tool's own error (isError) comes back as an observation.
        obs, *_, info = env.step(_call("take_stock", item="apples", quantity=500))
        assert "only 12 apples in stock" in obs and info["tool_errors"]["tool_error"] == 1
        obs, *_, info = env.step(_call("take_stock", item="apples", quantity=5))
        assert obs == "took 5 apples; 7 left" and info["checks_passed"] == 2
        # The next episode starts a fresh server: the stock is back to 12.
        env.reset(options={"task_index": 0})
        obs, *_ = env.step(_call("get_stock", item="apples"))
        assert obs == "12"
    finally:
        env.close()


def test_killing_the_mcp_server_mid_episode_is_an_error_observation_and_a_clean_end() -> None:
    env = ScenarioEnv(path=SHOP)
    try:
        env.reset(options={"task_index": 0})
        env.step(_call("get_stock", item="apples"))
        (proc,) = _server_processes(SERVER.name)
        proc.kill()
        proc.wait(10)
        obs, reward, terminated, truncated, info = env.step(
            _call("take_stock", item="apples", quantity=5)
        )
        assert not terminated and "MCP server 'inventory'" in obs, obs
        assert info["tool_errors"]["server_error"] == 1
        assert info["mcp_servers_alive"] == 0 and info["checks_passed"] == 0
        obs, *_ = env.step(_call("get_stock", item="apples"))  # still an observation
        assert "is not running" in obs
        _, reward, terminated, truncated, info = env.step("Sold.")
        assert terminated and reward == 0.0 and info["score"] == 0.0
        assert info["tool_errors"]["server_error"] == 2
        # The environment recovers at the next reset (a new server).
        env.reset(options={"task_index": 2})
        obs, *_ = env.step(_call("get_stock", item="pears"))
        assert obs == "3"
    finally:
        env.close()


def test_a_hanging_tool_call_times_out_as_a_counted_error(tmp_path: Path) -> None:
    scenario = {
        "name": "slow",
        "mcp_servers": [
            {"name": "slow", "command": "{python}", "args": [str(SLOW)], "call_timeout_s": 1}
        ],
        "tasks": [
            {
                "id": "wait",
                "request": "Wait a little.",
                "success": [{"path": "x", "exists": True}],
                "reference": [{"name": "wait", "arguments": {"seconds": 0.1}}],
            }
        ],
    }
    path = tmp_path / "slow.yaml"
    path.write_text(yaml.safe_dump(scenario))
    env = ScenarioEnv(path=path)
    try:
        env.reset(options={"task_index": 0})
        start = time.monotonic()
        obs, _, terminated, _, info = env.step(_call("wait", seconds=30))
        assert time.monotonic() - start < 10
        assert "did not answer 'wait' within 1 s" in obs and not terminated, obs
        assert info["tool_errors"]["server_error"] == 1
        obs, *_ = env.step(_call("wait", seconds=0.1))  # the server still answers afterwards
        assert obs == "waited 0.1 s", obs
    finally:
        env.close()


def test_url_server_is_reset_between_episodes(tmp_path: Path) -> None:
    import socket
    import subprocess

    from acbench_env.agents.serve import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.3)
        data = yaml.safe_load(SHOP.read_text())
        data["mcp_servers"] = [
            {
                "name": "inventory",
                "url": f"http://127.0.0.1:{port}/mcp",
                "state_tool": "dump_state",
                "reset_tool": "reset",
            }
        ]
        path = tmp_path / "shop_http.yaml"
        path.write_text(yaml.safe_dump(data))
        env = ScenarioEnv(path=path)
        try:
            for _ in range(2):  # the second episode starts from the reset stock again
                env.reset(options={"task_index": 0})
                done = False
                while not done:
                    _, reward, terminated, truncated, info = env.step(env.oracle_action())
                    done = terminated or truncated
                assert reward == 1.0, info
        finally:
            env.close()
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.mark.parametrize(
    ("server", "field", "words"),
    [
        ({"url": "http://127.0.0.1:9/mcp"}, "mcp_servers.0", "exactly one of command"),
        ({"call_timeout_s": -1}, "mcp_servers.0.call_timeout_s", "greater than 0"),
        ({"comand": "python"}, "mcp_servers.0.comand", "Extra inputs"),
        ({"name": "bad name"}, "mcp_servers.0.name", "pattern"),
    ],
)
def test_malformed_server_declarations_name_file_and_field(
    tmp_path: Path, server: dict, field: str, words: str
) -> None:
    path = _shop(tmp_path, **server)
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    message = str(err.value)
    assert str(path) in message and f"'{field}'" in message and words in message, message


@pytest.mark.parametrize(
    ("server", "field", "words"),
    [
        ({"state_tool": "snapshot"}, "mcp_servers.0.state_tool", "no tool 'snapshot'"),
        ({"state_tool": "order"}, None, None),  # fine: order is not marked read-only/not
        ({"include": ["get_stock", "sell"]}, "mcp_servers.0.include", "no tool 'sell'"),
        ({"command": "/nonexistent/server"}, "mcp_servers.0", "stopped"),
    ],
)
def test_server_problems_found_at_start_name_file_and_field(
    tmp_path: Path, server: dict, field: str | None, words: str | None
) -> None:
    path = _shop(tmp_path, **server)
    env = ScenarioEnv(path=path)
    try:
        if field is None:
            env.reset(options={"task_index": 0})
            return
        with pytest.raises(ScenarioError) as err:
            env.reset(options={"task_index": 0})
        message = str(err.value)
        assert str(path) in message and f"'{field}'" in message and words in message, message
    finally:
        env.close()
    assert not _server_processes(SERVER.name)


def test_reference_naming_a_missing_server_tool_is_an_error_at_start(tmp_path: Path) -> None:
    data = yaml.safe_load(SHOP.read_text())
    data["mcp_servers"][0]["args"] = [str(SERVER)]
    data["tasks"][1]["reference"][1]["name"] = "purchase"
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(data))
    env = ScenarioEnv(path=path)
    try:
        with pytest.raises(ScenarioError, match=r"'tasks\.1\.reference\.1\.name': no tool named"):
            env.reset(options={"task_index": 0})
    finally:
        env.close()


def test_connection_used_directly_and_closed_twice() -> None:
    spec = MCPServerSpec(name="inv", command=sys.executable, args=[str(SERVER)])
    conn = MCPConnection(spec).start()
    try:
        assert {t.name for t in conn.tools} >= {"get_stock", "dump_state"}
        assert conn.call("dump_state", {})["stock"]["plums"] == 0
    finally:
        conn.close()
    conn.close()
    with pytest.raises(MCPServerError, match="not running"):
        conn.call("dump_state", {})


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)
    spec = MCPServerSpec(name="inv", command=sys.executable, args=[str(SERVER)])
    with pytest.raises(MissingDependencyError, match=r"acbench-env\[mcp\]"):
        MCPConnection(spec).start()


@pytest.mark.slow
def test_default_model_runs_the_mcp_scenario() -> None:
    from acbench_env.agents import LLMPolicyAgent
    from acbench_env.agents.backends import create_backend
    from acbench_env.experiments.runner import run_episodes

    backend = create_backend("transformers", model="default", batch_size=3)
    agent = LLMPolicyAgent(backend, max_new_tokens=64)
    result = run_episodes(
        "acbench/Scenario-v0",
        agent,
        episodes=3,
        seed=0,
        env_kwargs={"path": str(SHOP)},
        batch_size=3,
    )
    assert len(result.trajectories) == 3
    for traj in result.trajectories:
        info = traj.steps[-1].info
        assert 1 <= len(traj.steps) <= 6
        assert traj.steps[-1].terminated or traj.steps[-1].truncated
        assert 0.0 <= traj.score <= 1.0 and info["mcp_servers_alive"] == 1
        assert set(info["tool_errors"]) >= {"unknown_tool", "invalid_arguments", "tool_error"}
    assert not _server_processes(SERVER.name)  # the runner closed every environment
