"""Suite definitions: a suite is data, a small typed table (:class:`Suite` of
:class:`SuiteTask` rows) with a name and a version, built in or read from a suite file.

``quick`` is sized to finish within 15 minutes on 2 CPU cores for the default model and two
compressed variants (short contexts, a few episodes per task); ``full`` is the paper-sized
configuration; ``standard`` (versioned) is calibrated to the default model (each task at
the ladder rung where the base scores nearest 0.5 where piloted, see ``acbench
calibrate``) and sized by statistical power within a time budget. A registered environment
that a suite's table does not list still runs, with the table's ``fallback`` row (so new
environments are picked up as they land) and a logged warning. Running a suite is :func:`acbench_env.experiments.suite.run_suite`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NamedTuple

from acbench_env.core.errors import ConfigError
from acbench_env.core.jsonl import to_jsonable

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SuiteTask:
    """One row of a suite: an environment, its arguments, its episodes and decoding.

    ``repeats > 1`` runs every episode that many times with sampling (``temperature``
    must then be > 0), each repeat under its own sampling seeds, for pass@k / pass^k.
    ``calibration`` holds what ``acbench calibrate`` measured for the row (rung, pilot
    figures, planned episodes); it is documentation, not part of :meth:`record` or the
    fingerprint.
    """

    env_id: str
    episodes: int
    env_kwargs: Mapping[str, Any] = field(default_factory=dict)
    max_new_tokens: int = 64
    temperature: float = 0.0
    repeats: int = 1
    calibration: Mapping[str, Any] | None = field(default=None, compare=False)

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


class _Row(NamedTuple):
    """A task of both built-in suites: ``(episodes, max_new_tokens)`` in each."""

    name: str
    #: "long": takes the suite's context length; "sim": the suite's simulator arguments.
    kind: str
    quick: tuple[int, int]
    full: tuple[int, int]


#: The built-in suites' tasks, in order: one row per environment, so both list the same.
_ROWS = (
    _Row("Workflow", "", (4, 96), (100, 256)),
    _Row("WorfBench", "", (3, 96), (100, 256)),
    _Row("FunctionCall", "", (4, 48), (200, 128)),
    _Row("BFCL", "", (3, 48), (100, 128)),
    _Row("Scenario", "", (2, 48), (20, 128)),
    _Row("ToolMultiTurn", "", (2, 96), (100, 128)),
    _Row("ToolMultiTurnHard", "", (2, 96), (100, 128)),
    _Row("ToolSteps", "", (3, 64), (100, 128)),
    _Row("Needle", "long", (5, 24), (100, 32)),
    *(_Row(name, "long", (3, 24), (50, 48)) for name in _RULER),
    _Row("LongDocQA", "long", (3, 24), (50, 48)),
    _Row("LongGen", "", (3, 64), (50, 256)),
    *(_Row(name, "sim", (2, 20), (100, 32)) for name in _SIM),
)


def _tasks(size: str, kind_args: Mapping[str, dict[str, Any]]) -> tuple[SuiteTask, ...]:
    """The rows of the built-in suite ``size`` (``"quick"`` or ``"full"``); ``kind_args``:
    the env arguments of each row kind."""
    tasks = []
    for row in _ROWS:
        episodes, max_new_tokens = row.quick if size == "quick" else row.full
        env_kwargs = dict(kind_args.get(row.kind, {}))
        tasks.append(SuiteTask(f"acbench/{row.name}-v0", episodes, env_kwargs, max_new_tokens))
    return tuple(tasks)


#: The quick suite: short contexts and a few episodes per task (54 episodes per model).
QUICK = Suite(
    name="quick",
    version=2,
    seed=0,
    description=(
        "smoke-sized: 512-token contexts, 2-5 episodes per task, greedy decoding; for "
        "checking a pipeline and spotting large losses, not for 1-3 point deltas"
    ),
    tasks=_tasks("quick", {"long": {"context_length": 512}, "sim": {"max_steps": 5}}),
    fallback=SuiteTask("", 2, {}, max_new_tokens=48),
)

#: The full suite: the paper-sized configuration (hours on a CPU; meant for a GPU box).
FULL = Suite(
    name="full",
    version=2,
    seed=0,
    description=(
        "paper-sized: 100-200 episodes per task, 4096-token contexts, default env "
        "arguments otherwise, greedy decoding"
    ),
    tasks=_tasks("full", {"long": {"context_length": 4096}}),
    fallback=SuiteTask("", 50, {}, max_new_tokens=128),
)


def _calibrated(
    env_id: str,
    episodes: int,
    env_kwargs: dict[str, Any],
    max_new_tokens: int,
    rung: str,
    pilot_mean: float | None,
    pilot_episodes: int | None = None,
) -> SuiteTask:
    """A calibrated row: its ``calibration`` names the rung and the pilot figures
    (``pilot_episodes`` left out where the rung was not piloted)."""
    calibration: dict[str, Any] = {"rung": rung, "pilot_mean": pilot_mean}
    if pilot_episodes is not None:
        calibration["pilot_episodes"] = pilot_episodes
    return SuiteTask(env_id, episodes, env_kwargs, max_new_tokens, calibration=calibration)


#: STANDARD-BEGIN (rows written by scripts/standard_rows.py from `acbench calibrate`)
#: The standard suite: every task at the ladder rung `acbench calibrate` chose for the
#: default model (default, vllm, bfloat16, 16 pilot episodes per
#: rung at seeds 10000+, band 0.3-0.7, target 0.5); 12 of 19 tasks in the band.
#: Episodes from the power plan (80% power, MDE targets 0.05 overall and 0.1 per capability,
#: paired sd from each pilot), capped by a budget of 90.0 minutes for 7 models
#: (pilot machine seconds per episode):
#:   episodes for targets 475 minutes 166.6
#:   planned episodes/model 254 minutes 88.1
#:   overall MDE 0.0661
#:   long_context MDE 0.146
#:   real_world_application MDE 0.16
#:   tool_use MDE 0.1448
#:   workflow_generation MDE 0.1464
STANDARD = Suite(
    name="standard",
    version=3,
    seed=0,
    description=(
        "calibrated to the default model (per task the ladder rung nearest a base score "
        "of 0.5 from vLLM bfloat16 pilots), sized for base + six variants on 2 CPU cores "
        "with vLLM in about 90 minutes; the overall MDE it buys is above 0.05 "
        "(see README)"
    ),
    # env id, episodes, env arguments, max_new_tokens; rung, pilot mean, pilot episodes
    tasks=(
        _calibrated(
            "acbench/BFCL-v0",
            13,
            {"category": "simple_python", "tool_listing": "signature", "few_shot": 3},
            192,
            "simple-sig-shots3",
            0.1875,
            16,
        ),
        _calibrated(
            "acbench/BlocksWorld-v0",
            15,
            {"level": "tiny", "few_shot": 3, "inline_example": False},
            32,
            "tiny-shots3-noinline",
            0.125,
            16,
        ),
        _calibrated(
            "acbench/FunctionCall-v0",
            16,
            {
                "difficulty": 0,
                "few_shot": 4,
                "tool_listing": "signature",
                "distractors": 1,
                "categories": ["single"],
            },
            128,
            "d0-single-shots4-sig",
            0.375,
            16,
        ),
        _calibrated(
            "acbench/Household-v0",
            13,
            {"level": "tiny", "few_shot": 3, "inline_example": False},
            32,
            "tiny-shots3-noinline",
            0.2917,
            16,
        ),
        _calibrated(
            "acbench/LongDocQA-v0",
            15,
            {"level": "easy", "context_length": 256, "few_shot": 2},
            64,
            "easy-ctx256-shots2",
            0.4375,
            16,
        ),
        _calibrated(
            "acbench/LongGen-v0",
            8,
            {
                "level": "easy",
                "questions": 2,
                "few_shot": 2,
                "inline_example": False,
                "kinds": ["larger"],
            },
            40,
            "q2-shots2-larger",
            0.3125,
            16,
        ),
        _calibrated(
            "acbench/Needle-v0",
            13,
            {"context_length": 8000, "distractors": 16},
            64,
            "ctx8000-near16",
            0.3125,
            16,
        ),
        _calibrated(
            "acbench/NeedleMultiKey-v0",
            13,
            {"level": "easy", "context_length": 256},
            64,
            "easy-ctx256",
            0.6875,
            16,
        ),
        _calibrated(
            "acbench/NeedleMultiQuery-v0",
            11,
            {"level": "easy", "context_length": 256},
            64,
            "easy-ctx256",
            0.625,
            16,
        ),
        _calibrated(
            "acbench/NeedleMultiValue-v0",
            12,
            {"level": "easy", "context_length": 256},
            64,
            "easy-ctx256",
            0.625,
            16,
        ),
        _calibrated(
            "acbench/Scenario-v0", 11, {"tool_listing": "signature"}, 128, "sig", 0.2917, 16
        ),
        _calibrated(
            "acbench/ToolMultiTurn-v0",
            15,
            {"difficulty": 0, "few_shot": 3, "tool_listing": "signature"},
            96,
            "d0-shots3-sig",
            0.25,
            16,
        ),
        _calibrated(
            "acbench/ToolMultiTurnHard-v0",
            7,
            {"difficulty": 1, "few_shot": 3, "tool_listing": "signature", "distractors": 0},
            96,
            "d1-shots3-sig-dis0",
            0.0,
            16,
        ),
        _calibrated(
            "acbench/ToolQuery-v0",
            6,
            {"level": "easy", "few_shot": 3, "inline_example": False},
            32,
            "easy-shots3-noinline",
            0.5833,
            16,
        ),
        _calibrated(
            "acbench/ToolSteps-v0",
            14,
            {"difficulty": 0, "few_shot": 4},
            64,
            "d0-shots4",
            0.4479,
            16,
        ),
        _calibrated(
            "acbench/VariableTracking-v0",
            7,
            {"level": "easy", "context_length": 256},
            64,
            "easy-ctx256",
            0.4792,
            16,
        ),
        _calibrated(
            "acbench/WebShop-v0",
            10,
            {"level": "easy", "few_shot": 3, "inline_example": False},
            32,
            "easy-shots3-noinline",
            0.3125,
            16,
        ),
        _calibrated("acbench/WorfBench-v0", 21, {"few_shot": 3}, 256, "shots3", 0.0909, 16),
        _calibrated(
            "acbench/Workflow-v0", 34, {"level": 1, "few_shot": 3}, 256, "l1-shots3", 0.4041, 16
        ),
    ),
    fallback=SuiteTask("", 5, {}, max_new_tokens=64),
)
#: STANDARD-END

SUITES: dict[str, Suite] = {s.name: s for s in (QUICK, FULL, STANDARD)}


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
        calibration: dict[str, Any] | None = None

    class SuiteModel(BaseModel):
        model_config = ConfigDict(extra="forbid")
        name: str
        version: int = Field(ge=1)
        seed: int = Field(default=0, ge=0)
        description: str = ""
        tasks: list[TaskModel]
        fallback: TaskModel | None = None
        all_envs: bool = True
        calibration: dict[str, Any] | None = None

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
            t.env_id,
            t.episodes,
            t.env_kwargs,
            t.max_new_tokens,
            t.temperature,
            t.repeats,
            calibration=t.calibration,
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
