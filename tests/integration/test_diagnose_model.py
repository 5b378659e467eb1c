"""``acbench diagnose`` on the real default model: a model against itself, and RTN-8-bit
against magnitude-50% pruning, on stored base-model trajectories (recorded token ids)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from acbench_env.core.jsonl import read_trajectories
from acbench_env.experiments.diagnose import diagnose

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
#: Default-model trajectories with recorded token ids (FunctionCall, Workflow, BlocksWorld).
BASE = ROOT / "tests" / "scoring" / "data" / "diagnose_base.jsonl"


@pytest.fixture(scope="module")
def variants(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("variants")
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "make_test_variants.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    return out


def test_self_is_identical_and_rtn8_closer_than_magnitude50(variants: Path) -> None:
    trajs = read_trajectories(BASE)
    assert trajs and all(s.completion_token_ids for t in trajs for s in t.steps)
    rec = diagnose(
        "default",
        ["default", str(variants / "rtn-w8"), str(variants / "magnitude-s50")],
        trajs,
        labels=["self", "rtn8", "mag50"],
        resamples=50,
    )
    assert rec["token_source"]["retokenized"] == 0
    json.dumps(rec)  # JSON-able
    same = rec["variants"]["self"]["classes"]
    assert same["all"]["tokens"] > 100
    for cls, row in same.items():
        assert row["kl"] == pytest.approx(0.0, abs=1e-7), cls
        assert row["top1_agreement"] == 1.0, cls
    assert rec["variants"]["self"]["first_divergence"]["diverged"] == 0
    rtn, mag = rec["variants"]["rtn8"]["classes"], rec["variants"]["mag50"]["classes"]
    compared = [c for c, row in rtn.items() if row["tokens"] >= 50 and c != "all"]
    assert compared, "no class with >= 50 tokens"
    for cls in [*compared, "all"]:
        assert rtn[cls]["kl"] < mag[cls]["kl"], cls
        assert rtn[cls]["top1_agreement"] >= mag[cls]["top1_agreement"], cls
    assert mag["all"]["kl"] > 0.01
