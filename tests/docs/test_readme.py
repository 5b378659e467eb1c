"""The README's Python examples, run as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.code_blocks import ROOT, python_blocks, run_blocks

README = ROOT / "README.md"


def _blocks() -> list[str]:
    return python_blocks(README)


def test_readme_examples_use_only_the_public_api() -> None:
    blocks = _blocks()
    assert len(blocks) >= 3
    for block in blocks:
        deep = [
            line
            for line in block.splitlines()
            if line.startswith(("from acbench_env.", "import acbench_env."))
        ]
        assert deep == [], deep


def test_readme_scenario_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scenario_blocks = [b for b in _blocks() if "load_scenario" in b]
    assert scenario_blocks
    ns = run_blocks(scenario_blocks, tmp_path, monkeypatch)
    env = ns["env"]
    obs, info = env.reset(seed=0)  # type: ignore[attr-defined]
    assert isinstance(obs, str) and obs
    assert "lookup_phone" in obs  # the Python tool is offered next to the declared ones


@pytest.mark.slow
def test_readme_model_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = [b for b in _blocks() if "load_scenario" not in b]
    ns = run_blocks(blocks, tmp_path, monkeypatch)
    result = ns["result"]
    assert len(result.trajectories) == 4  # type: ignore[attr-defined]
    lines = (tmp_path / "runs" / "needle.jsonl").read_text().splitlines()
    assert len(lines) == 4
    assert 0.0 <= ns["info"]["score"] <= 1.0  # type: ignore[index]
