"""The real default model (SmolLM2-135M-Instruct) through the transformers backend."""

from __future__ import annotations

import json
import subprocess

import pytest

from acbench_env.core.types import TIMING_FIELD

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def backend():
    from acbench_env.agents.backends import create_backend

    return create_backend("transformers", model="default", batch_size=4)


def strip_timing(obj):
    if isinstance(obj, dict):
        return {k: strip_timing(v) for k, v in obj.items() if k != TIMING_FIELD}
    if isinstance(obj, list):
        return [strip_timing(v) for v in obj]
    return obj


def test_backend_generates_with_token_accounting(backend) -> None:
    from acbench_env.core.protocols import GenerationRequest

    msgs = ({"role": "user", "content": "What is the capital of France?"},)
    greedy = GenerationRequest(messages=msgs, max_new_tokens=12, logprobs=True)
    a, b = backend.generate([greedy, greedy])
    assert a.text == b.text and "Paris" in a.text
    assert len(a.logprobs) == len(a.token_ids) > 0 and all(lp <= 0 for lp in a.logprobs)
    assert a.prompt_tokens > 10 and a.finish_reason in ("stop", "length")

    def sampled(seed: int) -> str:
        req = GenerationRequest(messages=msgs, max_new_tokens=16, temperature=1.0, seed=seed)
        return backend.generate([req])[0].text

    assert sampled(1) == sampled(1)
    assert len({sampled(s) for s in range(4)}) > 1


def test_cli_run_is_reproducible_and_scores(tmp_path, python_exe, python_env) -> None:
    outs = [tmp_path / "a.jsonl", tmp_path / "b.jsonl"]
    for out in outs:
        proc = subprocess.run(
            [
                python_exe,
                "-m",
                "acbench_env.cli",
                "run",
                "--env",
                "acbench/Needle-v0",
                "--model",
                "default",
                "--episodes",
                "4",
                "--seed",
                "0",
                "--out",
                str(out),
                "--batch-size",
                "2",
                "--env-arg",
                "context_length=512",
                "--no-progress",
            ],
            capture_output=True,
            text=True,
            env=python_env,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr
        assert "4 episodes of acbench/Needle-v0" in proc.stdout
    a, b = ([strip_timing(json.loads(x)) for x in o.read_text().splitlines()] for o in outs)
    assert a == b
    assert len(a) == 4 and {r["model"]["model_id"] for r in a} == {"default"}
    for rec in a:
        step = rec["steps"][0]
        assert step["raw_output"] and step["completion_tokens"] > 0
        assert 500 <= step["info"]["context_tokens"] <= 512 < step["prompt_tokens"]
    # SmolLM2-135M finds a needle in 512 tokens most of the time; all-wrong means a broken prompt.
    assert sum(r["score"] for r in a) >= 1


def test_model_folder_path_is_accepted(tmp_path) -> None:
    from acbench_env.agents import LLMPolicyAgent
    from acbench_env.agents.backends import create_backend
    from acbench_env.core.models import default_model_dir
    from acbench_env.experiments.runner import run_episodes

    path = str(default_model_dir())
    agent = LLMPolicyAgent(create_backend("transformers", model=path), max_new_tokens=24)
    res = run_episodes(
        "acbench/Needle-v0",
        agent,
        episodes=1,
        seed=3,
        env_kwargs={"context_length": 256},
        out=tmp_path / "p.jsonl",
    )
    traj = res.trajectories[0]
    assert traj.model.model_id == path and traj.model.compression is None
    assert traj.steps[0].completion_tokens <= 24
