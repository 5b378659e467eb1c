"""Pruning kernels: magnitude, Wanda and SparseGPT as pure functions over a Linear weight.

Each returns a new float32 weight with exactly the requested share of zeros: unstructured
pruning removes ``round(n * sparsity)`` weights of each comparison group (the whole matrix
for magnitude, each output row for Wanda, each column block for SparseGPT); the 2:4
pattern zeroes 2 of every 4 consecutive input weights of each row.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from acbench_env.compression.hessian import PreparedHessian, dead_and_inverse, masked_weight


@dataclass(frozen=True)
class NormStats:
    """Sum of squares of each input feature over the calibration tokens (Wanda's ``||X_j||^2``)."""

    sq_sum: torch.Tensor  # [in], float64
    tokens: int


def make_empty_norms(in_features: int, device: torch.device | None = None) -> NormStats:
    return NormStats(torch.zeros(in_features, dtype=torch.float64, device=device), 0)


def accumulate_norms(stats: NormStats, x: torch.Tensor) -> NormStats:
    flat = x.detach().reshape(-1, x.shape[-1]).to(torch.float64)
    return NormStats(stats.sq_sum + (flat * flat).sum(dim=0), stats.tokens + flat.shape[0])


def _n_m(pattern: str) -> tuple[int, int]:
    if pattern == "unstructured":
        return 0, 0
    n, _, m = pattern.partition(":")
    return int(m) - int(n), int(m)  # weights pruned per group, group width


def mask_from_scores(
    scores: torch.Tensor, sparsity: float, pattern: str, per_row: bool
) -> torch.Tensor:
    """Boolean mask (``True`` = prune) of the lowest scores: per row, over the whole
    matrix, or ``n`` of every ``m`` consecutive columns for an ``n:m`` pattern.

    Ties are broken by position (stable sort), so the count is exact and deterministic.
    """
    rows, cols = scores.shape
    prune_n, m = _n_m(pattern)
    mask = torch.zeros(rows, cols, dtype=torch.bool, device=scores.device)
    if m:
        if cols % m:
            raise ValueError(f"a {pattern} pattern needs the input size ({cols}) divisible by {m}")
        grouped = scores.reshape(rows, cols // m, m)
        idx = torch.argsort(grouped, dim=2, stable=True)[:, :, :prune_n]
        return mask.reshape(rows, cols // m, m).scatter(2, idx, True).reshape(rows, cols)
    if per_row:
        k = round(cols * sparsity)
        idx = torch.argsort(scores, dim=1, stable=True)[:, :k]
        return mask.scatter(1, idx, True)
    k = round(rows * cols * sparsity)
    idx = torch.argsort(scores.flatten(), stable=True)[:k]
    return mask.flatten().scatter(0, idx, True).reshape(rows, cols)


def magnitude_prune(weight: torch.Tensor, sparsity: float, pattern: str) -> torch.Tensor:
    """Zero the smallest-magnitude weights of the layer (layer-wide comparison group)."""
    w = weight.detach().float().clone()
    w[mask_from_scores(w.abs(), sparsity, pattern, per_row=False)] = 0.0
    return w


def wanda_prune(
    weight: torch.Tensor, norms: NormStats, sparsity: float, pattern: str
) -> torch.Tensor:
    """Wanda (Sun et al., 2024): score ``|W_ij| * ||X_j||``, prune the lowest per output row."""
    w = weight.detach().float().clone()
    score = w.abs() * torch.sqrt(norms.sq_sum).float().unsqueeze(0)
    w[mask_from_scores(score, sparsity, pattern, per_row=True)] = 0.0
    return w


def sparsegpt_prune(
    weight: torch.Tensor,
    h: torch.Tensor | PreparedHessian,
    sparsity: float,
    pattern: str,
    *,
    block_size: int = 128,
    dampening: float = 0.01,
) -> torch.Tensor:
    """SparseGPT (Frantar & Alistarh, 2023): choose masks block by block with the OBS
    saliency ``w^2 / [H^-1]_jj^2`` and update the remaining weights to compensate.

    ``h`` is the layer-input Hessian (``2/n X^T X``). Unstructured masks prune exactly
    ``round(rows * block * sparsity)`` weights per column block (so the layer's sparsity is
    exact); ``n:m`` masks are chosen per group of ``m`` columns as they are reached. ``h``
    may also be its :func:`~acbench_env.compression.hessian.prepare_hessian` result (which
    already holds the damping, so ``dampening`` is then unused).
    """
    dead, make_hinv = dead_and_inverse(h, dampening)
    w = masked_weight(weight, dead)
    rows, cols = w.shape
    prune_n, m = _n_m(pattern)
    if m and (cols % m or block_size % m):
        raise ValueError(f"a {pattern} pattern needs the input size ({cols}) divisible by {m}")
    hinv = make_hinv()
    for i1 in range(0, cols, block_size):
        i2 = min(i1 + block_size, cols)
        count = i2 - i1
        w1 = w[:, i1:i2].clone()
        err1 = torch.zeros_like(w1)
        hinv1 = hinv[i1:i2, i1:i2]
        d = torch.diag(hinv1)
        if m:
            mask1 = torch.zeros_like(w1, dtype=torch.bool)
        else:
            mask1 = mask_from_scores(w1**2 / d.unsqueeze(0) ** 2, sparsity, pattern, per_row=False)
        for i in range(count):
            if m and i % m == 0:
                tmp = w1[:, i : i + m] ** 2 / d[i : i + m].unsqueeze(0) ** 2
                idx = torch.argsort(tmp, dim=1, stable=True)[:, :prune_n]
                mask1[:, i : i + m] = torch.zeros_like(tmp, dtype=torch.bool).scatter(1, idx, True)
            col = w1[:, i]
            q = torch.where(mask1[:, i], torch.zeros_like(col), col)
            e = (col - q) / hinv1[i, i]
            w1[:, i:] -= e.unsqueeze(1) @ hinv1[i, i:].unsqueeze(0)
            w1[:, i] = q
            err1[:, i] = e
        w[:, i1:i2] = w1
        w[:, i2:] -= err1 @ hinv[i1:i2, i2:]
    out = w.float()
    # float64 -> float32 keeps exact zeros; guarantee them anyway.
    out[w == 0] = 0.0
    return out


def sparsity_of(weight: torch.Tensor) -> float:
    """Share of exact zeros in ``weight``."""
    return float((weight == 0).sum()) / weight.numel()


def is_n_m(weight: torch.Tensor, n: int = 2, m: int = 4) -> bool:
    """Whether every group of ``m`` consecutive inputs of every row has at least ``m - n`` zeros."""
    rows, cols = weight.shape
    zeros = (weight.reshape(rows, cols // m, m) == 0).sum(dim=2)
    return bool((zeros >= m - n).all())
