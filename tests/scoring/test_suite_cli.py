"""`acbench suite` end to end with real (tiny, random) transformers models."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("matplotlib")

from acbench_env.cli import main  # noqa: E402
from tests.scoring.tiny_models import make_tiny_model  # noqa: E402

SUITE_FILE = """
name: tiny
version: 1
seed: 5
all_envs: false
tasks:
  - {env_id: acbench/Needle-v0, episodes: 3, env_kwargs: {context_length: 256}, max_new_tokens: 8}
  - {env_id: acbench/FunctionCall-v0, episodes: 2, max_new_tokens: 16}
  - {env_id: acbench/BlocksWorld-v0, episodes: 2, env_kwargs: {max_steps: 2}, max_new_tokens: 8}
"""


@pytest.mark.slow
def test_suite_on_tiny_models_writes_a_report_and_resumes(tmp_path, capsys) -> None:
    base = make_tiny_model(tmp_path / "tiny-base", seed=0)
    variant = make_tiny_model(
        tmp_path / "tiny-noisy", seed=0, noise=0.05, compression={"method": "noise"}
    )
    suite_file = tmp_path / "tiny.yaml"
    suite_file.write_text(SUITE_FILE)
    out = tmp_path / "suite"
    args = ["suite", "--models", f"{base},{variant}", "--suite", str(suite_file), "--out", str(out)]
    assert main([*args, "--no-progress", "--order", "task"]) == 0
    text = capsys.readouterr().out
    assert "report ->" in text
    report = json.loads((out / "report.json").read_text())
    assert [m["label"] for m in report["models"]] == ["tiny-base", "tiny-noisy"]
    assert report["models"][1]["compression"] == "noise"
    assert [t["env_id"] for t in report["tasks"]] == [
        "acbench/BlocksWorld-v0",
        "acbench/FunctionCall-v0",
        "acbench/Needle-v0",
    ]
    assert all(v["status"] == "complete" for t in report["tasks"] for v in t["models"].values())
    assert {d["level"] for d in report["deltas"]} == {"task", "capability", "overall"}
    html = (out / "report.html").read_text()
    assert html.count('src="data:image/png;base64,') >= 3  # capabilities, deltas, needle
    # Resume: nothing new to run; the rebuilt report is identical.
    before = (out / "report.json").read_text()
    assert main([*args, "--no-progress"]) == 0
    assert "0 episodes run now" in capsys.readouterr().out
    assert (out / "report.json").read_text() == before
    # Analysis into the suite folder: the report picks it up, with its two plots.
    assert (
        main(
            [
                "analyze",
                "--base",
                str(base),
                "--compressed",
                str(variant),
                "--out",
                str(out),
                "--probes",
                "2",
                "--max-tokens",
                "16",
            ]
        )
        == 0
    )
    assert (
        json.loads((out / "report.json").read_text())["analysis"][0]["compressed"] == "tiny-noisy"
    )
    assert 'id="plot-erank"' in (out / "report.html").read_text()
    # A bad model path fails before anything loads or is written.
    assert (
        main(["suite", "--models", f"{base},{tmp_path / 'nope'}", "--out", str(tmp_path / "x")])
        == 2
    )
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
