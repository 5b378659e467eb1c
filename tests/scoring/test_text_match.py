"""Answer-matching metrics: normalisation, exact match, token F1, numbers, set/positional match."""

from __future__ import annotations

import pytest

from acbench_env.scoring.text_match import (
    exact_match,
    normalize_answer,
    parse_numbers,
    positional_match,
    set_match,
    token_f1,
)


def test_normalize_answer() -> None:
    assert normalize_answer("  The Violin-Maker, of course! ") == "violinmaker of course"
    assert normalize_answer("An apple a day") == "apple day"
    assert normalize_answer("ＡＢＣ") == "abc"  # NFKC


def test_exact_match() -> None:
    assert exact_match("a violin maker.", ["violin maker"]) == 1.0
    assert exact_match("violin", ["violin maker"]) == 0.0
    assert exact_match("Ravenford", ["Ashby", "ravenford"]) == 1.0


@pytest.mark.parametrize(
    ("pred", "golds", "expected"),
    [
        ("violin maker", ["violin maker"], 1.0),
        ("violin", ["violin maker"], 2 * (1.0 * 0.5) / 1.5),  # P=1, R=1/2
        ("the old violin maker", ["violin maker"], 2 * (2 / 3 * 1.0) / (2 / 3 + 1.0)),
        ("tailor", ["violin maker"], 0.0),
        ("", ["violin maker"], 0.0),
        ("tailor", ["violin maker", "tailor"], 1.0),  # best gold
    ],
)
def test_token_f1(pred: str, golds: list[str], expected: float) -> None:
    assert token_f1(pred, golds) == pytest.approx(expected)


def test_token_f1_counts_repeated_tokens_once_each() -> None:
    # pred "maker maker" vs gold "violin maker": one common token, P=1/2, R=1/2
    assert token_f1("maker maker", ["violin maker"]) == pytest.approx(0.5)


def test_parse_numbers() -> None:
    assert parse_numbers("1234567, 7654321 and 4,729,361") == ["1234567", "7654321", "4729361"]
    assert parse_numbers("1234567,2345678") == ["1234567", "2345678"]
    assert parse_numbers("no digits") == []
    assert parse_numbers("１２") == ["12"]


def test_set_match_penalises_missing_and_extra() -> None:
    assert set_match(["1", "2"], ["2", "1"]) == 1.0
    assert set_match(["1", "2"], ["1"]) == 0.5
    assert set_match(["1", "2"], ["1", "2", "3", "4"]) == 0.5
    assert set_match(["1", "2"], ["1", "1", "1"]) == 0.5
    assert set_match(["1"], []) == 0.0


def test_positional_match() -> None:
    assert positional_match(["1", "2"], ["1", "2"]) == 1.0
    assert positional_match(["1", "2"], ["2", "1"]) == 0.0
    assert positional_match(["1", "2", "3"], ["1", "9"]) == pytest.approx(1 / 3)
