"""Workflow scoring: fixed mode, the upstream quirks, and gold replay on the real files."""

from __future__ import annotations

import json
import random
from fractions import Fraction

import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.scoring.workflow import (
    LexicalSimilarity,
    parse_workflow,
    parse_workflow_upstream,
    score_workflow,
    score_workflows,
)
from tests.conftest import SHARED_DATA

WORFBENCH = SHARED_DATA / "worfbench"
SUBSETS = ("alfworld", "lumos", "os", "toolbench", "webshop", "wikihow")
needs_data = pytest.mark.skipif(
    not WORFBENCH.is_dir(), reason=f"shared WorfBench data not found at {WORFBENCH}"
)

CHAIN = "Node:\n1: Boil the water.\n2: Warm the teapot.\n3: Steep the green tea.\nEdges: (START,1) (1,2) (2,3) (3,END)"
# The same graph, listed backwards: 1 = steep, 2 = warm, 3 = boil.
CHAIN_RENUMBERED = "Node:\n1: Steep the green tea.\n2: Warm the teapot.\n3: Boil the water.\nEdges: (START,3) (3,2) (2,1) (1,END)"
PARALLEL = (
    "Node:\n1: Search flights to Oslo.\n2: Search hotels in Oslo.\n3: Rent a car in Oslo.\n"
    "4: Email the travel plan to Ana.\nEdges: (START,1) (START,2) (START,3) (1,4) (2,4) (3,4) (4,END)"
)
PARALLEL_RENUMBERED = (
    "Node:\n1: Email the travel plan to Ana.\n2: Rent a car in Oslo.\n3: Search hotels in Oslo.\n"
    "4: Search flights to Oslo.\nEdges: (START,4) (START,3) (START,2) (4,1) (3,1) (2,1) (1,END)"
)


def lexical(pred: str, gold: str, mode: str = "fixed") -> dict:
    return score_workflow(pred, gold, mode=mode, similarity="lexical")  # type: ignore[arg-type]


def f1(p: Fraction, r: Fraction) -> float:
    return float(2 * p * r / (p + r))


# ---------------------------------------------------------------------- fixed mode
@pytest.mark.parametrize("gold", [CHAIN, PARALLEL])
def test_identical_graph_scores_one(gold: str) -> None:
    result = lexical(gold, gold)
    assert result["node_f1"] == 1.0 and result["graph_f1"] == 1.0 and result["edge_f1"] == 1.0
    assert result["parse_error"] is None
    assert result["mode"] == "fixed" and result["similarity"] == "lexical:word-dice"
    assert result["threshold"] == 0.6


@pytest.mark.parametrize(
    ("pred", "gold"), [(CHAIN_RENUMBERED, CHAIN), (PARALLEL_RENUMBERED, PARALLEL)]
)
def test_renumbered_identical_graph_scores_one(pred: str, gold: str) -> None:
    fixed = lexical(pred, gold)
    assert fixed["node_f1"] == 1.0 and fixed["graph_f1"] == 1.0


@pytest.mark.parametrize(
    "pred",
    [
        "",
        "I cannot do that.",
        "Node:\n1: Boil the water.\n",  # no edges
        "Node:\n1: Feed the cat.\n2: Paint the fence.\nEdges: (START,1) (1,2) (2,END)",  # no match
    ],
)
def test_empty_or_unmatched_prediction_scores_zero(pred: str) -> None:
    result = lexical(pred, CHAIN)
    assert result["node_f1"] == 0.0 and result["graph_f1"] == 0.0
    assert (result["parse_error"] is None) == (result["pred_nodes"] > 0)


def test_missing_node_partial_credit() -> None:
    # gold A->B->C, prediction A->C: 2 matched, in order; shared edges (START,A), (C,END).
    pred = "Node:\n1: Boil the water.\n2: Steep the green tea.\nEdges: (START,1) (1,2) (2,END)"
    result = lexical(pred, CHAIN)
    assert result["matched_nodes"] == 2 and result["shared_edges"] == 2
    assert result["node_f1"] == pytest.approx(f1(Fraction(2, 2), Fraction(2, 3)))
    graph_p, graph_r = Fraction(2 + 2, 2 + 3), Fraction(2 + 2, 3 + 4)
    assert result["graph_f1"] == pytest.approx(f1(graph_p, graph_r))
    assert result["edge_f1"] == pytest.approx(f1(Fraction(2, 3), Fraction(2, 4)))


def test_wrong_order_loses_node_credit() -> None:
    # Same nodes as the chain, but the prediction runs it backwards.
    pred = "Node:\n1: Steep the green tea.\n2: Warm the teapot.\n3: Boil the water.\nEdges: (START,1) (1,2) (2,3) (3,END)"
    result = lexical(pred, CHAIN)
    assert result["matched_nodes"] == 3 and result["ordered_matches"] == 1
    assert result["node_f1"] == pytest.approx(1 / 3)
    assert result["shared_edges"] == 0
    assert result["graph_f1"] == pytest.approx(3 / 7)


def test_parallel_branches_in_any_order_need_no_enumeration_limit() -> None:
    # 6 parallel nodes: 720 topological orders; upstream looks at the first 20 only.
    texts = [
        f"Check sensor number {w} carefully" for w in ("one", "two", "three", "four", "five", "six")
    ]
    gold = "Node:\n" + "\n".join(f"{i + 1}: {t}" for i, t in enumerate(texts))
    gold += "\nEdges: " + " ".join(f"(START,{i + 1}) ({i + 1},END)" for i in range(6))
    rng = random.Random(0)
    upstream_short = 0
    for _ in range(30):
        listed = rng.sample(texts, len(texts))
        pred = "Node:\n" + "\n".join(f"{i + 1}: {t}" for i, t in enumerate(listed))
        pred += "\nEdges: " + " ".join(f"(START,{i + 1}) ({i + 1},END)" for i in range(6))
        assert lexical(pred, gold)["node_f1"] == 1.0
        upstream_short += lexical(pred, gold, "upstream")["node_f1"] < 1.0
    assert upstream_short >= 25  # only 20 of the 720 listed orders get full upstream credit


def test_paraphrase_matches_through_similarity() -> None:
    pred = "Node:\n1: boil water\n2: warm up the teapot\n3: steep green tea\nEdges: (START,1) (1,2) (2,3) (3,END)"
    result = lexical(pred, CHAIN)
    assert result["matched_nodes"] == 3 and result["node_f1"] == 1.0 and result["graph_f1"] == 1.0
    strict = score_workflow(pred, CHAIN, similarity="lexical", threshold=0.95)
    assert strict["matched_nodes"] < 3 and strict["threshold"] == 0.95


def test_exact_text_matches_need_no_similarity_model() -> None:
    class Exploding:
        name = "exploding"

        def matrix(self, a, b):  # noqa: ANN001, ANN201
            raise AssertionError("similarity must not be needed for identical texts")

    result = score_workflow(PARALLEL, PARALLEL, similarity=Exploding())
    assert result["graph_f1"] == 1.0 and result["similarity"] == "exploding"


def test_json_prediction_against_text_gold() -> None:
    pred = json.dumps(
        {
            "nodes": ["Boil the water.", "Warm the teapot.", "Steep the green tea."],
            "edges": [["START", 1], [1, 2], [2, 3], [3, "END"]],
        }
    )
    assert lexical(pred, CHAIN)["graph_f1"] == 1.0


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(ConfigError, match="mode"):
        score_workflow(CHAIN, CHAIN, mode="strict")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="gold workflow cannot be parsed"):
        score_workflow(CHAIN, "no workflow here", similarity="lexical")
    with pytest.raises(ConfigError, match="similarity"):
        score_workflow(CHAIN, CHAIN, similarity="word2vec")


DUPLICATED_GOLD = (
    "Node:\n1: go to countertop\n2: take candle from countertop\n3: go to cabinet\n"
    "4: put candle in/on cabinet\n5: go to countertop\n6: take another candle from countertop\n"
    "Edges: (START,1) (1,2) (2,3) (3,4) (4,5) (5,6) (6,END)"
)
# "go to countertop" is written once verbatim (the second visit) and once reworded.
DUPLICATED_PRED = (
    "Node:\n1: go over to countertop\n2: take candle from countertop\n3: go to cabinet\n"
    "4: put candle in/on cabinet\n5: go to countertop\n6: take another candle from countertop\n"
    "Edges: (START,1) (1,2) (2,3) (3,4) (4,5) (5,6) (6,END)"
)


# Both visits reworded: each is exactly as similar to either gold visit.
DUPLICATED_PRED_REWORDED = DUPLICATED_PRED.replace("5: go to countertop", "5: go on to countertop")


@pytest.mark.parametrize("pred", [DUPLICATED_PRED, DUPLICATED_PRED_REWORDED])
def test_a_step_listed_twice_pairs_in_order(pred: str) -> None:
    result = lexical(pred, DUPLICATED_GOLD)
    # Pairing the second visit with the gold's first visit would invert the order.
    assert result["matched_nodes"] == 6 and result["ordered_matches"] == 6
    assert result["node_f1"] == 1.0 and result["graph_f1"] == 1.0


class NoisyLexical(LexicalSimilarity):
    """Lexical similarity plus the ~1e-7 noise that embedding batches add."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self.rng = random.Random(seed)
        self.name = "noisy"

    def matrix(self, a, b):  # noqa: ANN001, ANN201
        m = super().matrix(a, b)
        return m + [[self.rng.uniform(-3e-7, 3e-7) for _ in b] for _ in a]


# Fixed mode only: upstream mode uses the similarities exactly as the reference computes
# them, noise included, so that its ties break as the reference's do
# (test_upstream_ties_follow_unrounded_similarities); its embeddings are computed per node
# list, as the reference does, so they never depend on what was scored before.
@pytest.mark.parametrize("mode", ["fixed"])
def test_scores_do_not_depend_on_similarity_noise(mode: str) -> None:
    cases = [(DUPLICATED_PRED, DUPLICATED_GOLD), (DUPLICATED_GOLD, DUPLICATED_PRED)]
    cases += [(DUPLICATED_PRED_REWORDED, DUPLICATED_GOLD)]
    cases += [(p, g) for p, g in BATCH_PAIRS if isinstance(g, str)]
    runs = [
        [score_workflow(p, g, mode, similarity=NoisyLexical(seed)) for p, g in cases]  # type: ignore[arg-type]
        for seed in range(8)
    ]
    assert all(run == runs[0] for run in runs)


# ---------------------------------------------------------------------- many pairs at once
BATCH_PAIRS = [
    (CHAIN, CHAIN),
    (CHAIN_RENUMBERED, CHAIN),
    ("Node:\n1: boil water\n2: steep green tea\nEdges: (START,1) (1,2) (2,END)", CHAIN),
    ("no workflow here", PARALLEL),
    (PARALLEL_RENUMBERED, parse_workflow(PARALLEL).workflow),
    ("Node:\n1: Feed the cat.\nEdges: (START,1) (1,END)", PARALLEL),
]


class PrefetchingLexical(LexicalSimilarity):
    """The lexical backend with an ``embed`` hook that records what is prefetched."""

    def __init__(self) -> None:
        super().__init__()
        self.log: list[tuple[str, list[str]]] = []

    def embed(self, texts):  # noqa: ANN001, ANN201
        self.log.append(("embed", list(texts)))

    def matrix(self, a, b):  # noqa: ANN001, ANN201
        self.log.append(("matrix", [*a, *b]))
        return super().matrix(a, b)


@pytest.mark.parametrize("mode", ["fixed", "upstream"])
def test_score_workflows_equals_scoring_each_pair(mode: str) -> None:
    expected = [lexical(p, g, mode) for p, g in BATCH_PAIRS]  # type: ignore[arg-type]
    got = score_workflows(BATCH_PAIRS, mode, similarity="lexical")  # type: ignore[arg-type]
    assert got == expected
    assert got[3]["node_f1"] == 0.0 and got[0]["graph_f1"] == 1.0


@pytest.mark.parametrize("mode", ["fixed", "upstream"])
def test_score_workflows_embeds_every_needed_text_once_before_scoring(mode: str) -> None:
    backend = PrefetchingLexical()
    got = score_workflows(BATCH_PAIRS, mode, similarity=backend)  # type: ignore[arg-type]
    assert got == [lexical(p, g, mode) for p, g in BATCH_PAIRS]  # type: ignore[arg-type]
    kinds = [kind for kind, _ in backend.log]
    assert kinds[0] == "embed" and kinds.count("embed") == 1
    prefetched = backend.log[0][1]
    assert len(prefetched) == len(set(prefetched))
    asked = {t for kind, texts in backend.log[1:] for t in texts}
    assert asked <= set(prefetched)  # nothing the scorer needs is left out
    assert "boil water" in prefetched and "Feed the cat." in prefetched
    if mode == "fixed":  # texts with an identical partner need no similarity at all
        replay = PrefetchingLexical()
        score_workflows([(CHAIN, CHAIN), (PARALLEL_RENUMBERED, PARALLEL)], similarity=replay)
        assert replay.log == []


def test_score_workflows_rejects_a_bad_mode_and_takes_an_empty_list() -> None:
    with pytest.raises(ConfigError, match="mode"):
        score_workflows([(CHAIN, CHAIN)], "strict")  # type: ignore[arg-type]
    assert score_workflows([], similarity=PrefetchingLexical()) == []


# ---------------------------------------------------------------------- upstream quirks
def test_upstream_zero_matches_score_point_four() -> None:
    pred = "Node:\n1: Feed the cat.\n2: Paint the fence.\nEdges: (START,1) (1,2) (2,END)"
    up = lexical(pred, CHAIN, "upstream")
    # dp starts at 1: correct = 1 with no match; P = 1/2, R = 1/3, F1 = 2/5.
    assert up["node_f1"] == pytest.approx(0.4)
    assert lexical(pred, CHAIN)["node_f1"] == 0.0


def test_upstream_renumbered_graph_scores_point_two() -> None:
    up = lexical(CHAIN_RENUMBERED, CHAIN, "upstream")
    # No raw index pair is shared, so the largest component is one node of five.
    assert up["graph_f1"] == pytest.approx(0.2)
    assert lexical(CHAIN_RENUMBERED, CHAIN)["graph_f1"] == 1.0


def test_upstream_keeps_start_end_in_large_gold_graphs() -> None:
    texts = [
        f"Do step {w} of the assembly"
        for w in ["one", "two", "three", "four", "five", "six", "seven", "eight"]
    ]
    gold = "Node:\n" + "\n".join(f"{i + 1}: {t}" for i, t in enumerate(texts))
    gold += "\nEdges: (START,1) " + " ".join(f"({i},{i + 1})" for i in range(1, 8)) + " (8,END)"
    up = lexical(gold, gold, "upstream")
    # 10 nodes with START/END: the gold list keeps them, recall 8/10, F1 = 16/18.
    assert up["node_f1"] == pytest.approx(f1(Fraction(1), Fraction(8, 10)))
    assert lexical(gold, gold)["node_f1"] == 1.0


def test_upstream_parser_rejects_the_prompted_format() -> None:
    no_space = CHAIN.replace("1: ", "1.").replace("2: ", "2.").replace("3: ", "3.")
    assert lexical(no_space, CHAIN)["node_f1"] == 1.0
    up = lexical(no_space, CHAIN, "upstream")
    assert up["node_f1"] == 0.0 and up["upstream_error"] is not None


def test_upstream_unparsed_prediction_scores_zero() -> None:
    up = lexical("no plan", CHAIN, "upstream")
    assert up["node_f1"] == 0.0 and up["graph_f1"] == 0.0 and up["parse_error"] is not None


# ---------------------------------------------------------------------- real files
def _gold_items() -> list[tuple[str, str]]:
    items = []
    for subset in SUBSETS:
        for item in json.loads((WORFBENCH / subset / "graph_eval.json").read_text()):
            items.append((item["id"], item["conversations"][-1]["content"]))
    return items


@needs_data
def test_gold_replay_scores_one_on_every_item_fixed() -> None:
    items = _gold_items()
    assert len(items) == 1330
    for item_id, gold in items:
        result = score_workflow(gold, gold)  # default similarity: exact texts need no model
        assert result["node_f1"] == 1.0 and result["graph_f1"] == 1.0, (item_id, result)


@needs_data
def test_gold_replay_upstream_reproduces_start_end_cap_on_real_items() -> None:
    sim = LexicalSimilarity()
    checked = 0
    for item_id, gold in _gold_items():
        up_graph = parse_workflow_upstream(gold)
        wf = parse_workflow(gold).workflow
        assert wf is not None
        if up_graph is None or len(up_graph.nodes) < 10:
            continue
        real = [t for t in up_graph.nodes[1:-1]]
        words = {"start", "end"}
        if len({sim.words(t) for t in real}) != len(real) or any(
            sim.words(t) & words for t in real
        ):
            continue  # duplicates or START/END look-alikes make the expected value ambiguous
        up = score_workflow(gold, gold, mode="upstream", similarity=sim)
        n = len(real)
        assert up["node_f1"] == pytest.approx(f1(Fraction(1), Fraction(n, n + 2))), item_id
        checked += 1
    assert checked >= 20


class _NearTies:
    """Similarities 0.90004 for a text with itself and 0.90001 across the two steps: equal
    once rounded to 4 decimals, not before."""

    name = "near-ties"

    def matrix(self, a, b):  # noqa: ANN001, ANN201
        import numpy as np

        def sim(s: str, t: str) -> float:
            if s in ("START", "END") or t in ("START", "END"):
                return 1.0 if s == t else 0.0
            return 0.90004 if s == t else 0.90001

        return np.array([[sim(s, t) for t in b] for s in a])


class _Rounded(_NearTies):
    name = "near-ties-rounded"

    def matrix(self, a, b):  # noqa: ANN001, ANN201
        return _NearTies.matrix(self, a, b).round(4)


def test_upstream_ties_follow_unrounded_similarities() -> None:
    gold = "Node:\n1: x step\n2: y step\nEdges: (START,1) (1,2) (2,END)"
    # The reference's matching takes the pairs of identical texts (weight 1.80008 >
    # 1.80002): node F1 = 1.
    up = score_workflow(gold, gold, mode="upstream", similarity=_NearTies())
    assert up["node_f1"] == 1.0
    # Rounded first, both matchings weigh the same and networkx's tie-break pairs the two
    # steps crosswise: the longest ordered run is one node, node F1 = 1/2.
    rounded = score_workflow(gold, gold, mode="upstream", similarity=_Rounded())
    assert rounded["node_f1"] == pytest.approx(0.5)
    # Fixed mode pairs identical texts first.
    assert score_workflow(gold, gold, similarity=_NearTies())["node_f1"] == 1.0
