"""The layer walk: compress every decoder layer's Linears in order, as the method table says.

Calibration runs layer by layer, as in GPTQ and llm-compressor's sequential pipeline: the
inputs of the first decoder layer are captured once; then for each layer the method's
:class:`~acbench_env.compression.methods.Statistic` of its Linear inputs is gathered (one
pass), its Linears are compressed, and the compressed layer's outputs become the next
layer's inputs (a second pass). Linears that receive the same input tensor (q/k/v, gate/up)
share one statistic, prepared once. Methods without a statistic skip both passes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from typing import Any

import torch
from torch import nn

from acbench_env.compression.calibration import CalibrationSet
from acbench_env.compression.config import CompressionConfig
from acbench_env.compression.methods import Method, Statistic
from acbench_env.compression.quantize import QuantizedWeight
from acbench_env.core.errors import CompressionError, ConfigError

logger = logging.getLogger(__name__)

#: A decoder layer's input and the keyword arguments the model passed with it.
LayerInput = tuple[torch.Tensor, dict[str, Any]]


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The decoder layers of a Llama-style causal LM (``model.model.layers``)."""
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if not isinstance(layers, nn.ModuleList) or len(layers) == 0:
        raise CompressionError(
            f"cannot find the decoder layers of {type(model).__name__} (expected "
            "model.model.layers, as in Llama, Mistral or Qwen models); use a Llama-style "
            "causal LM"
        )
    return layers


def linears(layer: nn.Module) -> dict[str, nn.Linear]:
    """The Linears of ``layer`` by their name inside it."""
    return {n: m for n, m in layer.named_modules() if isinstance(m, nn.Linear)}


class _StopForward(Exception):
    pass


def capture_first_inputs(
    model: nn.Module, layer0: nn.Module, batches: list[torch.Tensor]
) -> list[LayerInput]:
    """The inputs of ``layer0`` for each batch of token ids (the forward stops there)."""
    captured: list[LayerInput] = []

    def hook(_m: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        kw = dict(kwargs)
        hidden = args[0] if args else kw.pop("hidden_states")
        captured.append((hidden.detach(), kw))
        raise _StopForward

    handle = layer0.register_forward_pre_hook(hook, with_kwargs=True)
    try:
        for ids in batches:
            with suppress(_StopForward):
                model(input_ids=ids, use_cache=False)
    finally:
        handle.remove()
    return captured


def run_layer(layer: nn.Module, hidden: torch.Tensor, kwargs: dict[str, Any]) -> torch.Tensor:
    out = layer(hidden, **kwargs)
    return out[0] if isinstance(out, (tuple, list)) else out


class LayerStatistics:
    """The statistics gathered for one layer: raw per distinct input, prepared on demand."""

    def __init__(self, statistic: Statistic | None, config: CompressionConfig) -> None:
        self.statistic = statistic
        self.config = config
        self.stats: dict[str, Any] = {}  # leader Linear -> statistic
        self.leader_of: dict[str, str] = {}  # Linear -> the first Linear fed the same input
        self._prepared: dict[str, Any] = {}

    def raw(self, name: str) -> Any:
        """The statistic of Linear ``name``'s input, as gathered."""
        return self.stats[self.leader_of[name]]

    def prepared(self, name: str) -> Any:
        """The statistic of ``name``'s input, prepared once per input; ``None`` without one."""
        if self.statistic is None:
            return None
        leader = self.leader_of[name]
        if leader not in self._prepared:
            prepare = self.statistic.prepare
            raw = self.stats[leader]
            self._prepared[leader] = raw if prepare is None else prepare(raw, self.config)
        return self._prepared[leader]


@contextmanager
def collect_statistics(
    named: dict[str, nn.Linear], found: LayerStatistics, calibration_tokens: int
) -> Iterator[Callable[[], None]]:
    """Hooks gathering ``found.statistic`` per distinct Linear input; yields ``end_batch``,
    to call after each batch (inputs are matched by address within one batch)."""
    statistic = found.statistic
    seen: dict[tuple[int, tuple[int, ...]], tuple[str, torch.Tensor]] = {}

    def make_hook(name: str) -> Callable[..., None]:
        def hook(_m: nn.Module, args: tuple[Any, ...]) -> None:
            assert statistic is not None
            x = args[0]
            key = (x.data_ptr(), tuple(x.shape))
            if key in seen:  # the same tensor as an earlier Linear's input (q/k/v, gate/up)
                found.leader_of[name] = seen[key][0]
                return
            seen[key] = (name, x)  # the reference keeps the address from being reused
            found.leader_of[name] = name
            if name not in found.stats:
                found.stats[name] = statistic.empty(x.shape[-1], calibration_tokens)
            found.stats[name] = statistic.add(found.stats[name], x)

        return hook

    handles = (
        [m.register_forward_pre_hook(make_hook(n)) for n, m in named.items()]
        if statistic is not None
        else []
    )
    try:
        yield seen.clear
    finally:
        for h in handles:
            h.remove()


@contextmanager
def single_thread() -> Iterator[None]:
    """Run the column-by-column kernels on one thread: their many small operations are
    dominated by thread synchronisation otherwise (measured 20-80x slower on 2 busy cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def compress_layer(
    layer: nn.Module,
    prefix: str,
    method: Method,
    config: CompressionConfig,
    found: LayerStatistics,
    qparams: dict[str, QuantizedWeight],
) -> None:
    """Compress the Linears of one layer in place (recording quantization parameters)."""
    if method.before_layer is not None:
        method.before_layer(layer, found.raw, config)
    for name, lin in linears(layer).items():
        result = method.apply(lin.weight, found.prepared(name), config)
        if isinstance(result, QuantizedWeight):
            qparams[f"{prefix}.{name}"] = result
            result = result.weight
        with torch.no_grad():
            lin.weight.copy_(result.to(lin.weight.dtype))


def compress_model_in_place(
    model: nn.Module,
    config: CompressionConfig,
    calibration: CalibrationSet | None,
    *,
    batch_size: int = 8,
    progress: bool = False,
) -> dict[str, QuantizedWeight]:
    """Compress the Linears of every decoder layer of ``model``; returns the quantization
    parameters per Linear (empty for pruning)."""
    from tqdm.auto import tqdm

    method = config.spec
    layers = decoder_layers(model)
    config.check_divides(
        {
            f"model.layers.{i}.{name}": lin.in_features
            for i, layer in enumerate(layers)
            for name, lin in linears(layer).items()
        }
    )
    qparams: dict[str, QuantizedWeight] = {}
    model.eval()
    bar = tqdm(total=len(layers), desc=f"{config.method}: layers", disable=not progress)
    # Methods without calibration have no inputs: no statistics, nothing to propagate.
    inputs: list[LayerInput] = []
    tokens = 0
    with torch.no_grad():
        if method.calibrates:
            if calibration is None:
                raise ConfigError(f"{config.method} needs calibration data")
            ids = calibration.input_ids
            batches = [ids[k : k + batch_size] for k in range(0, ids.shape[0], batch_size)]
            inputs = capture_first_inputs(model, layers[0], batches)
            tokens = int(ids.numel())
        for i, layer in enumerate(layers):
            found = LayerStatistics(method.statistic, config)
            t0 = time.perf_counter()
            with collect_statistics(linears(layer), found, tokens) as end_batch:
                for hidden, kw in inputs:
                    run_layer(layer, hidden, kw)
                    end_batch()
            t1 = time.perf_counter()
            with single_thread():
                compress_layer(layer, f"model.layers.{i}", method, config, found, qparams)
            t2 = time.perf_counter()
            inputs = [(run_layer(layer, hidden, kw), kw) for hidden, kw in inputs]
            if method.calibrates:
                logger.debug(
                    "layer %d: statistics %.2f s, compression %.2f s, propagation %.2f s",
                    i,
                    t1 - t0,
                    t2 - t1,
                    time.perf_counter() - t2,
                )
            bar.update(1)
    bar.close()
    return qparams


def measured_sparsity(model: nn.Module) -> float:
    """Share of zeros over the Linears of the decoder layers."""
    zeros = total = 0
    for layer in decoder_layers(model):
        for lin in linears(layer).values():
            zeros += int((lin.weight == 0).sum())
            total += lin.weight.numel()
    return zeros / max(total, 1)
