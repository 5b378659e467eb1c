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
    log = json.loads((tmp_path / "train_log.json").read_text())
    assert [h["step"] for h in log] == [1, 2] and all(0.0 <= h["reward"] <= 1.0 for h in log)
    # the saved model is the trained one: its weights moved iff some group's rewards differed
    # (GRPO's advantages, and so its gradients, are zero when all samples score the same)
    base = load_file(str(resolve_model("default") / "model.safetensors"))
    trained = load_file(str(tmp_path / "model" / "model.safetensors"))
    assert set(trained) <= set(base)
    moved = [k for k in trained if not torch.equal(base[k].float(), trained[k].float())]
    assert bool(moved) == any(h["reward_std"] > 0 for h in log)
