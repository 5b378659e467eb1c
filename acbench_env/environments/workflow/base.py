"""What the workflow environments share: the task record and one-step scoring."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from acbench_env.core.env import StepOutcome, TextEnv
from acbench_env.core.errors import ConfigError
from acbench_env.core.validation import one_of
from acbench_env.scoring.workflow import (
    MODES,
    Workflow,
    parse_workflow,
    resolve_similarity,
    score_workflow,
)

#: Metrics an environment can report as its score.
METRICS = ("graph_f1", "node_f1")

#: The output format every workflow prompt asks for (WorfBench's, with edges spelled out).
FORMAT_INSTRUCTIONS = (
    "Keep your output in format:\n"
    "Node:\n1.{subtask_1}\n2.{subtask_2}\n...\n"
    "Edges:\n(START,1)\n...\n(n,END)"
)


@dataclass(frozen=True)
class WorkflowTask:
    """One workflow-generation task: the prompt, the gold workflow and solved examples
    (``(prompt, answer)`` pairs, shown as prior chat turns)."""

    index: int
    task_id: str
    observation: str
    gold_text: str
    gold: Workflow
    meta: dict[str, Any] = field(default_factory=dict)
    examples: tuple[tuple[str, str], ...] = ()


def workflow_record(workflow: Workflow | None) -> dict[str, Any] | None:
    """A JSON-ready record of a parsed workflow (node texts; edges by node label)."""
    if workflow is None:
        return None

    def name(x: Any) -> str:
        return x if isinstance(x, str) else workflow.labels[x]

    return {
        "nodes": {label: text for label, text in zip(workflow.labels, workflow.nodes)},
        "edges": [[name(u), name(v)] for u, v in workflow.edges],
    }


class WorkflowEnvBase(TextEnv[WorkflowTask]):
    """One-step environment: the agent answers with a workflow, which is scored against
    the gold workflow with :func:`~acbench_env.scoring.workflow.score_workflow`."""

    capability = "workflow_generation"
    primary_metric = "graph_f1"
    answer_tokens = 256

    def __init__(
        self, render_mode: str | None, mode: str, similarity: str, threshold: float, metric: str
    ) -> None:
        """Check and keep the scoring options, which the subclasses take with defaults."""
        super().__init__(max_steps=1, render_mode=render_mode)
        one_of("mode", mode, MODES)
        one_of("metric", metric, METRICS)
        if not isinstance(threshold, (int, float)) or not 0.0 <= float(threshold) < 1.0:
            raise ConfigError(f"threshold must be a number in [0, 1), got {threshold!r}")
        resolve_similarity(similarity)  # fail early on a bad name; loads nothing
        self.mode = mode
        self.similarity = similarity
        self.threshold = float(threshold)
        self.metric = metric

    def task_id(self, task: WorkflowTask) -> str:
        return task.task_id

    def examples(self, task: WorkflowTask) -> tuple[tuple[str, str], ...]:
        return task.examples

    def start(self, task: WorkflowTask) -> tuple[str, dict[str, Any]]:
        return task.observation, {
            "gold_nodes": len(task.gold.nodes),
            "gold_edges": len(task.gold.edges),
            **task.meta,
        }

    def apply(self, task: WorkflowTask, action: str) -> StepOutcome:
        gold: str | Workflow = task.gold_text if self.mode == "upstream" else task.gold
        parsed = parse_workflow(action)
        predicted: str | Workflow = action
        if self.mode == "fixed" and parsed.workflow is not None:
            predicted = parsed.workflow
        result = score_workflow(
            predicted,
            gold,
            mode=self.mode,  # type: ignore[arg-type]
            similarity=self.similarity,
            threshold=self.threshold,
        )
        error = result.get("parse_error")
        score = float(result[self.metric])
        if not math.isfinite(score):  # pragma: no cover - the metrics are finite
            score = 0.0
        perfect = result["node_f1"] >= 1.0 - 1e-9 and result["graph_f1"] >= 1.0 - 1e-9
        info = {k: v for k, v in result.items() if k != "parse_error"}
        return StepOutcome(
            observation="Workflow recorded."
            if error is None
            else f"Workflow not readable: {error}",
            reward=score if error is None else 0.0,
            terminated=True,
            score=score if error is None else 0.0,
            success=bool(perfect and error is None),
            parsed_action=None if error is not None else workflow_record(parsed.workflow),
            parse_error=error,
            info=info,
        )

    def oracle_action(self) -> str:
        return self.task.gold_text
