"""The T-Eval-style step scorers: pure functions of the answer text and the gold answer."""

from __future__ import annotations

import json

import pytest

from acbench_env.scoring.tool_steps import (
    DimensionScore,
    format_tool_steps_table,
    lcs_length,
    normalize_value,
    same_call,
    score_instruct,
    score_plan,
    score_reason,
    score_retrieve,
    score_review,
    score_understand,
)
from acbench_env.tools.sandbox import ToolCall

A = ToolCall("deposit", {"account": "alice", "amount": 30})
B = ToolCall("withdraw", {"account": "bob", "amount": 10})
C = ToolCall("open_account", {"name": "carol"})


def _plan(*calls: ToolCall) -> str:
    return json.dumps([c.to_dict() for c in calls])


def test_lcs_length() -> None:
    assert lcs_length("abcde", "ace") == 3
    assert lcs_length([], [1]) == 0
    assert lcs_length([1, 2], [2, 1]) == 1


def test_values_compare_after_normalisation() -> None:
    assert normalize_value("  Alice  Smith ") == "alice smith"
    assert normalize_value(17) == normalize_value(17.0)
    assert normalize_value("17") != normalize_value(17)
    assert same_call(A, ToolCall("deposit", {"amount": 30.0, "account": "ALICE"}))
    assert not same_call(A, ToolCall("deposit", {"account": "alice", "amount": 31}))


def test_plan() -> None:
    gold = [A, B, C]
    assert score_plan(_plan(A, B, C), gold).score == 1.0
    # Swapping two steps keeps an LCS of 2 out of 3, on names and calls.
    assert score_plan(_plan(B, A, C), gold).score == pytest.approx(2 / 3)
    # Right tools with wrong arguments: names 1.0, calls 0.0.
    wrong = [ToolCall(c.name, {}) for c in gold]
    assert score_plan(_plan(*wrong), gold).score == pytest.approx(0.5)
    # An extra step costs like a missing one.
    assert score_plan(_plan(A, B, C, C), gold).score == pytest.approx(3 / 4)
    assert score_plan(_plan(A, B), gold).score == pytest.approx(2 / 3)
    # Other formats parse too; no call at all is a format failure.
    hermes = "\n".join(f"<tool_call>{json.dumps(c.to_dict())}</tool_call>" for c in gold)
    assert score_plan(hermes, gold).score == 1.0
    assert score_plan("first deposit, then withdraw", gold).parse_error is not None
    assert score_plan("[]", gold).score == 0.0


def test_reason_is_entity_f1_against_the_next_call() -> None:
    nxt, others = ["bob", "10"], ["alice", "30", "carol"]
    assert score_reason("Thought: withdraw 10 dollars from bob.", nxt, others).score == 1.0
    assert score_reason("Thought: withdraw from bob.", nxt, others).score == pytest.approx(2 / 3)
    # Restating everything: precision 2/5, recall 1 -> F1 = 4/7.
    everything = "Thought: alice 30 bob 10 carol"
    assert score_reason(everything, nxt, others).score == pytest.approx(4 / 7)
    assert score_reason("Thought: deposit to alice", nxt, others).score == 0.0
    # Whole words only: "bobby" and "100" do not mention "bob" and "10".
    assert score_reason("Thought: bobby 100", nxt, others).score == 0.0
    assert score_reason("", nxt, others).parse_error is not None


def test_retrieve_understand_instruct_review() -> None:
    tools = ["deposit", "withdraw"]
    assert score_retrieve("Tool: deposit", "deposit", tools).score == 1.0
    assert score_retrieve(json.dumps(A.to_dict()), "deposit", tools).score == 1.0
    assert score_retrieve("withdraw", "deposit", tools).score == 0.0
    assert score_retrieve("deposit money", "deposit", tools).parse_error is not None

    assert score_understand('{"account": "alice", "amount": 30}', A.arguments).score == 1.0
    assert score_understand(json.dumps(A.to_dict()), A.arguments).score == 1.0
    assert score_understand('{"account": "alice"}', A.arguments).score == 0.5
    assert score_understand('{"account": "alice", "amount": "30"}', A.arguments).score == 0.5
    assert score_understand("alice, 30", A.arguments).parse_error is not None

    assert score_instruct(json.dumps(A.to_dict()), A, "json").score == 1.0
    assert score_instruct(json.dumps(B.to_dict()), A, "json").score == 0.5
    react = 'Action: deposit\nAction Input: {"account": "alice", "amount": 30}'
    assert score_instruct(react, A, "str").score == 1.0
    assert score_instruct(react, A, "json").parse_error is not None
    assert score_instruct(json.dumps([A.to_dict(), B.to_dict()]), A, "json").parse_error

    assert score_review("Error.", "error").score == 1.0
    assert score_review("It was a success", "wrong").score == 0.0
    assert score_review("maybe", "wrong").parse_error is not None


def test_table() -> None:
    rows = [DimensionScore("instruct", "json", 3, 0.5, 0.333, 0.0)]
    table = format_tool_steps_table(rows)
    assert "instruct" in table and "json" in table and "0.500" in table
