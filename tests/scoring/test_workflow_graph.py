"""Workflow parsing: WorfBench text format, JSON form, errors, the upstream parser."""

from __future__ import annotations

import json

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acbench_env.scoring.workflow import (
    END,
    START,
    Workflow,
    format_workflow,
    parse_workflow,
    parse_workflow_upstream,
)
from tests.conftest import SHARED_DATA

WORFBENCH = SHARED_DATA / "worfbench"
SUBSETS = ("alfworld", "lumos", "os", "toolbench", "webshop", "wikihow")


def _gold_answers() -> list[tuple[str, str]]:
    out = []
    for subset in SUBSETS:
        for item in json.loads((WORFBENCH / subset / "graph_eval.json").read_text()):
            out.append((item["id"], item["conversations"][-1]["content"]))
    return out


@pytest.mark.parametrize(
    "text",
    [
        "Node:\n1.Boil water.\n2.Steep the tea.\nEdges:\n(START,1)\n(1,2)\n(2,END)",
        "Node:\n1. Boil water.\n2. Steep the tea.\nEdges: (START,1) (1,2) (2,END)",
        "Node:\n1: Boil water.\n2: Steep the tea.\nEdge: (START,1) (1,2) (2,END)",
        "Node:\n1:Boil water.\n2:Steep the tea.\nGraph:\nEdge: (START, 1) (1, 2) (2, END)",
        "Nodes:\n1.{Boil water.}\n2.{Steep the tea.}\nEdges:\n(start,1)\n(1,2)\n(2,end)",
        "Here is my plan.\nNode:\n1: Boil water.\n\n2: Steep the tea.\n\nEdges:\n- (START,1)\n- (1,2)\n- (2,END)\nDone.",
    ],
)
def test_text_forms_parse_to_the_same_workflow(text: str) -> None:
    parsed = parse_workflow(text)
    assert parsed.error is None
    wf = parsed.workflow
    assert wf is not None
    assert wf.nodes == ("Boil water.", "Steep the tea.")
    assert set(wf.edges) == {(START, 0), (0, 1), (1, END)}
    g = wf.graph
    assert isinstance(g, nx.DiGraph)
    assert g.nodes[0]["text"] == "Boil water." and g.has_edge(START, 0)


def test_json_forms() -> None:
    plain = json.dumps({"nodes": ["a b", "c d"], "edges": [["START", 1], [1, 2], [2, "END"]]})
    objects = json.dumps(
        {
            "nodes": [{"id": 7, "text": "a b"}, {"id": "9", "task": "c d"}],
            "edges": [{"from": "START", "to": 7}, {"source": 7, "target": 9}, [9, "END"]],
        }
    )
    for text in (plain, f"```json\n{objects}\n```"):
        parsed = parse_workflow(text)
        assert parsed.source_format == "json" and parsed.error is None, parsed.error
        assert parsed.workflow is not None
        assert parsed.workflow.nodes == ("a b", "c d")
        assert set(parsed.workflow.edges) == {(START, 0), (0, 1), (1, END)}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("Node:\n1: a\n2: b\nEdges: (START,1) (1,2) (2,1) (2,END)", "cycle"),
        ("Node:\n1: a\nEdges: (START,1) (1,1) (1,END)", "cycle"),
        ("Node:\n1: a\nEdges: (START,1) (1,3) (1,END)", "unknown node id 3"),
        ("Node:\n1: a\nEdges: (START,1) (1,) (1,END)", "dangling"),
        ("Node:\n1: a\nEdges: (START,1) (1,START) (1,END)", "dangles"),
        ("Node:\n1: a\nEdges: (END,1) (1,END)", "dangles"),
        ("Node:\n1: a\n1: b\nEdges: (START,1) (1,END)", "listed twice"),
        ("Node:\n1: a\n2: b", "no edges"),
        ("I would boil water and then steep the tea.", "no node list"),
        ("", "no node list"),
        ('{"nodes": ["a"], "edges": [["START"]]}', "dangling"),
        ('{"nodes": ["a"], "edges": [["START", 1], [1, 2]]}', "unknown node id 2"),
        ('{"nodes": "a", "edges": []}', "must be lists"),
        ("{not json", "invalid JSON"),
    ],
)
def test_unreadable_workflows_are_errors_not_exceptions(text: str, fragment: str) -> None:
    parsed = parse_workflow(text)
    assert parsed.workflow is None and not parsed.ok
    assert parsed.error is not None and fragment in parsed.error


def test_cut_off_final_edge_is_a_warning() -> None:
    parsed = parse_workflow("Node:\n1: a\n2: b\nEdge: (START,1) (START,2) (1,END) (2,")
    assert parsed.ok and parsed.warnings
    assert parsed.workflow is not None and (1, END) not in parsed.workflow.edges


def test_parenthesised_prose_is_not_an_edge() -> None:
    text = "Node:\n1: Get the price (e.g., AAPL) of the stock.\n2: Report it.\nEdge: (START,1) (1,2) (2,END)"
    parsed = parse_workflow(text)
    assert parsed.workflow is not None
    assert parsed.workflow.nodes[0] == "Get the price (e.g., AAPL) of the stock."


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('Node:Edges(START,END)12 .\n{}[]"ab')), max_size=80))
def test_parser_never_raises(text: str) -> None:
    parsed = parse_workflow(text)
    assert parsed.ok == (parsed.error is None)


def test_format_round_trip_and_execution_order() -> None:
    wf = Workflow(nodes=("c", "b", "a"), edges=((START, 2), (2, 1), (1, 0), (0, END)))
    again = parse_workflow(format_workflow(wf)).workflow
    assert again is not None and again.nodes == wf.nodes and set(again.edges) == set(wf.edges)
    assert wf.order == (2, 1, 0)  # listed order is not topological: edges decide
    assert wf.ancestors[0] == frozenset({1, 2})


def test_upstream_parser_quirks() -> None:
    no_space = "Node:\n1.a\n2.b\nEdges:\n(START,1)\n(1,2)\n(2,END)"
    up = parse_workflow_upstream(no_space)
    assert up is not None and up.nodes == (START, END)  # its regex needs '1. '
    up = parse_workflow_upstream("Node:\n1: a\n2: b\nEdge: (START,1) (1,2) (2,END)")
    assert up is not None
    assert up.nodes == (START, "a", "b", END) and up.edges == ((0, 1), (1, 2), (2, 3))
    assert parse_workflow_upstream("1: a\n(START,1) (1,END)") is None  # needs 'Node'
    assert parse_workflow_upstream("Node:\n1: a") is None  # needs an edge


@pytest.mark.skipif(
    not WORFBENCH.is_dir(), reason=f"shared WorfBench data not found at {WORFBENCH}"
)
def test_every_gold_workflow_parses() -> None:
    answers = _gold_answers()
    assert len(answers) == 1330
    for item_id, text in answers:
        parsed = parse_workflow(text)
        assert parsed.ok, (item_id, parsed.error)
        wf = parsed.workflow
        assert wf is not None and nx.is_directed_acyclic_graph(wf.graph)
        again = parse_workflow(format_workflow(wf)).workflow
        assert again is not None and again.nodes == wf.nodes, item_id
        assert set(again.edges) == set(wf.edges), item_id
