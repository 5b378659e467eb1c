"""Token classes: spans partition every output, on every environment's oracle and on fuzzed
text, and every output token gets exactly one class."""

from __future__ import annotations

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import acbench_env  # noqa: F401  (registers the envs)
from acbench_env.scoring.token_classes import (
    CLASSES,
    KINDS,
    char_classes,
    char_spans,
    output_kind,
    token_classes,
    token_offsets,
)
from acbench_env.tools.parsing import parse_tool_calls

ENV_IDS = sorted(k for k in gym.registry if k.startswith("acbench/"))
_LONG = ("Needle", "Variable", "DocQA")


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from acbench_env.core.models import resolve_model

    return AutoTokenizer.from_pretrained(resolve_model("default"))


def check_partition(text: str, spans: list[tuple[int, int, str]]) -> None:
    if not text:
        assert spans == []
        return
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    for (_s0, e0, c0), (s1, _, c1) in zip(spans, spans[1:]):
        assert e0 == s1 and c0 != c1
    for s, e, c in spans:
        assert s < e and c in CLASSES


def check_tokens(tokenizer, text: str, kind: str) -> list[str]:
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    decoded, offsets = token_offsets(tokenizer, ids)
    classes = token_classes(decoded, offsets, kind)
    assert len(classes) == len(ids)
    assert set(classes) <= set(CLASSES)
    # Every character belongs to exactly one token: offsets tile the decoded text.
    covered = [0] * len(decoded)
    for s, e in offsets:
        for i in range(s, e):
            covered[i] += 1
    assert all(c == 1 for c in covered), "token spans must cover each character once"
    return classes


def oracle_outputs(env_id: str, seeds=(0, 1, 2)) -> list[str]:
    kw = {"context_length": 512} if any(n in env_id for n in _LONG) else {}
    env = gym.make(env_id, **kw)
    outs = []
    for seed in seeds:
        env.reset(seed=seed)
        for _ in range(3):
            action = env.unwrapped.oracle_action()
            outs.append(action)
            _, _, term, trunc, _ = env.step(action)
            if term or trunc:
                break
    env.close()
    return outs


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_oracle_outputs_are_partitioned_and_classed(env_id, tokenizer):
    kind = output_kind(env_id)
    assert kind in KINDS
    for text in oracle_outputs(env_id):
        spans = char_spans(text, kind)
        check_partition(text, spans)
        classes = check_tokens(tokenizer, text, kind)
        chars = char_classes(text, kind)
        parsed = parse_tool_calls(text)
        if kind == "tool" and parsed.ok and parsed.calls:
            names = "".join(text[s:e] for s, e, c in spans if c == "tool_name")
            assert names == "".join(c.name for c in parsed.calls)
            assert "structure" in classes and "tool_name" in classes
        if kind == "answer":
            assert {c for c, ch in zip(chars, text) if not ch.isspace()} == {"answer"}
        if kind == "workflow":
            assert "answer" in classes and "structure" in classes
        if kind == "simulator":
            assert chars[len(text) - len(text.lstrip())] == "tool_name"


def test_tool_call_classes_exact():
    text = 'Sure.\n<tool_call>{"name": "add", "arguments": {"a": 2, "b": "x y"}}</tool_call>'
    got = [(text[s:e], c) for s, e, c in char_spans(text, "tool")]
    assert got == [
        ("Sure.\n", "free_text"),
        ('<tool_call>{"name": "', "structure"),
        ("add", "tool_name"),
        ('", "arguments": {"', "structure"),
        ("a", "arg_key"),
        ('": ', "structure"),
        ("2", "arg_value"),
        (', "', "structure"),
        ("b", "arg_key"),
        ('": "', "structure"),
        ("x y", "arg_value"),
        ('"}}</tool_call>', "structure"),
    ]
    react = 'Thought: add them\nAction: add\nAction Input: {"a": 1}'
    got = [(react[s:e], c) for s, e, c in char_spans(react, "tool")]
    assert ("Thought:", "structure") in got and (" add them\n", "free_text") in got
    assert ("add", "tool_name") in got and ("a", "arg_key") in got and ("1", "arg_value") in got


def test_token_majority_and_tie_break():
    text = '{"a": 1}'
    offsets = [(0, 2), (2, 3), (3, 5), (5, 7), (7, 8)]  # '{"', 'a', '":', ' 1', '}'
    # Parsed as a call object: an unknown top-level key is structure, its value an argument.
    assert token_classes(text, offsets, "tool") == [
        "structure",
        "structure",
        "structure",
        "arg_value",
        "structure",
    ]
    # A token holding one answer char and one structure char goes to the answer (tie).
    assert token_classes("a:", [(0, 2)], "answer") == ["answer"]
    with pytest.raises(ValueError, match="unknown output kind"):
        char_spans("x", "nope")


_FRAGMENTS = st.sampled_from(
    [
        "<tool_call>",
        "</tool_call>",
        '{"name": "f", "arguments": {"k": [1, {"z": null}]}}',
        '{"name": ',
        '"arguments": "{\\"a\\": 1}"',
        "[",
        "]",
        "{",
        "}",
        '"',
        "\\",
        "Action: f\n",
        "Action Input: ",
        "Thought: ",
        "Node:\n",
        "1: do it\n",
        "Edges: (START,1) (1,END)",
        "(2,",
        "Answer 3: 12\n",
        "search[",
        "```json\n",
        "```",
        "\n",
        " ",
        "é",
        "日本",
        "\ufffd",
    ]
)
_TEXTS = st.one_of(
    st.text(max_size=80), st.lists(_FRAGMENTS | st.text(max_size=6), max_size=14).map("".join)
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXTS, kind=st.sampled_from(KINDS))
def test_fuzzed_outputs_are_partitioned(text, kind):
    check_partition(text, char_spans(text, kind))
    assert len(char_classes(text, kind)) == len(text)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXTS, kind=st.sampled_from(KINDS))
def test_fuzzed_outputs_every_token_one_class(text, kind, tokenizer):
    check_tokens(tokenizer, text, kind)
