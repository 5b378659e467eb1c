"""Quick checks of a compressed model: perplexity on a fixed text, sparsity of its layers."""

from __future__ import annotations

import math
from typing import Any

import torch


@torch.no_grad()
def perplexity(model: Any, tokenizer: Any, text: str, window: int = 1024) -> float:
    """Perplexity of ``model`` on ``text``: exp of the mean next-token loss over
    non-overlapping windows of ``window`` tokens (no special tokens added)."""
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    device = next(model.parameters()).device
    total, count = 0.0, 0
    for start in range(0, ids.shape[1] - 1, window):
        chunk = ids[:, start : start + window].to(device)
        if chunk.shape[1] < 2:
            break
        out = model(input_ids=chunk, labels=chunk, use_cache=False)
        n = chunk.shape[1] - 1
        total += float(out.loss) * n
        count += n
    return math.exp(total / max(count, 1))
