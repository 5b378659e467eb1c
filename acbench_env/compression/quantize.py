"""Weight quantization kernels: RTN, GPTQ and AWQ as pure functions over a Linear weight.

Conventions follow compressed-tensors (so a checkpoint written through it round-trips
exactly): integers lie in ``[-2**(b-1), 2**(b-1) - 1]``; a symmetric group has scale
``max|w| / ((qmax - qmin) / 2)`` and zero point 0; an asymmetric group has scale
``(max - min) / (qmax - qmin)`` and zero point ``qmin - round(min / scale)``, with 0 always
in the range. Dequantized weight = ``(q - zero_point) * scale``. Every kernel returns the
dequantized weight together with the scales and zero points (``[out, groups]``).

GPTQ's Hessian statistics and inverse live in :mod:`~acbench_env.compression.hessian`
(shared with SparseGPT). All kernels run in float32 (float64 for the Hessian inverse) on the weight's device, use no
randomness, and are deterministic for a given input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from acbench_env.compression.hessian import PreparedHessian, dead_and_inverse, masked_weight


@dataclass(frozen=True)
class QuantizedWeight:
    """A quantized Linear weight: dequantized values plus the integer grid that made them."""

    weight: torch.Tensor  # [out, in], dequantized, float32
    scale: torch.Tensor  # [out, groups]
    zero_point: torch.Tensor  # [out, groups], integer values (int8)
    bits: int
    group_size: int | None  # None: one group per row

    def integers(self) -> torch.Tensor:
        """The integer codes ``q`` (int8), recomputed from the dequantized weight."""
        return quantize_with(self.weight, self.scale, self.zero_point, self.bits).to(torch.int8)


def int_range(bits: int) -> tuple[int, int]:
    """The signed integer range of ``bits``-bit codes."""
    return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1


def qparams(
    w: torch.Tensor, bits: int, symmetric: bool, eps: float = 1e-12
) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale and zero point per row of ``w`` (``[rows, cols]`` → ``[rows]`` each)."""
    qmin, qmax = int_range(bits)
    lo = torch.clamp(w.amin(dim=1), max=0.0)
    hi = torch.clamp(w.amax(dim=1), min=0.0)
    if symmetric:
        scale = torch.maximum(lo.abs(), hi) / ((qmax - qmin) / 2)
        scale = torch.where(scale > eps, scale, torch.ones_like(scale))
        zero = torch.zeros_like(scale)
    else:
        scale = (hi - lo) / (qmax - qmin)
        scale = torch.where(scale > eps, scale, torch.ones_like(scale))
        zero = torch.clamp(torch.round(qmin - lo / scale), qmin, qmax)
    return scale, zero


def quantize_with(
    w: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, bits: int
) -> torch.Tensor:
    """Integer codes of ``w`` (float tensor) under per-group ``scale``/``zero`` (``[out, g]``)."""
    qmin, qmax = int_range(bits)
    groups = scale.shape[1]
    rows, cols = w.shape
    wg = w.reshape(rows, groups, cols // groups)
    q = torch.clamp(torch.round(wg / scale.unsqueeze(2) + zero.unsqueeze(2)), qmin, qmax)
    return q.reshape(rows, cols)


def dequantize_with(q: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor) -> torch.Tensor:
    rows, cols = q.shape
    groups = scale.shape[1]
    qg = q.reshape(rows, groups, cols // groups)
    return ((qg - zero.unsqueeze(2)) * scale.unsqueeze(2)).reshape(rows, cols)


def _groups(cols: int, group_size: int | None) -> int:
    if group_size is None:
        return 1
    if cols % group_size:
        raise ValueError(f"group size {group_size} does not divide {cols} columns")
    return cols // group_size


def rtn_quantize(
    weight: torch.Tensor, bits: int, group_size: int | None, symmetric: bool
) -> QuantizedWeight:
    """Round-to-nearest quantization, one scale per ``group_size`` input columns."""
    w = weight.detach().float()
    rows, cols = w.shape
    groups = _groups(cols, group_size)
    gs = cols // groups
    scale, zero = qparams(w.reshape(rows * groups, gs), bits, symmetric)
    scale, zero = scale.reshape(rows, groups), zero.reshape(rows, groups)
    deq = dequantize_with(quantize_with(w, scale, zero, bits), scale, zero)
    return QuantizedWeight(deq, scale, zero.to(torch.int8), bits, group_size)


def gptq_quantize(
    weight: torch.Tensor,
    h: torch.Tensor | PreparedHessian,
    bits: int,
    group_size: int | None,
    symmetric: bool,
    *,
    block_size: int = 128,
    dampening: float = 0.01,
) -> QuantizedWeight:
    """GPTQ (Frantar et al., 2023): quantize columns in order, spreading each column's error
    over the not-yet-quantized columns through the inverse Hessian (blocked OBS updates).

    A group's scale is set from the (error-updated) weights when the first column of that
    group is reached ("dynamic groups", as in the reference implementation). No activation
    reordering, so the result is deterministic and groups stay contiguous.

    ``h`` is the layer-input Hessian, or its
    :func:`~acbench_env.compression.hessian.prepare_hessian` result (which already
    holds the damping, so ``dampening`` is then unused).
    """
    dead, make_hinv = dead_and_inverse(h, dampening)
    w = masked_weight(weight, dead)
    rows, cols = w.shape
    groups = _groups(cols, group_size)
    gs = cols // groups
    hinv = make_hinv()
    scale = torch.zeros(rows, groups, dtype=torch.float64, device=w.device)
    zero = torch.zeros_like(scale)
    qmin, qmax = int_range(bits)
    out = torch.zeros_like(w)
    cur_s = cur_z = None
    for i1 in range(0, cols, block_size):
        i2 = min(i1 + block_size, cols)
        w1 = w[:, i1:i2].clone()
        err1 = torch.zeros_like(w1)
        hinv1 = hinv[i1:i2, i1:i2]
        for i in range(i2 - i1):
            col = i1 + i
            if col % gs == 0:
                ahead = torch.cat([w1[:, i:], w[:, i2:]], dim=1)[:, :gs]
                cur_s, cur_z = qparams(ahead, bits, symmetric)
                scale[:, col // gs], zero[:, col // gs] = cur_s, cur_z
            assert cur_s is not None and cur_z is not None
            col_w = w1[:, i]
            q = torch.clamp(torch.round(col_w / cur_s + cur_z), qmin, qmax)
            deq = (q - cur_z) * cur_s
            out[:, col] = deq
            e = (col_w - deq) / hinv1[i, i]
            w1[:, i:] -= e.unsqueeze(1) @ hinv1[i, i:].unsqueeze(0)
            err1[:, i] = e
        w[:, i2:] -= err1 @ hinv[i1:i2, i2:]
    scale32 = scale.float()
    zero8 = zero.to(torch.int8)
    # Re-derive the dequantized values in float32 from the integer codes, so that the
    # checkpoint writer's re-quantization reproduces exactly these codes.
    deq32 = dequantize_with(
        quantize_with(out.float(), scale32, zero.float(), bits), scale32, zero.float()
    )
    return QuantizedWeight(deq32, scale32, zero8, bits, group_size)


# --- AWQ ------------------------------------------------------------------------------

#: Tokens of a layer input kept for AWQ's scale search (evenly spaced over the set).
AWQ_LOSS_TOKENS = 512


@dataclass(frozen=True)
class InputSample:
    """AWQ's statistics: every ``stride``-th input row of each calibration batch, kept for
    the scale search's loss (about :data:`AWQ_LOSS_TOKENS` rows over the whole set)."""

    stride: int
    rows: tuple[torch.Tensor, ...] = ()

    @property
    def sample(self) -> torch.Tensor:
        return torch.cat(self.rows, dim=0)


def make_empty_sample(calibration_tokens: int) -> InputSample:
    """An empty sample whose stride keeps about :data:`AWQ_LOSS_TOKENS` of the tokens."""
    return InputSample(max(1, calibration_tokens // AWQ_LOSS_TOKENS))


def accumulate_sample(stats: InputSample, x: torch.Tensor) -> InputSample:
    """Add every ``stride``-th row of a batch of layer inputs ``x`` (``[..., in]``)."""
    flat = x.detach().reshape(-1, x.shape[-1]).float()
    return InputSample(stats.stride, (*stats.rows, flat[:: stats.stride].clone()))


def fake_quantize(
    weight: torch.Tensor, bits: int, group_size: int | None, symmetric: bool
) -> torch.Tensor:
    return rtn_quantize(weight, bits, group_size, symmetric).weight


def awq_search_scale(
    weights: list[torch.Tensor],
    x: torch.Tensor,
    bits: int,
    group_size: int | None,
    symmetric: bool,
    grid: int = 20,
) -> tuple[torch.Tensor, float]:
    """AWQ's activation-aware scale search (Lin et al., 2024) for Linears sharing input ``x``.

    For ``alpha`` in ``0, 1/grid, ..., (grid-1)/grid`` try per-input-channel scales
    ``s = mean|x|^alpha`` (normalised by ``sqrt(max(s) min(s))``), quantize ``W * s`` with
    RTN and measure ``|| x W^T - (x / s) Q(W s)^T ||^2``; return the best ``s`` and its
    ``alpha``. ``alpha = 0`` is plain RTN, so the result is never worse than RTN on ``x``.
    The caller folds ``1 / s`` into the operation that produces ``x``.
    """
    xf = x.detach().reshape(-1, x.shape[-1]).float()
    w = torch.cat([t.detach().float() for t in weights], dim=0)
    x_mean = xf.abs().mean(dim=0)
    ref = xf @ w.T
    best_loss, best_alpha = float("inf"), 0.0
    best_s = torch.ones_like(x_mean)
    for k in range(grid):
        alpha = k / grid
        s = x_mean.pow(alpha).clamp(min=1e-4)
        s = s / torch.sqrt(s.max() * s.min())
        wq = fake_quantize(w * s, bits, group_size, symmetric) / s
        loss = float(torch.mean((xf @ wq.T - ref) ** 2))
        if loss < best_loss:
            best_loss, best_alpha, best_s = loss, alpha, s
    return best_s, best_alpha
