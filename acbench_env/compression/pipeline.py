"""``compress()``: model folder in, compressed checkpoint folder (+ metadata) out.

Calibration runs layer by layer, as in GPTQ and llm-compressor's sequential pipeline: the
inputs of the first decoder layer are captured once; then for each layer the statistics of
its Linear inputs are gathered (one pass), its Linears are compressed, and the compressed
layer's outputs become the next layer's inputs (a second pass). Linears that receive the
same input tensor (q/k/v, gate/up) share one set of statistics.

Quantized models are written as compressed-tensors ``pack-quantized`` checkpoints
(W{bits}A16, ``quantization_config`` in ``config.json``), which vLLM and transformers
(with the ``compressed-tensors`` package) load. Pruned models are written as dense
safetensors holding the zeros: vLLM's CPU backend refuses checkpoints that declare 2:4
sparsity, so the sparsity is recorded in the metadata instead of the config.

Everything is written into a temporary sibling folder, which is renamed to the output
folder only when complete, so a failed run leaves no checkpoint that looks valid.
"""

from __future__ import annotations

import datetime as _dt
import importlib.metadata
import json
import logging
import platform
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from acbench_env.compression import prune as P
from acbench_env.compression import quantize as Q
from acbench_env.compression.calibration import BUILTIN, CalibrationSet, load_calibration
from acbench_env.compression.config import CompressionConfig
from acbench_env.core.errors import (
    CompressionError,
    ConfigError,
    MissingDependencyError,
    ModelNotFoundError,
    OutputExistsError,
)
from acbench_env.core.fingerprint import COMPRESSION_METADATA_FILE
from acbench_env.core.models import resolve_model, weights_sha256

logger = logging.getLogger(__name__)

#: Tokens of a layer input kept for AWQ's scale search (evenly spaced over the set).
AWQ_LOSS_TOKENS = 512
METADATA_VERSION = 1


@dataclass(frozen=True)
class CompressionResult:
    """What :func:`compress` wrote."""

    out_dir: Path
    metadata: dict[str, Any]


# --- statistics gathered from a layer's Linear inputs -------------------------------------


@dataclass(frozen=True)
class AwqStats:
    """A sample of input rows (every ``awq_stride``-th token of each batch) for the loss."""

    rows: tuple[torch.Tensor, ...]

    @property
    def sample(self) -> torch.Tensor:
        return torch.cat(self.rows, dim=0)


def _make_stats(method: str, in_features: int) -> Any:
    if method in ("gptq", "sparsegpt"):
        return Q.make_empty_hessian(in_features)
    if method == "wanda":
        return P.make_empty_norms(in_features)
    if method == "awq":
        return AwqStats(())
    raise AssertionError(method)


def _accumulate(method: str, stats: Any, x: torch.Tensor, awq_stride: int) -> Any:
    if method in ("gptq", "sparsegpt"):
        return Q.accumulate_hessian(stats, x)
    if method == "wanda":
        return P.accumulate_norms(stats, x)
    flat = x.detach().reshape(-1, x.shape[-1]).float()
    return AwqStats((*stats.rows, flat[::awq_stride].clone()))


# --- model structure ------------------------------------------------------------------


def _decoder_layers(model: nn.Module) -> nn.ModuleList:
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if not isinstance(layers, nn.ModuleList) or len(layers) == 0:
        raise CompressionError(
            f"cannot find the decoder layers of {type(model).__name__} (expected "
            "model.model.layers, as in Llama, Mistral or Qwen models); use a Llama-style "
            "causal LM"
        )
    return layers


def _linears(layer: nn.Module) -> dict[str, nn.Linear]:
    return {n: m for n, m in layer.named_modules() if isinstance(m, nn.Linear)}


class _StopForward(Exception):
    pass


def _capture_first_inputs(
    model: nn.Module, layer0: nn.Module, batches: list[torch.Tensor]
) -> list[tuple[torch.Tensor, dict[str, Any]]]:
    captured: list[tuple[torch.Tensor, dict[str, Any]]] = []

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


def _run_layer(layer: nn.Module, hidden: torch.Tensor, kwargs: dict[str, Any]) -> torch.Tensor:
    out = layer(hidden, **kwargs)
    return out[0] if isinstance(out, (tuple, list)) else out


@contextmanager
def _collect_stats(
    linears: dict[str, nn.Linear], method: str, awq_stride: int
) -> Iterator[tuple[dict[str, Any], dict[str, str], Callable[[], None]]]:
    """Hooks gathering statistics per distinct input; yields (stats, leader_of, end_batch)."""
    stats: dict[str, Any] = {}
    leader_of: dict[str, str] = {}
    seen: dict[tuple[int, tuple[int, ...]], tuple[str, torch.Tensor]] = {}

    def make_hook(name: str) -> Callable[..., None]:
        def hook(_m: nn.Module, args: tuple[Any, ...]) -> None:
            x = args[0]
            key = (x.data_ptr(), tuple(x.shape))
            if key in seen:  # the same tensor as an earlier Linear's input (q/k/v, gate/up)
                leader_of[name] = seen[key][0]
                return
            seen[key] = (name, x)  # the reference keeps the address from being reused
            leader_of[name] = name
            if name not in stats:
                stats[name] = _make_stats(method, x.shape[-1])
            stats[name] = _accumulate(method, stats[name], x, awq_stride)

        return hook

    handles = [m.register_forward_pre_hook(make_hook(n)) for n, m in linears.items()]
    try:
        yield stats, leader_of, seen.clear
    finally:
        for h in handles:
            h.remove()


# --- per-layer compression ------------------------------------------------------------


def _set_weight(linear: nn.Linear, weight: torch.Tensor) -> None:
    with torch.no_grad():
        linear.weight.copy_(weight.to(linear.weight.dtype))


def _awq_fold(
    layer: nn.Module,
    stats: dict[str, Any],
    leader_of: dict[str, str],
    config: CompressionConfig,
) -> dict[str, float]:
    """Search and fold AWQ scales for the Llama-style mappings of one layer."""
    try:
        attn, mlp = layer.self_attn, layer.mlp
        mappings: list[tuple[nn.Module, list[str], str]] = [
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
    mods = dict(layer.named_modules())
    alphas: dict[str, float] = {}
    for prev, names, kind in mappings:
        st = stats[leader_of[names[0]]]
        weights = [mods[n].weight for n in names]
        s, alpha = Q.awq_search_scale(
            weights, st.sample, config.bits, config.group_size, config.symmetric, config.awq_grid
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


@contextmanager
def _single_thread() -> Iterator[None]:
    """Run the column-by-column kernels on one thread: their many small operations are
    dominated by thread synchronisation otherwise (measured 20-80x slower on 2 busy cores)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _compress_layer(
    layer: nn.Module,
    prefix: str,
    config: CompressionConfig,
    stats: dict[str, Any],
    leader_of: dict[str, str],
    qparams: dict[str, Q.QuantizedWeight],
) -> None:
    linears = _linears(layer)
    method = config.method
    if method == "awq":
        _awq_fold(layer, stats, leader_of, config)
    prepared: dict[str, Q.PreparedHessian] = {}

    def prepared_hessian(name: str) -> Q.PreparedHessian:
        """One inverse Hessian per distinct input (q/k/v, gate/up share their leader's)."""
        leader = leader_of[name]
        if leader not in prepared:
            prepared[leader] = Q.prepare_hessian(Q.hessian(stats[leader]), config.dampening)
        return prepared[leader]

    for name, lin in linears.items():
        w = lin.weight
        if config.is_quantization:
            if method == "gptq":
                qw = Q.gptq_quantize(
                    w,
                    prepared_hessian(name),
                    config.bits,
                    config.group_size,
                    config.symmetric,
                    block_size=config.block_size,
                )
            else:  # rtn, awq (its scales are folded in already)
                qw = Q.rtn_quantize(w, config.bits, config.group_size, config.symmetric)
            qparams[f"{prefix}.{name}"] = qw
            new = qw.weight
        elif method == "magnitude":
            new = P.magnitude_prune(w, config.sparsity, config.pattern)
        elif method == "wanda":
            new = P.wanda_prune(w, stats[leader_of[name]], config.sparsity, config.pattern)
        else:
            new = P.sparsegpt_prune(
                w,
                prepared_hessian(name),
                config.sparsity,
                config.pattern,
                block_size=config.block_size,
            )
        _set_weight(lin, new)


def compress_model_in_place(
    model: nn.Module,
    config: CompressionConfig,
    calibration: CalibrationSet | None,
    *,
    batch_size: int = 8,
    progress: bool = False,
) -> dict[str, Q.QuantizedWeight]:
    """Compress the Linears of every decoder layer of ``model``; returns the quantization
    parameters per Linear (empty for pruning)."""
    from tqdm.auto import tqdm

    layers = _decoder_layers(model)
    config.check_divides(
        {
            f"model.layers.{i}.{name}": lin.in_features
            for i, layer in enumerate(layers)
            for name, lin in _linears(layer).items()
        }
    )
    qparams: dict[str, Q.QuantizedWeight] = {}
    model.eval()
    bar = tqdm(total=len(layers), desc=f"{config.method}: layers", disable=not progress)
    # Methods without calibration have no inputs: no statistics, nothing to propagate.
    inputs: list[tuple[torch.Tensor, dict[str, Any]]] = []
    awq_stride = 1
    with torch.no_grad():
        if config.needs_calibration:
            if calibration is None:
                raise ConfigError(f"{config.method} needs calibration data")
            ids = calibration.input_ids
            batches = [ids[k : k + batch_size] for k in range(0, ids.shape[0], batch_size)]
            inputs = _capture_first_inputs(model, layers[0], batches)
            awq_stride = max(1, int(ids.numel()) // AWQ_LOSS_TOKENS)
        for i, layer in enumerate(layers):
            linears = _linears(layer)
            t0 = time.perf_counter()
            with _collect_stats(linears, config.method, awq_stride) as (stats, leader_of, end):
                for hidden, kw in inputs:
                    _run_layer(layer, hidden, kw)
                    end()
            t1 = time.perf_counter()
            with _single_thread():
                _compress_layer(layer, f"model.layers.{i}", config, stats, leader_of, qparams)
            t2 = time.perf_counter()
            inputs = [(_run_layer(layer, hidden, kw), kw) for hidden, kw in inputs]
            if config.needs_calibration:
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


# --- checkpoint writing ---------------------------------------------------------------


def _require_compressed_tensors() -> None:
    import importlib.util

    if importlib.util.find_spec("compressed_tensors") is None:
        raise MissingDependencyError(
            "compressed-tensors", "compress", "Writing a quantized checkpoint"
        )


def _write_quantized(
    model: nn.Module, qparams: dict[str, Q.QuantizedWeight], config: CompressionConfig, out: Path
) -> None:
    """Save as a compressed-tensors pack-quantized checkpoint (weights W{bits}A16)."""
    _require_compressed_tensors()
    from compressed_tensors.compressors import ModelCompressor
    from compressed_tensors.quantization import (
        QuantizationArgs,
        QuantizationConfig,
        QuantizationScheme,
        QuantizationStatus,
        QuantizationStrategy,
        QuantizationType,
        apply_quantization_config,
    )

    strategy = (
        QuantizationStrategy.CHANNEL if config.group_size is None else QuantizationStrategy.GROUP
    )
    args = QuantizationArgs(
        num_bits=config.bits,
        type=QuantizationType.INT,
        strategy=strategy,
        group_size=config.group_size,
        symmetric=config.symmetric,
        dynamic=False,
    )
    targets = sorted(qparams)
    qconfig = QuantizationConfig(
        config_groups={"group_0": QuantizationScheme(targets=["Linear"], weights=args)},
        ignore=[
            n for n, m in model.named_modules() if isinstance(m, nn.Linear) and n not in qparams
        ],
        quantization_status=QuantizationStatus.FROZEN,
    )
    apply_quantization_config(model, qconfig)
    modules = dict(model.named_modules())
    with torch.no_grad():
        for name in targets:
            mod, qw = modules[name], qparams[name]
            scale = qw.scale.to(mod.weight_scale.dtype).reshape(mod.weight_scale.shape)
            mod.weight_scale.copy_(scale)
            if hasattr(mod, "weight_zero_point"):
                zp = qw.zero_point.to(mod.weight_zero_point.dtype)
                mod.weight_zero_point.copy_(zp.reshape(mod.weight_zero_point.shape))
    compressor = ModelCompressor.from_pretrained_model(model, quantization_format="pack-quantized")
    compressor.compress_model(model)
    model.save_pretrained(out)
    compressor.update_config(str(out))


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("acbench-env", "torch", "transformers", "compressed-tensors", "safetensors"):
        try:
            out[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def measured_sparsity(model: nn.Module) -> float:
    """Share of zeros over the Linears of the decoder layers."""
    zeros = total = 0
    for layer in _decoder_layers(model):
        for lin in _linears(layer).values():
            zeros += int((lin.weight == 0).sum())
            total += lin.weight.numel()
    return zeros / max(total, 1)


def reproduce_command(
    model: str, config: CompressionConfig, calibration: CalibrationSet | None, out: str
) -> str:
    parts = ["acbench", "compress", "--method", config.method]
    if config.is_quantization:
        parts += ["--bits", str(config.bits), "--group-size", str(config.group_size or -1)]
        if not config.symmetric:
            parts.append("--asymmetric")
    else:
        parts += ["--sparsity", str(config.sparsity), "--pattern", config.pattern]
    if calibration is not None:
        src = BUILTIN if calibration.source == BUILTIN else calibration.source.removeprefix("file:")
        parts += ["--calib", src, "--samples", str(calibration.samples)]
        parts += ["--seq-len", str(calibration.seq_len)]
    return " ".join([*parts, model, out])


def _load_model(path: Path, model_arg: str) -> tuple[nn.Module, Any]:
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    try:
        hf_config = AutoConfig.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"{model_arg!r} has no readable config.json: {exc}") from exc
    archs = list(getattr(hf_config, "architectures", None) or [])
    if not any(a.endswith("ForCausalLM") for a in archs):
        raise ModelNotFoundError(
            f"{model_arg!r} is not a causal language model (architectures: {archs or 'none'}); "
            "pass 'default' or a *ForCausalLM model folder"
        )
    if getattr(hf_config, "quantization_config", None) is not None:
        raise CompressionError(
            f"{model_arg!r} is already quantized; compress the original (unquantized) model"
        )
    try:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise ModelNotFoundError(f"could not load {model_arg!r} as a causal LM: {exc}") from exc
    return model, tokenizer


def compress(
    model: str | Path,
    method: str,
    config: CompressionConfig | None = None,
    calibration: str = BUILTIN,
    out_dir: str | Path = "",
    *,
    samples: int = 32,
    seq_len: int = 256,
    overwrite: bool = False,
    progress: bool = False,
    batch_size: int = 8,
) -> CompressionResult:
    """Compress ``model`` (``"default"`` or a model folder) with ``method`` into ``out_dir``.

    ``config`` holds the method's settings (defaults: W4, group 64, symmetric; 50%
    unstructured sparsity); ``calibration`` is ``"builtin"`` or a text / JSON Lines file,
    cut into ``samples`` windows of ``seq_len`` tokens. Returns the output folder and its
    metadata (also written as ``acbench_compression.json``).
    """
    started = time.perf_counter()
    config = config or CompressionConfig(method=method)
    if config.method != method:
        raise ConfigError(f"method {method!r} differs from the config's {config.method!r}")
    if not str(out_dir):
        raise ConfigError("an output folder is needed (out_dir)")
    out = Path(out_dir).expanduser()
    if out.exists() and not overwrite:
        raise OutputExistsError(
            f"output folder {str(out)!r} exists already; choose another or pass --overwrite"
        )
    if config.is_quantization:
        _require_compressed_tensors()
    path = resolve_model(model)
    hf_model, tokenizer = _load_model(path, str(model))
    calib = (
        load_calibration(calibration, tokenizer, samples, seq_len)
        if config.needs_calibration
        else None
    )
    source_sha = weights_sha256(path)
    logger.info("compressing %s with %s", model, config.method)
    qparams = compress_model_in_place(
        hf_model, config, calib, batch_size=batch_size, progress=progress
    )
    with _single_thread():
        sparsity = measured_sparsity(hf_model)

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        if config.is_quantization:
            with _single_thread():  # packing: many small element-wise operations
                _write_quantized(hf_model, qparams, config, tmp)
            fmt = f"compressed-tensors pack-quantized (W{config.bits}A16)"
        else:
            hf_model.save_pretrained(tmp)
            fmt = (
                "dense safetensors holding the zeros (sparsity not declared in config.json: "
                "vLLM's CPU backend refuses 2:4-declared checkpoints, so it serves them dense)"
            )
        tokenizer.save_pretrained(tmp)
        settings = config.record()
        meta: dict[str, Any] = {
            "format_version": METADATA_VERSION,
            "method": config.method,
            "bits": settings.get("bits"),
            "group_size": settings.get("group_size"),
            "symmetric": settings.get("symmetric"),
            "sparsity": settings.get("sparsity"),
            "pattern": settings.get("pattern"),
            "settings": settings,
            "calibration": calib.record() if calib is not None else None,
            "measured_sparsity": round(sparsity, 6),
            "checkpoint_format": fmt,
            "serve_dense": not config.is_quantization,
            "serve_hint": (
                "vLLM on CPU: load with dtype bfloat16 (its W4A16/W8A16 CPU kernel has no "
                "float32 path)"
                if config.is_quantization
                else "any backend, dense"
            ),
            "engine": "acbench-env kernels (acbench_env.compression)",
            "source_model": str(model),
            "source_model_sha256": source_sha,
            "libraries": _versions(),
            "wall_time_s": round(time.perf_counter() - started, 2),
            "created_utc": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "command": reproduce_command(str(model), config, calib, str(out)),
        }
        (tmp / COMPRESSION_METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        if out.exists():
            trash = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            out.rename(trash / out.name)
            tmp.rename(out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    logger.info("wrote %s in %.1f s", out, meta["wall_time_s"])
    return CompressionResult(out, meta)
