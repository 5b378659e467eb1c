"""The compression kernels on tiny layers: exactness, patterns, and error orderings."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from acbench_env.compression import hessian as H  # noqa: E402
from acbench_env.compression import prune as P  # noqa: E402
from acbench_env.compression import quantize as Q  # noqa: E402


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def correlated_inputs(tokens: int, features: int, seed: int = 0) -> torch.Tensor:
    """Inputs whose features are strongly correlated and unevenly scaled (like LLM activations)."""
    g = _gen(seed)
    base = torch.randn(tokens, features // 4, generator=g)
    mix = torch.randn(features // 4, features, generator=g)
    scale = torch.exp(torch.randn(features, generator=g))
    return (base @ mix + 0.1 * torch.randn(tokens, features, generator=g)) * scale


def out_error(w: torch.Tensor, new: torch.Tensor, x: torch.Tensor) -> float:
    return float(((x @ w.T - x @ new.T) ** 2).mean())


def test_rtn_symmetric_codes_in_range_and_error_bounded() -> None:
    w = torch.randn(16, 64, generator=_gen(1))
    qw = Q.rtn_quantize(w, bits=4, group_size=32, symmetric=True)
    codes = qw.integers()
    assert codes.min() >= -8 and codes.max() <= 7
    assert torch.all(qw.zero_point == 0)
    assert qw.scale.shape == (16, 2)
    step = qw.scale.repeat_interleave(32, dim=1)
    assert torch.all((w - qw.weight).abs() <= step / 2 + 1e-6)
    # each group uses at most 16 distinct values
    for g in range(2):
        assert len(torch.unique(qw.weight[0, g * 32 : (g + 1) * 32])) <= 16


def test_rtn_asymmetric_and_more_bits_is_more_accurate() -> None:
    w = torch.randn(32, 128, generator=_gen(2)) + 0.5
    e = {}
    for bits in (3, 4, 8):
        qw = Q.rtn_quantize(w, bits=bits, group_size=64, symmetric=False)
        lo, hi = Q.int_range(bits)
        codes = qw.integers()
        assert codes.min() >= lo and codes.max() <= hi
        e[bits] = float(((w - qw.weight) ** 2).mean())
    assert e[8] < e[4] < e[3]
    sym = Q.rtn_quantize(w, bits=4, group_size=64, symmetric=True).weight
    assert e[4] < float(((w - sym) ** 2).mean())  # shifted weights: zero points help


def test_rtn_per_row_and_bad_group() -> None:
    w = torch.randn(4, 48, generator=_gen(3))
    assert Q.rtn_quantize(w, 4, None, True).scale.shape == (4, 1)
    with pytest.raises(ValueError, match="does not divide"):
        Q.rtn_quantize(w, 4, 32, True)


def test_gptq_beats_rtn_on_correlated_inputs() -> None:
    x = correlated_inputs(512, 64)
    w = torch.randn(32, 64, generator=_gen(4))
    h = H.hessian(H.accumulate_hessian(H.make_empty_hessian(64), x))
    gptq = Q.gptq_quantize(w, h, bits=4, group_size=32, symmetric=True, block_size=16)
    rtn = Q.rtn_quantize(w, bits=4, group_size=32, symmetric=True)
    assert out_error(w, gptq.weight, x) < 0.8 * out_error(w, rtn.weight, x)
    # its weights lie on the grid its scales define
    again = Q.dequantize_with(gptq.integers().float(), gptq.scale, gptq.zero_point.float())
    assert torch.allclose(again, gptq.weight, atol=1e-6)


def test_gptq_with_identity_hessian_is_rtn() -> None:
    w = torch.randn(8, 64, generator=_gen(5))
    h = torch.eye(64, dtype=torch.float64)
    gptq = Q.gptq_quantize(w, h, bits=4, group_size=16, symmetric=False, dampening=0.0)
    rtn = Q.rtn_quantize(w, bits=4, group_size=16, symmetric=False)
    assert torch.allclose(gptq.weight, rtn.weight, atol=1e-5)


def test_gptq_is_deterministic_and_handles_dead_inputs() -> None:
    x = correlated_inputs(128, 32)
    x[:, 5] = 0.0  # an input that is never active
    w = torch.randn(8, 32, generator=_gen(6))
    h = H.hessian(H.accumulate_hessian(H.make_empty_hessian(32), x))
    a = Q.gptq_quantize(w, h, 4, 16, True)
    b = Q.gptq_quantize(w, h, 4, 16, True)
    assert torch.equal(a.weight, b.weight)
    assert torch.all(a.weight[:, 5] == 0)


def test_awq_scale_search_is_no_worse_than_rtn() -> None:
    x = correlated_inputs(256, 64, seed=7)
    w = torch.randn(24, 64, generator=_gen(8))
    s, alpha = Q.awq_search_scale([w[:12], w[12:]], x, bits=3, group_size=32, symmetric=True)
    assert 0.0 <= alpha < 1.0 and s.shape == (64,)
    awq = Q.rtn_quantize(w * s, 3, 32, True).weight / s
    rtn = Q.rtn_quantize(w, 3, 32, True).weight
    assert out_error(w, awq, x) <= out_error(w, rtn, x)


@pytest.mark.parametrize("sparsity", [0.3, 0.5, 0.7])
def test_magnitude_exact_sparsity_keeps_largest(sparsity: float) -> None:
    w = torch.randn(32, 64, generator=_gen(9))
    new = P.magnitude_prune(w, sparsity, "unstructured")
    assert P.sparsity_of(new) == pytest.approx(sparsity, abs=1 / w.numel())
    kept, pruned = w[new != 0].abs(), w[new == 0].abs()
    assert kept.min() >= pruned.max()
    assert torch.equal(new[new != 0], w[new != 0])


def test_magnitude_two_four_per_group() -> None:
    w = torch.randn(16, 64, generator=_gen(10))
    new = P.magnitude_prune(w, 0.5, "2:4")
    assert P.is_n_m(new, 2, 4)
    assert P.sparsity_of(new) == 0.5
    groups_w = w.abs().reshape(16, 16, 4)
    groups_new = new.reshape(16, 16, 4)
    # in each group of 4 the two largest magnitudes survive
    top2 = torch.topk(groups_w, 2, dim=2).indices
    assert torch.all(torch.gather(groups_new, 2, top2) != 0)


def test_wanda_equals_magnitude_when_input_norms_are_uniform() -> None:
    w = torch.randn(16, 64, generator=_gen(11))
    uniform = P.NormStats(torch.full((64,), 4.0, dtype=torch.float64), 10)
    assert torch.equal(P.wanda_prune(w, uniform, 0.5, "2:4"), P.magnitude_prune(w, 0.5, "2:4"))
    per_row = w.clone()
    per_row[P.mask_from_scores(w.abs(), 0.5, "unstructured", per_row=True)] = 0
    assert torch.equal(P.wanda_prune(w, uniform, 0.5, "unstructured"), per_row)


def test_wanda_uses_activations_and_prunes_each_row_equally() -> None:
    x = correlated_inputs(256, 64, seed=12)
    w = torch.randn(32, 64, generator=_gen(13))
    norms = P.accumulate_norms(P.make_empty_norms(64), x)
    new = P.wanda_prune(w, norms, 0.5, "unstructured")
    assert torch.all((new == 0).sum(dim=1) == 32)
    assert out_error(w, new, x) < out_error(w, P.magnitude_prune(w, 0.5, "unstructured"), x)


@pytest.mark.parametrize("pattern", ["unstructured", "2:4"])
def test_sparsegpt_exact_pattern_and_better_than_wanda(pattern: str) -> None:
    x = correlated_inputs(512, 64, seed=14)
    w = torch.randn(32, 64, generator=_gen(15))
    h = H.hessian(H.accumulate_hessian(H.make_empty_hessian(64), x))
    new = P.sparsegpt_prune(w, h, 0.5, pattern, block_size=32)
    assert P.sparsity_of(new) == 0.5
    if pattern == "2:4":
        assert P.is_n_m(new, 2, 4)
    norms = P.accumulate_norms(P.make_empty_norms(64), x)
    wanda = P.wanda_prune(w, norms, 0.5, pattern)
    assert out_error(w, new, x) < out_error(w, wanda, x)
    assert torch.equal(new, P.sparsegpt_prune(w, h, 0.5, pattern, block_size=32))


def test_prepared_hessian_gives_the_same_weights() -> None:
    x = correlated_inputs(128, 32, seed=16)
    x[:, 3] = 0.0  # a dead input
    w = torch.randn(8, 32, generator=_gen(17))
    h = H.hessian(H.accumulate_hessian(H.make_empty_hessian(32), x))
    prepared = H.prepare_hessian(h, 0.05)
    a = Q.gptq_quantize(w, h, 4, 16, True, block_size=8, dampening=0.05)
    b = Q.gptq_quantize(w, prepared, 4, 16, True, block_size=8)
    assert torch.equal(a.weight, b.weight) and torch.equal(a.scale, b.scale)
    c = P.sparsegpt_prune(w, h, 0.5, "2:4", block_size=8, dampening=0.05)
    assert torch.equal(c, P.sparsegpt_prune(w, prepared, 0.5, "2:4", block_size=8))
