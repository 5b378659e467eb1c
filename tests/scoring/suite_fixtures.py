"""A small suite run with scripted agents (no model), shared by the suite/report tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from acbench_env.agents import LLMPolicyAgent, OracleAgent
from acbench_env.agents.backends.scripted import ScriptedBackend
from acbench_env.core.suites import Suite, SuiteTask
from acbench_env.experiments.suite import run_suite

MINI = Suite(
    name="mini",
    version=1,
    seed=3,
    description="test suite",
    tasks=(
        SuiteTask("acbench/Needle-v0", 6, {"context_length": 256}, max_new_tokens=16),
        SuiteTask("acbench/FunctionCall-v0", 6, {}, max_new_tokens=32),
        SuiteTask("acbench/BlocksWorld-v0", 2, {"max_steps": 3}, max_new_tokens=16),
        SuiteTask("acbench/Workflow-v0", 4, {}, max_new_tokens=32),
    ),
    fallback=SuiteTask("", 1, {}),
)

ENTRIES = [
    {"label": "base", "model": "base-model", "backend": "scripted", "weights_sha256": "aa"},
    {
        "label": "broken",
        "model": "broken-model",
        "backend": "scripted",
        "weights_sha256": "bb",
        "compression": {"method": "rtn", "bits": 2},
    },
]


def agent_factory(entry: Any, task: SuiteTask, repeat: int) -> Any:
    """The base model is the oracle; the 'broken' variant answers garbage."""
    if entry.label == "base":
        return OracleAgent()
    backend = ScriptedBackend(["no idea"], model_id=entry.model, compression={"method": "rtn"})
    return LLMPolicyAgent(backend, max_new_tokens=task.max_new_tokens)


def only(suite: Suite, monkeypatch: Any) -> None:
    """Make the registry list exactly the suite's envs (so no fallback rows are added)."""
    ids = sorted(t.env_id for t in suite.tasks)
    monkeypatch.setattr("acbench_env.core.registry.env_ids", lambda: ids)


def run_mini(
    out: Path, monkeypatch: Any, suite: Suite = MINI, entries: list[dict[str, Any]] | None = None
) -> Any:
    only(suite, monkeypatch)
    entries = entries or ENTRIES
    return run_suite(
        [e["model"] for e in entries],
        suite,
        out,
        agent_factory=agent_factory,
        model_entries=entries,
        batch_size=4,
    )


def fake_analysis(base: str, compressed: str, layers: int = 4) -> dict[str, Any]:
    """An analysis record computed with the real metric functions on random arrays."""
    from acbench_env.scoring.representation import (
        TOPK_DEFAULT,
        compare_energy,
        energy,
        erank,
        topk_agreement,
    )

    rng = np.random.default_rng(0)
    hb = rng.normal(size=(layers, 12, 16))
    hc = hb + rng.normal(scale=0.3, size=hb.shape)
    zb = rng.normal(size=(12, 50))
    zc = zb + rng.normal(scale=0.5, size=zb.shape)
    e = compare_energy(zb, zc)
    eb, ec = energy(zb), energy(zc)
    edges = np.linspace(min(eb.min(), ec.min()), max(eb.max(), ec.max()), 11)
    return {
        "base": base,
        "compressed": compressed,
        "probes": 1,
        "positions": 12,
        "erank_layers_base": [erank(h) for h in hb],
        "erank_layers_compressed": [erank(h) for h in hc],
        "erank_logits_base": erank(zb),
        "erank_logits_compressed": erank(zc),
        "topk": [topk_agreement(zb, zc, k).__dict__ for k in TOPK_DEFAULT],
        "energy": {
            **e.__dict__,
            "histogram": {
                "edges": edges.tolist(),
                "base": np.histogram(eb, bins=edges)[0].tolist(),
                "compressed": np.histogram(ec, bins=edges)[0].tolist(),
            },
        },
    }
