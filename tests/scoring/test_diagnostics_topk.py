"""The top-k path of the diagnostics core (vLLM's prompt logprobs): exact top-1 and rank,
the coarsened KL lower bound, and the cross-backend agreement figures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acbench_env.core.errors import ConfigError
from acbench_env.scoring.diagnostics import (
    backend_agreement,
    coarse_kl,
    kl_method_name,
    log_softmax,
    token_stats,
    topk_token_stats,
)


def _listing(logprobs: np.ndarray, k: int, target: int) -> dict[int, tuple[float, int]]:
    """What vLLM returns for one prompt position: the top k (ranks 1..k) and the target
    with its rank over the whole vocabulary (ties in its favour, as vLLM counts)."""
    order = np.argsort(-logprobs, kind="stable")[:k]
    out = {int(t): (float(logprobs[t]), r + 1) for r, t in enumerate(order)}
    out[int(target)] = (float(logprobs[target]), int((logprobs > logprobs[target]).sum()) + 1)
    return out


def _case(seed: int, vocab: int, n: int, scale: float) -> tuple[np.ndarray, np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    base = log_softmax(rng.normal(size=(n, vocab)) * 3)
    comp = log_softmax(base + rng.normal(size=(n, vocab)) * scale)
    targets = [int(rng.integers(vocab)) for _ in range(n)]
    return base, comp, targets


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    k=st.integers(1, 12),
    scale=st.sampled_from([0.0, 0.1, 1.0, 3.0]),
)
def test_topk_rank_and_top1_exact_kl_a_lower_bound(seed: int, k: int, scale: float) -> None:
    base, comp, targets = _case(seed, vocab=40, n=6, scale=scale)
    kl_full, top1_full, rank_full = token_stats(base, comp, targets)
    b = [_listing(base[i], k, t) for i, t in enumerate(targets)]
    c = [_listing(comp[i], k, t) for i, t in enumerate(targets)]
    kl, top1, rank, lp, argmax = topk_token_stats(b, c, targets)
    assert rank.tolist() == rank_full.tolist()
    assert top1.tolist() == top1_full.tolist()
    assert lp == pytest.approx(comp[np.arange(6), targets])
    assert argmax.tolist() == comp.argmax(axis=1).tolist()
    assert (kl >= 0).all()
    assert (kl <= kl_full + 1e-9).all()  # coarsening never increases a KL


def test_topk_kl_is_full_kl_when_everything_is_listed_and_zero_on_self() -> None:
    base, comp, targets = _case(1, vocab=30, n=5, scale=1.0)
    kl_full, _, _ = token_stats(base, comp, targets)
    b = [_listing(base[i], 30, t) for i, t in enumerate(targets)]
    c = [_listing(comp[i], 30, t) for i, t in enumerate(targets)]
    kl, *_ = topk_token_stats(b, c, targets)
    assert kl == pytest.approx(kl_full, rel=1e-9)
    b5 = [_listing(base[i], 5, t) for i, t in enumerate(targets)]
    kl_self, top1, rank, _, _ = topk_token_stats(b5, b5, targets)
    assert kl_self == pytest.approx(0.0, abs=1e-12)
    assert rank.tolist() == [int((base[i] > base[i][t]).sum()) + 1 for i, t in enumerate(targets)]
    assert top1.tolist() == (rank == 1).tolist()


def test_coarse_kl_by_hand() -> None:
    # base lists {0: .6, 1: .3}, compressed lists {0: .5, 2: .4}: shared {0}, rest bucket.
    b = {0: (np.log(0.6), 1), 1: (np.log(0.3), 2)}
    c = {0: (np.log(0.5), 1), 2: (np.log(0.4), 2)}
    expected = 0.6 * np.log(0.6 / 0.5) + 0.4 * np.log(0.4 / 0.5)
    assert coarse_kl(b, c) == pytest.approx(expected)


def test_topk_bad_input() -> None:
    b = [{0: (-0.1, 1)}]
    with pytest.raises(ConfigError, match="one top-k listing per target"):
        topk_token_stats(b, b, [0, 1])
    with pytest.raises(ConfigError, match="lacks the target token 5"):
        topk_token_stats(b, b, [5])
    assert kl_method_name(None) == "full"
    assert kl_method_name(20) == "topk-20"


def test_backend_agreement() -> None:
    a = {"pred": [1, 2, 3, 4], "rank": [1, 1, 2, 5], "logprob": [-0.1, -0.2, -1.0, -3.0]}
    b = {"pred": [1, 2, 9, 4], "rank": [1, 2, 2, 7], "logprob": [-0.1, -0.25, -1.0, -3.4]}
    row = backend_agreement(a, b)
    assert row["tokens"] == 4
    assert row["same_top1_token"] == 0.75
    assert row["same_top1_verdict"] == 0.75
    assert row["same_rank"] == 0.5
    assert row["rank_within_1"] == 0.75
    assert row["logprob_abs_diff_max"] == pytest.approx(0.4)
    assert row["logprob_abs_diff_mean"] == pytest.approx(0.45 / 4)
    with pytest.raises(ConfigError, match="every token"):
        backend_agreement(a, {**b, "rank": [1]})
    with pytest.raises(ConfigError, match="no tokens"):
        backend_agreement(
            {"pred": [], "rank": [], "logprob": []}, {"pred": [], "rank": [], "logprob": []}
        )


def test_report_note_names_a_topk_kl() -> None:
    from acbench_env.scoring.report.breaks import _source_note

    src = {"recorded": 3, "retokenized": 0}
    full = _source_note({"where_it_breaks": {"token_source": src}})
    assert "not the full KL" not in full
    note = "KL from vLLM's top-20 prompt logprobs: ... a lower bound on the full KL"
    topk = _source_note(
        {"where_it_breaks": {"token_source": src, "kl_method": "topk-20", "kl_note": note}}
    )
    assert topk.startswith(full) and "KL is not the full KL: KL from vLLM's top-20" in topk
