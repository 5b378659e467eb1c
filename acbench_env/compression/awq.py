"""AWQ scale folding for Llama-architecture decoder layers.

AWQ's scale search (:func:`~acbench_env.compression.quantize.awq_search_scale`) is a pure
kernel; applying its result needs the model's structure: each group of Linears that share an
input is scaled by ``s`` and the operation producing that input is divided by ``s``, so the
layer computes the same function before quantization. This module knows that structure for
**Llama-style layers only** (``input_layernorm``, ``self_attn.{q,k,v,o}_proj``,
``post_attention_layernorm``, ``mlp.{gate,up,down}_proj``: Llama, Mistral, Qwen2 and
SmolLM); another architecture needs its own mapping table.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from acbench_env.compression.config import CompressionConfig
from acbench_env.compression.quantize import awq_search_scale
from acbench_env.core.errors import CompressionError

#: (previous operation, the Linears it feeds, how to divide it): "norm" scales a norm's
#: weight vector, "linear" a Linear's output rows (and bias).
Mapping = tuple[nn.Module, list[str], str]


def llama_mappings(layer: nn.Module) -> list[Mapping]:
    """The scale-folding pairs of one Llama-style decoder layer, in folding order."""
    try:
        attn, mlp = layer.self_attn, layer.mlp
        mappings: list[Mapping] = [
            (
                layer.input_layernorm,
                ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
                "norm",
            ),
            (layer.post_attention_layernorm, ["mlp.gate_proj", "mlp.up_proj"], "norm"),
            (mlp.up_proj, ["mlp.down_proj"], "linear"),
        ]
        if attn.v_proj.out_features == attn.o_proj.in_features:
            mappings.insert(1, (attn.v_proj, ["self_attn.o_proj"], "linear"))
    except AttributeError as exc:
        raise CompressionError(
            f"AWQ needs Llama-style layers (input_layernorm, self_attn.q/k/v/o_proj, "
            f"post_attention_layernorm, mlp.gate/up/down_proj): {exc}; use gptq or rtn"
        ) from exc
    return mappings


def fold_llama_awq_scales(
    layer: nn.Module, stats_of: Callable[[str], Any], config: CompressionConfig
) -> dict[str, float]:
    """Search AWQ scales for each mapping of a Llama-style ``layer`` and fold them in place;
    ``stats_of(linear_name)`` is the input sample
    (:class:`~acbench_env.compression.quantize.InputSample`) of that Linear. Returns the
    chosen exponent ``alpha`` per mapping (keyed by its first Linear)."""
    mappings = llama_mappings(layer)
    mods = dict(layer.named_modules())
    alphas: dict[str, float] = {}
    for prev, names, kind in mappings:
        weights = [mods[n].weight for n in names]
        s, alpha = awq_search_scale(
            weights,
            stats_of(names[0]).sample,
            config.bits,
            config.group_size,
            config.symmetric,
            config.awq_grid,
        )
        alphas[names[0]] = alpha
        with torch.no_grad():
            if kind == "norm":
                prev.weight.div_(s.to(prev.weight.dtype))
            else:
                prev.weight.div_(s.to(prev.weight.dtype).unsqueeze(1))
                if getattr(prev, "bias", None) is not None:
                    prev.bias.div_(s.to(prev.bias.dtype))
            for n in names:
                mods[n].weight.mul_(s.to(mods[n].weight.dtype).unsqueeze(0))
    return alphas
