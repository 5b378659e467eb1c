"""Loading suite folders for the report: the merged manifest and every model's trajectories.

:func:`load_suite` reads one or more suite folders (written by
:func:`acbench_env.experiments.suite.run_suite`), refusing to mix runs whose suite
fingerprint, seeds or base model differ (the one manifest merge,
:func:`acbench_env.core.manifest.merge_manifest`) and episodes that are not part of the suite.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acbench_env.core.errors import ConfigError, TrajectoryFileError
from acbench_env.core.jsonl import read_trajectories
from acbench_env.core.manifest import (
    MANIFEST_FILE,
    ConflictKind,
    Manifest,
    merge_manifest,
    read_manifest,
    read_resources,
    run_file,
)
from acbench_env.core.seeds import episode_seeds
from acbench_env.core.suites import SuiteTask
from acbench_env.core.types import Trajectory

#: Folder of representation analyses (``acbench analyze``) inside a suite folder.
ANALYSIS_DIR = "analysis"
#: Token-level diagnostics (``acbench diagnose``) inside a suite folder.
DIAGNOSTICS_FILE = "diagnostics.json"

#: How to get out of a conflict between two suite folders given to the report.
_COMPARE_FIXES: dict[ConflictKind, str] = {
    "suite": "compare runs of one suite with the same seeds",
    "base": "compare variants of one base model",
    "label": "compare folders whose models have distinct labels (model folder names)",
}


@dataclass(frozen=True)
class SuiteData:
    """What a report is built from: the manifest and every model's trajectories per task
    (``runs[label][env_id][repeat]``, sorted by seed), plus any representation analyses."""

    manifest: Manifest
    runs: dict[str, dict[str, list[list[Trajectory]]]]
    analyses: tuple[dict[str, Any], ...] = ()
    #: ``diagnostics.json`` of ``acbench diagnose`` (the first folder that has one), or None.
    diagnostics: dict[str, Any] | None = None
    #: Per model label, its measured resources (``runs/<label>/resources.json``: checkpoint
    #: size, peak memory) from the first folder that has them; models without are absent.
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)


def merge_manifests(manifests: Sequence[tuple[Path, Manifest]]) -> Manifest:
    """One manifest over several suite folders; refuses differing suites or base models."""
    (first_dir, merged), *rest = manifests
    seen = [str(first_dir)]
    for d, m in rest:
        merged = merge_manifest(merged, m, names=(" + ".join(seen), str(d)), fixes=_COMPARE_FIXES)
        seen.append(str(d))
    return merged


def _check_trajectory(traj: Trajectory, task: SuiteTask, seeds: set[int], path: Path) -> None:
    if traj.env_kwargs != dict(task.env_kwargs) or traj.seed not in seeds:
        raise ConfigError(
            f"{path} holds an episode of {traj.env_id} (seed {traj.seed}, env arguments "
            f"{traj.env_kwargs}) that is not part of the suite (seeds {min(seeds)}..{max(seeds)}, "
            f"env arguments {dict(task.env_kwargs)}): the run's fingerprint differs from the "
            "suite's; move the file away or re-run the suite into a fresh folder"
        )


def load_suite(dirs: Sequence[str | Path]) -> SuiteData:
    """Read suite folders (one or more, of the same suite and base model)."""
    if not dirs:
        raise ConfigError("pass at least one suite folder")
    manifests = []
    for d in dirs:
        path = Path(d)
        m = read_manifest(path)
        if m is None:
            raise ConfigError(
                f"{path} has no {MANIFEST_FILE}; pass a folder written by 'acbench suite'"
            )
        manifests.append((path, m))
    manifest = merge_manifests(manifests)
    suite = manifest.suite
    runs: dict[str, dict[str, list[list[Trajectory]]]] = {}
    for label in manifest.labels:
        per_env: dict[str, list[list[Trajectory]]] = {}
        for task in suite.tasks:
            seeds = set(episode_seeds(task.episodes, suite.seed))
            repeats: list[list[Trajectory]] = []
            for r in range(task.repeats):
                found: dict[int, Trajectory] = {}
                for d, _ in manifests:
                    f = run_file(d, label, task.env_id, r)
                    for t in read_trajectories(f):
                        if t.env_id != task.env_id:
                            continue
                        _check_trajectory(t, task, seeds, f)
                        found.setdefault(t.seed, t)
                repeats.append([found[s] for s in sorted(found)])
            per_env[task.env_id] = repeats
        runs[label] = per_env
    analyses = []
    for d, _ in manifests:
        adir = d / ANALYSIS_DIR
        if adir.is_dir():
            for f in sorted(adir.glob("*.json")):
                try:
                    analyses.append(json.loads(f.read_text()))
                except ValueError as exc:
                    raise TrajectoryFileError(f"{f} is not valid JSON ({exc})") from exc
    diagnostics = None
    for d, _ in manifests:
        f = d / DIAGNOSTICS_FILE
        if f.is_file():
            try:
                diagnostics = json.loads(f.read_text())
            except ValueError as exc:
                raise TrajectoryFileError(f"{f} is not valid JSON ({exc})") from exc
            break
    resources: dict[str, dict[str, Any]] = {}
    for label in manifest.labels:
        for d, _ in manifests:
            rec = read_resources(d, label)
            if rec is not None:
                resources[label] = rec
                break
    return SuiteData(
        manifest=manifest,
        runs=runs,
        analyses=tuple(analyses),
        diagnostics=diagnostics,
        resources=resources,
    )
