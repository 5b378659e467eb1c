"""The suite output folder: its manifest (``suite.json``), model labels and trajectory file
paths, shared by the suite runner (which writes them) and the report (which reads them).

Layout under the output folder ``DIR``:

- ``suite.json``: the suite (its rows as run), its fingerprint, the models (the first is
  the base) with their weight and compression fingerprints;
- ``runs/<model label>/<env name>.jsonl``: trajectories.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acbench_env.core.errors import ConfigError, TrajectoryFileError
from acbench_env.core.suites import Suite

#: Name of the manifest file in a suite output folder.
MANIFEST_FILE = "suite.json"
#: Layout version of ``suite.json``.
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class ModelEntry:
    """A model of a suite run: its label (folder name under ``runs/``) and what was asked."""

    label: str
    model: str
    backend: str

    def record(self) -> dict[str, Any]:
        return {"label": self.label, "model": self.model, "backend": self.backend}


def model_labels(models: Sequence[str]) -> list[str]:
    """Short unique labels: ``default`` or the folder name, made filesystem-safe."""
    labels: list[str] = []
    for m in models:
        base = "default" if m == "default" else Path(m.rstrip("/")).name or "model"
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "model"
        label, n = base, 2
        while label in labels:
            label, n = f"{base}-{n}", n + 1
        labels.append(label)
    return labels


def env_file_name(env_id: str) -> str:
    """``acbench/Needle-v0`` -> ``Needle-v0.jsonl``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", env_id.split("/", 1)[-1]) + ".jsonl"


def run_file(out: Path, label: str, env_id: str, repeat: int = 0) -> Path:
    name = env_file_name(env_id)
    if repeat:
        name = name.replace(".jsonl", f".r{repeat}.jsonl")
    return out / "runs" / label / name


def read_manifest(out: Path) -> dict[str, Any] | None:
    path = out / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise TrajectoryFileError(
            f"{path} is not valid JSON ({exc}); it is not a suite folder, or it is corrupt"
        ) from exc
    if not isinstance(data, dict) or "suite" not in data or "models" not in data:
        raise TrajectoryFileError(f"{path} is not an acbench suite manifest")
    return data


def merge_manifest(
    out: Path, suite: Suite, entries: Sequence[dict[str, Any]], weighting_version: int
) -> dict[str, Any]:
    """The manifest for this run, refusing to mix it with a different earlier run in ``out``."""
    existing = read_manifest(out)
    record = {
        "manifest_version": MANIFEST_VERSION,
        "suite": suite.record(),
        "suite_fingerprint": suite.fingerprint(),
        "weighting_version": weighting_version,
        "models": list(entries),
    }
    if existing is None:
        return record
    if existing.get("suite_fingerprint") != record["suite_fingerprint"]:
        raise ConfigError(
            f"{out} holds a run of suite {existing['suite'].get('name')!r} v"
            f"{existing['suite'].get('version')} (fingerprint {existing.get('suite_fingerprint')}),"
            f" not of this suite {suite.name!r} v{suite.version} (fingerprint "
            f"{record['suite_fingerprint']}): the tasks, arguments or seeds differ; choose "
            "another --out folder"
        )
    old_base, new_base = existing["models"][0], entries[0]
    if old_base.get("weights_sha256") != new_base.get("weights_sha256") or old_base.get(
        "model"
    ) != new_base.get("model"):
        raise ConfigError(
            f"{out} holds a run with base model {old_base.get('model')!r} (weights "
            f"{str(old_base.get('weights_sha256'))[:12]}), not {new_base.get('model')!r} "
            f"(weights {str(new_base.get('weights_sha256'))[:12]}); put the base model first "
            "in --models or choose another --out folder"
        )
    models = list(existing["models"])
    known = {m["label"]: m for m in models}
    for e in entries:
        if e["label"] in known:
            if known[e["label"]].get("weights_sha256") != e.get("weights_sha256"):
                raise ConfigError(
                    f"{out} already holds a model labelled {e['label']!r} with other weights; "
                    "rename the model folder or choose another --out folder"
                )
        else:
            models.append(e)
    record["models"] = models
    return record
