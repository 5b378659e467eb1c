"""Make two compressed copies of a model with plain torch, for measuring the quick suite.

Not a compression method of the library (``acbench compress`` is): a stand-in for tests and
measurements until it lands. Writes ``OUT/magnitude-s50`` (unstructured 50% magnitude
pruning of every linear layer inside the decoder blocks, per output row) and
``OUT/rtn-w8`` (round-to-nearest 8-bit symmetric per-output-channel fake quantization,
stored as float32), each with an ``acbench_compression.json`` metadata file.

    python benchmarks/make_test_variants.py --model default --out /tmp/variants
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from acbench_env.core.models import resolve_model, weights_sha256


def _block_linears(model: torch.nn.Module) -> list[torch.nn.Linear]:
    return [
        m for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and ".layers." in n
    ]


@torch.no_grad()
def magnitude_prune(model: torch.nn.Module, sparsity: float) -> None:
    for lin in _block_linears(model):
        w = lin.weight
        k = int(w.shape[1] * sparsity)
        if k == 0:
            continue
        idx = w.abs().argsort(dim=1)[:, :k]
        w.scatter_(1, idx, 0.0)


@torch.no_grad()
def rtn_quantize(model: torch.nn.Module, bits: int) -> None:
    qmax = 2 ** (bits - 1) - 1
    for lin in _block_linears(model):
        w = lin.weight
        scale = w.abs().amax(dim=1, keepdim=True).clamp(min=1e-8) / qmax
        w.copy_((w / scale).round().clamp(-qmax - 1, qmax) * scale)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    src = resolve_model(args.model)
    source_sha = weights_sha256(src)
    out = Path(args.out)
    recipes = {
        "magnitude-s50": (
            {"method": "magnitude", "sparsity": 0.5, "pattern": "unstructured"},
            lambda m: magnitude_prune(m, 0.5),
        ),
        "rtn-w8": (
            {"method": "rtn", "bits": 8, "group_size": None, "symmetric": True},
            lambda m: rtn_quantize(m, 8),
        ),
    }
    for name, (meta, apply) in recipes.items():
        model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32)
        apply(model)
        target = out / name
        model.save_pretrained(target)
        AutoTokenizer.from_pretrained(src).save_pretrained(target)
        record = {
            **meta,
            "source_model": str(args.model),
            "source_model_sha256": source_sha,
            "engine": "benchmarks/make_test_variants.py (plain torch stand-in)",
        }
        (target / "acbench_compression.json").write_text(json.dumps(record, indent=2))
        print(f"{name} -> {target}")


if __name__ == "__main__":
    main()
