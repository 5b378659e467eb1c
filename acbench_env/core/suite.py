"""Suites: every registered task on every model with the same seeds, then a report.

A suite is data: a small typed table (:class:`Suite` of :class:`SuiteTask` rows) with a
name and a version. ``quick`` is sized to finish within 15 minutes on 2 CPU cores for the
default model and two compressed variants (short contexts, a few episodes per task);
``full`` is the paper-sized configuration. A registered environment that a suite's table
does not list still runs, with the table's ``fallback`` row (so new environments are
picked up as they land) and a logged warning.

:func:`run_suite` writes, under the output folder ``DIR``:

- ``suite.json``: the suite (its rows as run), its fingerprint, the models (the first is
  the base) with their weight and compression fingerprints;
- ``runs/<model label>/<env name>.jsonl``: trajectories, written by
  :func:`~acbench_env.core.runner.run_episodes` (so a re-run resumes where it stopped).

Episode ``i`` of every task is reset with seed ``suite.seed + i`` for every model, so
base and compressed episodes pair up by (env id, seed).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from acbench_env.core.errors import ConfigError, TrajectoryFileError
from acbench_env.core.jsonl import to_jsonable

logger = logging.getLogger(__name__)

#: Name of the manifest file in a suite output folder.
MANIFEST_FILE = "suite.json"
#: Layout version of ``suite.json``.
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class SuiteTask:
    """One row of a suite: an environment, its arguments, its episodes and decoding.

    ``repeats > 1`` runs every episode that many times with sampling (``temperature``
    must then be > 0), each repeat under its own sampling seeds, for pass@k / pass^k.
    """

    env_id: str
    episodes: int
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    max_new_tokens: int = 64
    temperature: float = 0.0
    repeats: int = 1

    def record(self) -> dict[str, Any]:
        return {
            "env_id": self.env_id,
            "episodes": self.episodes,
            "env_kwargs": to_jsonable(dict(self.env_kwargs)),
            "max_new_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "repeats": self.repeats,
        }


@dataclass(frozen=True)
class Suite:
    """A named, versioned table of tasks. ``fallback`` is used for registered envs the
    table does not list (``env_id`` of the fallback is ignored)."""

    name: str
    version: int
    seed: int
    description: str
    tasks: tuple[SuiteTask, ...]
    fallback: SuiteTask
    all_envs: bool = True

    def resolved(self, env_ids: Sequence[str]) -> Suite:
        """This suite over exactly ``env_ids``: listed rows kept, missing envs added with the
        fallback row (unless ``all_envs`` is false), rows of unregistered envs dropped (both
        logged)."""
        by_id = {t.env_id: t for t in self.tasks}
        rows = []
        for env_id in env_ids:
            if env_id in by_id:
                rows.append(by_id[env_id])
            elif self.all_envs:
                logger.warning(
                    "suite %s v%d has no row for %s; running it with the fallback row",
                    self.name,
                    self.version,
                    env_id,
                )
                rows.append(replace(self.fallback, env_id=env_id))
        for env_id in sorted(set(by_id) - set(env_ids)):
            logger.warning("suite %s: %s is not registered; skipping it", self.name, env_id)
        return replace(self, tasks=tuple(rows))

    def record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "seed": self.seed,
            "tasks": [t.record() for t in self.tasks],
        }

    def fingerprint(self) -> str:
        """sha256 of the suite's rows (what must be equal for runs to be compared)."""
        text = json.dumps(self.record(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


_SIM = ("BlocksWorld", "Household", "WebShop", "ToolQuery")
_RULER = ("NeedleMultiKey", "NeedleMultiValue", "NeedleMultiQuery", "VariableTracking")

#: The quick suite: short contexts and a few episodes per task (47 episodes per model).
QUICK = Suite(
    name="quick",
    version=1,
    seed=0,
    description=(
        "smoke-sized: 512-token contexts, 2-5 episodes per task, greedy decoding; for "
        "checking a pipeline and spotting large losses, not for 1-3 point deltas"
    ),
    tasks=(
        SuiteTask("acbench/Workflow-v0", 4, {}, max_new_tokens=96),
        SuiteTask("acbench/WorfBench-v0", 3, {}, max_new_tokens=96),
        SuiteTask("acbench/FunctionCall-v0", 4, {}, max_new_tokens=48),
        SuiteTask("acbench/BFCL-v0", 3, {}, max_new_tokens=48),
        SuiteTask("acbench/Scenario-v0", 2, {}, max_new_tokens=48),
        SuiteTask("acbench/Needle-v0", 5, {"context_length": 512}, max_new_tokens=24),
        *(
            SuiteTask(f"acbench/{name}-v0", 3, {"context_length": 512}, max_new_tokens=24)
            for name in _RULER
        ),
        SuiteTask("acbench/LongDocQA-v0", 3, {"context_length": 512}, max_new_tokens=24),
        SuiteTask("acbench/LongGen-v0", 3, {}, max_new_tokens=64),
        *(SuiteTask(f"acbench/{name}-v0", 2, {"max_steps": 5}, max_new_tokens=20) for name in _SIM),
    ),
    fallback=SuiteTask("", 2, {}, max_new_tokens=48),
)

#: The full suite: the paper-sized configuration (hours on a CPU; meant for a GPU box).
FULL = Suite(
    name="full",
    version=1,
    seed=0,
    description=(
        "paper-sized: 100-200 episodes per task, 4096-token contexts, default env "
        "arguments otherwise, greedy decoding"
    ),
    tasks=(
        SuiteTask("acbench/Workflow-v0", 100, {}, max_new_tokens=256),
        SuiteTask("acbench/WorfBench-v0", 100, {}, max_new_tokens=256),
        SuiteTask("acbench/FunctionCall-v0", 200, {}, max_new_tokens=128),
        SuiteTask("acbench/BFCL-v0", 100, {}, max_new_tokens=128),
        SuiteTask("acbench/Scenario-v0", 20, {}, max_new_tokens=128),
        SuiteTask("acbench/Needle-v0", 100, {"context_length": 4096}, max_new_tokens=32),
        *(
            SuiteTask(f"acbench/{name}-v0", 50, {"context_length": 4096}, max_new_tokens=48)
            for name in _RULER
        ),
        SuiteTask("acbench/LongDocQA-v0", 50, {"context_length": 4096}, max_new_tokens=48),
        SuiteTask("acbench/LongGen-v0", 50, {}, max_new_tokens=256),
        *(SuiteTask(f"acbench/{name}-v0", 100, {}, max_new_tokens=32) for name in _SIM),
    ),
    fallback=SuiteTask("", 50, {}, max_new_tokens=128),
)

SUITES: dict[str, Suite] = {s.name: s for s in (QUICK, FULL)}


def get_suite(name: str) -> Suite:
    """A built-in suite by name, or a suite file (JSON or YAML, see :func:`load_suite_file`)."""
    if name in SUITES:
        return SUITES[name]
    if name.endswith((".json", ".yaml", ".yml")) or Path(name).is_file():
        return load_suite_file(Path(name))
    raise ConfigError(
        f"unknown suite {name!r}; choose one of {', '.join(sorted(SUITES))} or pass a suite "
        "file (.json/.yaml)"
    )


def load_suite_file(path: Path) -> Suite:
    """A suite from a JSON or YAML file with the fields of :class:`Suite` (``tasks``: a list of
    :class:`SuiteTask` fields; ``fallback`` optional)."""
    import yaml
    from pydantic import BaseModel, ConfigDict, Field, ValidationError

    class TaskModel(BaseModel):
        model_config = ConfigDict(extra="forbid")
        env_id: str = ""
        episodes: int = Field(ge=1)
        env_kwargs: dict[str, Any] = Field(default_factory=dict)
        max_new_tokens: int = Field(default=64, ge=1)
        temperature: float = Field(default=0.0, ge=0.0)
        repeats: int = Field(default=1, ge=1)

    class SuiteModel(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str
        version: int = Field(ge=1)
        seed: int = Field(default=0, ge=0)
        description: str = ""
        tasks: list[TaskModel]
        fallback: TaskModel | None = None
        all_envs: bool = True

    try:
        raw = yaml.safe_load(path.read_text())
        spec = SuiteModel.model_validate(raw)
    except OSError as exc:
        raise ConfigError(f"cannot read the suite file {path}: {exc.strerror}") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigError(f"{path} is not a valid suite file: {str(exc)[:400]}") from exc
    if spec.name in SUITES:
        raise ConfigError(
            f"{path} names its suite {spec.name!r}, a built-in suite; choose another name"
        )

    def row(t: TaskModel) -> SuiteTask:
        return SuiteTask(
            t.env_id, t.episodes, t.env_kwargs, t.max_new_tokens, t.temperature, t.repeats
        )

    return Suite(
        name=spec.name,
        version=spec.version,
        seed=spec.seed,
        description=spec.description,
        tasks=tuple(row(t) for t in spec.tasks),
        fallback=row(spec.fallback) if spec.fallback else SuiteTask("", 1, {}),
        all_envs=spec.all_envs,
    )


def suite_from_record(record: Mapping[str, Any]) -> Suite:
    """The suite as run, from the ``suite`` record of a manifest (its resolved rows)."""
    return Suite(
        name=str(record["name"]),
        version=int(record["version"]),
        seed=int(record["seed"]),
        description="",
        tasks=tuple(
            SuiteTask(
                t["env_id"],
                int(t["episodes"]),
                dict(t.get("env_kwargs") or {}),
                int(t.get("max_new_tokens", 64)),
                float(t.get("temperature", 0.0)),
                int(t.get("repeats", 1)),
            )
            for t in record["tasks"]
        ),
        fallback=SuiteTask("", 1, {}),
        all_envs=False,
    )


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


def _merge_manifest(
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


AgentFactory = Callable[[ModelEntry, SuiteTask, int], Any]


def _agent_factory(
    backend_name: str, backend_kwargs: Mapping[str, Any], *, keep_loaded: bool = False
) -> AgentFactory:
    """Agents over one loaded backend per model: loaded lazily and, unless ``keep_loaded``,
    freed when the next model starts."""
    from acbench_env.agents import LLMPolicyAgent
    from acbench_env.agents.backends import create_backend

    loaded: dict[str, Any] = {}

    def make_agent(entry: ModelEntry, task: SuiteTask, repeat: int) -> Any:
        if entry.label not in loaded:
            if not keep_loaded:
                for old in loaded.values():
                    old.close()
                loaded.clear()
            loaded[entry.label] = create_backend(backend_name, model=entry.model, **backend_kwargs)
        agent = LLMPolicyAgent(
            loaded[entry.label], max_new_tokens=task.max_new_tokens, temperature=task.temperature
        )
        return _RepeatAgent(agent, repeat) if task.repeats > 1 else agent

    return make_agent


class _RepeatAgent:
    """Wraps an agent so that repeat ``r`` of an episode draws its own sampling seeds; the
    repeat index is recorded in the model's decoding settings."""

    def __init__(self, agent: Any, repeat: int) -> None:
        self._agent = agent
        self._repeat = repeat

    @property
    def info(self) -> Any:
        info = self._agent.info
        return replace(info, decoding={**info.decoding, "repeat": self._repeat})

    @property
    def system_prompt(self) -> str | None:
        return self._agent.system_prompt  # type: ignore[no-any-return]

    def respond(self, inputs: Sequence[Any]) -> list[Any]:
        from acbench_env.core.runner import request_seed

        shifted = [
            replace(inp, seed=None if inp.seed is None else request_seed(inp.seed, self._repeat))
            for inp in inputs
        ]
        return self._agent.respond(shifted)  # type: ignore[no-any-return]

    def act(self, observation: str) -> str:
        return self._agent.act(observation)  # type: ignore[no-any-return]

    def reset(self) -> None:
        self._agent.reset()


def check_suite_task(task: SuiteTask) -> None:
    if task.episodes < 1:
        raise ConfigError(f"{task.env_id}: episodes must be at least 1, got {task.episodes}")
    if task.repeats < 1:
        raise ConfigError(f"{task.env_id}: repeats must be at least 1, got {task.repeats}")
    if task.repeats > 1 and task.temperature <= 0:
        raise ConfigError(
            f"{task.env_id}: repeats={task.repeats} with greedy decoding gives identical "
            "repeats; set temperature > 0"
        )


def describe_models(models: Sequence[str], backend: str) -> list[dict[str, Any]]:
    """Manifest entries for ``models`` (the first is the base): label, model, backend, the
    weights fingerprint and the compression fingerprint. Bad paths fail here."""
    from acbench_env.core.models import resolve_model, weights_sha256

    if not models:
        raise ConfigError("pass at least one model (the base model first)")
    out = []
    for label, model in zip(model_labels(models), models):
        entry: dict[str, Any] = {"label": label, "model": model, "backend": backend}
        if backend != "openai":
            path = resolve_model(model)
            from acbench_env.compression.metadata import read_fingerprint

            entry["weights_sha256"] = weights_sha256(path)
            entry["compression"] = read_fingerprint(path)
        out.append(entry)
    base = out[0]
    for e in out[1:]:
        source = (e.get("compression") or {}).get("source_model_sha256")
        if source and base.get("weights_sha256") and source != base["weights_sha256"]:
            raise ConfigError(
                f"{e['model']!r} was compressed from another model (source weights "
                f"{source[:12]}) than the base {base['model']!r} (weights "
                f"{base['weights_sha256'][:12]}); list its own base model first"
            )
    return out


@dataclass(frozen=True)
class SuiteRunResult:
    out: Path
    manifest: dict[str, Any]
    new_episodes: int
    resumed_episodes: int
    wall_time_s: float


def run_suite(
    models: Sequence[str],
    suite: Suite,
    out: str | Path,
    *,
    backend: str = "transformers",
    backend_kwargs: Mapping[str, Any] | None = None,
    batch_size: int = 8,
    progress: bool = False,
    agent_factory: AgentFactory | None = None,
    model_entries: Sequence[dict[str, Any]] | None = None,
    order: str = "model",
) -> SuiteRunResult:
    """Run every task of ``suite`` (resolved over the registered envs) on every model.

    ``models[0]`` is the base model. ``agent_factory(entry, task, repeat)`` overrides how
    agents are built (tests use scripted agents); ``model_entries`` then describes the
    models for the manifest instead of reading their folders.
    """
    from tqdm.auto import tqdm

    from acbench_env.core.registry import env_ids
    from acbench_env.core.runner import run_episodes
    from acbench_env.scoring.capability import WEIGHTING_V1

    started = time.perf_counter()
    resolved = suite.resolved(env_ids())
    for task in resolved.tasks:
        check_suite_task(task)
    out_dir = Path(out)
    entries = list(model_entries) if model_entries is not None else describe_models(models, backend)
    manifest = _merge_manifest(out_dir, resolved, entries, WEIGHTING_V1.version)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, sort_keys=True))
    if order not in ("model", "task"):
        raise ConfigError(f"order must be 'model' or 'task', got {order!r}")
    factory = agent_factory or _agent_factory(
        backend,
        {"batch_size": batch_size, **dict(backend_kwargs or {})},
        keep_loaded=order == "task",
    )
    model_objs = [ModelEntry(e["label"], e["model"], e["backend"]) for e in entries]
    if order == "model":
        units = [(m, t, r) for m in model_objs for t in resolved.tasks for r in range(t.repeats)]
    else:
        units = [(m, t, r) for t in resolved.tasks for r in range(t.repeats) for m in model_objs]
    new = resumed = 0
    bar = tqdm(total=len(units), disable=not progress, unit="task", desc="suite", position=0)
    try:
        for entry, task, repeat in units:
            bar.set_postfix_str(f"{entry.label} {task.env_id.split('/', 1)[-1]}")
            path = run_file(out_dir, entry.label, task.env_id, repeat)
            result = run_episodes(
                task.env_id,
                factory(entry, task, repeat),
                episodes=task.episodes,
                seed=resolved.seed,
                out=path,
                env_kwargs=dict(task.env_kwargs),
                batch_size=batch_size,
                progress=progress,
            )
            new += result.new_episodes
            resumed += result.resumed_episodes
            bar.update(1)
    finally:
        bar.close()
    return SuiteRunResult(out_dir, manifest, new, resumed, time.perf_counter() - started)
