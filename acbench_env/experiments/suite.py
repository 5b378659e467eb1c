"""Running a suite: every registered task on every model with the same seeds, then a report.

Suites themselves are data (:mod:`acbench_env.core.suites`); the output folder's layout and
manifest are :mod:`acbench_env.core.manifest`. :func:`run_suite` writes, under the output folder ``DIR``:

- ``suite.json``: the suite (its rows as run), its fingerprint, the models (the first is
  the base) with their weight and compression fingerprints;
- ``runs/<model label>/<env name>.jsonl``: trajectories, written by
  :func:`~acbench_env.experiments.runner.run_episodes` (so a re-run resumes where it stopped).

Episode ``i`` of every task is reset with seed ``suite.seed + i`` for every model, so
base and compressed episodes pair up by (env id, seed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
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

logger = logging.getLogger(__name__)

AgentFactory = Callable[[ModelEntry, SuiteTask, int], Any]

#: How to get out of a conflict between a run and the folder it is run into.
_RUN_FIXES: dict[ConflictKind, str] = {
    "suite": "the tasks, arguments or seeds differ; choose another --out folder",
    "base": "put the base model first in --models or choose another --out folder",
    "label": "rename the model folder or choose another --out folder",
}


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
        from acbench_env.core.seeds import request_seed

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
    positive_int(f"{task.env_id}: episodes", task.episodes)
    positive_int(f"{task.env_id}: repeats", task.repeats)
    if task.repeats > 1 and task.temperature <= 0:
        raise ConfigError(
            f"{task.env_id}: repeats={task.repeats} with greedy decoding gives identical "
            "repeats; set temperature > 0"
        )


def describe_models(models: Sequence[str], backend: str) -> list[ModelEntry]:
    """Manifest entries for ``models`` (the first is the base): label, model, backend, the
    weights fingerprint and the compression fingerprint. Bad paths fail here."""
    from acbench_env.agents.backends import backend_spec
    from acbench_env.core.fingerprint import read_fingerprint
    from acbench_env.core.models import resolve_model, weights_sha256

    if not models:
        raise ConfigError("pass at least one model (the base model first)")
    remote = backend_spec(backend).remote
    out = []
    for label, model in zip(model_labels(models), models):
        entry = ModelEntry(label, model, backend)
        if not remote:
            path = resolve_model(model)
            entry = ModelEntry(label, model, backend, weights_sha256(path), read_fingerprint(path))
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
) -> SuiteRunResult:
    """Run every task of ``suite`` (resolved over the registered envs) on every model.

    ``models[0]`` is the base model. ``agent_factory(entry, task, repeat)`` overrides how
    agents are built (tests use scripted agents); ``model_entries`` (entries or their
    ``suite.json`` records) then describes the models for the manifest instead of reading
    their folders.
    """
    from tqdm.auto import tqdm

    from acbench_env.core.registry import env_ids
    from acbench_env.experiments.runner import run_episodes
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
    write_manifest(out_dir, manifest)
    if order not in ("model", "task"):
        raise ConfigError(f"order must be 'model' or 'task', got {order!r}")
    factory = agent_factory or _agent_factory(
        backend,
        {"batch_size": batch_size, **dict(backend_kwargs or {})},
        keep_loaded=order == "task",
    )
    if order == "model":
        units = [(m, t, r) for m in entries for t in resolved.tasks for r in range(t.repeats)]
    else:
        units = [(m, t, r) for t in resolved.tasks for r in range(t.repeats) for m in entries]
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
