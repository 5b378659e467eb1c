"""`acbench run` / `acbench score` print the multi-turn and per-dimension tool tables."""

from __future__ import annotations

from acbench_env.cli import main


def test_score_prints_tool_tables(tmp_path, capsys) -> None:
    out = tmp_path / "t.jsonl"
    for env_id in ("acbench/ToolSteps-v0", "acbench/ToolMultiTurn-v0"):
        args = ["run", "--env", env_id, "--agent", "oracle", "--episodes", "14"]
        assert main([*args, "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["score", str(out)]) == 0
    text = capsys.readouterr().out
    assert "multi-turn tool use" in text and "tool-use steps" in text
    lines = text.splitlines()
    assert any(line.startswith("instruct") and "json" in line for line in lines)
    assert any(line.startswith("all") and "1.000" in line for line in lines)
    assert main(["score", str(out), "--json"]) == 0
    assert "tool-use steps" not in capsys.readouterr().out
