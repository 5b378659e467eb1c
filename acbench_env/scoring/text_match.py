"""Answer-matching metrics for text answers: pure, typed functions.

- :func:`normalize_answer`, :func:`exact_match`, :func:`token_f1`: the SQuAD / LongBench
  rule (lower case, punctuation and the articles a/an/the removed, whitespace collapsed;
  F1 over the multiset of normalised tokens), maximised over the gold answers.
- :func:`parse_numbers`: every number in a text (``4,729,361`` is one number).
- :func:`set_match`: the score of an answer that must list a set of items: correct distinct
  items / max(number of gold items, number of distinct items given), so that listing extra
  items costs as much as missing ones.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)
# A grouped number (1,234,567 / 1_234_567) or a plain run of digits.
_NUMBERS = re.compile(r"(?<!\d)\d{1,3}(?:[,_]\d{3})+(?!\d)|\d+")


def normalize_answer(text: str) -> str:
    """NFKC, lower case, punctuation and articles removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    text = _ARTICLES.sub(" ", text)
    return " ".join(text.split())


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals a normalised gold answer, else 0.0."""
    pred = normalize_answer(prediction)
    return 1.0 if any(pred == normalize_answer(g) for g in golds) else 0.0


def token_f1(prediction: str, golds: Sequence[str]) -> float:
    """Token-level F1 of the normalised prediction, maximised over the gold answers."""
    pred = normalize_answer(prediction).split()
    best = 0.0
    for gold in golds:
        ref = normalize_answer(gold).split()
        if not pred or not ref:
            best = max(best, 1.0 if pred == ref else 0.0)
            continue
        common = sum((Counter(pred) & Counter(ref)).values())
        if common == 0:
            continue
        precision, recall = common / len(pred), common / len(ref)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def parse_numbers(text: str) -> list[str]:
    """Every number in ``text`` in order (NFKC; digit-group separators removed)."""
    return [
        re.sub(r"[,_]", "", m.group(0))
        for m in _NUMBERS.finditer(unicodedata.normalize("NFKC", text))
    ]


def set_match(gold: Iterable[str], predicted: Iterable[str]) -> float:
    """Correct distinct items / max(|gold|, |distinct predicted|), in [0, 1]."""
    gold_set, pred_set = set(gold), set(predicted)
    denominator = max(len(gold_set), len(pred_set))
    return len(gold_set & pred_set) / denominator if denominator else 1.0


def positional_match(gold: Sequence[str], predicted: Sequence[str]) -> float:
    """Fraction of positions ``i`` where ``predicted[i] == gold[i]`` (over ``len(gold)``)."""
    if not gold:
        return 1.0
    return sum(1 for i, g in enumerate(gold) if i < len(predicted) and predicted[i] == g) / len(
        gold
    )
