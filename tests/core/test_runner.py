"""The rollout runner: batching, seeds, durable output, resume."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
from pathlib import Path

import gymnasium
import pytest

from acbench_env.agents import LLMPolicyAgent, OracleAgent
from acbench_env.agents.backends.scripted import ScriptedBackend
from acbench_env.core.errors import ConfigError, TrajectoryFileError
from acbench_env.core.jsonl import read_trajectories
from acbench_env.core.seeds import request_seed
from acbench_env.experiments.runner import run_episodes

gymnasium.register(id="acbench_test/Count-v0", entry_point="tests.core.counting_env:CountEnv")


def needle_answerer(messages) -> str:
    """Answers the needle right when the key's first letter is in a-m, else wrongly."""
    text = messages[-1]["content"]
    key = re.search(r"magic number for (\S+) mentioned", text).group(1)
    value = re.search(rf"number for {re.escape(key)} is (\d+)\.", text).group(1)
    return f"It is {value}." if key[0] <= "m" else "I do not know."


def needle_agent(model_id: str = "scripted") -> LLMPolicyAgent:
    return LLMPolicyAgent(ScriptedBackend(needle_answerer, model_id=model_id))


@pytest.fixture
def needle_kwargs(word_counter):
    return {"context_length": 200, "tokenizer": word_counter, "num_tasks": 20}


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def strip_timing(obj):
    if isinstance(obj, dict):
        return {k: strip_timing(v) for k, v in obj.items() if k != "wall_time_s"}
    if isinstance(obj, list):
        return [strip_timing(v) for v in obj]
    return obj


def test_run_writes_one_line_per_episode(tmp_path, needle_kwargs) -> None:
    out = tmp_path / "run.jsonl"
    res = run_episodes(
        "acbench/Needle-v0",
        needle_agent(),
        episodes=7,
        seed=5,
        out=out,
        env_kwargs=needle_kwargs,
        batch_size=3,
    )
    assert res.new_episodes == 7 and res.resumed_episodes == 0
    recs = lines(out)
    assert sorted(r["seed"] for r in recs) == list(range(5, 12))
    scores = {t.seed: t.score for t in res.trajectories}
    # The scripted answerer is right exactly when the key starts with a-m.
    for t in res.trajectories:
        key = re.search(r"magic number for (\S+) mentioned", t.steps[0].observation).group(1)
        assert scores[t.seed] == (1.0 if key[0] <= "m" else 0.0)
        assert t.steps[0].format_failure == (key[0] > "m")
        assert t.model.model_id == "scripted" and t.capability == "long_context"
        assert t.env_kwargs["tokenizer"] == "<WordCounter words>"


def test_batched_equals_sequential(tmp_path, needle_kwargs) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    run_episodes(
        "acbench/Needle-v0",
        needle_agent(),
        episodes=6,
        out=a,
        env_kwargs=needle_kwargs,
        batch_size=1,
    )
    run_episodes(
        "acbench/Needle-v0",
        needle_agent(),
        episodes=6,
        out=b,
        env_kwargs=needle_kwargs,
        batch_size=4,
    )
    key = lambda r: r["seed"]  # noqa: E731
    assert sorted(map(strip_timing, lines(a)), key=key) == sorted(
        map(strip_timing, lines(b)), key=key
    )


def test_multi_step_conversation_and_batching(tmp_path) -> None:
    seen: list[tuple] = []

    def counter(messages) -> str:
        seen.append(tuple(m["role"] for m in messages))
        return str(sum(1 for m in messages if m["role"] == "assistant") + 1)

    out = tmp_path / "c.jsonl"
    res = run_episodes(
        "acbench_test/Count-v0",
        LLMPolicyAgent(ScriptedBackend(counter)),
        episodes=5,
        seed=0,
        out=out,
        batch_size=5,
    )
    for t in res.trajectories:
        target = int(t.task_id.rsplit("-", 1)[1])
        assert len(t.steps) == target and t.success and t.score == 1.0
        assert [s.raw_output for s in t.steps] == [str(i) for i in range(1, target + 1)]
        assert t.steps[1].observation == "Say 2."
    assert ("user", "assistant", "user") in seen


def test_few_shot_turns_come_first_and_are_recorded(tmp_path) -> None:
    first_requests: list[list[dict]] = []

    def counter(messages) -> str:
        if messages[-1]["content"].startswith("Count to"):
            first_requests.append([dict(m) for m in messages])
        return str(sum(1 for m in messages[4:] if m["role"] == "assistant") + 1)

    out = tmp_path / "fs.jsonl"
    res = run_episodes(
        "acbench_test/Count-v0",
        LLMPolicyAgent(ScriptedBackend(counter)),
        episodes=3,
        seed=0,
        out=out,
        env_kwargs={"few_shot": 2},
        batch_size=3,
    )
    shots = [
        {"role": "user", "content": "Example 0: count to 1. Say 1."},
        {"role": "assistant", "content": "1"},
        {"role": "user", "content": "Example 1: count to 1. Say 1."},
        {"role": "assistant", "content": "1"},
    ]
    assert len(first_requests) == 3
    for messages in first_requests:
        assert messages[:4] == shots and messages[4]["role"] == "user"
    assert all(t.success for t in res.trajectories)
    stored = read_trajectories(out)
    assert [list(t.few_shot_messages) for t in stored] == [shots] * 3
    # Without examples the key stays out of the file (older files are unchanged).
    plain = tmp_path / "plain.jsonl"
    one = LLMPolicyAgent(ScriptedBackend(lambda messages: "1"))
    run_episodes("acbench_test/Count-v0", one, episodes=1, seed=0, out=plain)
    assert "few_shot_messages" not in lines(plain)[0]


def test_agent_reset_takes_few_shot_turns() -> None:
    seen: list[tuple[str, ...]] = []

    def echo(messages) -> str:
        seen.append(tuple(m["content"] for m in messages))
        return "ok"

    agent = LLMPolicyAgent(ScriptedBackend(echo))
    agent.reset(few_shot=[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}])
    agent.act("task")
    agent.reset()
    agent.act("task 2")
    assert seen == [("q", "a", "task"), ("task 2",)]


def test_truncation_at_max_steps(tmp_path) -> None:
    res = run_episodes(
        "acbench_test/Count-v0",
        LLMPolicyAgent(ScriptedBackend(["nope"])),
        episodes=2,
        out=tmp_path / "t.jsonl",
    )
    for t in res.trajectories:
        assert len(t.steps) == 6 and t.steps[-1].truncated and not t.success
        assert t.format_failures == 6


def test_seeds_reach_the_backend() -> None:
    class Recording(ScriptedBackend):
        def generate(self, requests):
            self.seeds.extend(r.seed for r in requests)
            return super().generate(requests)

    backend = Recording(["1", "2", "3", "4"])
    backend.seeds = []
    run_episodes("acbench_test/Count-v0", LLMPolicyAgent(backend), episodes=2, seed=4)
    assert backend.seeds[0] == request_seed(4, 0)
    assert len(set(backend.seeds)) == len(backend.seeds)
    assert request_seed(4, 0) != request_seed(5, 0) != request_seed(4, 1)


def test_resume_skips_finished_episodes(tmp_path, needle_kwargs) -> None:
    out = tmp_path / "r.jsonl"
    run_episodes("acbench/Needle-v0", needle_agent(), episodes=3, out=out, env_kwargs=needle_kwargs)
    res = run_episodes(
        "acbench/Needle-v0", needle_agent(), episodes=5, out=out, env_kwargs=needle_kwargs
    )
    assert (res.new_episodes, res.resumed_episodes) == (2, 3)
    again = run_episodes(
        "acbench/Needle-v0", needle_agent(), episodes=5, out=out, env_kwargs=needle_kwargs
    )
    assert again.new_episodes == 0
    assert sorted(r["seed"] for r in lines(out)) == [0, 1, 2, 3, 4]


def test_partial_last_line_is_repaired(tmp_path, needle_kwargs) -> None:
    out = tmp_path / "p.jsonl"
    run_episodes("acbench/Needle-v0", needle_agent(), episodes=2, out=out, env_kwargs=needle_kwargs)
    full = out.read_bytes()
    second = full.splitlines(keepends=True)[1]
    out.write_bytes(full[: len(full) - len(second)] + second[: len(second) // 2])
    res = run_episodes(
        "acbench/Needle-v0", needle_agent(), episodes=3, out=out, env_kwargs=needle_kwargs
    )
    assert (res.new_episodes, res.resumed_episodes) == (2, 1)
    assert sorted(r["seed"] for r in lines(out)) == [0, 1, 2]


def test_corrupt_file_is_an_error_and_untouched(tmp_path, needle_kwargs) -> None:
    out = tmp_path / "bad.jsonl"
    out.write_text('{"not": "a trajectory"}\nrandom text\n')
    before = out.read_bytes()
    with pytest.raises(TrajectoryFileError, match="line 1 of .* another output file"):
        run_episodes(
            "acbench/Needle-v0", needle_agent(), episodes=2, out=out, env_kwargs=needle_kwargs
        )
    assert out.read_bytes() == before


def test_other_run_in_file_is_an_error(tmp_path, needle_kwargs) -> None:
    out = tmp_path / "o.jsonl"
    run_episodes(
        "acbench/Needle-v0", needle_agent("a"), episodes=1, out=out, env_kwargs=needle_kwargs
    )
    with pytest.raises(TrajectoryFileError, match="another run"):
        run_episodes(
            "acbench/Needle-v0", needle_agent("b"), episodes=2, out=out, env_kwargs=needle_kwargs
        )
    with pytest.raises(TrajectoryFileError, match="another run"):
        run_episodes(
            "acbench/Needle-v0",
            needle_agent("a"),
            episodes=2,
            out=out,
            env_kwargs={**needle_kwargs, "context_length": 250},
        )
    assert len(lines(out)) == 1


def test_bad_run_arguments(tmp_path, needle_kwargs) -> None:
    for kwargs in ({"episodes": 0}, {"episodes": 2, "seed": -1}, {"episodes": 2, "batch_size": 0}):
        with pytest.raises(ConfigError):
            run_episodes(
                "acbench/Needle-v0",
                OracleAgent(),
                env_kwargs=needle_kwargs,
                out=tmp_path / "x.jsonl",
                **kwargs,
            )
    assert not (tmp_path / "x.jsonl").exists()


SLOW_RUN = r"""
import sys, time
sys.path.insert(0, {root!r})
import acbench_env
from acbench_env.agents import OracleAgent
from acbench_env.experiments.runner import run_episodes

class Slow(OracleAgent):
    def respond(self, inputs):
        time.sleep(0.1)
        return super().respond(inputs)

run_episodes("acbench/Needle-v0", Slow(), episodes={n}, seed=0, out={out!r},
             env_kwargs={{"context_length": 150, "tokenizer": {tok!r}}}, batch_size=2)
"""


@pytest.mark.slow
def test_killed_runs_resume_without_loss_or_duplicates(tmp_path, python_exe, python_env) -> None:
    from acbench_env.core.models import default_model_dir

    tok = str(default_model_dir() / "tokenizer.json")
    root = str(Path(__file__).resolve().parents[2])
    n = 60
    out = tmp_path / "killed.jsonl"
    script = tmp_path / "slow_run.py"
    script.write_text(SLOW_RUN.format(root=root, n=n, out=str(out), tok=tok))
    counts = []
    for kill_after, jitter in ((4, 0.0), (14, 0.03), (26, 0.07), (40, 0.011)):
        proc = subprocess.Popen([python_exe, str(script)], env=python_env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= kill_after:
                break
            time.sleep(0.005)
        time.sleep(jitter)  # land the kill at different points of an episode
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        counts.append(len(read_trajectories(out)))
    subprocess.run([python_exe, str(script)], env=python_env, check=True, timeout=300)
    seeds = [json.loads(x)["seed"] for x in out.read_text().splitlines()]
    assert sorted(seeds) == list(range(n)), counts
    assert counts == sorted(counts) and counts[-1] < n, counts  # the kills interrupted it


def test_step_values_reads_a_suite_folders_episodes_by_env_and_seed(
    tmp_path, needle_kwargs
) -> None:
    from acbench_env.core.jsonl import step_values

    for label, seed in (("a", 0), ("b", 10)):
        run_episodes(
            "acbench/Needle-v0",
            needle_agent(),
            episodes=3,
            seed=seed,
            out=tmp_path / "runs" / label / "Needle-v0.jsonl",
            env_kwargs=needle_kwargs,
        )
    got = step_values(tmp_path, "raw_output")
    keys = sorted(got)
    assert keys == [("acbench/Needle-v0", s) for s in (0, 1, 2, 10, 11, 12)]
    by_seed = {t.seed: t for t in read_trajectories(tmp_path / "runs" / "a" / "Needle-v0.jsonl")}
    for s, traj in by_seed.items():
        assert got[("acbench/Needle-v0", s)] == [step.raw_output for step in traj.steps]
    assert step_values(tmp_path / "missing", "raw_output") == {}
