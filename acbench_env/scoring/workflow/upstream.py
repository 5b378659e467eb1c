"""The reference (WorfBench) workflow scorer, reproduced bug for bug.

Used by :func:`~acbench_env.scoring.workflow.score_workflow` with ``mode="upstream"``, to
compare with published numbers. Its known quirks (see ``KNOWN-PITFALLS.md``) are kept:

* node F1 counts the longest increasing run of matched gold indices starting from 1, so a
  prediction with no matched node still gets ``correct = 1``;
* graph F1 compares predicted and gold edges by raw node index, not through the matching;
* gold graphs of 10 or more nodes (``START``/``END`` included) are not expanded into
  topological orders, and keep ``START``/``END`` in the gold node list;
* the parser (:func:`~acbench_env.scoring.workflow.graph.parse_workflow_upstream`) needs
  a space after ``1.``/``1:``.

Where the reference code raises (an empty predicted node list, a gold graph whose edges
name positions beyond its node list or contain a cycle), these functions return zeros and
say so in ``"upstream_error"``: the reference would have crashed on that item.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import islice
from typing import Any

import networkx as nx
import numpy as np

from acbench_env.scoring.workflow.graph import END, START, UpstreamGraph
from acbench_env.scoring.workflow.similarity import SimilarityBackend, reference_matrix

ZERO = {"precision": 0.0, "recall": 0.0, "f1_score": 0.0}
#: Gold graphs with at least this many nodes (START/END included) are not expanded.
TOPO_NODE_LIMIT = 10
MAX_ORDERS = 20


def match_node(
    pred_nodes: Sequence[str],
    gt_nodes: Sequence[str],
    similarity: SimilarityBackend,
    threshold: float,
) -> dict[int, int]:
    """``match_node``: max-weight matching over pairs with similarity above ``threshold``;
    predicted nodes without a partner map to ``-1``. Similarities are the reference's own
    (:func:`~acbench_env.scoring.workflow.similarity.reference_matrix`: unrounded, and for
    embeddings computed batch for batch as ``sentence-transformers`` does), so that ties
    between duplicated node texts break exactly as in the reference; the graph is built in
    the reference's order, which decides among equal-weight matchings."""
    scores = reference_matrix(similarity, list(pred_nodes), list(gt_nodes))
    g = nx.Graph()
    for i in range(len(pred_nodes)):
        for j in range(len(gt_nodes)):
            if scores[i][j] > threshold:
                g.add_edge(i, str(j), weight=float(scores[i][j]))
    mapping: dict[int, int] = {}
    for a, b in nx.max_weight_matching(g):
        if isinstance(a, int):
            mapping[a] = int(b)
        else:
            mapping[int(b)] = int(a)
    for i in range(len(pred_nodes)):
        mapping.setdefault(i, -1)
    return mapping


def all_topological_sorts(graph: UpstreamGraph) -> list[list[str]]:
    """``all_topological_sorts``: the first 20 orders without START/END, or, for 10 or
    more nodes, the node list itself (with START/END). Raises where the reference does."""
    if len(graph.nodes) >= TOPO_NODE_LIMIT:
        return [list(graph.nodes)]
    g = nx.DiGraph()
    g.add_nodes_from(range(len(graph.nodes)))
    g.add_edges_from(graph.edges)
    orders = []
    # The reference lists every order and keeps the first 20; the generator yields the
    # same orders in the same sequence, so stopping after 20 gives the same result.
    for order in islice(nx.all_topological_sorts(g), MAX_ORDERS):
        orders.append([graph.nodes[i] for i in order if graph.nodes[i] not in (START, END)])
    return orders


def t_eval_plan(
    pred_plan: Sequence[str],
    gt_plan: Sequence[str],
    similarity: SimilarityBackend,
    threshold: float,
) -> dict[str, float]:
    """``t_eval_plan`` (ordered): longest increasing run of matched gold indices, with
    every ``dp`` entry starting at 1 (the zero-match quirk)."""
    mapping = match_node(pred_plan, gt_plan, similarity, threshold)
    n = len(pred_plan)
    if n == 0:
        raise ValueError("max() arg is an empty sequence")  # what numpy raises upstream
    dp = np.ones(n)
    for i in range(n):
        for j in range(i):
            if mapping[i] == -1 or mapping[j] == -1:
                continue
            if mapping[i] > mapping[j]:
                dp[i] = max(dp[i], dp[j] + 1)
    correct = int(max(dp))
    recall, precision = correct / len(gt_plan), correct / n
    f1 = 2 * recall * precision / (recall + precision)
    return {"precision": precision, "recall": recall, "f1_score": f1}


def t_eval_nodes(
    pred: UpstreamGraph, gold: UpstreamGraph, similarity: SimilarityBackend, threshold: float
) -> dict[str, float]:
    """``t_eval_nodes``: the best ``t_eval_plan`` over the gold orders."""
    orders = all_topological_sorts(gold)
    pred_nodes = [p for p in pred.nodes if p not in (START, END)]
    best = dict(ZERO)
    for gold_nodes in orders:
        result = t_eval_plan(pred_nodes, gold_nodes, similarity, threshold)
        if result["f1_score"] > best["f1_score"]:
            best = result
    return best


def _largest_connected_component(nodes: Sequence[int], edges: Sequence[tuple[int, int]]) -> int:
    g = nx.Graph()
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    return len(max(nx.connected_components(g), key=len))


def t_eval_graph(
    pred: UpstreamGraph, gold: UpstreamGraph, similarity: SimilarityBackend, threshold: float
) -> dict[str, float]:
    """``t_eval_graph``: largest connected component of the edges that are equal *as raw
    index pairs* among matched nodes (START/END included in nodes and counts)."""
    mapping = match_node(pred.nodes, gold.nodes, similarity, threshold)
    if not pred.nodes or not gold.nodes:
        return dict(ZERO)
    matched_pred = [k for k, v in mapping.items() if v != -1]
    matched_gold = [v for v in mapping.values() if v != -1]
    matched_pred_edges = [e for e in pred.edges if e[0] in matched_pred and e[1] in matched_pred]
    matched_gold_edges = [e for e in gold.edges if e[0] in matched_gold and e[1] in matched_gold]
    public = [e for e in matched_pred_edges if e in matched_gold_edges]
    pred_cc = _largest_connected_component(matched_pred, public)
    gold_cc = _largest_connected_component(matched_gold, public)
    precision = pred_cc / len(pred.nodes)
    recall = gold_cc / len(gold.nodes)
    f1 = 2 * precision * recall / (precision + recall)
    return {"precision": precision, "recall": recall, "f1_score": f1}


def score_upstream(
    pred: UpstreamGraph | None,
    gold: UpstreamGraph | None,
    similarity: SimilarityBackend,
    threshold: float,
) -> dict[str, Any]:
    """Node and graph precision/recall/F1 as the reference computes them (zeros where it
    skips an unparsed prediction or would crash)."""
    out: dict[str, Any] = {}
    errors: list[str] = []
    if pred is None or gold is None:
        node = graph = dict(ZERO)
    else:
        try:
            node = t_eval_nodes(pred, gold, similarity, threshold)
        except (ValueError, IndexError, nx.NetworkXException) as exc:
            errors.append(f"node evaluation: {type(exc).__name__}: {exc}")
            node = dict(ZERO)
        try:
            graph = t_eval_graph(pred, gold, similarity, threshold)
        except (ValueError, IndexError, nx.NetworkXException) as exc:
            errors.append(f"graph evaluation: {type(exc).__name__}: {exc}")
            graph = dict(ZERO)
    for prefix, result in (("node", node), ("graph", graph)):
        out[f"{prefix}_precision"] = float(result["precision"])
        out[f"{prefix}_recall"] = float(result["recall"])
        out[f"{prefix}_f1"] = float(result["f1_score"])
    out["upstream_error"] = "; ".join(errors) or None
    return out
