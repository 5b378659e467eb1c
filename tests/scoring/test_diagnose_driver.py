"""The diagnose driver without a model: replay items (recorded and re-rendered), batching,
and the torch comparison against the pure numpy core."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from acbench_env.core.errors import ConfigError
from acbench_env.core.types import ModelInfo, StepRecord, Trajectory
from acbench_env.experiments.diagnose import (
    _batches,
    _inputs,
    compare_rows,
    load_trajectories,
    replay_items,
)
from acbench_env.scoring.diagnostics import token_stats


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from acbench_env.core.models import resolve_model

    return AutoTokenizer.from_pretrained(resolve_model("default"))


def _traj(recorded: bool) -> Trajectory:
    steps = tuple(
        StepRecord(
            index=i,
            observation=f"question {i}",
            raw_output=f"answer {i}",
            parsed_action=None,
            parse_error=None,
            reward=0.0,
            terminated=i == 1,
            truncated=False,
            prompt_token_ids=(1, 2, 3, i) if recorded else None,
            completion_token_ids=(7, 8 + i) if recorded else None,
        )
        for i in range(2)
    )
    return Trajectory(
        env_id="acbench/Needle-v0",
        env_kwargs={},
        seed=3,
        task_id="t",
        task_index=0,
        model=ModelInfo("default", "transformers"),
        steps=steps,
        score=0.0,
        success=False,
        capability="long_context",
        system_prompt="be brief",
    )


def test_replay_items_recorded_and_rerendered(tokenizer):
    rec = replay_items([_traj(True)], tokenizer)
    assert [it.prompt_ids for it in rec] == [(1, 2, 3, 0), (1, 2, 3, 1)]
    assert [it.output_ids for it in rec] == [(7, 8), (7, 9)]
    assert all(it.recorded for it in rec)
    re = replay_items([_traj(False)], tokenizer)
    assert not any(it.recorded for it in re)
    second = tokenizer.decode(list(re[1].prompt_ids))
    # The re-rendered prompt holds the system prompt and the conversation so far.
    for part in ("be brief", "question 0", "answer 0", "question 1"):
        assert part in second
    assert second.index("answer 0") < second.index("question 1")
    assert tokenizer.decode(list(re[1].output_ids)) == "answer 1"


def test_inputs_left_pad_and_batches():
    items = replay_items([_traj(True)], None)
    ids, mask, keep = _inputs(items, 0, torch.device("cpu"))
    assert keep == 2 and ids.shape == (2, 5)
    assert ids[0].tolist() == [1, 2, 3, 0, 7]  # prompt + output[:-1]
    assert mask.sum().item() == 10
    assert sorted(i for b in _batches(items, 6) for i in b) == [0, 1]
    assert all(len(b) == 1 for b in _batches(items, 6))


def test_compare_rows_matches_numpy_core():
    rng = np.random.default_rng(1)
    b, c = rng.normal(size=(5, 11)), rng.normal(size=(5, 11))
    targets = rng.integers(0, 11, size=5)
    kl, top1, rank = token_stats(b, c, targets)
    tb = torch.log_softmax(torch.tensor(b, dtype=torch.float64), dim=-1)
    tc = torch.log_softmax(torch.tensor(c, dtype=torch.float64), dim=-1)
    tkl, ttop1, trank, _ = compare_rows(tb, tc, torch.tensor(targets))
    assert tkl.numpy() == pytest.approx(kl)
    assert ttop1.numpy().tolist() == top1.tolist()
    assert trank.numpy().tolist() == rank.tolist()


def test_load_trajectories_errors(tmp_path):
    with pytest.raises(Exception, match="does not exist"):
        load_trajectories([tmp_path / "nope.jsonl"])
    with pytest.raises(ConfigError, match="suite manifest"):
        load_trajectories([tmp_path])


def test_cli_diagnose_bad_trajectories_fail_before_any_model(tmp_path, capsys):
    from acbench_env.cli import main

    code = main(
        [
            "diagnose",
            "--base",
            "default",
            "--compressed",
            "default",
            "--trajectories",
            str(tmp_path / "missing.jsonl"),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_output_log_probs_batched_equals_one_sequence_at_a_time(tmp_path):
    """The batched, left-padded pass (decoder once, LM head on the output rows only) gives
    the log-probs of a plain forward of each sequence alone, and so does the generic path
    (the model's own forward with ``logits_to_keep``)."""
    from transformers import AutoModelForCausalLM

    from acbench_env.experiments import diagnose as d
    from tests.scoring.tiny_models import make_tiny_model

    model = AutoModelForCausalLM.from_pretrained(make_tiny_model(tmp_path / "m", seed=2)).eval()
    items = [
        d.ReplayItem("e", 0, "t", 0, "c", (5, 6, 7, 8, 9, 10), (11, 12, 13), True),
        d.ReplayItem("e", 1, "t", 0, "c", (20, 21), (22,), True),
        d.ReplayItem("e", 2, "t", 1, "c", (30, 31, 32), (33, 34, 35, 36, 37), True),
    ]
    with torch.inference_mode():
        ref = []
        for it in items:
            seq = torch.tensor([list(it.prompt_ids) + list(it.output_ids[:-1])])
            logits = model(input_ids=seq).logits[0, -len(it.output_ids) :]
            ref.append(torch.log_softmax(logits.float(), dim=-1))
    expected = torch.cat(ref)
    fast = d.output_log_probs(model, items, pad_id=0)
    assert fast.shape == (9, model.config.vocab_size)
    torch.testing.assert_close(fast, expected, atol=1e-4, rtol=1e-4)
    model.config.model_type = "not-a-plain-head"  # forces the generic path
    generic = d.output_log_probs(model, items, pad_id=0)
    torch.testing.assert_close(generic, expected, atol=1e-4, rtol=1e-4)
