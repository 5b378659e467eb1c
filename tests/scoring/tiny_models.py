"""Tiny randomly initialised Llama models that share the default model's tokenizer (no downloads)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "chat_template.jinja",
    "generation_config.json",
)


def make_tiny_model(
    out: Path, *, seed: int = 0, noise: float = 0.0, compression: dict | None = None
) -> Path:
    """A 2-layer Llama with the default tokenizer; ``noise`` perturbs every block weight
    (a stand-in for compression); ``compression`` is written as acbench_compression.json."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from acbench_env.core.models import default_model_dir

    src = default_model_dir()
    vocab = json.loads((src / "config.json").read_text())["vocab_size"]
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
        if noise:
            with torch.no_grad():
                for name, p in model.named_parameters():
                    if ".layers." in name and p.dim() == 2:
                        p.add_(noise * torch.randn_like(p))
    model.save_pretrained(out)
    for f in _TOKENIZER_FILES:
        if (src / f).is_file():
            shutil.copy(src / f, out / f)
    if compression is not None:
        (out / "acbench_compression.json").write_text(json.dumps(compression))
    return out
