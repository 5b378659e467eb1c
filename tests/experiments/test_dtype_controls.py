"""No silent confounds: one activation dtype per suite by default, recorded per model and
per trajectory; noise-floor controls and their delta."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.core.manifest import ModelEntry
from acbench_env.core.types import ModelInfo
from acbench_env.experiments.suite import control_entries, describe_models, suite_dtypes
from acbench_env.scoring.deltas import PairedGroup
from acbench_env.scoring.noise import noise_floor


@pytest.fixture
def w4_is_quantized(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Model names ending in 'w4' are quantized checkpoints (vLLM serves them in bf16)."""
    monkeypatch.setattr("acbench_env.core.models.resolve_model", lambda m: tmp_path / str(m))
    monkeypatch.setattr(
        "acbench_env.agents.serve.default_dtype",
        lambda path: "bfloat16" if str(path).endswith("w4") else "float32",
    )


@pytest.mark.usefixtures("w4_is_quantized")
def test_one_dtype_for_every_model_unless_the_base_is_told_otherwise() -> None:
    assert suite_dtypes(["default", "wanda", "gptq-w4"], "vllm") == ["bfloat16"] * 3
    assert suite_dtypes(["default", "wanda"], "vllm") == ["float32"] * 2
    assert suite_dtypes(["default", "gptq-w4"], "transformers") == ["float32"] * 2
    assert suite_dtypes(["default", "gptq-w4"], "vllm", base_dtype="float32") == [
        "float32",
        "bfloat16",
    ]
    assert suite_dtypes(["default", "x"], "vllm", dtype="float16") == ["float16"] * 2
    with pytest.raises(ConfigError, match="unknown dtype"):
        suite_dtypes(["default"], "vllm", dtype="fp8")
    assert suite_dtypes(["default", "x"], "openai") == [None, None]  # served elsewhere
    with pytest.raises(ConfigError, match="in-process backend"):
        suite_dtypes(["default"], "openai", dtype="bfloat16")


def test_manifest_entries_record_dtype_device_and_version() -> None:
    entries = describe_models(["default"], "vllm", ["bfloat16"])
    assert entries[0].dtype == "bfloat16" and entries[0].device in ("cpu", "cuda")
    assert "vllm" in str(entries[0].backend_version)
    record = entries[0].record()
    assert record["dtype"] == "bfloat16" and "control" not in record
    assert ModelEntry.from_record(record) == entries[0]
    controls = control_entries(["dtype"], entries, "vllm")
    assert controls[0].dtype == "float32" and controls[0].model == "default"
    assert controls[0].label == "default~float32" and controls[0].control == "base in float32"
    assert controls[0].weights_sha256 == entries[0].weights_sha256
    with pytest.raises(ConfigError, match="already runs"):
        control_entries(["dtype:bfloat16"], entries, "vllm")
    with pytest.raises(ConfigError, match="dtype:NAME"):
        control_entries(["dtype:fp8"], entries, "vllm")
    with pytest.raises(ConfigError, match="listed twice"):
        control_entries(["dtype", "dtype:float32"], entries, "vllm")


def test_model_info_runtime_round_trips_and_is_omitted_when_empty() -> None:
    info = ModelInfo("default", "vllm", runtime={"dtype": "bfloat16", "device": "cpu"})
    assert ModelInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info
    assert "runtime" not in ModelInfo("x", "scripted").to_dict()
    assert ModelInfo.from_dict({"model_id": "x", "backend": "y"}).runtime == {}


def test_suite_run_records_one_dtype_per_model(tmp_path: Path, monkeypatch: Any) -> None:
    from tests.scoring.suite_fixtures import ENTRIES, run_mini

    entries = [{**e, "dtype": "bfloat16", "device": "cpu"} for e in ENTRIES]
    run_mini(tmp_path, monkeypatch, entries=entries)
    manifest = json.loads((tmp_path / "suite.json").read_text())
    assert {m["dtype"] for m in manifest["models"]} == {"bfloat16"}
    from acbench_env.core.manifest import read_manifest

    read = read_manifest(tmp_path)
    assert read is not None and {m.dtype for m in read.models} == {"bfloat16"}


def test_a_base_in_another_dtype_does_not_merge(tmp_path: Path, monkeypatch: Any) -> None:
    from tests.scoring.suite_fixtures import ENTRIES, run_mini

    run_mini(tmp_path, monkeypatch, entries=[{**e, "dtype": "bfloat16"} for e in ENTRIES])
    with pytest.raises(ConfigError, match="other dtypes"):
        run_mini(tmp_path, monkeypatch, entries=[{**e, "dtype": "float32"} for e in ENTRIES])


def test_the_suite_agent_factory_passes_each_entry_dtype(monkeypatch: Any) -> None:
    """The factory run_suite builds (and ships to Ray replicas with the entries) creates
    each model's backend in the entry's dtype."""
    import pickle

    from acbench_env.core.suites import SuiteTask
    from acbench_env.experiments import suite as suite_mod

    made: list[dict[str, Any]] = []

    class FakeBackend:
        name = "fake"

        def __init__(self, **kwargs: Any) -> None:
            made.append(kwargs)

        def close(self) -> None:
            pass

    monkeypatch.setattr(
        "acbench_env.agents.backends.create_backend", lambda name, **kw: FakeBackend(**kw)
    )
    factory = suite_mod._agent_factory("vllm", {"batch_size": 2})
    task = SuiteTask("acbench/Needle-v0", 1)
    factory(ModelEntry("base", "default", "vllm", dtype="bfloat16"), task, 0)
    factory(ModelEntry("plain", "default", "vllm"), task, 0)
    assert made[0]["dtype"] == "bfloat16" and "dtype" not in made[1]
    # The entries travel to replicas by pickle, dtype included.
    entry = ModelEntry("base", "default", "vllm", dtype="bfloat16")
    assert pickle.loads(pickle.dumps(entry)).dtype == "bfloat16"


def test_noise_floor_delta() -> None:
    same = [PairedGroup((1.0, 0.0) * 10, (1.0, 0.0) * 10)]
    floor = noise_floor("base~bfloat16", same)
    assert floor.changed == 0 and floor.holds and floor.delta.absolute == 0.0
    flipped = [PairedGroup((1.0, 0.0) * 10, (0.0, 0.0) * 10)]
    loud = noise_floor("control", flipped)
    assert loud.changed == 10 and loud.changed_fraction == 0.5 and not loud.holds
    assert loud.record()["holds"] is False
