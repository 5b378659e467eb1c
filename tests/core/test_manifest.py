"""The suite folder manifest: typed record, byte-stable round trip, the one merge."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from acbench_env.core.errors import ConfigError, TrajectoryFileError
from acbench_env.core.manifest import (
    MANIFEST_FILE,
    Manifest,
    ModelEntry,
    merge_manifest,
    read_manifest,
    write_manifest,
)
from acbench_env.core.suites import Suite, SuiteTask

STORED = Path(__file__).resolve().parents[1] / "scoring" / "data" / "report_suite"
SUITE = Suite(
    "s", 1, 3, "", (SuiteTask("acbench/Needle-v0", 2, {"context_length": 64}),), SuiteTask("", 1)
)
BASE = ModelEntry("base", "org/base", "transformers", "a" * 64, None)
FIXES = {"suite": "fix-suite", "base": "fix-base", "label": "fix-label"}


def test_stored_manifest_round_trips_byte_for_byte(tmp_path: Path) -> None:
    manifest = read_manifest(STORED)
    assert manifest is not None
    assert manifest.labels == ["base", "w4", "w2", "never_ran"]
    assert manifest.base.weights_sha256 == "a" * 64 and manifest.base.compression is None
    assert manifest.models[1].compression == {"method": "gptq", "bits": 4, "group_size": 128}
    assert {t.env_id: t.repeats for t in manifest.suite.tasks}["acbench/Needle-v0"] == 2
    write_manifest(tmp_path, manifest)
    assert (tmp_path / MANIFEST_FILE).read_bytes() == (STORED / MANIFEST_FILE).read_bytes()


def test_model_entry_records_fingerprints_only_for_models_read_from_a_folder() -> None:
    assert ModelEntry("x", "gpt", "openai").record() == {
        "label": "x",
        "model": "gpt",
        "backend": "openai",
    }
    assert BASE.record()["compression"] is None  # read from its folder, uncompressed
    assert ModelEntry.from_record(BASE.record()) == BASE
    with pytest.raises(ValueError):
        ModelEntry.from_record({"label": "x", "model": "m"})  # no backend


def test_merge_appends_new_labels_after_the_first_manifests_models() -> None:
    first = Manifest.of_run(SUITE, [BASE, ModelEntry("v1", "/v1", "transformers", "b" * 64)], 1)
    second = Manifest.of_run(SUITE, [BASE, ModelEntry("v2", "/v2", "transformers", "c" * 64)], 1)
    merged = merge_manifest(first, second, names=("A", "B"), fixes=FIXES)
    assert merged.labels == ["base", "v1", "v2"]
    assert merged.suite_fingerprint == SUITE.fingerprint()
    assert merge_manifest(merged, first, names=("A", "B"), fixes=FIXES) == merged


def test_merge_refuses_another_suite_base_or_label() -> None:
    first = Manifest.of_run(SUITE, [BASE, ModelEntry("v", "/v", "transformers", "b" * 64)], 1)
    other_seed = Manifest.of_run(replace(SUITE, seed=4), [BASE], 1)
    with pytest.raises(
        ConfigError, match=r"A with B: their suite fingerprints .*seed 3 vs 4.*fix-suite"
    ):
        merge_manifest(first, other_seed, names=("A", "B"), fixes=FIXES)
    other_base = Manifest.of_run(SUITE, [replace(BASE, weights_sha256="d" * 64)], 1)
    with pytest.raises(ConfigError, match="base models differ.*fix-base"):
        merge_manifest(first, other_base, names=("A", "B"), fixes=FIXES)
    relabelled = Manifest.of_run(SUITE, [BASE, ModelEntry("v", "/w", "transformers", "e" * 64)], 1)
    with pytest.raises(ConfigError, match="labelled 'v', with other weights.*fix-label"):
        merge_manifest(first, relabelled, names=("A", "B"), fixes=FIXES)


def test_read_manifest_names_what_is_wrong(tmp_path: Path) -> None:
    assert read_manifest(tmp_path) is None
    (tmp_path / MANIFEST_FILE).write_text("{not json")
    with pytest.raises(TrajectoryFileError, match="not valid JSON"):
        read_manifest(tmp_path)
    record = Manifest.of_run(SUITE, [BASE], 1).record()
    del record["models"]
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(record))
    with pytest.raises(TrajectoryFileError, match=r"not an acbench suite manifest \(models"):
        read_manifest(tmp_path)
    record = Manifest.of_run(SUITE, [BASE], 1).record()
    record["models"] = []
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(record))
    with pytest.raises(TrajectoryFileError, match="lists no model"):
        read_manifest(tmp_path)
