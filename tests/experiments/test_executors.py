"""Executors without Ray: the work plan, the driver-side sink, continuous batching across
tasks, resume, and the errors of the executor options."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from acbench_env.agents import LLMPolicyAgent
from acbench_env.agents.backends.scripted import ScriptedBackend
from acbench_env.core.errors import ConfigError, MissingDependencyError, TrajectoryFileError
from acbench_env.core.manifest import ModelEntry
from acbench_env.core.protocols import GenerationRequest
from acbench_env.core.suites import Suite, SuiteTask
from acbench_env.experiments.executors import make_executor, plan_units
from acbench_env.experiments.executors.base import TrajectorySink
from acbench_env.experiments.runner import Lane, drive
from acbench_env.experiments.suite import run_suite
from tests.scoring.suite_fixtures import ENTRIES, MINI, agent_factory, only


def strip_timing(obj):
    if isinstance(obj, dict):
        return {k: strip_timing(v) for k, v in obj.items() if k != "wall_time_s"}
    if isinstance(obj, list):
        return [strip_timing(v) for v in obj]
    return obj


def suite_files(out: Path) -> dict[str, list[dict]]:
    """Every trajectory file of a suite folder, lines sorted by seed, timing stripped."""
    files = {}
    for f in sorted((out / "runs").rglob("*.jsonl")):
        rows = [json.loads(x) for x in f.read_text().splitlines()]
        files[str(f.relative_to(out))] = sorted(
            (strip_timing(r) for r in rows), key=lambda r: r["seed"]
        )
    return files


A = ModelEntry("a", "model-a", "scripted")
B = ModelEntry("b", "model-b", "scripted")


def rows(tmp_path: Path, tasks: tuple[SuiteTask, ...], models=(A, B)):
    return [
        (m, t, 0, tmp_path / m.label / f"{i}.jsonl") for m in models for i, t in enumerate(tasks)
    ]


def test_units_hold_one_model_span_tasks_and_keep_their_cut_on_resume(tmp_path) -> None:
    tasks = (SuiteTask("acbench/Needle-v0", 3), SuiteTask("acbench/FunctionCall-v0", 4))
    plan = plan_units(rows(tmp_path, tasks), 10, 4)
    assert plan.total == 14 and plan.resumed == 0
    assert [u.episodes for u in plan.units] == [4, 3, 4, 3]
    first = plan.units[0]
    assert {u.model.label for u in plan.units[:2]} == {"a"}
    # the first unit spans both tasks: 3 needle seeds then the first function-call seed
    assert [(c.task.env_id, c.seeds) for c in first.cells] == [
        ("acbench/Needle-v0", (10, 11, 12)),
        ("acbench/FunctionCall-v0", (10,)),
    ]
    per_row = plan_units(rows(tmp_path, tasks), 10, 4, across_rows=False)
    assert all(len(u.cells) == 1 for u in per_row.units)
    # resume: write all of unit 0 and one episode of unit 1 (a, seeds 11..13 of task 1)
    sink = TrajectorySink(plan.files)
    backend = ScriptedBackend(["x"])
    lanes = [Lane(c.task.env_id, LLMPolicyAgent(backend), c.seeds) for c in first.cells]
    for i, traj in drive(lanes, width=2):
        sink.accept(first.cells[i], traj)
    second = plan.units[1]
    lane = Lane(second.cells[0].task.env_id, LLMPolicyAgent(backend), second.cells[0].seeds[:1])
    for _, traj in drive([lane], width=1):
        sink.accept(second.cells[0], traj)
    again = plan_units(rows(tmp_path, tasks), 10, 4)
    assert again.resumed == 5
    # unit 0 is done and dropped; unit 1 runs whole again, cut as before
    assert [u.cells for u in again.units] == [u.cells for u in plan.units[1:]]


def test_sink_writes_each_episode_once_and_refuses_another_run(tmp_path) -> None:
    tasks = (SuiteTask("acbench/Needle-v0", 2),)
    plan = plan_units(rows(tmp_path, tasks, models=(A,)), 0, 8)
    cell = plan.units[0].cells[0]
    trajs = [
        t
        for _, t in drive(
            [Lane(cell.task.env_id, LLMPolicyAgent(ScriptedBackend(["x"])), cell.seeds)], width=2
        )
    ]
    sink = TrajectorySink(plan.files)
    assert [sink.accept(cell, t) for t in trajs + trajs] == [True, True, False, False]
    assert sink.duplicates == 2 and len(cell.path.read_text().splitlines()) == 2
    # a later run with another model into the same files: refused before writing
    plan2 = plan_units(rows(tmp_path, (SuiteTask("acbench/Needle-v0", 3),), models=(A,)), 0, 8)
    cell2 = plan2.units[0].cells[0]
    other = LLMPolicyAgent(ScriptedBackend(["x"], model_id="another"))
    (traj,) = [t for _, t in drive([Lane(cell2.task.env_id, other, (2,))], width=1)]
    with pytest.raises(TrajectoryFileError, match="another run"):
        TrajectorySink(plan2.files).accept(cell2, traj)
    assert len(cell.path.read_text().splitlines()) == 2


class CountingBackend(ScriptedBackend):
    def __init__(self) -> None:
        super().__init__(["I do not know."])
        self.calls: list[list[int]] = []

    def generate(self, requests):
        self.calls.append([r.max_new_tokens for r in requests])
        return super().generate(requests)


def test_one_generate_call_serves_episodes_of_several_tasks(tmp_path, monkeypatch) -> None:
    backend = CountingBackend()
    suite = Suite(
        "two",
        1,
        0,
        "",
        (
            SuiteTask("acbench/Needle-v0", 2, {"context_length": 256}, max_new_tokens=8),
            SuiteTask("acbench/FunctionCall-v0", 2, {}, max_new_tokens=16),
        ),
        SuiteTask("", 1),
    )
    only(suite, monkeypatch)
    entry = [{"label": "m", "model": "m", "backend": "scripted", "weights_sha256": "aa"}]
    result = run_suite(
        ["m"],
        suite,
        tmp_path,
        agent_factory=lambda e, t, r: LLMPolicyAgent(backend, max_new_tokens=t.max_new_tokens),
        model_entries=entry,
        batch_size=4,
    )
    assert result.new_episodes == 4
    assert sorted(backend.calls[0]) == [8, 8, 16, 16]  # both tasks in the first call


def test_interrupted_local_suite_resumes_to_the_same_trajectories(tmp_path, monkeypatch) -> None:
    only(MINI, monkeypatch)
    models = [e["model"] for e in ENTRIES]
    kw = {"agent_factory": agent_factory, "model_entries": ENTRIES, "batch_size": 3}
    run_suite(models, MINI, tmp_path / "whole", **kw, unit_episodes=5)
    part = tmp_path / "part"
    run_suite(models, MINI, part, **kw, unit_episodes=5)
    cut = part / "runs" / "base" / "Needle-v0.jsonl"
    lines = cut.read_text().splitlines(keepends=True)
    cut.write_text("".join(lines[:4]) + lines[4][:20])  # as a driver killed mid-write leaves it
    again = run_suite(models, MINI, part, **kw, unit_episodes=5)
    assert again.new_episodes == 2
    assert suite_files(part) == suite_files(tmp_path / "whole")
    assert run_suite(models, MINI, part, **kw, unit_episodes=5).new_episodes == 0


def test_executor_options_are_checked() -> None:
    with pytest.raises(ConfigError, match="unknown executor"):
        make_executor("slurm")
    with pytest.raises(ConfigError, match="--executor ray"):
        make_executor("local", address="auto")
    with pytest.raises(ConfigError, match="replicas_per_model"):
        make_executor("ray", replicas_per_model=0)


def test_ray_executor_without_ray_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    executor = make_executor("ray")
    with pytest.raises(MissingDependencyError, match=r"acbench-env\[ray\]"):
        executor.prepare([])


def test_unreachable_address_is_one_error_and_writes_nothing(tmp_path, python_env) -> None:
    out = tmp_path / "suite"
    cmd = [sys.executable, "-m", "acbench_env.cli", "suite", "--models", "default"]
    cmd += ["--out", str(out), "--executor", "ray", "--address", "127.0.0.1:9", "--no-plots"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=python_env, timeout=300)
    assert proc.returncode == 2, proc.stderr
    assert "no Ray cluster answers at 127.0.0.1:9" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (out / "suite.json").exists() and not (out / "runs").exists()


class StreamingBackend(ScriptedBackend):
    """Takes requests while others are in flight (``submit`` / ``collect``), as the vLLM
    backend does; a request finishes after ``max_new_tokens // 8`` engine steps, so short
    requests overtake long ones. The answer depends on the conversation so far."""

    def __init__(self) -> None:
        super().__init__(lambda msgs: f"answer {len(msgs)} {len(msgs[-1]['content']) % 7}")
        self.flight: dict[int, tuple[int, GenerationRequest]] = {}
        self.most_in_flight = 0
        self.joined_mid_flight = 0
        self.cancelled = 0

    def submit(self, key, request) -> None:
        if self.flight:
            self.joined_mid_flight += 1
        self.flight[key] = (request.max_new_tokens // 8, request)
        self.most_in_flight = max(self.most_in_flight, len(self.flight))

    def collect(self):
        """Engine steps until some requests finish (as vLLM's ``collect``)."""
        done: list[int] = []
        while self.flight and not done:
            self.flight = {k: (n - 1, r) for k, (n, r) in self.flight.items()}
            done = [k for k, (n, _) in self.flight.items() if n <= 0]
        return [(k, self.generate([self.flight.pop(k)[1]])[0]) for k in done]

    def cancel(self) -> None:
        self.cancelled += len(self.flight)
        self.flight.clear()


def lanes_of(backend) -> list[Lane]:
    return [
        Lane(
            t.env_id,
            LLMPolicyAgent(backend, max_new_tokens=t.max_new_tokens),
            tuple(range(t.episodes)),
            dict(t.env_kwargs),
        )
        for t in MINI.tasks
    ]


def test_streaming_backend_is_kept_fed_with_the_same_trajectories() -> None:
    lockstep = {
        (i, t.seed): strip_timing(t.to_dict())
        for i, t in drive(lanes_of(StreamingBackend()), width=5, stream=False)
    }
    backend = StreamingBackend()
    streamed = {
        (i, t.seed): strip_timing(t.to_dict()) for i, t in drive(lanes_of(backend), width=5)
    }
    assert streamed == lockstep and len(streamed) == 18
    assert backend.most_in_flight == 5  # never more than the width
    assert backend.joined_mid_flight > 0  # next requests joined the batch in flight
    assert any(len(t["steps"]) > 1 for t in streamed.values())  # multi-step episodes too


def test_stopping_a_streaming_drive_cancels_the_requests_in_flight() -> None:
    backend = StreamingBackend()
    run = drive(lanes_of(backend)[:2], width=8)
    next(run)  # a Needle episode (2 engine steps); the six FunctionCall ones (4) are in flight
    run.close()
    assert backend.cancelled == 6 and not backend.flight


def test_a_streaming_drive_starts_the_longest_chains_first() -> None:
    """BlocksWorld (3 steps of 16 tokens) can chain the most tokens, then FunctionCall and
    Workflow (one step of 32), then Needle (one of 16); ties keep lane order, seed order.
    One episode at a time makes the start order visible, streamed or in lockstep."""
    lanes = lanes_of(StreamingBackend())
    by_chain = [(2, s) for s in lanes[2].seeds]
    by_chain += [(i, s) for i in (1, 3) for s in lanes[i].seeds]
    by_chain += [(0, s) for s in lanes[0].seeds]
    for stream in (True, False):
        got = drive(lanes_of(StreamingBackend()), width=1, stream=stream)
        assert [(i, t.seed) for i, t in got] == by_chain
