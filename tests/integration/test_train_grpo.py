"""A shortened run of examples/train_grpo.py: TRL's GRPO on the default model, CPU."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_grpo.py"


def test_train_grpo_short_run(tmp_path: Path) -> None:
    pytest.importorskip("trl")
    pytest.importorskip("datasets")
    import torch
    from safetensors.torch import load_file

    from acbench_env.core.models import resolve_model

    spec = importlib.util.spec_from_file_location("train_grpo", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    summary = module.main(
        [
            "--out", str(tmp_path),
            "--steps", "2",
            "--train-tasks", "4",
            "--eval-tasks", "4",
            "--num-generations", "4",
            "--prompts-per-step", "1",
            "--max-completion-length", "12",
            "--learning-rate", "1e-4",
        ]
    )  # fmt: skip
    assert len(summary["before"]) == len(summary["after"]) == 4
    assert all(x in (0.0, 1.0) for x in summary["before"] + summary["after"])
    assert summary["ci"][0] <= summary["difference"] <= summary["ci"][1]
    stored = json.loads((tmp_path / "summary.json").read_text())
    assert stored["after"] == summary["after"]
    rewards = json.loads((tmp_path / "train_rewards.json").read_text())
    assert len(rewards) == 2 and all(0.0 <= r <= 1.0 for r in rewards)
    # the saved model is a trained copy: some weights moved
    base = load_file(str(resolve_model("default") / "model.safetensors"))
    trained = load_file(str(tmp_path / "model" / "model.safetensors"))
    moved = [k for k in base if k in trained and not torch.equal(base[k].float(), trained[k])]
    assert moved
