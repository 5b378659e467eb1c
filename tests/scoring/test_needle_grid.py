"""The needle grid: sweep orientation, resumable cells, errors before any episode, heatmap."""

from __future__ import annotations

import json
import math
import re

import pytest

from acbench_env.agents import LLMPolicyAgent, OracleAgent
from acbench_env.agents.backends.scripted import ScriptedBackend
from acbench_env.cli import main
from acbench_env.core.errors import ConfigError, ContextLengthError
from acbench_env.experiments.needle_sweep import run_needle_grid
from acbench_env.scoring.needle_grid import NeedleGrid, grid_from_trajectories, render_heatmap

LENGTHS = [200, 400]
DEPTHS = [0.0, 0.5, 1.0]


def _reader(messages) -> str:
    """Finds the needle only in short prompts and only in the first 60% of the document."""
    obs = messages[-1]["content"]
    doc = obs.split("<document>\n", 1)[1].split("\n</document>", 1)[0]
    m = re.search(r"magic number for \S+ is (\d+)\.", doc)
    if len(obs) < 1500 and m.start() / len(doc) < 0.6:
        return m.group(1)
    return "I cannot find it."


def _scripted() -> LLMPolicyAgent:
    return LLMPolicyAgent(ScriptedBackend(_reader, model_id="reader"))


def test_grid_orientation_and_files(tmp_path) -> None:
    grid = run_needle_grid(
        _scripted(), LENGTHS, DEPTHS, episodes_per_cell=2, out_dir=tmp_path, heatmap=False
    )
    assert grid.lengths == (200, 400) and grid.depths == (0.0, 0.5, 1.0)
    assert grid.scores == ((1.0, 0.0), (1.0, 0.0), (0.0, 0.0))  # [depth][length]
    assert grid.episodes == ((2, 2), (2, 2), (2, 2))
    assert grid.mean_by_length() == pytest.approx([2 / 3, 0.0])
    assert len(list((tmp_path / "cells").glob("*.jsonl"))) == 6
    saved = NeedleGrid.from_json((tmp_path / "grid.json").read_text())
    assert saved == grid
    assert json.loads((tmp_path / "grid.json").read_text())["scoring_rule"].startswith("exact")
    # a second sweep over the same folder resumes: nothing new is asked
    calls = []
    again = run_needle_grid(
        LLMPolicyAgent(ScriptedBackend(lambda m: calls.append(1) or "0", model_id="reader")),
        LENGTHS,
        DEPTHS,
        episodes_per_cell=2,
        out_dir=tmp_path,
        heatmap=False,
    )
    assert again == grid and calls == []


def test_errors_come_before_any_episode(tmp_path) -> None:
    with pytest.raises(ContextLengthError, match="8192 tokens"):
        run_needle_grid(OracleAgent(), [512, 9000], [0.5], out_dir=tmp_path / "a")
    assert not (tmp_path / "a" / "cells").exists()
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        run_needle_grid(OracleAgent(), [512], [0.5, 1.5], out_dir=tmp_path / "b")
    with pytest.raises(ConfigError, match="positive"):
        run_needle_grid(OracleAgent(), [0, 512], [0.5], out_dir=tmp_path / "c")


def test_grid_refuses_foreign_trajectories(tmp_path) -> None:
    grid = run_needle_grid(OracleAgent(), [200], [0.5], out_dir=tmp_path, heatmap=False)
    assert grid.scores == ((1.0,),)
    from acbench_env.core.jsonl import read_trajectories

    trajs = read_trajectories(next((tmp_path / "cells").glob("*.jsonl")))
    with pytest.raises(ConfigError, match="not a cell"):
        grid_from_trajectories(trajs, [300], [0.5])
    empty = grid_from_trajectories(trajs, [200, 300], [0.5])
    assert math.isnan(empty.scores[0][1]) and empty.episodes == ((2, 0),)


@pytest.mark.slow
def test_heatmap_png(tmp_path) -> None:
    pytest.importorskip("matplotlib")
    grid = run_needle_grid(
        _scripted(), LENGTHS, DEPTHS, episodes_per_cell=1, out_dir=tmp_path, heatmap=True
    )
    png = (tmp_path / "heatmap.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000
    other = render_heatmap(grid, tmp_path / "sub" / "again.png", title="t")
    assert other.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_needle_grid(tmp_path, capsys) -> None:
    out = tmp_path / "grid"
    args = ["needle-grid", "--agent", "oracle", "--lengths", "200,300", "--depths", "0,1"]
    assert main([*args, "--episodes", "1", "--out", str(out), "--no-heatmap"]) == 0
    text = capsys.readouterr().out
    assert "1.00" in text and (out / "grid.json").is_file()
    assert main([*args[:-2], "--depths", "0,1.5", "--out", str(tmp_path / "x")]) == 2
    assert "[0, 1]" in capsys.readouterr().err
    assert main(["needle-grid", "--lengths", "9000", "--out", str(tmp_path / "y")]) == 2
    assert "8192" in capsys.readouterr().err
