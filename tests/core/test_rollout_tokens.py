"""Multi-turn token assembly, drift counting and group-relative advantages (no model).

A toy backend renders a ChatML-like template over a character tokenizer that merges "ab"
into one token, and generates "ab" as two tokens when told to: that is retokenization drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gymnasium
import numpy as np
import pytest

from acbench_env.agents import LLMPolicyAgent
from acbench_env.core.errors import ConfigError
from acbench_env.core.protocols import Completion, GenerationRequest
from acbench_env.core.rollout_tokens import ENV, MODEL, PROMPT, assemble_episode, group_advantages
from acbench_env.experiments.rollouts import ROLLOUT_SCHEMA, RolloutPlan, run_rollouts

gymnasium.register(id="acbench_test/CountRoll-v0", entry_point="tests.core.counting_env:CountEnv")

START, END, AB = 1000, 1001, 1002
SPECIAL = {"<s>": START, "</s>": END}


def encode(text: str) -> list[int]:
    out, i = [], 0
    while i < len(text):
        for name, tid in SPECIAL.items():
            if text.startswith(name, i):
                out.append(tid)
                i += len(name)
                break
        else:
            if text.startswith("ab", i):
                out.append(AB)
                i += 2
            else:
                out.append(ord(text[i]))
                i += 1
    return out


def decode(ids: Sequence[int]) -> str:
    names = {START: "<s>", END: "</s>", AB: "ab"}
    return "".join(names.get(t, chr(t) if t < 1000 else "?") for t in ids)


def render(messages: Sequence[dict]) -> str:
    text = "".join(f"<s>{m['role']}\n{m['content']}</s>\n" for m in messages)
    return text + "<s>assistant\n"


class ToyBackend:
    """Says the next number (CountEnv's oracle), spelling "ab" unmerged when ``split_ab``."""

    name = "toy"
    model_id = "toy"
    compression = None

    def __init__(self, suffix: str = "", split_ab: bool = False) -> None:
        self.suffix, self.split_ab = suffix, split_ab

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Completion]:
        out = []
        for req in requests:
            said = sum(1 for m in req.messages if m["role"] == "assistant")
            text = f"{said + 1}{self.suffix}"
            ids = encode(text)
            if self.split_ab:
                ids = [c for t in ids for c in ((97, 98) if t == AB else (t,))]
            rng = np.random.default_rng(req.seed)
            prompt = encode(render(req.messages))
            out.append(
                Completion(
                    text=text,
                    token_ids=tuple(ids),
                    prompt_tokens=len(prompt),
                    finish_reason="stop",
                    logprobs=tuple(float(-rng.random()) for _ in ids),
                    prompt_token_ids=tuple(prompt) if req.return_token_ids else None,
                )
            )
        return out

    def close(self) -> None:
        return None


def rollouts(tmp_path: Path | None = None, **backend_kwargs):
    agent = LLMPolicyAgent(ToyBackend(**backend_kwargs), temperature=1.0, record_tokens=True)
    return run_rollouts(
        "acbench_test/CountRoll-v0",
        agent,
        tasks=3,
        group_size=2,
        encode=encode,
        seed=5,
        out_dir=tmp_path,
    )


def test_spans_decode_to_prompt_model_turns_and_env_turns():
    result = rollouts(suffix=" cab")
    for traj, row in zip(result.trajectories, result.rows):
        rec = assemble_episode(traj, encode)
        spans = rec.spans()
        roles = [r for r, _ in spans]
        assert roles == [PROMPT] + [MODEL, ENV] * (len(traj.steps) - 1) + [MODEL]
        assert [decode(ids) for r, ids in spans if r == MODEL] == [s.raw_output for s in traj.steps]
        # the whole sequence is the final conversation as the template renders it
        messages = []
        for step in traj.steps:
            messages += [{"role": "user", "content": step.observation}]
            messages += [{"role": "assistant", "content": step.raw_output}]
        full = render(messages[:-1]) + traj.steps[-1].raw_output
        assert decode(rec.token_ids) == full
        for (role, ids), start in zip(spans, rec.turn_starts):
            mask = rec.loss_mask[start : start + len(ids)]
            assert set(mask) <= ({1} if role == MODEL else {0})
        assert rec.drift == 0
        assert row["drift"] == 0 and row["token_ids"] == list(rec.token_ids)
        # logprobs: the completion's, in place; 0.0 off the mask
        generated = [lp for s in traj.steps for lp in s.logprobs]
        assert [lp for lp, m in zip(rec.logprobs, rec.loss_mask) if m] == generated
        assert all(lp == 0.0 for lp, m in zip(rec.logprobs, rec.loss_mask) if not m)


def test_drift_is_counted_and_generated_ids_are_kept():
    result = rollouts(suffix=" cab", split_ab=True)
    for traj in result.trajectories:
        rec = assemble_episode(traj, encode)
        assert rec.drift == len(traj.steps)  # every turn spelled "ab" as two tokens
        model_ids = [ids for r, ids in rec.spans() if r == MODEL]
        assert [list(ids) for ids in model_ids] == [
            list(s.completion_token_ids) for s in traj.steps
        ]
        assert all(AB not in ids for ids in model_ids)
        # env spans still hold the template's text between the turns
        env_text = [decode(ids) for r, ids in rec.spans() if r == ENV]
        assert all(t.startswith("</s>\n<s>user\n") for t in env_text)
        assert all(t.endswith("<s>assistant\n") for t in env_text)


def test_unrecorded_trajectory_is_refused():
    result = rollouts()
    traj = result.trajectories[0]
    bare = type(traj)(
        **{
            **traj.__dict__,
            "steps": tuple(type(s)(**{**s.__dict__, "prompt_token_ids": None}) for s in traj.steps),
        }
    )
    with pytest.raises(ConfigError, match="record_tokens"):
        assemble_episode(bare, encode)


def test_groups_share_a_task_and_samples_have_distinct_seeds():
    result = rollouts()
    rows = result.rows
    assert [(r["group"], r["sample"]) for r in rows] == [(g, j) for g in range(3) for j in range(2)]
    assert len({r["seed"] for r in rows}) == 6
    for g in range(3):
        assert {r["task_index"] for r in rows if r["group"] == g} == {g}
    # same seeds, same tokens and logprobs
    again = rollouts()
    assert [r["token_ids"] for r in again.rows] == [r["token_ids"] for r in rows]
    assert [r["logprobs"] for r in again.rows] == [r["logprobs"] for r in rows]


def test_group_advantages_mean_centred_and_std_normalised():
    rewards = [1.0, 0.0, 0.0, 0.0, 0.5, 0.5]
    groups = [0, 0, 0, 0, 1, 1]
    adv = group_advantages(rewards, groups)
    assert adv == pytest.approx([0.75, -0.25, -0.25, -0.25, 0.0, 0.0])
    norm = group_advantages(rewards, groups, normalize_std=True)
    assert norm == pytest.approx(
        [0.75 / np.std([1, 0, 0, 0]), *[-0.25 / np.std([1, 0, 0, 0])] * 3, 0, 0]
    )
    with pytest.raises(ConfigError):
        group_advantages([1.0], [0, 1])


def test_plan_checks_and_layout():
    plan = RolloutPlan.build(2, 3, seed=10, first_task=4)
    assert plan.seeds == (10, 11, 12, 13, 14, 15)
    assert plan.task_indices == (4, 4, 4, 5, 5, 5)
    with pytest.raises(ConfigError):
        RolloutPlan.build(0, 3)
    agent = LLMPolicyAgent(ToyBackend(), temperature=1.0, record_tokens=True)
    with pytest.raises(ConfigError, match="tasks"):
        run_rollouts("acbench_test/CountRoll-v0", agent, tasks=20, group_size=1, encode=encode)
    plain = LLMPolicyAgent(ToyBackend(), temperature=1.0)
    with pytest.raises(ConfigError, match="record_tokens"):
        run_rollouts("acbench_test/CountRoll-v0", plain, tasks=1, group_size=1, encode=encode)


def test_export_reads_back_with_documented_types(tmp_path):
    datasets = pytest.importorskip("datasets")
    pq = pytest.importorskip("pyarrow.parquet")
    result = rollouts(tmp_path)
    assert (tmp_path / "trajectories.jsonl").is_file()
    ds = datasets.load_from_disk(str(tmp_path / "dataset"))
    expected = {
        "string": datasets.Value("string"),
        "int64": datasets.Value("int64"),
        "float64": datasets.Value("float64"),
        "bool": datasets.Value("bool"),
    }
    for name, kind in ROLLOUT_SCHEMA:
        feature = ds.features[name]
        if kind.startswith("list<"):
            assert isinstance(feature, datasets.List), name
            assert feature.feature == datasets.Value(kind[5:-1]), name
        else:
            assert feature == expected[kind], name
    assert ds.num_rows == 6
    assert ds[0]["token_ids"] == result.rows[0]["token_ids"]
    assert ds[3]["advantage"] == pytest.approx(result.rows[3]["advantage"])
    table = pq.read_table(tmp_path / "rollouts.parquet")
    assert table.column_names == [name for name, _ in ROLLOUT_SCHEMA]
    from_parquet = datasets.load_dataset("parquet", data_files=str(tmp_path / "rollouts.parquet"))
    assert from_parquet["train"]["loss_mask"] == ds["loss_mask"]
    # resuming: a second run on the same folder runs nothing new and writes the same table
    again = rollouts(tmp_path)
    assert [r["token_ids"] for r in again.rows] == [r["token_ids"] for r in result.rows]
