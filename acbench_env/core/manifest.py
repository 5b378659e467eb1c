"""The suite output folder: its manifest (``suite.json``), model labels and trajectory file
paths, shared by the suite runner (which writes them) and the report (which reads them).

:class:`Manifest` is the typed record of ``suite.json`` (:func:`read_manifest`,
:func:`write_manifest`); :func:`merge_manifest` is the one merge of two manifests, used by
the runner (a new run into an existing folder) and by the report (several folders).

Layout under the output folder ``DIR``:

- ``suite.json``: the suite (its rows as run), its fingerprint, the models (the first is
  the base) with their weight and compression fingerprints;
- ``runs/<model label>/<env name>.jsonl``: trajectories;
- ``runs/<model label>/resources.json``: the model's checkpoint size and peak memory as
  measured in the run (:mod:`acbench_env.experiments.resources`; absent when not measured).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from acbench_env.core.errors import ConfigError, TrajectoryFileError
from acbench_env.core.jsonl import to_jsonable
from acbench_env.core.suites import Suite, suite_from_record

#: Name of the manifest file in a suite output folder.
MANIFEST_FILE = "suite.json"
#: Layout version of ``suite.json``.
MANIFEST_VERSION = 1
#: A model's measured resources inside its run folder ``DIR/runs/<label>/``.
RESOURCES_FILE = "resources.json"


#: How a model computes, recorded per model in the manifest (and per trajectory).
RUNTIME_FIELDS = ("dtype", "device", "backend_version")


@dataclass(frozen=True)
class ModelEntry:
    """A model of a suite run: its label (folder name under ``runs/``), what was asked (model
    and backend) and, for a model read from its folder, its weights fingerprint and its
    compression fingerprint (``None`` for an uncompressed model).

    How it computes, as planned before it loads: the activation ``dtype``, the ``device``
    and the ``backend_version`` (each trajectory records what the backend actually ran in,
    :attr:`acbench_env.core.types.ModelInfo.runtime`). ``control`` marks a noise-floor
    control (compared with the base like a variant, reported apart): what it varies.
    """

    label: str
    model: str
    backend: str
    weights_sha256: str | None = None
    compression: Mapping[str, Any] | None = None
    dtype: str | None = None
    device: str | None = None
    backend_version: str | None = None
    control: str | None = None

    def record(self) -> dict[str, Any]:
        """The ``suite.json`` entry. A model read from its folder records both fingerprints
        (``compression`` null when uncompressed); one that was not (``--backend openai``)
        records neither. The runtime fields and ``control`` are recorded when set."""
        rec: dict[str, Any] = {"label": self.label, "model": self.model, "backend": self.backend}
        if self.weights_sha256 is not None or self.compression is not None:
            rec["weights_sha256"] = self.weights_sha256
            rec["compression"] = (
                None if self.compression is None else to_jsonable(dict(self.compression))
            )
        for key in RUNTIME_FIELDS + ("control",):
            if getattr(self, key) is not None:
                rec[key] = getattr(self, key)
        return rec

    @property
    def runtime(self) -> dict[str, str]:
        """dtype, device and backend version (the ones that are known)."""
        return {k: v for k in RUNTIME_FIELDS if (v := getattr(self, k)) is not None}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> ModelEntry:
        """An entry from its ``suite.json`` record (or a dict of the same keys)."""
        rec = _ModelFile.model_validate(dict(record))
        return cls(
            rec.label,
            rec.model,
            rec.backend,
            rec.weights_sha256,
            rec.compression,
            rec.dtype,
            rec.device,
            rec.backend_version,
            rec.control,
        )


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


def resources_file(out: Path, label: str) -> Path:
    """``DIR/runs/<label>/resources.json``."""
    return out / "runs" / label / RESOURCES_FILE


def read_resources(out: Path, label: str) -> dict[str, Any] | None:
    """A model's measured resources (checkpoint size, peak memory), ``None`` when the run
    did not measure them."""
    path = resources_file(out, label)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise TrajectoryFileError(f"{path} is not valid JSON ({exc}); delete it") from exc
    if not isinstance(data, dict):
        raise TrajectoryFileError(f"{path} does not hold a JSON object; delete it")
    return data


def run_file(out: Path, label: str, env_id: str, repeat: int = 0) -> Path:
    name = env_file_name(env_id)
    if repeat:
        name = name.replace(".jsonl", f".r{repeat}.jsonl")
    return out / "runs" / label / name


@dataclass(frozen=True)
class Manifest:
    """The manifest of a suite folder (``suite.json``): the suite as run (its resolved rows),
    its fingerprint, the weighting version and the models, the first being the base."""

    suite: Suite
    suite_fingerprint: str
    models: tuple[ModelEntry, ...]
    weighting_version: int = 1
    manifest_version: int = MANIFEST_VERSION

    def __post_init__(self) -> None:
        if not self.models:
            raise ConfigError("a suite manifest needs at least one model (the base model first)")

    @classmethod
    def of_run(cls, suite: Suite, models: Sequence[ModelEntry], weighting_version: int) -> Manifest:
        """The manifest of a run of ``suite`` (already resolved) on ``models``."""
        return cls(suite, suite.fingerprint(), tuple(models), weighting_version)

    @property
    def base(self) -> ModelEntry:
        return self.models[0]

    @property
    def labels(self) -> list[str]:
        return [m.label for m in self.models]

    def record(self) -> dict[str, Any]:
        return {
            "manifest_version": self.manifest_version,
            "suite": self.suite.record(),
            "suite_fingerprint": self.suite_fingerprint,
            "weighting_version": self.weighting_version,
            "models": [m.record() for m in self.models],
        }


class _ModelFile(BaseModel):
    label: str
    model: str
    backend: str
    weights_sha256: str | None = None
    compression: dict[str, Any] | None = None
    dtype: str | None = None
    device: str | None = None
    backend_version: str | None = None
    control: str | None = None


class _TaskFile(BaseModel):
    env_id: str
    episodes: int
    env_kwargs: dict[str, Any] = {}
    max_new_tokens: int = 64
    temperature: float = 0.0
    repeats: int = 1


class _SuiteFile(BaseModel):
    name: str
    version: int
    seed: int
    tasks: list[_TaskFile]


class _ManifestFile(BaseModel):
    manifest_version: int = MANIFEST_VERSION
    suite: _SuiteFile
    suite_fingerprint: str
    weighting_version: int = 1
    models: list[_ModelFile]


def read_manifest(out: Path) -> Manifest | None:
    """The manifest of the suite folder ``out``; ``None`` when it has none."""
    path = out / MANIFEST_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text())
    except ValueError as exc:
        raise TrajectoryFileError(
            f"{path} is not valid JSON ({exc}); it is not a suite folder, or it is corrupt"
        ) from exc
    try:
        parsed = _ManifestFile.model_validate(data)
        if not parsed.models:
            raise ValueError("it lists no model")
    except (ValidationError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            err = exc.errors()[0]
            detail = f"{'.'.join(str(p) for p in err['loc']) or 'top level'}: {err['msg']}"
        else:
            detail = str(exc)
        raise TrajectoryFileError(
            f"{path} is not an acbench suite manifest ({detail}); pass a folder written by "
            "'acbench suite'"
        ) from exc
    return Manifest(
        suite=suite_from_record(data["suite"]),
        suite_fingerprint=parsed.suite_fingerprint,
        models=tuple(ModelEntry.from_record(m.model_dump()) for m in parsed.models),
        weighting_version=parsed.weighting_version,
        manifest_version=parsed.manifest_version,
    )


def write_manifest(out: Path, manifest: Manifest) -> Path:
    """Write ``manifest`` as ``out/suite.json`` (creating ``out``)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / MANIFEST_FILE
    path.write_text(json.dumps(manifest.record(), indent=2, sort_keys=True))
    return path


#: What can stop two manifests from merging: another suite (fingerprint), another base
#: model, or one label naming two different models.
ConflictKind = Literal["suite", "base", "label"]


def merge_manifest(
    first: Manifest,
    second: Manifest,
    *,
    names: tuple[str, str],
    fixes: Mapping[ConflictKind, str],
) -> Manifest:
    """``first`` with the models of ``second`` that it lacks appended (by label).

    The one merge of suite manifests: the suite runner merges a new run into the folder's
    manifest, the report merges the manifests of several folders. Refuses (a
    :class:`ConfigError` naming ``names`` and ending with the ``fixes`` entry of the
    conflict) runs of another suite (fingerprint), of another base model, and a label
    that names other weights in each.
    """
    a, b = names
    if first.suite_fingerprint != second.suite_fingerprint:
        raise ConfigError(
            f"cannot merge {a} with {b}: their suite fingerprints differ "
            f"({first.suite_fingerprint} vs {second.suite_fingerprint}: "
            f"{_suite_diff(first.suite.record(), second.suite.record())}); {fixes['suite']}"
        )
    b0, b1 = first.base, second.base
    if b0.weights_sha256 != b1.weights_sha256 or b0.model != b1.model:
        raise ConfigError(
            f"cannot merge {a} with {b}: their base models differ ({b0.model!r}, weights "
            f"{str(b0.weights_sha256)[:12]} vs {b1.model!r}, weights "
            f"{str(b1.weights_sha256)[:12]}); {fixes['base']}"
        )
    if b0.dtype is not None and b1.dtype is not None and b0.dtype != b1.dtype:
        raise ConfigError(
            f"cannot merge {a} with {b}: their base models compute in other dtypes "
            f"({b0.dtype} vs {b1.dtype}), a confound of every delta; {fixes['base']} "
            "(or run both with the same --dtype)"
        )
    models = list(first.models)
    known = {m.label: m for m in models}
    for m in second.models:
        if m.label not in known:
            models.append(m)
            known[m.label] = m
        elif known[m.label].weights_sha256 != m.weights_sha256:
            raise ConfigError(
                f"cannot merge {a} with {b}: both hold a model labelled {m.label!r}, with other "
                f"weights ({str(known[m.label].weights_sha256)[:12]} vs "
                f"{str(m.weights_sha256)[:12]}); {fixes['label']}"
            )
    return Manifest(
        first.suite,
        first.suite_fingerprint,
        tuple(models),
        first.weighting_version,
        first.manifest_version,
    )


def _suite_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """A short description of how two suite records differ."""
    parts = []
    for key in ("name", "version", "seed"):
        if a.get(key) != b.get(key):
            parts.append(f"{key} {a.get(key)!r} vs {b.get(key)!r}")
    ta = {t["env_id"]: t for t in a.get("tasks", [])}
    tb = {t["env_id"]: t for t in b.get("tasks", [])}
    for env_id in sorted(set(ta) | set(tb)):
        if ta.get(env_id) != tb.get(env_id):
            parts.append(f"task {env_id}: {ta.get(env_id)} vs {tb.get(env_id)}")
    return "; ".join(parts[:4]) or "(no visible difference)"
