"""Representation metrics, base vs compressed: ERank, top-k ranking correlation, energy.

Pure functions over arrays (numpy arrays, or anything :func:`numpy.asarray` accepts, such
as CPU torch tensors). They fix the bugs of the reference code listed in
``KNOWN-PITFALLS.md``:

- **ERank** (:func:`erank`): the effective rank ``exp(H(p))`` where ``p`` are the
  normalised eigenvalues of the covariance of the *centred, row-normalised*
  representations. It is computed in Gram form (tokens x tokens), which has the same
  non-zero eigenvalues as the covariance (features x features), so the final logits of a
  50k-token vocabulary cost an ``n x n`` eigen-decomposition, not ``V x V``.
- **Top-k ranking correlation** (:func:`topk_agreement`): at every position, the base
  model's top-k tokens; Kendall tau-b and Spearman rho between the base and compressed
  logits of those tokens (the reference code's measure), and the Jaccard overlap of the two
  models' top-k *sets* (the paper text's measure). Both are reported, named.
- **Energy** (:func:`energy`): ``E = -T * logsumexp(z / T)`` per position, with padding
  masked out; base vs compressed is compared position by position (mean ``|ΔE|``,
  :func:`mean_abs_energy_shift`) and as distributions (:func:`wasserstein_1d`), instead of
  comparing a histogram with a permuted copy of itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from acbench_env.core.errors import ConfigError

#: The k of the top-k ranking metrics (as in the paper).
TOPK_DEFAULT = (3, 10, 20)

# Rows whose norm after centring is below this are constant rows: they carry no direction.
_ZERO_NORM = 1e-12


def _matrix(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim != 2:
        raise ConfigError(f"{name} must be a 2-D array (tokens x features), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"{name} holds NaN or infinite values")
    return arr


def erank(representations: Any) -> float:
    """Effective rank of ``representations`` (``n`` rows of ``d`` features).

    Rows are centred (the mean row subtracted), then scaled to unit L2 norm; the
    eigenvalues ``λ`` of the Gram matrix ``R Rᵀ / n`` (equal to the non-zero eigenvalues of
    the covariance ``Rᵀ R / n``) are normalised to ``p = λ / Σλ`` and the result is
    ``exp(-Σ p log p)``. Rows that are constant after centring (all rows equal) are left
    out; ``nan`` when fewer than one direction remains.

    Known answers: the identity ``I_n`` gives ``n - 1`` (centring removes one direction and
    leaves ``n - 1`` equal eigenvalues); collinear rows give 1.
    """
    r = _matrix(representations, "representations")
    if r.shape[0] < 2:
        raise ConfigError(f"erank needs at least 2 rows (tokens), got {r.shape[0]}")
    r = r - r.mean(axis=0, keepdims=True)
    norms = np.linalg.norm(r, axis=1)
    keep = norms > _ZERO_NORM * max(1.0, float(norms.max(initial=0.0)))
    if not keep.any():
        return float("nan")
    r = r[keep] / norms[keep, None]
    gram = (r @ r.T) / r.shape[0]
    eig = np.clip(np.linalg.eigvalsh(gram), 0.0, None)
    total = float(eig.sum())
    if total <= 0.0:
        return float("nan")
    p = eig[eig > 0] / total
    return float(math.exp(-float(np.sum(p * np.log(p)))))


def _paired(x: Any, y: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as flat float vectors of one length (else a ConfigError naming
    ``what``)."""
    a = np.asarray(x, dtype=np.float64).ravel()
    b = np.asarray(y, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ConfigError(f"{what} needs equal lengths, got {a.size} and {b.size}")
    return a, b


def kendall_tau(x: Any, y: Any) -> float:
    """Kendall's tau-b between two equally long score vectors (``nan`` if either is constant).

    Identical orderings give 1, reversed orderings -1; ties are handled as in tau-b
    (:func:`scipy.stats.kendalltau`).
    """
    a, b = _paired(x, y, "kendall_tau")
    if a.size < 2 or _constant(a) or _constant(b):
        return float("nan")
    return float(stats.kendalltau(a, b).statistic)


def spearman_rho(x: Any, y: Any) -> float:
    """Spearman's rho (Pearson correlation of average ranks; ``nan`` if either is constant;
    :func:`scipy.stats.spearmanr`)."""
    a, b = _paired(x, y, "spearman_rho")
    if a.size < 2 or _constant(a) or _constant(b):
        return float("nan")
    return float(stats.spearmanr(a, b).statistic)


def _constant(v: np.ndarray) -> bool:
    """All equal (scipy would warn and return nan); NaN entries are left to scipy."""
    return not np.isnan(v).any() and bool(np.all(v == v[0]))


def jaccard(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> float:
    """``|A ∩ B| / |A ∪ B|`` of two index sets (1.0 for two empty sets)."""
    sa, sb = {int(v) for v in a}, {int(v) for v in b}
    union = sa | sb
    return len(sa & sb) / len(union) if union else 1.0


def _topk_indices(row: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest entries, largest first (ties broken by lower index)."""
    part = np.argpartition(-row, k - 1)[:k] if k < row.size else np.arange(row.size)
    return part[np.lexsort((part, -row[part]))].astype(np.int64)


def _topk_indices_many(row: np.ndarray, ks: Sequence[int]) -> dict[int, np.ndarray]:
    """``_topk_indices(row, k)`` for every ``k`` of ``ks``, from one partition of ``row``.

    The top ``max(ks) + 1`` entries are selected and ordered once; the first ``k`` of them
    are the answer for ``k`` whenever the ``k``-th largest entry is strictly larger than the
    next one. Otherwise (a tie across the cut, or NaN) which tied entries are kept depends on
    :func:`numpy.argpartition`, so that ``k`` falls back to :func:`_topk_indices` and the
    result is the same as computing each ``k`` on its own.
    """
    need = min(max(ks) + 1, row.size)
    top = _topk_indices(row, need)
    vals = row[top]
    out: dict[int, np.ndarray] = {}
    for k in ks:
        if k >= row.size:
            out[k] = top
        elif vals[k - 1] > vals[k]:
            out[k] = top[:k]
        else:
            out[k] = _topk_indices(row, k)
    return out


@dataclass(frozen=True)
class TopKAgreement:
    """Base vs compressed agreement on the base model's top-k tokens, averaged over positions.

    ``kendall_tau`` / ``spearman_rho``: correlation of the two models' logits over the base
    model's top-k tokens (the reference code's measure; positions where either is
    undefined, i.e. constant logits, are left out and counted in ``undefined_positions``);
    ``jaccard``: overlap of the two models' top-k token sets (the paper text's measure).
    """

    k: int
    positions: int
    kendall_tau: float
    spearman_rho: float
    jaccard: float
    undefined_positions: int


def _masked_rows(z: np.ndarray, mask: Any | None) -> np.ndarray:
    """``z`` (``[..., vocab]``) as ``[positions, vocab]`` rows, keeping the rows where
    ``mask`` (the shape of ``z`` without its last axis) is true; all rows without a mask."""
    rows = z.reshape(-1, z.shape[-1])
    if mask is None:
        return rows
    m = np.asarray(mask, dtype=bool).reshape(-1)
    if m.size != rows.shape[0]:
        raise ConfigError(
            f"mask has {m.size} positions but the logits have {rows.shape[0]}; the mask must "
            "have the logits' shape without the vocabulary axis"
        )
    return rows[m]


def position_rows(base: Any, compressed: Any, mask: Any | None) -> tuple[np.ndarray, np.ndarray]:
    """The unmasked positions of two models' ``[..., vocab]`` logits, as float64 rows."""
    b = np.asarray(base, dtype=np.float64)
    c = np.asarray(compressed, dtype=np.float64)
    if b.shape != c.shape:
        raise ConfigError(f"base and compressed logits differ in shape: {b.shape} vs {c.shape}")
    if b.ndim < 2:
        raise ConfigError(f"logits need a vocabulary axis last, got shape {b.shape}")
    return _masked_rows(b, mask), _masked_rows(c, mask)


def topk_agreement(
    base_logits: Any,
    compressed_logits: Any,
    k: int,
    *,
    mask: Any | None = None,
) -> TopKAgreement:
    """:class:`TopKAgreement` over every (unmasked) position of ``[..., vocab]`` logits."""
    return topk_agreements(base_logits, compressed_logits, (k,), mask=mask)[0]


def topk_agreements(
    base_logits: Any,
    compressed_logits: Any,
    ks: Sequence[int],
    *,
    mask: Any | None = None,
) -> list[TopKAgreement]:
    """:func:`topk_agreement` for every ``k`` of ``ks`` (in that order), with one float64
    conversion of the logits and one top-k selection per position for all ``ks``."""
    b, c = position_rows(base_logits, compressed_logits, mask)
    for k in ks:
        if not 1 <= k <= b.shape[-1]:
            raise ConfigError(f"k must be in 1..{b.shape[-1]} (the vocabulary size), got {k}")
    if not ks:
        return []
    unique = list(dict.fromkeys(ks))
    taus: dict[int, list[float]] = {k: [] for k in unique}
    rhos: dict[int, list[float]] = {k: [] for k in unique}
    jacs: dict[int, list[float]] = {k: [] for k in unique}
    undefined = dict.fromkeys(unique, 0)
    for row_b, row_c in zip(b, c):
        tops_b = _topk_indices_many(row_b, unique)
        tops_c = _topk_indices_many(row_c, unique)
        for k in unique:
            top_b = tops_b[k]
            jacs[k].append(jaccard(top_b, tops_c[k]))
            tau = kendall_tau(row_b[top_b], row_c[top_b])
            rho = spearman_rho(row_b[top_b], row_c[top_b])
            if math.isnan(tau) or math.isnan(rho):
                undefined[k] += 1
                continue
            taus[k].append(tau)
            rhos[k].append(rho)
    n = int(b.shape[0])
    return [
        TopKAgreement(
            k=k,
            positions=n,
            kendall_tau=float(np.mean(taus[k])) if taus[k] else float("nan"),
            spearman_rho=float(np.mean(rhos[k])) if rhos[k] else float("nan"),
            jaccard=float(np.mean(jacs[k])) if jacs[k] else float("nan"),
            undefined_positions=undefined[k],
        )
        for k in ks
    ]


def energy(logits: Any, *, temperature: float = 1.0, mask: Any | None = None) -> np.ndarray:
    """``E = -T * logsumexp(z / T)`` of every unmasked position of ``[..., vocab]`` logits.

    Returns a 1-D array of the energies of the positions where ``mask`` is true (all
    positions without a mask), in row-major order. Computed stably (max subtracted).
    """
    if temperature <= 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")
    z = np.asarray(logits, dtype=np.float64)
    if z.ndim < 1 or z.shape[-1] == 0:
        raise ConfigError(f"logits need a non-empty vocabulary axis last, got shape {z.shape}")
    z = _masked_rows(z, mask) / temperature
    top = z.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
    return -temperature * lse


def mean_abs_energy_shift(base_energy: Any, compressed_energy: Any) -> float:
    """Mean ``|E_compressed - E_base|`` over paired positions (same probe, same position)."""
    a = np.asarray(base_energy, dtype=np.float64).ravel()
    b = np.asarray(compressed_energy, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ConfigError(f"paired energies differ in length: {a.size} vs {b.size}")
    if a.size == 0:
        return float("nan")
    return float(np.mean(np.abs(b - a)))


def wasserstein_1d(a: Any, b: Any) -> float:
    """Wasserstein-1 (earth mover's) distance between two 1-D empirical distributions.

    The integral of ``|F_a(x) - F_b(x)|`` over ``x``; samples may differ in size
    (:func:`scipy.stats.wasserstein_distance`); ``nan`` if either is empty.
    """
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.size == 0 or y.size == 0:
        return float("nan")
    return float(stats.wasserstein_distance(x, y))


@dataclass(frozen=True)
class EnergyComparison:
    """Base vs compressed energies over the same positions."""

    temperature: float
    positions: int
    base_mean: float
    compressed_mean: float
    mean_abs_shift: float
    wasserstein: float


def compare_energy(
    base_logits: Any,
    compressed_logits: Any,
    *,
    temperature: float = 1.0,
    mask: Any | None = None,
) -> EnergyComparison:
    """:class:`EnergyComparison` of two models' logits on the same (unmasked) positions."""
    b, c = position_rows(base_logits, compressed_logits, mask)
    return compare_energies(
        energy(b, temperature=temperature), energy(c, temperature=temperature), temperature
    )


def compare_energies(
    base_energy: np.ndarray, compressed_energy: np.ndarray, temperature: float
) -> EnergyComparison:
    """:class:`EnergyComparison` of paired energies (from :func:`energy`, same positions)."""
    eb, ec = base_energy, compressed_energy
    return EnergyComparison(
        temperature=temperature,
        positions=int(eb.size),
        base_mean=float(eb.mean()) if eb.size else float("nan"),
        compressed_mean=float(ec.mean()) if ec.size else float("nan"),
        mean_abs_shift=mean_abs_energy_shift(eb, ec),
        wasserstein=wasserstein_1d(eb, ec),
    )
