"""acbench calibrate with scripted agents: the ladder search, the suite file, resume and
determinism (no model is loaded)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from acbench_env.agents.base import AgentInput, AgentReply, BaseAgent
from acbench_env.core.errors import ConfigError
from acbench_env.core.ladder import Ladder, Rung
from acbench_env.core.registry import env_class
from acbench_env.core.suites import get_suite
from acbench_env.core.types import ModelInfo
from acbench_env.experiments.calibrate import (
    CalibrationSettings,
    calibrate,
    pilot_folder,
    search_ladder,
)


class RungSkillAgent(BaseAgent):
    """Plays the oracle's action on a fraction ``skill`` of its requests (request ``k`` is
    answered well when ``frac(k * 0.618...) < skill``: evenly spread and deterministic),
    otherwise an empty answer."""

    calls = 0

    def __init__(self, skill: float) -> None:
        super().__init__()
        self.skill = skill
        self.k = 0

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(model_id="scripted-skill", backend="scripted")

    def respond(self, inputs: Sequence[AgentInput]) -> list[AgentReply]:
        RungSkillAgent.calls += len(inputs)
        out = []
        for inp in inputs:
            self.k += 1
            good = (self.k * 0.6180339887) % 1.0 < self.skill
            out.append(AgentReply(text=str(inp.env.oracle_action()) if good else ""))
        return out


#: Skill per rung index: easiest rungs are nearly always solved, the hardest nearly never.
SKILL = (0.99, 0.98, 0.97, 0.85, 0.55, 0.2, 0.03)
ENVS = ("acbench/LongGen-v0", "acbench/FunctionCall-v0")


def factory(env_id: str, env_kwargs: Mapping[str, Any], max_new_tokens: int) -> Any:
    ladder = env_class(env_id).ladder
    rung = ladder.match({**_defaults(env_id), **env_kwargs})
    assert rung is not None
    return RungSkillAgent(SKILL[ladder.index(rung.name)])


def _defaults(env_id: str) -> dict[str, Any]:
    from acbench_env.core.ladder import effective_kwargs

    return effective_kwargs(env_class(env_id), {}, {})


def test_search_ladder_bisects_and_marks_out_of_band() -> None:
    calls: list[int] = []

    def scores(values: Sequence[float]) -> Any:
        def evaluate(i: int) -> float:
            calls.append(i)
            return values[i]

        return evaluate

    values = [1, 1, 0.9, 0.8, 0.6, 0.2, 0.1, 0]
    found = search_ladder(8, scores(values), max_pilots=5)
    assert found.chosen == 4 and found.in_band and calls == [0, 7, 3, 5, 4]
    calls.clear()
    bounded = search_ladder(8, scores(values), max_pilots=3)  # the pilot budget holds
    assert calls == [0, 7, 3] and bounded.chosen == 3 and not bounded.in_band
    calls.clear()
    low = search_ladder(4, scores([0.1, 0.0, 0.0, 0.0]))
    assert (low.chosen, low.in_band, calls) == (0, False, [0])  # nothing easier exists
    high = search_ladder(3, scores([1.0, 1.0, 0.9]))
    assert (high.chosen, high.in_band) == (2, False)  # kept at the nearest (hardest) rung
    with pytest.raises(ConfigError, match="band"):
        search_ladder(3, scores([1, 1, 1]), target=0.9, band=(0.3, 0.7))


def test_calibrate_writes_a_suite_that_loads_and_is_deterministic_and_resumable(
    tmp_path: Path,
) -> None:
    out = tmp_path / "cal.yaml"
    settings = CalibrationSettings(model="scripted", backend="scripted", pilot_episodes=10)
    result = calibrate(settings, out, env_ids=ENVS, agent_factory=factory)
    suite = get_suite(str(out))
    assert [t.env_id for t in suite.tasks] == list(ENVS)
    for task, cal in zip(suite.tasks, result.tasks):
        assert task.calibration is not None
        assert task.calibration["rung"] == cal.rung.name
        assert dict(task.env_kwargs) == dict(cal.rung.env_kwargs)
        # The chosen rung's pilot is nearest 0.5 of the piloted rungs and in the band.
        assert 0.3 <= task.calibration["pilot_mean"] <= 0.7 and task.calibration["in_band"]
        assert task.episodes >= settings.min_episodes
        assert task.episodes == task.calibration["episodes_needed"]  # no budget cap
    assert (tmp_path / "cal.yaml.pilot").is_dir() and pilot_folder(out).is_dir()
    # Every pilot trajectory records the rung it ran at.
    from acbench_env.core.jsonl import read_trajectories
    from acbench_env.experiments.calibrate import pilot_file

    cal = result.tasks[0]
    trajs = read_trajectories(pilot_file(pilot_folder(out), cal.env_id, cal.rung.name))
    assert trajs and {t.rung for t in trajs} == {cal.rung.name}
    # Resume: the pilots are read back, no agent call, the same file.
    text = out.read_text()
    out.unlink()
    RungSkillAgent.calls = 0
    again = calibrate(settings, out, env_ids=ENVS, agent_factory=factory)
    assert RungSkillAgent.calls == 0 and out.read_text() == text == again.suite_text
    # Deterministic: a fresh folder with the same seed writes the same tasks.
    other = tmp_path / "fresh" / "cal.yaml"
    calibrate(settings, other, env_ids=ENVS, agent_factory=factory)
    fresh = get_suite(str(other))
    assert [t.record() for t in fresh.tasks] == [t.record() for t in suite.tasks]


def test_budget_caps_episodes_and_out_of_band_tasks_are_marked(tmp_path: Path) -> None:
    def hopeless(env_id: str, env_kwargs: Mapping[str, Any], max_new_tokens: int) -> Any:
        return RungSkillAgent(0.0)

    settings = CalibrationSettings(
        model="scripted", backend="scripted", pilot_episodes=4, budget_minutes=1e-6
    )
    result = calibrate(settings, tmp_path / "c.yaml", env_ids=ENVS[:1], agent_factory=hopeless)
    row = get_suite(str(tmp_path / "c.yaml")).tasks[0]
    assert row.calibration is not None
    assert row.calibration["marked"] == "out_of_band" and row.calibration["rung_index"] == 0
    assert result.summary["budget_capped"] and row.episodes == settings.min_episodes
    with pytest.raises(ConfigError, match="yaml"):
        calibrate(settings, tmp_path / "c.txt", env_ids=ENVS[:1], agent_factory=hopeless)


def test_every_registered_env_declares_a_ladder() -> None:
    from acbench_env.core.registry import env_ids

    for env_id in env_ids():
        ladder = env_class(env_id).ladder
        assert isinstance(ladder, Ladder) and len(ladder) >= 1, env_id
        assert all(isinstance(r, Rung) for r in ladder)


def test_standard_suite_rows_are_valid_rungs() -> None:
    """Every registered env has a row; each row's arguments select the rung its calibration
    names (so trajectories record it), and the arguments build the env."""
    import gymnasium

    from acbench_env.core.ladder import rung_of
    from acbench_env.core.registry import env_ids, make
    from acbench_env.core.suites import STANDARD
    from acbench_env.experiments.suite import check_suite_task

    assert {t.env_id for t in STANDARD.tasks} == set(env_ids())
    # v3: every row's rung was piloted (16 bfloat16 episodes), none taken on trust.
    assert STANDARD.version == 3
    for t in STANDARD.tasks:
        check_suite_task(t)
        assert t.calibration is not None
        assert t.calibration["pilot_mean"] is not None, t.env_id
        assert t.calibration["pilot_episodes"] == 16, t.env_id
        spec_kwargs = dict(gymnasium.spec(t.env_id).kwargs or {})
        assert (
            rung_of(env_class(t.env_id), spec_kwargs, dict(t.env_kwargs)) == (t.calibration["rung"])
        ), t.env_id
        make(t.env_id, **t.env_kwargs).close()


def test_cli_refuses_a_bad_band(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from acbench_env.cli import main

    assert main(["calibrate", "--out", str(tmp_path / "c.yaml"), "--band", "0.3"]) == 2
    assert "--band must be LOW,HIGH" in capsys.readouterr().err


@pytest.mark.slow
def test_calibrate_the_default_model_on_one_task(tmp_path: Path) -> None:
    """The real default model (transformers): pilots run, record their rung and the runtime,
    and the suite file names a rung of the ladder; a second run reads the pilots back."""
    from acbench_env.core.jsonl import read_trajectories
    from acbench_env.experiments.calibrate import pilot_file

    env = "acbench/NeedleMultiKey-v0"
    # One pilot (the easiest rung, 256 tokens): the search's second pilot would be the
    # hardest rung, 8,000 tokens, minutes on a CPU.
    settings = CalibrationSettings(
        model="default", backend="transformers", pilot_episodes=2, max_pilots=1
    )
    out = tmp_path / "cal.yaml"
    result = calibrate(settings, out, env_ids=[env], batch_size=2)
    (task,) = result.tasks
    assert task.rung.name == env_class(env).ladder[0].name and len(task.pilots) == 1
    trajs = read_trajectories(pilot_file(pilot_folder(out), env, task.rung.name))
    assert {t.rung for t in trajs} == {task.rung.name}
    assert {t.model.runtime["dtype"] for t in trajs} == {"float32"}
    assert get_suite(str(out)).tasks[0].calibration["rung"] == task.rung.name  # type: ignore[index]
    text = out.read_text()
    assert calibrate(settings, out, env_ids=[env], batch_size=2).suite_text == text


def test_machine_seconds_per_episode_divides_streamed_latency_by_concurrency() -> None:
    """Streamed (vLLM) steps store their latency with up to batch_size requests in flight:
    the pilot's cost per episode is the latency sum over the concurrency; lock-step batches
    already store a share of the batch, and agents without a streaming backend do not
    stream."""
    from acbench_env.experiments.calibrate import _streams, machine_seconds_per_episode

    assert machine_seconds_per_episode(240.0, 8) == 30.0
    assert machine_seconds_per_episode(3.0, 1) == 3.0
    with pytest.raises(ConfigError, match="concurrency"):
        machine_seconds_per_episode(1.0, 0)

    class Streaming:
        def submit(self, key: int, request: Any) -> None: ...
        def collect(self) -> list[Any]:
            return []

        def cancel(self) -> None: ...

    class SplitAgent:
        def __init__(self, backend: Any) -> None:
            self.backend = backend

        def requests(self, inputs: Any) -> Any: ...
        def replies(self, completions: Any) -> Any: ...

    assert _streams(SplitAgent(Streaming()))
    assert not _streams(SplitAgent(object()))
    assert not _streams(RungSkillAgent(0.5))
