"""The typed configuration of one compression run, validated before any model is loaded."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from acbench_env.compression.methods import (
    TUNABLES,
    Method,
    UnknownMethodError,
    get_method,
    method_names,
)
from acbench_env.core.errors import ConfigError
from acbench_env.core.validation import positive_int

#: Weight quantization methods (written as compressed-tensors pack-quantized checkpoints).
QUANT_METHODS = method_names("quant")
#: Pruning methods (written as dense safetensors checkpoints holding the zeros).
PRUNE_METHODS = method_names("prune")
METHODS = method_names()
PATTERNS = ("unstructured", "2:4")
MIN_BITS, MAX_BITS = 2, 8
#: Settings of each kind of method (the other kind's are recorded as ``None``).
KIND_SETTINGS = {"quant": ("bits", "group_size", "symmetric"), "prune": ("sparsity", "pattern")}

__all__ = [
    "METHODS",
    "PATTERNS",
    "PRUNE_METHODS",
    "QUANT_METHODS",
    "CompressionConfig",
    "GroupSizeError",
    "UnknownMethodError",
]


class GroupSizeError(ConfigError):
    """A quantization group size does not divide a layer's input dimension."""


@dataclass(frozen=True)
class CompressionConfig:
    """How to compress: the method and its settings (unused settings are ignored).

    ``group_size`` is the number of input columns sharing one scale (``None`` or ``-1``:
    one scale per output row). ``dampening`` is GPTQ/SparseGPT's fraction of the mean
    Hessian diagonal added to it; ``block_size`` their column block width. ``awq_grid`` is
    the number of scale exponents AWQ tries.
    """

    method: str
    bits: int = 4
    group_size: int | None = 64
    symmetric: bool = True
    sparsity: float = 0.5
    pattern: str = "unstructured"
    dampening: float = 0.01
    block_size: int = 128
    awq_grid: int = 20

    def __post_init__(self) -> None:
        get_method(self.method)  # UnknownMethodError naming the choices
        if self.group_size is not None and self.group_size == -1:
            object.__setattr__(self, "group_size", None)
        if self.is_quantization:
            if not MIN_BITS <= self.bits <= MAX_BITS:
                raise ConfigError(
                    f"bits={self.bits} is out of range; use {MIN_BITS}..{MAX_BITS} "
                    "(4 or 8 for checkpoints vLLM serves)"
                )
            if self.group_size is not None and self.group_size < 1:
                raise ConfigError(
                    f"group size {self.group_size} is out of range; use a positive divisor of "
                    "the layers' input size (e.g. 64 or 32), or -1 for one scale per row"
                )
        else:
            if not 0.0 < self.sparsity < 1.0:
                raise ConfigError(
                    f"sparsity={self.sparsity} is out of range; use a fraction strictly "
                    "between 0 and 1 (e.g. 0.5)"
                )
            if self.pattern not in PATTERNS:
                raise ConfigError(
                    f"unknown sparsity pattern {self.pattern!r}; use 'unstructured' or '2:4'"
                )
            if self.pattern == "2:4" and self.sparsity != 0.5:
                raise ConfigError(
                    f"the 2:4 pattern prunes exactly half the weights; drop --sparsity "
                    f"{self.sparsity} or set it to 0.5"
                )
        if not 0.0 <= self.dampening < 1.0:
            raise ConfigError(f"dampening={self.dampening} is out of range; use 0 <= d < 1")
        positive_int("block_size", self.block_size)
        positive_int("awq_grid", self.awq_grid)

    @property
    def spec(self) -> Method:
        """The method's record in the table (:mod:`~acbench_env.compression.methods`)."""
        return get_method(self.method)

    @property
    def is_quantization(self) -> bool:
        return self.spec.kind == "quant"

    @property
    def needs_calibration(self) -> bool:
        return self.spec.calibrates

    def check_divides(self, in_features: dict[str, int]) -> None:
        """Raise :class:`GroupSizeError` unless the group size divides every layer's input
        size (``in_features``: layer name -> input size), suggesting one that does."""
        if not self.is_quantization or self.group_size is None:
            return
        bad = {n: k for n, k in in_features.items() if k % self.group_size}
        if not bad:
            return
        name, size = next(iter(bad.items()))
        sizes = set(in_features.values())
        fits = [g for g in (256, 128, 64, 32, 16, 8) if all(k % g == 0 for k in sizes)]
        hint = f"use --group-size {' or '.join(str(g) for g in fits[:2])}" if fits else "use -1"
        raise GroupSizeError(
            f"group size {self.group_size} does not divide the input size {size} of layer "
            f"{name} ({len(bad)} layer(s) affected); {hint}, which divides every layer"
        )

    def record(self) -> dict[str, Any]:
        """The settings that matter for this method (for the metadata file): the other
        kind's settings are ``None``, and only the tunables the method uses are kept."""
        spec = self.spec
        out = asdict(self)
        for kind, keys in KIND_SETTINGS.items():
            if kind != spec.kind:
                out.update(dict.fromkeys(keys))
        for key in TUNABLES:
            if key not in spec.tunables:
                out.pop(key)
        return out
