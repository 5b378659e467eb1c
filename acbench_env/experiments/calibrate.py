"""Calibrate a suite to a base model: per task, the ladder rung whose base score is nearest a
target, and the episodes a paired comparison needs there.

For every registered task (or the ones asked for), :func:`calibrate` runs a small pilot of the
base model on rungs of the task's difficulty ladder (:attr:`TextEnv.ladder`, easiest first)
and picks the rung whose pilot mean is nearest ``target`` (default 0.5). Scores fall as rungs
get harder, so the search is a bisection (:func:`search_ladder`): the easiest rung first (if
it is already at or below the target, nothing easier exists), then the hardest, then the
middle of the remaining bracket, at most ``max_pilots_per_task`` pilots. A task whose every
piloted rung stays outside ``band`` keeps its nearest rung and is marked ``out_of_band``.

The episodes per task come from :mod:`acbench_env.scoring.power`: the pilot's score spread
gives the paired-difference spread (``sd_diff = sd * sqrt(2 (1 - pair_correlation))``), and
episodes are allocated across tasks so that the overall delta (capabilities weighted equally,
tasks equally within a capability, as in weighting v1) reaches ``mde`` and every capability
delta reaches ``capability_mde`` with 80% power; ``budget_minutes`` caps the total from the
pilot's measured seconds per episode (times the number of models the suite will run).

Pilot trajectories are kept in ``<out>.pilot/<env>/<rung>.jsonl`` next to the suite file,
so an interrupted calibration resumes and a re-run reads them back: the same seed and the
same pilot folder give the same suite file.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acbench_env.core.errors import ConfigError
from acbench_env.core.ladder import Ladder, Rung
from acbench_env.core.manifest import env_file_name

logger = logging.getLogger(__name__)

#: Pilot episodes use reset seeds ``seed + PILOT_SEED_OFFSET + i``: other tasks than the ones
#: a suite with seed ``seed`` runs, so a calibration does not pick its rung on the test items.
PILOT_SEED_OFFSET = 10_000

AgentFactory = Callable[[str, Mapping[str, Any], int], Any]


@dataclass(frozen=True)
class RungPilot:
    """The pilot of one rung: its scores and how long an episode took."""

    rung: str
    index: int
    scores: tuple[float, ...]
    seconds_per_episode: float

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores) if self.scores else float("nan")

    @property
    def sd(self) -> float:
        n = len(self.scores)
        if n < 2:
            return float("nan")
        m = self.mean
        return math.sqrt(sum((s - m) ** 2 for s in self.scores) / (n - 1))

    def record(self) -> dict[str, Any]:
        return {
            "rung": self.rung,
            "index": self.index,
            "episodes": len(self.scores),
            "mean": round(self.mean, 4),
            "sd": None if math.isnan(self.sd) else round(self.sd, 4),
            "seconds_per_episode": round(self.seconds_per_episode, 3),
        }


@dataclass(frozen=True)
class LadderSearch:
    """Which rungs were piloted (in order), the chosen one, and whether it is in the band."""

    tried: tuple[int, ...]
    chosen: int
    in_band: bool


def search_ladder(
    n_rungs: int,
    evaluate: Callable[[int], float],
    *,
    target: float = 0.5,
    band: tuple[float, float] = (0.3, 0.7),
    max_pilots: int = 4,
) -> LadderSearch:
    """Bisect a ladder whose scores fall with the rung index for the rung nearest ``target``.

    ``evaluate(i)`` is rung ``i``'s pilot mean (called at most once per rung, at most
    ``max_pilots`` times). Ties go to the easier rung. Pure given ``evaluate``.
    """
    if n_rungs < 1:
        raise ConfigError("the ladder has no rungs")
    if max_pilots < 1:
        raise ConfigError(f"max_pilots must be at least 1, got {max_pilots}")
    lo_b, hi_b = band
    if not 0.0 <= lo_b <= target <= hi_b <= 1.0:
        raise ConfigError(f"need 0 <= band low <= target <= band high <= 1, got {band}, {target}")
    scores: dict[int, float] = {}

    def score(i: int) -> float:
        if i not in scores:
            scores[i] = evaluate(i)
        return scores[i]

    def done() -> bool:
        return len(scores) >= max_pilots or any(lo_b <= s <= hi_b for s in scores.values())

    lo, hi = 0, n_rungs - 1
    if score(lo) > target and not done() and hi > lo and score(hi) < target:
        # Invariant: score(lo) > target > score(hi).
        while hi - lo > 1 and not done():
            mid = (lo + hi) // 2
            if score(mid) > target:
                lo = mid
            elif score(mid) < target:
                hi = mid
            else:
                break
    tried = tuple(scores)
    chosen = min(tried, key=lambda i: (abs(scores[i] - target), i))
    return LadderSearch(tried, chosen, lo_b <= scores[chosen] <= hi_b)


def pilot_folder(out: Path) -> Path:
    """Where the pilot trajectories of a calibration writing ``out`` live."""
    return out.with_name(out.name + ".pilot")


def pilot_file(folder: Path, env_id: str, rung: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in rung)
    return folder / env_file_name(env_id).removesuffix(".jsonl") / f"{safe}.jsonl"


@dataclass(frozen=True)
class TaskCalibration:
    """The result for one task."""

    env_id: str
    capability: str
    ladder: Ladder
    pilots: tuple[RungPilot, ...]
    chosen: int
    in_band: bool
    max_new_tokens: int

    @property
    def rung(self) -> Rung:
        return self.ladder[self.chosen]

    @property
    def pilot(self) -> RungPilot:
        return next(p for p in self.pilots if p.index == self.chosen)


def _default_agent_factory(
    model: str, backend: str, backend_kwargs: Mapping[str, Any]
) -> AgentFactory:
    from acbench_env.agents import LLMPolicyAgent
    from acbench_env.agents.backends import create_backend

    loaded: list[Any] = []

    def make_agent(env_id: str, env_kwargs: Mapping[str, Any], max_new_tokens: int) -> Any:
        if not loaded:
            loaded.append(create_backend(backend, model=model, **dict(backend_kwargs)))
        return LLMPolicyAgent(loaded[0], max_new_tokens=max_new_tokens)

    return make_agent


def answer_tokens(env_id: str, env_kwargs: Mapping[str, Any]) -> int:
    """The generation budget the env suggests at these arguments."""
    from acbench_env.core.registry import make

    env = make(env_id, **dict(env_kwargs))
    try:
        return int(getattr(env.unwrapped, "answer_tokens", 64))
    finally:
        env.close()


def _streams(agent: Any) -> bool:
    """Whether the runner streams this agent's requests (a backend with ``submit`` /
    ``collect``, as vLLM's): each step then stores its own latency, not a share of a batch."""
    backend = getattr(agent, "backend", None)
    if backend is None or not (hasattr(agent, "requests") and hasattr(agent, "replies")):
        return False
    return all(callable(getattr(backend, m, None)) for m in ("submit", "collect", "cancel"))


def machine_seconds_per_episode(stored_seconds: float, concurrency: int) -> float:
    """An episode's cost in machine time from its stored step times.

    In lock-step batches a step stores its share of the batch's time (``concurrency`` 1);
    when the runner streams requests (vLLM), a step stores its latency with up to
    ``concurrency`` requests in flight, so the episode costs its latency sum over the
    concurrency (8 episodes at batch 8: the pilot's wall time is about one episode's
    latency, not eight).
    """
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    return stored_seconds / concurrency


def run_pilot(
    env_id: str,
    rung: Rung,
    index: int,
    agent_factory: AgentFactory,
    *,
    folder: Path,
    episodes: int,
    seed: int,
    batch_size: int = 8,
) -> RungPilot:
    """``episodes`` episodes of ``env_id`` at ``rung`` (resumed from ``folder``)."""
    from acbench_env.experiments.runner import run_episodes

    kwargs = dict(rung.env_kwargs)
    tokens = answer_tokens(env_id, kwargs)
    agent = agent_factory(env_id, kwargs, tokens)
    started = time.perf_counter()
    result = run_episodes(
        env_id,
        agent,
        episodes=episodes,
        seed=seed + PILOT_SEED_OFFSET,
        out=pilot_file(folder, env_id, rung.name),
        env_kwargs=kwargs,
        batch_size=batch_size,
    )
    elapsed = time.perf_counter() - started
    trajs = result.trajectories
    # Seconds per episode from the stored step times, so a resumed pilot reports the same
    # figure as the run that wrote it (see :func:`machine_seconds_per_episode`).
    stored = machine_seconds_per_episode(
        sum(s.wall_time_s for t in trajs for s in t.steps) / max(len(trajs), 1),
        concurrency=min(batch_size, max(len(trajs), 1)) if _streams(agent) else 1,
    )
    logger.info(
        "pilot %s %s: mean %.3f over %d episodes (%.1f s now)",
        env_id,
        rung.name,
        sum(t.score for t in trajs) / max(len(trajs), 1),
        len(trajs),
        elapsed,
    )
    return RungPilot(rung.name, index, tuple(float(t.score) for t in trajs), stored)


def calibrate_task(
    env_id: str,
    agent_factory: AgentFactory,
    settings: CalibrationSettings,
    *,
    folder: Path,
    batch_size: int = 8,
) -> TaskCalibration:
    """Search ``env_id``'s ladder (see :func:`search_ladder`) with pilots of the base model,
    as ``settings`` asks (its seed, target, band, pilot episodes and pilots at most)."""
    from acbench_env.core.registry import env_class

    cls = env_class(env_id)
    ladder = getattr(cls, "ladder", None)
    if not isinstance(ladder, Ladder) or not ladder.rungs:
        ladder = Ladder((Rung("default", {}),))
    pilots: dict[int, RungPilot] = {}

    def evaluate(i: int) -> float:
        pilots[i] = run_pilot(
            env_id,
            ladder[i],
            i,
            agent_factory,
            folder=folder,
            episodes=settings.pilot_episodes,
            seed=settings.seed,
            batch_size=batch_size,
        )
        return pilots[i].mean

    found = search_ladder(
        len(ladder),
        evaluate,
        target=settings.target,
        band=settings.band,
        max_pilots=settings.max_pilots,
    )
    rung = ladder[found.chosen]
    return TaskCalibration(
        env_id=env_id,
        capability=str(getattr(cls, "capability", "")),
        ladder=ladder,
        pilots=tuple(pilots[i] for i in found.tried),
        chosen=found.chosen,
        in_band=found.in_band,
        max_new_tokens=answer_tokens(env_id, rung.env_kwargs),
    )


@dataclass(frozen=True)
class CalibrationSettings:
    """What a calibration was asked for (written into the suite file)."""

    model: str
    backend: str
    seed: int = 0
    target: float = 0.5
    band: tuple[float, float] = (0.3, 0.7)
    pilot_episodes: int = 8
    max_pilots: int = 4
    mde: float = 0.05
    capability_mde: float = 0.10
    power: float = 0.8
    pair_correlation: float = 0.5
    min_episodes: int = 10
    budget_minutes: float | None = None
    models_in_suite: int = 7
    name: str = "calibrated"
    #: Activation dtype of the pilots (``None``: the backend's default for the model); use
    #: the dtype the suite will run the base in (bfloat16 on vLLM next to W4 variants).
    dtype: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CalibrationResult:
    """Every task's calibration, the planned episodes and the suite written."""

    tasks: tuple[TaskCalibration, ...]
    episodes: tuple[int, ...]
    suite_text: str
    out: Path
    summary: Mapping[str, Any]


def plan_episodes(
    tasks: Sequence[TaskCalibration], settings: CalibrationSettings
) -> tuple[list[int], dict[str, Any]]:
    """Episodes per task (see the module docstring) and a summary of the plan's MDEs."""
    from acbench_env.scoring.power import (
        allocate_episodes,
        episodes_for_effect,
        mde,
        sd_diff_from_pilot,
        weighted_mde,
    )

    sds = [sd_diff_from_pilot(t.pilot.scores, settings.pair_correlation) for t in tasks]
    caps = sorted({t.capability for t in tasks})
    per_cap = {c: [i for i, t in enumerate(tasks) if t.capability == c] for c in caps}
    overall_w = [1.0 / (len(caps) * len(per_cap[t.capability])) for t in tasks]
    need = allocate_episodes(
        sds, settings.mde, overall_w, power=settings.power, min_episodes=settings.min_episodes
    )
    for _c, idx in per_cap.items():
        cap_need = allocate_episodes(
            [sds[i] for i in idx],
            settings.capability_mde,
            power=settings.power,
            min_episodes=settings.min_episodes,
        )
        for i, n in zip(idx, cap_need):
            need[i] = max(need[i], n)
    planned = list(need)
    seconds = [t.pilot.seconds_per_episode * settings.models_in_suite for t in tasks]
    needed_minutes = sum(n * s for n, s in zip(need, seconds)) / 60.0
    capped = False
    if settings.budget_minutes is not None and needed_minutes > settings.budget_minutes:
        capped = True
        floor = settings.min_episodes
        lo, hi = 0.0, 1.0
        for _ in range(50):  # the largest common scale that fits the budget
            mid = 0.5 * (lo + hi)
            trial = [max(floor, math.floor(n * mid)) for n in need]
            if sum(n * s for n, s in zip(trial, seconds)) / 60.0 <= settings.budget_minutes:
                lo = mid
            else:
                hi = mid
        planned = [max(floor, math.floor(n * lo)) for n in need]
    summary: dict[str, Any] = {
        "overall_mde": round(weighted_mde(sds, planned, overall_w, power=settings.power), 4),
        "capability_mde": {
            c: round(
                weighted_mde(
                    [sds[i] for i in idx], [planned[i] for i in idx], power=settings.power
                ),
                4,
            )
            for c, idx in per_cap.items()
        },
        "minutes_needed_for_targets": round(needed_minutes, 1),
        "minutes_planned": round(sum(n * s for n, s in zip(planned, seconds)) / 60.0, 1),
        "budget_capped": capped,
        "episodes_needed": dict(zip((t.env_id for t in tasks), need)),
    }
    for t, n, sd in zip(tasks, planned, sds):
        summary.setdefault("task_mde", {})[t.env_id] = round(mde(n, sd, power=settings.power), 4)
        summary.setdefault("task_episodes_for_mde", {})[t.env_id] = episodes_for_effect(
            sd, settings.mde, power=settings.power
        )
        summary.setdefault("sd_diff", {})[t.env_id] = round(sd, 4)
    return planned, summary


def suite_document(
    tasks: Sequence[TaskCalibration],
    episodes: Sequence[int],
    summary: Mapping[str, Any],
    settings: CalibrationSettings,
) -> dict[str, Any]:
    """The suite file's content (see :func:`acbench_env.core.suites.load_suite_file`)."""
    rows = []
    for t, n in zip(tasks, episodes):
        rows.append(
            {
                "env_id": t.env_id,
                "episodes": int(n),
                "env_kwargs": dict(t.rung.env_kwargs),
                "max_new_tokens": int(t.max_new_tokens),
                "calibration": {
                    "rung": t.rung.name,
                    "rung_index": t.chosen,
                    "ladder": list(t.ladder.names),
                    "in_band": t.in_band,
                    "marked": None if t.in_band else "out_of_band",
                    "pilot_mean": round(t.pilot.mean, 4),
                    "pilots": [p.record() for p in t.pilots],
                    "sd_diff": summary["sd_diff"][t.env_id],
                    "episodes_needed": summary["episodes_needed"][t.env_id],
                    "episodes_for_task_mde": summary["task_episodes_for_mde"][t.env_id],
                    "task_mde": summary["task_mde"][t.env_id],
                },
            }
        )
    cal = {
        "model": settings.model,
        "backend": settings.backend,
        "dtype": settings.dtype,
        "target": settings.target,
        "band": list(settings.band),
        "pilot_episodes": settings.pilot_episodes,
        "pilot_seed": settings.seed + PILOT_SEED_OFFSET,
        "mde": settings.mde,
        "capability_mde": settings.capability_mde,
        "power": settings.power,
        "pair_correlation": settings.pair_correlation,
        "models_in_suite": settings.models_in_suite,
        "budget_minutes": settings.budget_minutes,
        "in_band_tasks": sum(t.in_band for t in tasks),
        **{k: v for k, v in summary.items() if k not in ("task_mde", "sd_diff")},
    }
    return {
        "name": settings.name,
        "version": 1,
        "seed": settings.seed,
        "description": (
            f"calibrated to {settings.model} ({settings.backend}): per task the ladder rung "
            f"nearest a base score of {settings.target}; episodes for an overall MDE of "
            f"{settings.mde} and capability MDE of {settings.capability_mde} at "
            f"{round(settings.power * 100)}% power"
        ),
        "all_envs": False,
        "calibration": cal,
        "tasks": rows,
    }


def calibrate(
    settings: CalibrationSettings,
    out: str | Path,
    *,
    env_ids: Sequence[str] | None = None,
    backend_kwargs: Mapping[str, Any] | None = None,
    agent_factory: AgentFactory | None = None,
    batch_size: int = 8,
) -> CalibrationResult:
    """Calibrate every task (``env_ids``, default all registered) and write the suite file."""
    import yaml

    from acbench_env.core.registry import check_env_id
    from acbench_env.core.registry import env_ids as registered

    out_path = Path(out)
    if out_path.suffix not in (".yaml", ".yml", ".json"):
        raise ConfigError(f"--out must end in .yaml, .yml or .json, got {out_path.name!r}")
    if settings.pilot_episodes < 2:
        raise ConfigError("pilot_episodes must be at least 2 (a spread needs two scores)")
    if settings.mde <= 0 or settings.capability_mde <= 0:
        raise ConfigError("the MDE targets must be > 0")
    if settings.budget_minutes is not None and settings.budget_minutes <= 0:
        raise ConfigError("budget_minutes must be > 0")
    ids = list(env_ids) if env_ids else registered()
    for e in ids:
        check_env_id(e)
    kwargs: dict[str, Any] = {"batch_size": batch_size, **dict(backend_kwargs or {})}
    if settings.dtype is not None:
        kwargs["dtype"] = settings.dtype
    factory = agent_factory or _default_agent_factory(settings.model, settings.backend, kwargs)
    folder = pilot_folder(out_path)
    tasks = [
        calibrate_task(e, factory, settings, folder=folder, batch_size=batch_size) for e in ids
    ]
    episodes, summary = plan_episodes(tasks, settings)
    doc = suite_document(tasks, episodes, summary, settings)
    if out_path.suffix == ".json":
        import json

        text = json.dumps(doc, indent=2) + "\n"
    else:
        text = yaml.safe_dump(doc, sort_keys=False, width=100)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text)
    return CalibrationResult(tuple(tasks), tuple(episodes), text, out_path, summary)
