"""Writes the stored suite folder ``report_suite/`` that ``test_report_regression.py`` reads.

A small deterministic run with scripted agents (no model): a base (the oracle), a variant
that answers every third request with garbage, one that always does (its first Needle run
cut to 2 of 3 episodes, so *partial*), a model listed in the manifest that never ran (*empty*), a
task with repeats (pass@k) and a representation analysis record.

``report_suite/expected/report.json`` and ``report.md`` were written from that folder by
``acbench report report_suite --out report_suite/expected --no-plots`` with the report code
of commit 75220e8 (before the report became a package); they are the reference for "the
report of a stored suite folder does not change". Re-run this script only to change the
fixture on purpose, and regenerate the expected files with the code you trust.

    python -m tests.scoring.data.make_report_suite tests/scoring/data/report_suite
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import acbench_env.core.registry as registry
from acbench_env.agents import LLMPolicyAgent, OracleAgent
from acbench_env.agents.backends.scripted import ScriptedBackend
from acbench_env.agents.base import AgentInput, AgentReply, BaseAgent
from acbench_env.core.suites import Suite, SuiteTask
from acbench_env.core.types import ModelInfo
from acbench_env.experiments.suite import run_suite
from tests.scoring.suite_fixtures import fake_analysis

SUITE = Suite(
    name="stored",
    version=1,
    seed=7,
    description="the stored report fixture",
    tasks=(
        SuiteTask(
            "acbench/Needle-v0",
            3,
            {"context_length": 128},
            max_new_tokens=16,
            repeats=2,
            temperature=0.7,
        ),
        SuiteTask("acbench/FunctionCall-v0", 2, {}, max_new_tokens=32),
        SuiteTask("acbench/BlocksWorld-v0", 2, {"max_steps": 2}, max_new_tokens=16),
        SuiteTask("acbench/Workflow-v0", 2, {}, max_new_tokens=32),
    ),
    fallback=SuiteTask("", 1, {}),
)
ENTRIES: list[dict[str, Any]] = [
    {"label": "base", "model": "org/base", "backend": "scripted", "weights_sha256": "a" * 64},
    {
        "label": "w4",
        "model": "/models/w4",
        "backend": "scripted",
        "weights_sha256": "b" * 64,
        "compression": {"method": "gptq", "bits": 4, "group_size": 128},
    },
    {
        "label": "w2",
        "model": "/models/w2",
        "backend": "scripted",
        "weights_sha256": "c" * 64,
        "compression": {"method": "rtn", "bits": 2},
    },
]


class Flaky(BaseAgent):
    """The oracle, except every ``n``-th request answered with garbage."""

    def __init__(self, n: int) -> None:
        self.n, self.calls = n, 0
        self.oracle = OracleAgent()
        self.bad = LLMPolicyAgent(ScriptedBackend(["no idea"], model_id="bad"), max_new_tokens=8)

    @property
    def info(self) -> ModelInfo:
        return self.oracle.info

    def respond(self, inputs: Sequence[AgentInput]) -> list[AgentReply]:
        out: list[AgentReply] = []
        for inp in inputs:
            self.calls += 1
            out += (self.bad if self.calls % self.n == 0 else self.oracle).respond([inp])
        return out


def factory(entry: Any, task: SuiteTask, repeat: int) -> Any:
    if entry.label == "base":
        return OracleAgent()
    if entry.label == "w4":
        return Flaky(3 + repeat)
    return LLMPolicyAgent(ScriptedBackend(["no idea"], model_id=entry.model), max_new_tokens=8)


def main(out: Path) -> None:
    ids = sorted(t.env_id for t in SUITE.tasks)
    registry.env_ids = lambda: ids  # exactly the suite's rows, no fallback rows
    run_suite(
        [e["model"] for e in ENTRIES], SUITE, out, agent_factory=factory, model_entries=ENTRIES
    )
    needle = out / "runs" / "w2" / "Needle-v0.jsonl"
    needle.write_text("".join(needle.read_text().splitlines(keepends=True)[:2]))
    manifest = json.loads((out / "suite.json").read_text())
    manifest["models"].append({"label": "never_ran", "model": "/models/x", "backend": "scripted"})
    (out / "suite.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    (out / "analysis").mkdir(exist_ok=True)
    (out / "analysis" / "base__vs__w2.json").write_text(
        json.dumps(fake_analysis("base", "w2"), indent=2, sort_keys=True) + "\n"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
