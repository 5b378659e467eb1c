"""The Ray executor on a real local Ray: `acbench run --executor ray` equals the local run;
bad input: a cluster without the resources one
replica asks for, and a model folder a replica cannot load; one clear error each, and
nothing written (no manifest, no trajectory file)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acbench_env.core.errors import ExecutorError
from acbench_env.core.suites import Suite, SuiteTask
from acbench_env.experiments.executors import make_executor
from acbench_env.experiments.suite import run_suite
from tests.scoring.suite_fixtures import only
from tests.scoring.tiny_models import make_tiny_model

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

ONE = Suite(
    "one",
    1,
    0,
    "",
    (SuiteTask("acbench/Needle-v0", 1, {"context_length": 128}, max_new_tokens=4),),
    SuiteTask("", 1),
)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(address="local", num_cpus=1, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _nothing_written(out: Path) -> bool:
    return not (out / "suite.json").exists() and not (out / "runs").exists()


def test_a_replica_larger_than_any_node_is_refused(tmp_path, local_ray, monkeypatch) -> None:
    only(ONE, monkeypatch)
    model = make_tiny_model(tmp_path / "tiny")
    out = tmp_path / "suite"
    with pytest.raises(ExecutorError, match=r"asks for \(1 CPU, 1 GPU\).*1 CPU/0 GPU"):
        run_suite([str(model)], ONE, out, executor=make_executor("ray", gpus_per_replica=1))
    assert _nothing_written(out)


def test_a_model_folder_a_replica_cannot_load_is_one_error(
    tmp_path, local_ray, monkeypatch
) -> None:
    only(ONE, monkeypatch)
    model = make_tiny_model(tmp_path / "tiny")
    (model / "model.safetensors").write_bytes(b"not a safetensors file")
    out = tmp_path / "suite"
    with pytest.raises(ExecutorError, match="replica of model 'tiny' could not start") as info:
        run_suite([str(model)], ONE, out, executor=make_executor("ray"))
    assert "safetensors" in str(info.value).lower() or "load" in str(info.value)
    assert _nothing_written(out)


def test_acbench_run_on_ray_matches_the_local_run(tmp_path, local_ray, capsys) -> None:
    from acbench_env.cli import main
    from tests.experiments.test_executors import strip_timing

    model = make_tiny_model(tmp_path / "tiny")
    base = ["run", "--env", "acbench/Needle-v0", "--env-arg", "context_length=128"]
    base += ["--model", str(model), "--episodes", "5", "--batch-size", "2", "--no-progress"]
    base += ["--max-new-tokens", "6"]
    assert main([*base, "--out", str(tmp_path / "local.jsonl")]) == 0
    assert main([*base, "--out", str(tmp_path / "ray.jsonl"), "--executor", "ray"]) == 0
    assert "5 episodes of acbench/Needle-v0 (5 run now, 0 resumed)" in capsys.readouterr().out

    def lines(name: str) -> list[dict]:
        rows = [json.loads(x) for x in (tmp_path / name).read_text().splitlines()]
        return sorted((strip_timing(r) for r in rows), key=lambda r: r["seed"])

    assert lines("ray.jsonl") == lines("local.jsonl")
    assert main([*base, "--out", str(tmp_path / "ray.jsonl"), "--executor", "ray"]) == 0
    assert "(0 run now, 5 resumed)" in capsys.readouterr().out


def test_ray_replicas_compute_in_each_model_entry_dtype(tmp_path, local_ray, monkeypatch) -> None:
    """The dtype planned per model (one per suite by default, here set explicitly) reaches the
    Ray replicas with the model entries: their trajectories record that the loaded backend
    computed in it."""
    from acbench_env.core.jsonl import read_trajectories
    from acbench_env.core.manifest import read_manifest, run_file
    from acbench_env.experiments.suite import describe_models

    only(ONE, monkeypatch)
    model = make_tiny_model(tmp_path / "tiny")
    (entry,) = describe_models([str(model)], "transformers", ["bfloat16"])
    out = tmp_path / "suite"
    run_suite([str(model)], ONE, out, model_entries=[entry], executor=make_executor("ray"))
    manifest = read_manifest(out)
    assert manifest is not None and manifest.base.dtype == "bfloat16"
    (traj,) = read_trajectories(run_file(out, entry.label, "acbench/Needle-v0"))
    assert traj.model.runtime["dtype"] == "bfloat16" and traj.model.runtime["device"] == "cpu"
