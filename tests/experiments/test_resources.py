"""Per-model resources of a suite run (checkpoint size, peak memory) and ``--record-tokens``."""

from __future__ import annotations

import json
import mmap
import os
import time
from pathlib import Path

import pytest

from acbench_env.experiments.resources import (
    MemoryMeter,
    ResourceTracker,
    checkpoint_bytes,
)


def test_memory_meter_sees_an_allocation_made_while_it_runs() -> None:
    psutil = pytest.importorskip("psutil")
    meter = MemoryMeter(interval_s=0.01)
    meter.start()
    # This process alone: the meter adds children's memory, and child processes left by
    # earlier tests (Ray, vLLM) may exit meanwhile, so the tree is no fixed baseline.
    before = psutil.Process(os.getpid()).memory_info().rss
    # Fresh pages from the kernel, touched one by one: a heap allocation (numpy) may reuse
    # memory that earlier tests freed but the allocator kept resident, so RSS need not grow.
    size = 300 * 2**20
    block = mmap.mmap(-1, size)
    for offset in range(0, size, mmap.PAGESIZE):
        block[offset] = 1
    # The sampler thread, not this one, must see it: wait for it (a loaded machine may not
    # schedule the thread within a fixed sleep), then free the block before stop() samples.
    deadline = time.monotonic() + 30.0
    while meter.peak_rss_bytes < before + 250 * 2**20 and time.monotonic() < deadline:
        time.sleep(0.01)
    block.close()
    rec = meter.stop()
    assert rec["peak_memory_kind"] == "process_rss"
    assert rec["peak_memory_bytes"] >= before + 250 * 2**20


def test_checkpoint_bytes_counts_weight_files_only(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model-00001.safetensors").write_bytes(b"x" * 1000)
    (tmp_path / "model-00002.safetensors").write_bytes(b"x" * 234)
    (tmp_path / "tokenizer.json").write_bytes(b"x" * 5000)
    assert checkpoint_bytes(str(tmp_path)) == 1234
    assert checkpoint_bytes(str(tmp_path / "missing")) is None  # e.g. a served model name


def test_tracker_without_per_model_memory_records_sizes_only(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"x" * 10)
    tracker = ResourceTracker(per_model=False)
    tracker.loading("m", str(tmp_path), "transformers")
    rec = tracker.finish()["m"]
    assert rec["checkpoint_bytes"] == 10
    assert rec["peak_memory_bytes"] is None  # every model stays loaded: not separable


SUITE_FILE = """
name: tiny
version: 1
seed: 3
all_envs: false
tasks:
  - {env_id: acbench/FunctionCall-v0, episodes: 2, max_new_tokens: 12}
"""


@pytest.mark.slow
def test_suite_records_resources_and_tokens_for_diagnose(tmp_path: Path, capsys) -> None:
    pytest.importorskip("transformers")
    from acbench_env.cli import main
    from acbench_env.core.jsonl import read_trajectories
    from tests.scoring.tiny_models import make_tiny_model

    base = make_tiny_model(tmp_path / "tiny-base", seed=0)
    variant = make_tiny_model(
        tmp_path / "tiny-noisy", seed=0, noise=0.05, compression={"method": "noise"}
    )
    (tmp_path / "tiny.yaml").write_text(SUITE_FILE)
    out = tmp_path / "suite"
    args = ["suite", "--models", f"{base},{variant}", "--suite", str(tmp_path / "tiny.yaml")]
    assert main([*args, "--out", str(out), "--no-progress", "--no-plots", "--record-tokens"]) == 0
    for label, folder in (("tiny-base", base), ("tiny-noisy", variant)):
        rec = json.loads((out / "runs" / label / "resources.json").read_text())
        assert rec["checkpoint_bytes"] == sum(
            f.stat().st_size for f in folder.glob("*.safetensors")
        )
        assert rec["peak_memory_kind"] in ("process_rss", "cuda_max_allocated")
        assert rec["peak_memory_bytes"] > rec["model_memory_bytes"] > 0
        trajs = read_trajectories(out / "runs" / label / "FunctionCall-v0.jsonl")
        steps = [s for t in trajs for s in t.steps]
        assert steps and all(s.completion_token_ids is not None for s in steps)
        assert all(s.prompt_token_ids for s in steps)
    capsys.readouterr()
    assert (
        main(
            [
                "diagnose",
                "--base",
                str(base),
                "--compressed",
                str(variant),
                "--trajectories",
                str(out),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    diag = json.loads((out / "diagnostics.json").read_text())
    assert diag["token_source"]["retokenized"] == 0 and diag["token_source"]["recorded"] > 0
    eff = json.loads((out / "report.json").read_text())["where_it_breaks"]["efficiency"]
    for label in ("tiny-base", "tiny-noisy"):
        assert eff[label]["peak_memory_bytes"] > 0 and eff[label]["checkpoint_bytes"] > 0
        assert eff[label]["generated_tok_s"] > 0
    assert "### Efficiency per variant" in (out / "report.md").read_text()
