"""Representation metrics on constructed matrices with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from acbench_env.core.errors import ConfigError
from acbench_env.scoring.representation import (
    compare_energy,
    energy,
    erank,
    jaccard,
    kendall_tau,
    mean_abs_energy_shift,
    spearman_rho,
    topk_agreement,
    wasserstein_1d,
)


def _erank_covariance_form(x: np.ndarray) -> float:
    """The textbook definition (features x features covariance), for comparison."""
    r = x - x.mean(axis=0)
    r = r / np.linalg.norm(r, axis=1, keepdims=True)
    cov = r.T @ r / r.shape[0]
    eig = np.clip(np.linalg.eigvalsh(cov), 0, None)
    p = eig[eig > 0] / eig.sum()
    return float(np.exp(-(p * np.log(p)).sum()))


@pytest.mark.parametrize("n", [2, 5, 16])
def test_erank_of_identity_is_n_minus_one(n: int) -> None:
    # Centring I_n leaves n-1 equal eigenvalues and one zero.
    assert erank(np.eye(n)) == pytest.approx(n - 1, rel=1e-9)


def test_erank_of_collinear_rows_is_one() -> None:
    v = np.array([1.0, -2.0, 0.5, 3.0])
    x = np.outer([1.0, 2.0, -4.0, 7.0, 0.5], v)
    assert erank(x) == pytest.approx(1.0, abs=1e-9)


def test_erank_of_two_orthogonal_directions_is_two() -> None:
    # Rows +-e1 and +-e2 (already centred): covariance diag(1/2, 1/2) -> exp(log 2) = 2.
    x = np.array([[1.0, 0, 0], [-1.0, 0, 0], [0, 1.0, 0], [0, -1.0, 0]])
    assert erank(x) == pytest.approx(2.0, rel=1e-9)


def test_erank_gram_form_equals_covariance_form() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(12, 40)) @ rng.normal(size=(40, 40))
    assert erank(x) == pytest.approx(_erank_covariance_form(x), rel=1e-9)
    # Wide matrices (more features than tokens, like logits) go through the n x n Gram
    # matrix and still equal the features x features definition.
    wide = rng.normal(size=(6, 300))
    assert erank(wide) == pytest.approx(_erank_covariance_form(wide), rel=1e-9)
    assert 1.0 <= erank(wide) <= 5.0 + 1e-9  # at most n - 1 directions after centring
    # A vocabulary-sized matrix is cheap in Gram form.
    assert 1.0 <= erank(rng.normal(size=(8, 50_000))) <= 7.0 + 1e-9


def test_erank_constant_rows_and_bad_shapes() -> None:
    assert math.isnan(erank(np.ones((4, 3))))
    with pytest.raises(ConfigError, match="2-D"):
        erank(np.ones(5))
    with pytest.raises(ConfigError, match="at least 2 rows"):
        erank(np.ones((1, 5)))
    with pytest.raises(ConfigError, match="NaN"):
        erank(np.array([[1.0, np.nan], [0.0, 1.0]]))


def test_kendall_and_spearman_known_values() -> None:
    a = [1.0, 2.0, 3.0, 4.0, 5.0]
    assert kendall_tau(a, a) == pytest.approx(1.0)
    assert kendall_tau(a, a[::-1]) == pytest.approx(-1.0)
    assert spearman_rho(a, a) == pytest.approx(1.0)
    assert spearman_rho(a, a[::-1]) == pytest.approx(-1.0)
    # One swapped pair of three: concordant 2, discordant 1 -> tau = 1/3;
    # ranks (1,2,3) vs (1,3,2): rho = 1 - 6*2/(3*8) = 0.5.
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert spearman_rho([1, 2, 3], [1, 3, 2]) == pytest.approx(0.5)
    # tau-b with a tie in y: pairs (1,2):tie, (1,3):+, (2,3):+ -> 2 / sqrt(3 * 2).
    assert kendall_tau([1, 2, 3], [1, 1, 2]) == pytest.approx(2 / math.sqrt(6))
    # Spearman with ties: average ranks (1.5, 1.5, 3) vs (1, 2, 3).
    assert spearman_rho([1, 1, 2], [1, 2, 3]) == pytest.approx(math.sqrt(3) / 2)
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))
    assert math.isnan(spearman_rho([2, 2], [1, 2]))


def test_jaccard() -> None:
    assert jaccard([1, 2, 3], [3, 2, 1]) == 1.0
    assert jaccard([1, 2], [3, 4]) == 0.0
    assert jaccard([1, 2, 3], [2, 3, 4]) == pytest.approx(2 / 4)


def test_topk_agreement_identical_reversed_and_disjoint() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(2, 7, 100))
    same = topk_agreement(base, base.copy(), 10)
    assert (same.kendall_tau, same.spearman_rho, same.jaccard) == pytest.approx((1.0, 1.0, 1.0))
    assert same.positions == 14 and same.undefined_positions == 0
    # Reverse the order of the base's top-3 tokens only: the set is the same, the order flips.
    comp = base.copy()
    for idx in np.ndindex(base.shape[:2]):
        top = np.argsort(-base[idx])[:3]
        comp[idx][top] = base[idx][top][::-1]
    rev = topk_agreement(base, comp, 3)
    assert (rev.kendall_tau, rev.spearman_rho, rev.jaccard) == pytest.approx((-1.0, -1.0, 1.0))
    # A compressed model whose top-3 is elsewhere entirely: Jaccard 0.
    vocab = 10
    b = np.arange(vocab, dtype=float)[None, :]  # top-3: 9, 8, 7
    c = -np.arange(vocab, dtype=float)[None, :]  # top-3: 0, 1, 2
    far = topk_agreement(b, c, 3)
    assert far.jaccard == 0.0 and far.kendall_tau == pytest.approx(-1.0)


def test_topk_agreement_mask_and_errors() -> None:
    base = np.zeros((1, 3, 5))
    base[0, 0] = [5, 4, 3, 2, 1]
    base[0, 1] = [1, 2, 3, 4, 5]
    comp = base.copy()
    comp[0, 1] = [5, 4, 3, 2, 1]  # position 1 disagrees completely
    masked = topk_agreement(base, comp, 2, mask=[[True, False, False]])
    assert masked.positions == 1 and masked.jaccard == 1.0
    # Position 2 is constant logits: tau undefined, counted, not averaged in.
    both = topk_agreement(base, comp, 2, mask=[[True, False, True]])
    assert both.undefined_positions == 1 and both.kendall_tau == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="k must be"):
        topk_agreement(base, comp, 6)
    with pytest.raises(ConfigError, match="shape"):
        topk_agreement(base, comp[:, :2], 2)
    with pytest.raises(ConfigError, match="mask has"):
        topk_agreement(base, comp, 2, mask=[True, False])


def test_energy_known_values_and_padding_mask() -> None:
    vocab = 8
    z = np.zeros((2, 3, vocab))
    # Uniform logits: E = -T log(V * e^0) = -log 8 at T=1, -2 log 8 at T=2.
    assert energy(z) == pytest.approx(np.full(6, -math.log(vocab)))
    assert energy(z, temperature=2.0) == pytest.approx(np.full(6, -2 * math.log(vocab)))
    # Large logits stay finite (stable logsumexp): one logit of 1000 dominates.
    big = np.zeros((1, vocab))
    big[0, 0] = 1000.0
    assert energy(big)[0] == pytest.approx(-1000.0)
    # Padding is masked out: a padded position with huge logits must not count.
    z[1, 2, :] = 1e6
    mask = np.array([[True, True, True], [True, True, False]])
    e = energy(z, mask=mask)
    assert e.shape == (5,) and np.allclose(e, -math.log(vocab))
    with pytest.raises(ConfigError, match="temperature"):
        energy(z, temperature=0.0)


def test_energy_shift_and_distribution_distance() -> None:
    a = np.array([0.0, 1.0, 2.0, 3.0])
    assert mean_abs_energy_shift(a, a + 0.5) == pytest.approx(0.5)
    assert mean_abs_energy_shift(a, a[::-1]) == pytest.approx(2.0)
    # W1 between a sample and its shift is the shift; a permutation has W1 = 0, while the
    # paired mean |dE| sees it (the reference code compared a permuted copy: always equal).
    assert wasserstein_1d(a, a + 0.5) == pytest.approx(0.5)
    assert wasserstein_1d(a, a[::-1]) == pytest.approx(0.0)
    # Different sizes: {0} vs {0, 1}: |F_a - F_b| = 0.5 on [0, 1) -> 0.5.
    assert wasserstein_1d([0.0], [0.0, 1.0]) == pytest.approx(0.5)
    rng = np.random.default_rng(1)
    base = rng.normal(size=(3, 4, 16))
    comp = base + rng.normal(scale=0.1, size=base.shape)
    mask = np.ones((3, 4), dtype=bool)
    mask[2, 3] = False
    cmp = compare_energy(base, comp, mask=mask)
    assert cmp.positions == 11
    eb, ec = energy(base, mask=mask), energy(comp, mask=mask)
    assert cmp.mean_abs_shift == pytest.approx(np.mean(np.abs(ec - eb)))
    assert cmp.wasserstein <= cmp.mean_abs_shift + 1e-12  # W1 never exceeds any coupling


# ------------------------------------------------------------------ scipy = the former code
# The hand-written versions these metrics used before they called scipy.stats, kept here
# to show that the results are unchanged.
def _handwritten_kendall(a: np.ndarray, b: np.ndarray) -> float:
    da = np.sign(a[:, None] - a[None, :])
    db = np.sign(b[:, None] - b[None, :])
    iu = np.triu_indices(a.size, k=1)
    sa, sb = da[iu], db[iu]
    pairs_a, pairs_b = float(np.count_nonzero(sa)), float(np.count_nonzero(sb))
    if pairs_a == 0 or pairs_b == 0:
        return float("nan")
    return float(np.sum(sa * sb)) / math.sqrt(pairs_a * pairs_b)


def _handwritten_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_vals = values[order]
    i = 0
    while i < len(values):
        j = i
        while j + 1 < len(values) and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def _handwritten_spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = _handwritten_ranks(a), _handwritten_ranks(b)
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denom = math.sqrt(float(np.sum(ra * ra)) * float(np.sum(rb * rb)))
    return float(np.sum(ra * rb)) / denom if denom > 0 else float("nan")


def _handwritten_wasserstein(a: np.ndarray, b: np.ndarray) -> float:
    x, y = np.sort(a), np.sort(b)
    grid = np.sort(np.concatenate([x, y]))
    cdf_x = np.searchsorted(x, grid[:-1], side="right") / x.size
    cdf_y = np.searchsorted(y, grid[:-1], side="right") / y.size
    return float(np.sum(np.abs(cdf_x - cdf_y) * np.diff(grid)))


@pytest.mark.parametrize("ties", [False, True])
def test_scipy_versions_equal_the_former_handwritten_code(ties: bool) -> None:
    rng = np.random.default_rng(7)
    for n in (2, 3, 10, 20, 57):
        for _ in range(40):
            a, b = rng.normal(size=n), rng.normal(size=n)
            if ties:  # few distinct values: many ties, sometimes a constant vector
                a, b = np.round(a), np.round(b * 0.7)
            expected_tau = _handwritten_kendall(a, b)
            expected_rho = _handwritten_spearman(a, b)
            for got, want in (
                (kendall_tau(a, b), expected_tau),
                (spearman_rho(a, b), expected_rho),
            ):
                if math.isnan(want):
                    assert math.isnan(got)
                else:
                    assert got == pytest.approx(want, rel=1e-12, abs=1e-12)
            m = rng.integers(1, 3 * n)
            c = rng.normal(size=m) + rng.normal()
            if ties:
                c = np.round(c)
            assert wasserstein_1d(a, c) == pytest.approx(
                _handwritten_wasserstein(a, c), rel=1e-12, abs=1e-12
            )
    assert math.isnan(kendall_tau([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    assert math.isnan(spearman_rho([1.0, 2.0, 3.0], [4.0, 4.0, 4.0]))
    assert math.isnan(wasserstein_1d([], [1.0]))
