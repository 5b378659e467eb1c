"""WorfBench upstream mode against the reference evaluator, on gold replays.

The reference's node F1 and graph F1 of every gold workflow of the six shared subsets,
scored against itself with the packaged embedding model, are recorded in
``data/worfbench_reference_gold_replays.json`` (made by
``benchmarks/worfbench_reference.py``, which runs the reference's own ``t_eval_nodes`` /
``t_eval_graph`` with ``sentence-transformers``). Here our upstream mode is rerun on every
item whose gold lists a node text twice (where ties decide the matching) and on the first
items of each subset, and must give exactly the recorded values.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from acbench_env.scoring.workflow import (
    embedding_available,
    parse_workflow_upstream,
    score_workflows,
)
from tests.conftest import SHARED_DATA

WORFBENCH = SHARED_DATA / "worfbench"
RECORDED = Path(__file__).parent / "data" / "worfbench_reference_gold_replays.json"
SUBSETS = ("alfworld", "lumos", "os", "toolbench", "webshop", "wikihow")


@pytest.fixture
def single_thread_torch():
    """Upstream mode, like the reference, matches on unrounded similarities, so ties between
    duplicated node texts break on float noise, which depends on torch's thread count; the
    reference scores were recorded with one thread."""
    torch = pytest.importorskip("torch")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.skipif(
    not WORFBENCH.is_dir(), reason=f"shared WorfBench data not found at {WORFBENCH}"
)
@pytest.mark.skipif(
    not embedding_available(), reason="the packaged embedding model is not installed"
)
def test_upstream_gold_replays_equal_the_reference_evaluator(single_thread_torch: None) -> None:
    recorded = json.loads(RECORDED.read_text())
    golds, expected = [], []
    for subset in SUBSETS:
        items = json.loads((WORFBENCH / subset / "graph_eval.json").read_text())
        assert [str(it["id"]) for it in items] == [row[0] for row in recorded[subset]]
        for k, (item, row) in enumerate(zip(items, recorded[subset])):
            gold = item["conversations"][-1]["content"]
            graph = parse_workflow_upstream(gold)
            duplicated = graph is not None and len(set(graph.nodes)) < len(graph.nodes)
            if duplicated or k < 3:
                golds.append(gold)
                expected.append((row[1], row[2]))
    assert len(golds) >= 60
    results = score_workflows([(g, g) for g in golds], "upstream", similarity="embedding")
    got = [(r["node_f1"], r["graph_f1"]) for r in results]
    assert got == expected
    assert any(node < 1.0 for node, _ in expected)  # ties the reference breaks crosswise
