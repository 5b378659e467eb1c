"""`acbench rollouts`: grouped rollouts written as JSONL, parquet and a datasets folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from acbench_env.cli import main


def test_unknown_env_is_one_clear_error(tmp_path: Path, capsys) -> None:
    rc = main(
        ["rollouts", "--env", "acbench/Neddle-v0", "--tasks", "2", "--group-size", "2",
         "--out", str(tmp_path / "r")]
    )  # fmt: skip
    assert rc == 2
    assert "did you mean acbench/Needle-v0" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.slow
def test_rollouts_command_writes_the_export(tmp_path: Path, capsys) -> None:
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "r"
    argv = [
        "rollouts", "--env", "acbench/Needle-v0", "--model", "default", "--tasks", "2",
        "--group-size", "2", "--temperature", "1.0", "--out", str(out),
        "--env-arg", "context_length=128", "--max-new-tokens", "8", "--std-normalize",
    ]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "4 episodes (2 tasks x 2 samples)" in printed and "drift" in printed
    assert (out / "trajectories.jsonl").is_file() and (out / "rollouts.parquet").is_file()
    ds = datasets.load_from_disk(str(out / "dataset"))
    assert ds.num_rows == 4 and ds["group"] == [0, 0, 1, 1] and ds["sample"] == [0, 1, 0, 1]
    for row in ds:
        assert len(row["token_ids"]) == len(row["loss_mask"]) == len(row["logprobs"])
        assert 0 < sum(row["loss_mask"]) <= 8
    # std-normalised: a group with two different rewards has advantages +1 and -1
    for g in (0, 1):
        adv = [r["advantage"] for r in ds if r["group"] == g]
        rewards = [r["reward"] for r in ds if r["group"] == g]
        expected = [0.0, 0.0] if rewards[0] == rewards[1] else [1.0, -1.0]
        if rewards[0] < rewards[1]:
            expected = [-1.0, 1.0]
        assert adv == pytest.approx(expected)
    # re-running resumes: nothing new, same table
    assert main(argv) == 0
    again = datasets.load_from_disk(str(out / "dataset"))
    assert again["token_ids"] == ds["token_ids"]
