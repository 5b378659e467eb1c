"""Workflow scoring: node F1 and graph F1 of a predicted workflow against a gold one.

``mode="fixed"`` (the default) is WorfBench's metric with its bugs corrected:

1. **Matching.** Predicted and gold nodes (``START``/``END`` always excluded) are paired
   one-to-one. Nodes whose normalised texts are identical are paired first (the k-th
   occurrence of a text in the prediction with its k-th occurrence in the gold, for texts
   listed as often in both); the rest by a maximum-weight bipartite matching (networkx)
   over the pairs whose similarity, rounded to 4 decimals, is above ``threshold`` (cosine
   of sentence embeddings, or the lexical fallback). Ties between equally good matchings
   go to the pairs closest in relative list position, so the score of a pair never
   depends on what else was scored before it.
2. **Node F1.** ``correct`` is the longest run of matched predicted nodes, in the
   predicted execution order (the topological order of the predicted graph that keeps
   the listed order wherever its edges allow: the listed order itself when that is
   topological), whose gold partners appear in the same order in *some* topological
   order of the gold graph: WorfBench's "longest increasing subsequence, maximised over
   topological orders", computed exactly over all orders (as a maximum antichain of the
   order-inversion relation, Dilworth's theorem) instead of over the first 20 orders.
   ``correct`` is 0 when nothing matches. precision = correct / predicted nodes, recall =
   correct / gold nodes.
3. **Graph F1.** Predicted edges are mapped through the matching (``START``/``END`` map to
   themselves) and compared with the gold edges. The matched structure is counted as
   matched nodes plus shared edges: precision = (matched nodes + shared edges) /
   (predicted nodes + predicted edges), recall likewise over the gold graph. An identical
   graph with renumbered nodes scores 1.0; a prediction with no matched node scores 0.
   ``edge_precision``/``edge_recall``/``edge_f1`` report the edges alone.

``mode="upstream"`` reproduces the reference scorer (see
:mod:`acbench_env.scoring.workflow.upstream`), its parser included, with the similarities
as the reference computes them (unrounded; each node list embedded in its own batches, as
``sentence-transformers`` does), so that ties between duplicated node texts break as the
reference breaks them. ``docs/scoring-modes.md`` lists every difference between the modes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import networkx as nx

from acbench_env.core.errors import ConfigError
from acbench_env.core.validation import one_of
from acbench_env.scoring.workflow.graph import (
    END,
    START,
    Endpoint,
    Workflow,
    format_workflow,
    parse_workflow,
    parse_workflow_upstream,
)
from acbench_env.scoring.workflow.similarity import (
    SIMILARITY_DECIMALS,
    SimilarityBackend,
    normalize_text,
    resolve_similarity,
    rounded_matrix,
)
from acbench_env.scoring.workflow.upstream import score_upstream

Mode = Literal["fixed", "upstream"]
MODES = ("fixed", "upstream")
#: WorfBench's similarity threshold (a pair matches when its similarity is above it).
DEFAULT_THRESHOLD = 0.6

_METRICS = (
    "node_precision",
    "node_recall",
    "node_f1",
    "graph_precision",
    "graph_recall",
    "graph_f1",
)


def f1(precision: float, recall: float) -> float:
    """Harmonic mean; 0 when both are 0."""
    return 0.0 if precision + recall <= 0 else 2 * precision * recall / (precision + recall)


@dataclass(frozen=True)
class _ExactSplit:
    """Normalised texts, the pairs of identical texts, and the indices left over."""

    pred_keys: list[str]
    gold_keys: list[str]
    mapping: dict[int, int]
    rest_pred: list[int]
    rest_gold: list[int]


def _split_exact(pred: Sequence[str], gold: Sequence[str]) -> _ExactSplit:
    """Pair identical normalised texts: the k-th occurrence in the prediction with the k-th
    in the gold, for each text listed as many times in both. A text listed a different
    number of times is left over for the similarity matching, which can see which
    occurrences line up."""
    pred_keys = [normalize_text(t) for t in pred]
    gold_keys = [normalize_text(t) for t in gold]
    pred_count, gold_count = Counter(pred_keys), Counter(gold_keys)
    gold_by_text: dict[str, list[int]] = defaultdict(list)
    for j, key in enumerate(gold_keys):
        if pred_count[key] == gold_count[key]:
            gold_by_text[key].append(j)
    mapping = {
        i: gold_by_text[key].pop(0)
        for i, key in enumerate(pred_keys)
        if pred_count[key] == gold_count[key]
    }
    used = set(mapping.values())
    return _ExactSplit(
        pred_keys,
        gold_keys,
        mapping,
        [i for i in range(len(pred)) if i not in mapping],
        [j for j in range(len(gold)) if j not in used],
    )


def match_nodes(
    pred: Sequence[str],
    gold: Sequence[str],
    similarity: SimilarityBackend,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[int, int]:
    """One-to-one matching of predicted to gold node indices (fixed mode, step 1).

    Identical normalised texts pair first, in order of occurrence, where a text is listed
    as often in both; the remaining nodes are paired by a maximum-weight matching over
    similarities above ``threshold`` (identical texts count 1.0). Similarities are rounded
    (:func:`~acbench_env.scoring.workflow.similarity.rounded_matrix`) and ties between
    equally good matchings go to the one whose pairs sit closest in relative list
    position, so duplicated steps (``go to countertop`` twice) pair in order and the
    result never depends on numeric noise. Only the remaining texts are passed to
    ``similarity``, so an exact replay needs no model.
    """
    split = _split_exact(pred, gold)
    pred_keys, gold_keys, mapping = split.pred_keys, split.gold_keys, split.mapping
    rest_pred, rest_gold = split.rest_pred, split.rest_gold
    if not rest_pred or not rest_gold:
        return mapping
    scores = rounded_matrix(similarity, [pred[i] for i in rest_pred], [gold[j] for j in rest_gold])
    # Below the rounding step in total, so it only decides between equal-score matchings.
    tie_unit = 10.0**-SIMILARITY_DECIMALS / (2 * (len(pred) + len(gold) + 1))
    g = nx.Graph()
    for a, i in enumerate(rest_pred):
        for b, j in enumerate(rest_gold):
            score = 1.0 if pred_keys[i] == gold_keys[j] else float(scores[a, b])
            if score > threshold:
                offset = abs((i + 0.5) / len(pred) - (j + 0.5) / len(gold))
                g.add_edge(("p", i), ("g", j), weight=score + tie_unit * (1.0 - offset))
    if g.number_of_edges() == 0:
        return mapping
    for u, v in nx.max_weight_matching(g):
        p, q = (u, v) if u[0] == "p" else (v, u)
        mapping[p[1]] = q[1]
    return mapping


def _max_bipartite_matching(adjacency: list[list[int]], n_right: int) -> int:
    """Size of a maximum matching (augmenting paths; the graphs here are tiny)."""
    match_right = [-1] * n_right

    def augment(u: int, seen: list[bool]) -> bool:
        for v in adjacency[u]:
            if not seen[v]:
                seen[v] = True
                if match_right[v] == -1 or augment(match_right[v], seen):
                    match_right[v] = u
                    return True
        return False

    return sum(1 for u in range(len(adjacency)) if augment(u, [False] * n_right))


def ordered_matches(mapping: dict[int, int], gold: Workflow, pred_order: Sequence[int] = ()) -> int:
    """Fixed mode, step 2: the most matched predicted nodes that, in predicted order, are
    consistent with one topological order of the gold graph.

    ``pred_order``: the predicted nodes in execution order (default: by index).

    A set of matched nodes is consistent with some topological order iff no pair is
    *inverted* (listed before a node whose gold partner is a gold ancestor of its own).
    Inversion is a strict partial order, so the answer is its largest antichain, which by
    Dilworth's theorem is ``k - maximum matching`` in its comparability bipartite graph.
    """
    position = {p: k for k, p in enumerate(pred_order)}
    pairs = sorted(mapping.items(), key=lambda pg: (position.get(pg[0], pg[0]), pg[0]))
    gs = [g for _, g in pairs]
    k = len(gs)
    ancestors = gold.ancestors
    adjacency = [[j for j in range(i + 1, k) if gs[j] in ancestors[gs[i]]] for i in range(k)]
    if not any(adjacency):
        return k
    return k - _max_bipartite_matching(adjacency, k)


def _map_endpoint(x: Endpoint, mapping: dict[int, int]) -> Endpoint | None:
    if x in (START, END):
        return x
    return mapping.get(int(x))


def score_fixed(
    pred: Workflow,
    gold: Workflow,
    similarity: SimilarityBackend,
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """Node and graph precision/recall/F1 of ``pred`` against ``gold`` (fixed mode)."""
    mapping = match_nodes(pred.nodes, gold.nodes, similarity, threshold)
    k = len(mapping)
    n_pred, n_gold = len(pred.nodes), len(gold.nodes)
    correct = ordered_matches(mapping, gold, pred.order) if k else 0
    node_p = correct / n_pred if n_pred else 0.0
    node_r = correct / n_gold if n_gold else 0.0
    shared = 0
    if k:
        gold_edges = gold.edge_set
        for u, v in pred.edge_set:
            mu, mv = _map_endpoint(u, mapping), _map_endpoint(v, mapping)
            if mu is not None and mv is not None and (mu, mv) in gold_edges:
                shared += 1
    e_pred, e_gold = len(pred.edge_set), len(gold.edge_set)
    graph_p = (k + shared) / (n_pred + e_pred) if k else 0.0
    graph_r = (k + shared) / (n_gold + e_gold) if k else 0.0
    edge_p = shared / e_pred if e_pred else 0.0
    edge_r = shared / e_gold if e_gold else 0.0
    return {
        "node_precision": node_p,
        "node_recall": node_r,
        "node_f1": f1(node_p, node_r),
        "graph_precision": graph_p,
        "graph_recall": graph_r,
        "graph_f1": f1(graph_p, graph_r),
        "edge_precision": edge_p,
        "edge_recall": edge_r,
        "edge_f1": f1(edge_p, edge_r),
        "matched_nodes": k,
        "ordered_matches": correct,
        "shared_edges": shared,
        "pred_nodes": n_pred,
        "gold_nodes": n_gold,
    }


def _as_text(x: str | Workflow) -> str:
    return format_workflow(x) if isinstance(x, Workflow) else x


def score_workflow(
    predicted: str | Workflow,
    gold: str | Workflow,
    mode: Mode = "fixed",
    *,
    similarity: str | SimilarityBackend = "auto",
    threshold: float = DEFAULT_THRESHOLD,
) -> dict[str, Any]:
    """Score a predicted workflow against the gold workflow.

    ``predicted`` and ``gold``: workflow text (WorfBench ``Node:``/``Edges:`` format or the
    JSON form) or parsed :class:`Workflow` objects. ``mode``: ``"fixed"`` (default, the
    corrected metric) or ``"upstream"`` (the reference scorer, bug for bug).
    ``similarity``: ``"auto"`` (the packaged all-MiniLM-L6-v2 embeddings when installed,
    else the lexical fallback), ``"embedding"``, ``"lexical"``, a model folder or a backend
    object. ``threshold``: a node pair can match only when its similarity is above it.

    Returns a dict with ``node_f1`` and ``graph_f1`` (and their precision/recall), the
    match counts, ``parse_error`` (why the prediction could not be read, else ``None``; it
    then scores 0 and no exception is raised), ``mode``, ``similarity`` (the backend's
    name) and ``threshold``. A gold workflow that cannot be parsed in fixed mode raises
    :class:`~acbench_env.core.errors.ConfigError`.
    """
    one_of("mode", mode, MODES)
    if not 0.0 <= float(threshold) < 1.0:
        raise ConfigError(f"threshold must be in [0, 1), got {threshold!r}")
    backend = resolve_similarity(similarity)
    result: dict[str, Any] = {
        "mode": mode,
        "similarity": backend.name,
        "threshold": float(threshold),
    }
    if mode == "upstream":
        pred_text, gold_text = _as_text(predicted), _as_text(gold)
        pred_up = parse_workflow_upstream(pred_text)
        gold_up = parse_workflow_upstream(gold_text)
        result.update(score_upstream(pred_up, gold_up, backend, float(threshold)))
        result["parse_error"] = (
            None if pred_up is not None else "the reference parser found no 'Node' or no edges"
        )
        result["gold_parse_error"] = (
            None if gold_up is not None else "the reference parser found no 'Node' or no edges"
        )
        return result

    if isinstance(gold, Workflow):
        gold_wf = gold
    else:
        gold_parse = parse_workflow(gold)
        if gold_parse.workflow is None:
            raise ConfigError(f"the gold workflow cannot be parsed: {gold_parse.error}")
        gold_wf = gold_parse.workflow
    if isinstance(predicted, Workflow):
        pred_wf: Workflow | None = predicted
        error: str | None = None
    else:
        parsed = parse_workflow(predicted)
        pred_wf, error = parsed.workflow, parsed.error
    if pred_wf is None:
        result.update({m: 0.0 for m in _METRICS})
        result.update(
            {
                "edge_precision": 0.0,
                "edge_recall": 0.0,
                "edge_f1": 0.0,
                "matched_nodes": 0,
                "ordered_matches": 0,
                "shared_edges": 0,
                "pred_nodes": 0,
                "gold_nodes": len(gold_wf.nodes),
            }
        )
        result["parse_error"] = error
        return result
    result.update(score_fixed(pred_wf, gold_wf, backend, float(threshold)))
    result["parse_error"] = None
    return result


def _texts_to_embed(pred: Sequence[str], gold: Sequence[str], mode: Mode) -> list[str]:
    """The node texts :func:`score_workflow` passes to the similarity backend."""
    if mode == "upstream":
        return [*pred, *gold]
    split = _split_exact(pred, gold)
    if not split.rest_pred or not split.rest_gold:
        return []
    return [pred[i] for i in split.rest_pred] + [gold[j] for j in split.rest_gold]


def _node_texts(x: str | Workflow, mode: Mode) -> list[str]:
    if mode == "upstream":
        graph = parse_workflow_upstream(_as_text(x))
        return list(graph.nodes) if graph is not None else []
    return list(x.nodes) if isinstance(x, Workflow) else []


def _parsed(x: str | Workflow) -> str | Workflow:
    """``x`` parsed where it parses; the text as it is (for its error) where not."""
    if isinstance(x, Workflow):
        return x
    workflow = parse_workflow(x).workflow
    return x if workflow is None else workflow


def score_workflows(
    pairs: Iterable[tuple[str | Workflow, str | Workflow]],
    mode: Mode = "fixed",
    *,
    similarity: str | SimilarityBackend = "auto",
    threshold: float = DEFAULT_THRESHOLD,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Score many ``(predicted, gold)`` pairs; the same results as calling
    :func:`score_workflow` on each, in order.

    With an embedding backend (one that has ``embed(texts)``), every node text that needs
    a similarity is embedded first in one pass, sorted by length across all pairs, so the
    model runs on fuller, less padded batches than pair by pair. ``progress`` shows a
    progress bar over the pairs.
    """
    one_of("mode", mode, MODES)
    items = list(pairs)
    if mode == "fixed":  # parse once, here, for both the prefetch and the scoring
        items = [(_parsed(pred), _parsed(gold)) for pred, gold in items]
    backend = resolve_similarity(similarity)
    embed = getattr(backend, "embed", None)
    # An embedding backend embeds each node list as the reference does in upstream mode
    # (its own batches, never a shared cache), so there is nothing to prefetch.
    exact = mode == "upstream" and callable(getattr(backend, "reference_matrix", None))
    if callable(embed) and items and not exact:
        texts: list[str] = []
        for pred, gold in items:
            texts += _texts_to_embed(_node_texts(pred, mode), _node_texts(gold, mode), mode)
        if texts:
            embed(list(dict.fromkeys(texts)))
    from tqdm.auto import tqdm

    return [
        score_workflow(pred, gold, mode, similarity=backend, threshold=threshold)
        for pred, gold in tqdm(
            items, desc="scoring workflows", unit="workflow", disable=not progress
        )
    ]
