"""The table of compression methods: one frozen record per method.

A :class:`Method` says what kind of compression it is (``"quant"``: written as a
compressed-tensors pack-quantized checkpoint; ``"prune"``: dense safetensors holding the
zeros), which :class:`Statistic` of a Linear's inputs the calibration pass gathers (none:
the method looks at the weights only and needs no calibration data), an optional per-layer
step run before the Linears are compressed (AWQ folds its scales), and how it turns one
Linear weight into its compressed version (a kernel of :mod:`~acbench_env.compression.quantize`
or :mod:`~acbench_env.compression.prune`). The layer walk
(:mod:`~acbench_env.compression.walk`) reads only this table, so adding a method is one
kernel plus one record in :data:`METHODS`.

Importing this module does not import torch: the kernels are imported when a record's
functions first run, so the CLI and :class:`~acbench_env.compression.config.CompressionConfig`
read the table without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from acbench_env.core.errors import ConfigError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from acbench_env.compression.config import CompressionConfig
    from acbench_env.compression.quantize import QuantizedWeight

    #: A step on one decoder layer before its Linears are compressed: (layer, the raw
    #: statistic of a named Linear's input, config).
    LayerStep = Callable[[nn.Module, Callable[[str], Any], CompressionConfig], object]

Kind = Literal["quant", "prune"]


class UnknownMethodError(ConfigError):
    """A compression method name is not one of the table's (:func:`method_names`)."""


#: Settings that only some methods use; a method records those it lists in ``tunables``.
TUNABLES = ("dampening", "block_size", "awq_grid")


@dataclass(frozen=True)
class Statistic:
    """What the calibration pass gathers from a Linear's inputs, once per distinct input
    (Linears fed the same tensor, such as q/k/v, share it).

    ``empty(in_features, calibration_tokens)`` starts it, ``add(stats, x)`` folds in one
    batch of inputs ``x`` (``[..., in_features]``), and ``prepare(stats, config)``, when
    given, turns it once per input into what the method's ``apply`` takes.
    """

    name: str
    empty: Callable[[int, int], Any]
    add: Callable[[Any, torch.Tensor], Any]
    prepare: Callable[[Any, CompressionConfig], Any] | None = None


@dataclass(frozen=True)
class Method:
    """One compression method.

    ``apply(weight, statistic, config)`` returns the compressed weight of one Linear: a
    :class:`~acbench_env.compression.quantize.QuantizedWeight` for ``"quant"`` methods, a
    float tensor for ``"prune"`` methods; ``statistic`` is the (prepared) statistic of the
    Linear's input, or ``None`` for a method without one. ``before_layer(layer, stats_of,
    config)``, when given, runs on each decoder layer before its Linears are compressed
    (``stats_of(linear_name)``: the raw statistic of that Linear's input). ``tunables`` are
    the settings of :data:`TUNABLES` the method uses (recorded in the metadata).
    """

    name: str
    kind: Kind
    summary: str
    apply: Callable[[torch.Tensor, Any, CompressionConfig], QuantizedWeight | torch.Tensor]
    statistic: Statistic | None = None
    before_layer: LayerStep | None = None
    tunables: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("quant", "prune"):
            raise ValueError(f"method {self.name!r}: kind must be 'quant' or 'prune'")
        unknown = set(self.tunables) - set(TUNABLES)
        if unknown:
            raise ValueError(
                f"method {self.name!r}: unknown tunables {sorted(unknown)}; add them to "
                "TUNABLES and CompressionConfig"
            )

    @property
    def calibrates(self) -> bool:
        """Whether the method needs calibration data (it gathers a statistic)."""
        return self.statistic is not None


# --- statistics -------------------------------------------------------------------------


def _hessian_empty(in_features: int, _tokens: int) -> Any:
    from acbench_env.compression import hessian

    return hessian.make_empty_hessian(in_features)


def _hessian_add(stats: Any, x: torch.Tensor) -> Any:
    from acbench_env.compression import hessian

    return hessian.accumulate_hessian(stats, x)


def _hessian_prepare(stats: Any, config: CompressionConfig) -> Any:
    from acbench_env.compression import hessian

    return hessian.prepare_hessian(hessian.hessian(stats), config.dampening)


def _norms_empty(in_features: int, _tokens: int) -> Any:
    from acbench_env.compression import prune

    return prune.make_empty_norms(in_features)


def _norms_add(stats: Any, x: torch.Tensor) -> Any:
    from acbench_env.compression import prune

    return prune.accumulate_norms(stats, x)


def _sample_empty(_in_features: int, tokens: int) -> Any:
    from acbench_env.compression import quantize

    return quantize.make_empty_sample(tokens)


def _sample_add(stats: Any, x: torch.Tensor) -> Any:
    from acbench_env.compression import quantize

    return quantize.accumulate_sample(stats, x)


#: GPTQ's and SparseGPT's ``X^T X``, prepared into the damped inverse Cholesky factor.
HESSIAN = Statistic("hessian", _hessian_empty, _hessian_add, _hessian_prepare)
#: Wanda's per-feature ``||X_j||^2``.
INPUT_NORMS = Statistic("input norms", _norms_empty, _norms_add)
#: AWQ's sample of input rows for its scale search.
INPUT_SAMPLE = Statistic("input sample", _sample_empty, _sample_add)


# --- how each method applies ------------------------------------------------------------


def _rtn(weight: torch.Tensor, _stats: Any, config: CompressionConfig) -> QuantizedWeight:
    from acbench_env.compression import quantize

    return quantize.rtn_quantize(weight, config.bits, config.group_size, config.symmetric)


def _gptq(weight: torch.Tensor, prepared: Any, config: CompressionConfig) -> QuantizedWeight:
    from acbench_env.compression import quantize

    return quantize.gptq_quantize(
        weight,
        prepared,
        config.bits,
        config.group_size,
        config.symmetric,
        block_size=config.block_size,
    )


def _awq_fold(layer: nn.Module, stats_of: Callable[[str], Any], config: CompressionConfig) -> Any:
    from acbench_env.compression import awq

    return awq.fold_llama_awq_scales(layer, stats_of, config)


def _magnitude(weight: torch.Tensor, _stats: Any, config: CompressionConfig) -> torch.Tensor:
    from acbench_env.compression import prune

    return prune.magnitude_prune(weight, config.sparsity, config.pattern)


def _wanda(weight: torch.Tensor, norms: Any, config: CompressionConfig) -> torch.Tensor:
    from acbench_env.compression import prune

    return prune.wanda_prune(weight, norms, config.sparsity, config.pattern)


def _sparsegpt(weight: torch.Tensor, prepared: Any, config: CompressionConfig) -> torch.Tensor:
    from acbench_env.compression import prune

    return prune.sparsegpt_prune(
        weight, prepared, config.sparsity, config.pattern, block_size=config.block_size
    )


#: Every method, quantization first (the order of the CLI's choices and error messages).
METHODS: tuple[Method, ...] = (
    Method(
        "gptq",
        "quant",
        "GPTQ: quantize column by column, spreading the error through the inverse Hessian",
        _gptq,
        statistic=HESSIAN,
        tunables=("dampening", "block_size"),
    ),
    Method(
        "awq",
        "quant",
        "AWQ: activation-aware scales folded into the previous operation, then RTN "
        "(Llama-style layers only)",
        _rtn,
        statistic=INPUT_SAMPLE,
        before_layer=_awq_fold,
        tunables=("awq_grid",),
    ),
    Method("rtn", "quant", "round to nearest, per group of input columns", _rtn),
    Method(
        "wanda",
        "prune",
        "Wanda: prune the lowest |W| * ||X|| of each output row",
        _wanda,
        statistic=INPUT_NORMS,
    ),
    Method(
        "sparsegpt",
        "prune",
        "SparseGPT: OBS masks block by block, updating the remaining weights",
        _sparsegpt,
        statistic=HESSIAN,
        tunables=("dampening", "block_size"),
    ),
    Method("magnitude", "prune", "prune the smallest |W| of each layer", _magnitude),
)


def register_method(method: Method) -> None:
    """Add a method to the table (refusing a name already taken), e.g. from a plug-in module.
    Inside the repository, add its record to :data:`METHODS` instead."""
    global METHODS
    if method.name in method_names():
        raise ConfigError(f"a compression method named {method.name!r} already exists")
    METHODS = (*METHODS, method)


def method_names(kind: Kind | None = None) -> tuple[str, ...]:
    """The names of the methods (of one ``kind`` only, when given), in table order."""
    return tuple(m.name for m in METHODS if kind is None or m.kind == kind)


def get_method(name: str) -> Method:
    """The record of method ``name``; :class:`UnknownMethodError` naming the choices.

    Reads :data:`METHODS` at each call (six records), so that a test may extend the table.
    """
    for method in METHODS:
        if method.name == name:
            return method
    raise UnknownMethodError(
        f"unknown compression method {name!r}; choose one of {', '.join(method_names())}"
    )
