"""The layer-input Hessian that GPTQ and SparseGPT share: statistics, damping and inverse.

Both algorithms (Frantar et al.) work from ``H = 2/n X^T X`` of a Linear's inputs: the
calibration pass accumulates ``X^T X`` (:func:`make_empty_hessian`,
:func:`accumulate_hessian`), and :func:`prepare_hessian` turns it once per distinct input
into what the column-by-column kernels consume: the mask of dead (never activated) input
columns and the upper Cholesky factor of the damped inverse. Float64 throughout, no
randomness.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class HessianStats:
    """``sum x x^T`` over the calibration tokens seen by a layer input, and their count."""

    xtx: torch.Tensor  # [in, in], float64
    tokens: int


def make_empty_hessian(in_features: int, device: torch.device | None = None) -> HessianStats:
    return HessianStats(
        torch.zeros(in_features, in_features, dtype=torch.float64, device=device), 0
    )


def accumulate_hessian(stats: HessianStats, x: torch.Tensor) -> HessianStats:
    """Add a batch of layer inputs ``x`` (``[..., in]``) to the statistics."""
    flat = x.detach().reshape(-1, x.shape[-1]).float()
    # float32 product per batch (fast), float64 running sum (no drift over many batches)
    return HessianStats(stats.xtx + (flat.T @ flat).double(), stats.tokens + flat.shape[0])


def hessian(stats: HessianStats) -> torch.Tensor:
    """GPTQ's ``H = 2/n X^T X`` (float64)."""
    return stats.xtx * (2.0 / max(stats.tokens, 1))


def inverse_cholesky(h: torch.Tensor, dampening: float) -> torch.Tensor:
    """Upper Cholesky factor of ``(H + damp I)^-1``, raising the damping until it is PD."""
    mean_diag = float(torch.mean(torch.diag(h)))
    damp = dampening if dampening > 0 else 1e-6
    eye = torch.eye(h.shape[0], dtype=h.dtype, device=h.device)
    for _ in range(8):
        try:
            low = torch.linalg.cholesky(h + damp * max(mean_diag, 1e-8) * eye)
            inv = torch.cholesky_inverse(low)
            return torch.linalg.cholesky(inv, upper=True)
        except torch.linalg.LinAlgError:
            damp *= 10
    raise ValueError("the Hessian is not positive definite even with heavy damping")


@dataclass(frozen=True)
class PreparedHessian:
    """What GPTQ and SparseGPT take from a layer-input Hessian, computed once per input (so
    Linears sharing an input, such as q/k/v, share it): the dead input columns (never
    activated) and the upper Cholesky factor of the damped inverse."""

    dead: torch.Tensor  # [in], bool
    hinv: torch.Tensor  # [in, in], float64, upper triangular


def fix_dead(h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A copy of H with the diagonal of dead input columns set to 1, and their mask."""
    h = h.clone()
    dead = torch.diag(h) == 0
    h[dead, dead] = 1.0
    return h, dead


def prepare_hessian(h: torch.Tensor, dampening: float = 0.01) -> PreparedHessian:
    """The dead-column mask and inverse Cholesky factor of ``h``, for
    :func:`~acbench_env.compression.quantize.gptq_quantize` and
    :func:`~acbench_env.compression.prune.sparsegpt_prune`."""
    fixed, dead = fix_dead(h)
    return PreparedHessian(dead, inverse_cholesky(fixed, dampening))


def dead_and_inverse(
    h: torch.Tensor | PreparedHessian, dampening: float
) -> tuple[torch.Tensor, Callable[[], torch.Tensor]]:
    """The dead-column mask now, and the inverse factor on demand (so that a kernel checks
    its arguments before paying for the inverse). ``h`` is a Hessian or its
    :func:`prepare_hessian` result (which holds the damping already)."""
    if isinstance(h, PreparedHessian):
        prepared = h
        return prepared.dead, lambda: prepared.hinv
    fixed, dead = fix_dead(h)
    return dead, lambda: inverse_cholesky(fixed, dampening)


def masked_weight(weight: torch.Tensor, dead: torch.Tensor) -> torch.Tensor:
    """A float64 copy of W with the dead input columns zeroed."""
    w = weight.detach().to(torch.float64).clone()
    w[:, dead] = 0.0
    return w
