"""Grouped rollouts with the real default model: exact spans, drift, reproducible samples."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import gymnasium
import pytest

from acbench_env.agents import LLMPolicyAgent
from acbench_env.core.rollout_tokens import ENV, MODEL, PROMPT, assemble_episode
from acbench_env.core.types import Message, Trajectory
from acbench_env.experiments.rollouts import run_rollouts

pytestmark = pytest.mark.slow

gymnasium.register(id="acbench_test/CountModel-v0", entry_point="tests.core.counting_env:CountEnv")


def conversation(traj: Trajectory, upto: int) -> list[Message]:
    msgs: list[Message] = list(traj.few_shot_messages)
    for step in traj.steps[:upto]:
        msgs.append({"role": "user", "content": step.observation})
        msgs.append({"role": "assistant", "content": step.raw_output})
    msgs.append({"role": "user", "content": traj.steps[upto].observation})
    return msgs


def check_spans(traj: Trajectory, backend, encode) -> int:
    """Assert every span decodes to its text; return the episode's drift."""
    tok = backend.tokenizer
    rec = assemble_episode(traj, encode)
    turn, prev = 0, ""
    for role, ids in rec.spans():
        if role == MODEL:
            assert tok.decode(list(ids), skip_special_tokens=True) == traj.steps[turn].raw_output
            assert list(ids) == list(traj.steps[turn].completion_token_ids)
            turn += 1
            continue
        rendered = backend.render(conversation(traj, turn))
        text = tok.decode(list(ids))
        if role == PROMPT:
            assert text == rendered
        else:
            assert role == ENV
            expected = rendered[len(prev) + len(traj.steps[turn - 1].raw_output) :]
            if rec.drift == 0:
                assert text == expected
            assert traj.steps[turn].observation in text
        prev = rendered
    assert sum(rec.loss_mask) == sum(len(s.completion_token_ids) for s in traj.steps)
    return rec.drift


def encoder(backend):
    tok = backend.tokenizer
    return lambda s: tok(s, add_special_tokens=False)["input_ids"]


@pytest.fixture(scope="module")
def transformers_backend():
    from acbench_env.agents.backends import create_backend

    return create_backend("transformers", model="default", batch_size=4)


def test_same_seeds_same_tokens_and_exact_spans(transformers_backend, tmp_path: Path) -> None:
    agent = LLMPolicyAgent(
        transformers_backend, temperature=1.0, max_new_tokens=6, record_tokens=True
    )
    encode = encoder(transformers_backend)

    def run(out: Path | None):
        return run_rollouts(
            "acbench_test/CountModel-v0",
            agent,
            tasks=2,
            group_size=2,
            encode=encode,
            seed=3,
            out_dir=out,
        )

    first, second = run(tmp_path / "a"), run(None)
    assert [r["token_ids"] for r in first.rows] == [r["token_ids"] for r in second.rows]
    assert [r["logprobs"] for r in first.rows] == [r["logprobs"] for r in second.rows]
    # distinct seeds within a group give different samples somewhere
    assert len({tuple(r["token_ids"]) for r in first.rows}) > 2
    assert any(len(t.steps) > 1 for t in first.trajectories)  # multi-turn episodes
    for traj, row in zip(first.trajectories, first.rows):
        assert check_spans(traj, transformers_backend, encode) == row["drift"]
        mask, lps = row["loss_mask"], row["logprobs"]
        assert all(lp <= 0.0 for lp, m in zip(lps, mask) if m)


@pytest.fixture(scope="module")
def vllm_backend() -> Iterator:
    if importlib.util.find_spec("vllm") is None:
        pytest.skip("vllm is not installed")
    from acbench_env.agents.backends import create_backend

    b = create_backend("vllm", model="default", kv_cache_gb=1, max_model_len=2048)
    try:
        yield b
    finally:
        b.close()


@pytest.mark.vllm
@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [("acbench/Needle-v0", {"context_length": 160}), ("acbench/ToolMultiTurn-v0", {})],
)
def test_vllm_rollouts_spans_and_groups(vllm_backend, env_id, kwargs) -> None:
    agent = LLMPolicyAgent(vllm_backend, temperature=1.0, max_new_tokens=24, record_tokens=True)
    encode = encoder(vllm_backend)

    def run():
        return run_rollouts(env_id, agent, tasks=2, group_size=3, encode=encode, env_kwargs=kwargs)

    result = run()
    assert [r["token_ids"] for r in run().rows] == [r["token_ids"] for r in result.rows]
    for traj, row in zip(result.trajectories, result.rows):
        assert check_spans(traj, vllm_backend, encode) == row["drift"]
    for g in (0, 1):
        group = [r for r in result.rows if r["group"] == g]
        mean = sum(r["reward"] for r in group) / len(group)
        assert [r["advantage"] for r in group] == pytest.approx([r["reward"] - mean for r in group])
