"""Suite runs and their report: reproducible numbers, deltas, bad input (mixing, empty, partial)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from acbench_env.agents.backends.scripted import ScriptedBackend
from acbench_env.cli import main
from acbench_env.core.errors import ConfigError
from acbench_env.core.jsonl import read_trajectories
from acbench_env.core.manifest import run_file
from acbench_env.core.registry import make
from acbench_env.scoring.report import build_report, load_suite, render_markdown, write_report
from tests.scoring.suite_fixtures import ENTRIES, MINI, fake_analysis, run_mini


@pytest.fixture
def suite_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "suite"
    run_mini(out, monkeypatch)
    return out


def test_suite_writes_every_task_for_every_model_and_resumes(suite_dir, monkeypatch) -> None:
    manifest = json.loads((suite_dir / "suite.json").read_text())
    assert [m["label"] for m in manifest["models"]] == ["base", "broken"]
    for entry in ENTRIES:
        for task in MINI.tasks:
            trajs = read_trajectories(run_file(suite_dir, entry["label"], task.env_id))
            assert sorted(t.seed for t in trajs) == [MINI.seed + i for i in range(task.episodes)]
            assert all(t.env_kwargs == dict(task.env_kwargs) for t in trajs)
    again = run_mini(suite_dir, monkeypatch)
    assert again.new_episodes == 0 and again.resumed_episodes == 2 * sum(
        t.episodes for t in MINI.tasks
    )


def test_report_numbers_deltas_and_exact_rebuild(suite_dir, tmp_path, capsys) -> None:
    report = write_report(load_suite([suite_dir]), suite_dir, plots=False)
    tasks = {t["env_id"]: t for t in report["tasks"]}
    needle = tasks["acbench/Needle-v0"]["models"]
    assert needle["base"]["mean"] == 1.0 and needle["broken"]["mean"] == 0.0
    assert needle["base"]["status"] == "complete" and needle["base"]["episodes"] == 6
    # The garbage answers are format failures, reported beside the score.
    fc = tasks["acbench/FunctionCall-v0"]["models"]["broken"]
    assert fc["format_failure_rate"] == 1.0
    overall = next(d for d in report["deltas"] if d["level"] == "overall")
    assert overall["absolute"] < 0 and overall["significant"]
    assert overall["ci_low"] <= overall["absolute"] <= overall["ci_high"]
    cap = {d["name"]: d for d in report["deltas"] if d["level"] == "capability"}
    assert set(cap) == {"long_context", "tool_use", "real_world_application", "workflow_generation"}
    assert cap["long_context"]["absolute"] == pytest.approx(-1.0)
    # Capability score = mean of its tasks (weighting v1).
    caps = {c["capability"]: c["models"] for c in report["capabilities"]}
    assert caps["long_context"]["base"]["score"] == pytest.approx(1.0)
    assert report["weighting"]["version"] == 1
    # `acbench report` rebuilds exactly the same numbers from the stored trajectories.
    rebuilt = tmp_path / "rebuilt"
    assert main(["report", str(suite_dir), "--out", str(rebuilt), "--no-plots"]) == 0
    assert (rebuilt / "report.json").read_text() == (suite_dir / "report.json").read_text()
    assert "overall" in capsys.readouterr().out


def test_stored_raw_outputs_replay_to_the_stored_scores(suite_dir) -> None:
    """Re-scoring from the raw text: replaying each stored episode's outputs through a fresh
    env reproduces its score exactly."""
    for entry in ENTRIES:
        for task in MINI.tasks:
            for traj in read_trajectories(run_file(suite_dir, entry["label"], task.env_id)):
                env = make(traj.env_id, **traj.env_kwargs)
                env.reset(seed=traj.seed)
                info = {}
                for step in traj.steps:
                    _, _, _, _, info = env.step(step.raw_output)
                assert info["score"] == traj.score, (traj.env_id, traj.seed)
                env.close()


def test_mixing_suites_seeds_or_base_models_is_refused(suite_dir, tmp_path, monkeypatch) -> None:
    other_seed = tmp_path / "other_seed"
    run_mini(other_seed, monkeypatch, suite=replace(MINI, seed=4))
    with pytest.raises(ConfigError, match="fingerprints differ.*seed 3 vs 4"):
        load_suite([suite_dir, other_seed])
    other_base = tmp_path / "other_base"
    entries = [dict(ENTRIES[0], weights_sha256="cc"), ENTRIES[1]]
    run_mini(other_base, monkeypatch, entries=entries)
    with pytest.raises(ConfigError, match="base models differ"):
        load_suite([suite_dir, other_base])
    # Running another suite into the same folder is refused before anything is written.
    with pytest.raises(ConfigError, match="fingerprint"):
        run_mini(suite_dir, monkeypatch, suite=replace(MINI, seed=4))
    # A stray episode of another seed in a run file is refused, naming the file.
    stray = read_trajectories(run_file(other_seed, "base", "acbench/Needle-v0"))[-1]
    path = run_file(suite_dir, "base", "acbench/Needle-v0")
    from acbench_env.core.jsonl import append_trajectory

    append_trajectory(path, stray)
    with pytest.raises(ConfigError, match="not part of the suite"):
        load_suite([suite_dir])


def test_compatible_folders_merge(suite_dir, tmp_path, monkeypatch) -> None:
    """A variant run into a second folder (same suite, same base) joins the comparison."""
    second = tmp_path / "second"
    entries = [ENTRIES[0], dict(ENTRIES[1], label="broken2", weights_sha256="dd")]
    run_mini(second, monkeypatch, entries=entries)
    report = build_report(load_suite([suite_dir, second]))
    assert [m["label"] for m in report["models"]] == ["base", "broken", "broken2"]
    assert {d["variant"] for d in report["deltas"]} == {"broken", "broken2"}


def test_empty_and_partial_runs_are_reported_as_such(suite_dir, monkeypatch) -> None:
    manifest = json.loads((suite_dir / "suite.json").read_text())
    manifest["models"].append({"label": "never_ran", "model": "x", "backend": "scripted"})
    (suite_dir / "suite.json").write_text(json.dumps(manifest))
    path = run_file(suite_dir, "broken", "acbench/Needle-v0")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:2]))  # 2 of 6 episodes left
    report = build_report(load_suite([suite_dir]))
    needle = next(t for t in report["tasks"] if t["env_id"] == "acbench/Needle-v0")["models"]
    assert needle["never_ran"] == {
        "episodes": 0,
        "status": "empty",
        "mean": None,
        "ci_low": None,
        "ci_high": None,
        "success_rate": None,
        "format_failure_rate": None,
    }
    assert needle["broken"]["status"] == "partial" and needle["broken"]["episodes"] == 2
    assert report["overall"]["never_ran"] is None
    assert report["overall_status"] == {
        "base": "complete",
        "broken": "partial",
        "never_ran": "empty",
    }
    caps = {c["capability"]: c["models"] for c in report["capabilities"]}
    assert caps["long_context"]["never_ran"]["status"] == "empty"
    assert caps["long_context"]["broken"]["status"] == "partial"
    delta = next(
        d for d in report["deltas"] if d["variant"] == "broken" and d["name"] == "acbench/Needle-v0"
    )
    assert delta["partial"] and delta["pairs"] == 2
    empty = [d for d in report["deltas"] if d["variant"] == "never_ran"]
    assert all(d["pairs"] == 0 and d["absolute"] is None for d in empty if d["level"] == "task")
    md = render_markdown(report)
    assert "— (empty)" in md and "partial 2/6" in md
    assert "| never_ran | task | Needle-v0 (empty) | 0 |" in md


def test_pass_at_k_with_repeats(tmp_path, monkeypatch) -> None:
    suite = replace(
        MINI,
        tasks=(
            replace(MINI.tasks[0], episodes=3, repeats=2, temperature=0.7),
            MINI.tasks[1],
        ),
    )
    out = tmp_path / "rep"
    run_mini(out, monkeypatch, suite=suite)
    assert run_file(out, "base", "acbench/Needle-v0", 1).is_file()
    report = build_report(load_suite([out]))
    needle = next(t for t in report["tasks"] if t["env_id"] == "acbench/Needle-v0")["models"]
    assert needle["base"]["pass_at_k"] == {"k": 2, "tasks": 3, "pass@k": 1.0, "pass^k": 1.0}
    assert needle["broken"]["pass_at_k"]["pass@k"] == 0.0


def test_repeats_need_sampling(tmp_path, monkeypatch) -> None:
    suite = replace(MINI, tasks=(replace(MINI.tasks[0], repeats=2),))
    with pytest.raises(ConfigError, match="temperature > 0"):
        run_mini(tmp_path / "x", monkeypatch, suite=suite)


def test_report_includes_analysis_records(suite_dir) -> None:
    adir = suite_dir / "analysis"
    adir.mkdir()
    (adir / "base__vs__broken.json").write_text(json.dumps(fake_analysis("base", "broken")))
    report = write_report(load_suite([suite_dir]), suite_dir, plots=False)
    assert report["analysis"][0]["compressed"] == "broken"
    assert "Representation metrics" in (suite_dir / "report.md").read_text()


def test_report_cli_errors(tmp_path, capsys) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "has no suite.json" in capsys.readouterr().err


def test_suite_table_rows_are_registered_envs() -> None:
    from acbench_env.core.registry import env_ids
    from acbench_env.core.suites import FULL, QUICK
    from acbench_env.experiments.suite import check_suite_task

    ids = env_ids()
    for suite in (QUICK, FULL):
        assert {t.env_id for t in suite.tasks} <= set(ids)
        resolved = suite.resolved(ids)
        assert [t.env_id for t in resolved.tasks] == ids
        for t in resolved.tasks:
            check_suite_task(t)
            make(t.env_id, **t.env_kwargs).close()  # every row's arguments are valid
    # An env the table does not list runs with the fallback row.
    resolved = MINI.resolved([*sorted(t.env_id for t in MINI.tasks), "acbench/LongGen-v0"])
    assert resolved.tasks[-1].env_id == "acbench/LongGen-v0"
    assert resolved.tasks[-1].episodes == MINI.fallback.episodes
    assert MINI.fingerprint() != replace(MINI, seed=9).fingerprint()


def test_suite_files(tmp_path) -> None:
    from acbench_env.core.suites import get_suite

    good = tmp_path / "s.json"
    good.write_text(
        json.dumps(
            {
                "name": "mine",
                "version": 2,
                "tasks": [{"env_id": "acbench/Needle-v0", "episodes": 2}],
                "all_envs": False,
            }
        )
    )
    suite = get_suite(str(good))
    assert (suite.name, suite.version, suite.tasks[0].episodes) == ("mine", 2, 2)
    assert [t.env_id for t in suite.resolved(["acbench/BFCL-v0", "acbench/Needle-v0"]).tasks] == [
        "acbench/Needle-v0"
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nversion: 1\ntasks: [{env_id: acbench/Needle-v0, episodes: 0}]\n")
    with pytest.raises(ConfigError, match="not a valid suite file"):
        get_suite(str(bad))
    with pytest.raises(ConfigError, match="unknown suite 'nope'"):
        get_suite("nope")


def test_repeat_agent_draws_its_own_seeds_and_records_the_repeat() -> None:
    from acbench_env.agents.base import AgentInput
    from acbench_env.agents.policy import LLMPolicyAgent
    from acbench_env.experiments.suite import _RepeatAgent

    seen: list[int | None] = []

    class Recorder(ScriptedBackend):
        def generate(self, requests):
            seen.extend(r.seed for r in requests)
            return super().generate(requests)

    agent = LLMPolicyAgent(Recorder(["x"]), temperature=0.7)
    inputs = [AgentInput(messages=({"role": "user", "content": "q"},), seed=11)]
    _RepeatAgent(agent, 0).respond(inputs)
    _RepeatAgent(agent, 1).respond(inputs)
    _RepeatAgent(agent, 1).respond(inputs)
    assert seen[0] != seen[1] and seen[1] == seen[2]
    assert _RepeatAgent(agent, 2).info.decoding["repeat"] == 2
