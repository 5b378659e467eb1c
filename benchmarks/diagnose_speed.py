"""Teacher-forced diagnostics throughput against plain prefill, side by side in one run.

Replays base-model trajectories (``--trajectories``: suite folders or .jsonl files) with
:func:`acbench_env.experiments.diagnose.diagnose` against ``--variants`` compressed models
(default: four, the issue's GPTQ/AWQ/Wanda/magnitude count; copies of the base when no
folders are given, which costs the same compute), then times the transformers backend's
plain prefill (one forward pass, last-position logits only, the same batches) of the base
model over the same inputs. Both rates count the input tokens of every replayed output
(prompt + output) per model pass:

- diagnose: ``variants * tokens / wall`` (the wall time includes the base pass, run once per
  batch and shared by all variants, and the KL / rank computation);
- prefill: ``tokens / wall`` of one model.

    python benchmarks/diagnose_speed.py --trajectories base.jsonl [--compressed A B ...]

The phases alternate for ``--rounds`` rounds (diagnose, prefill, [generic], diagnose, ...)
and each phase's fastest round counts, so that load from other processes that comes and goes
during the run slows a phase's round without moving the ratio (every round's figures are
printed too). Prints ``ratio diagnose/prefill=<x>`` (the target is >= 0.7). ``--compare-generic`` also
times diagnose with the generic logits path (the model's forward with ``logits_to_keep``, LM
head on every kept position, padding included) in the same run, for the side-by-side ratio.
"""

from __future__ import annotations

import argparse
import importlib
import time

import torch

from acbench_env.agents.backends.transformers_backend import TransformersBackend
from acbench_env.experiments.diagnose import (
    _batches,
    _inputs,
    diagnose,
    load_trajectories,
    replay_items,
)


@torch.inference_mode()
def prefill_seconds(model, items, batches, pad: int) -> float:
    t0 = time.perf_counter()
    for batch in batches:
        chunk = [items[i] for i in batch]
        ids, mask, _ = _inputs(chunk, pad, next(model.parameters()).device)
        pos = (mask.cumsum(dim=1) - 1).clamp(min=0)
        model(input_ids=ids, attention_mask=mask, position_ids=pos, logits_to_keep=1)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="default")
    parser.add_argument("--compressed", nargs="*", default=None)
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--trajectories", nargs="+", required=True)
    parser.add_argument("--max-batch-tokens", type=int, default=8192)
    parser.add_argument("--compare-generic", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    variants = args.compressed or [args.base] * args.variants
    trajs = load_trajectories(args.trajectories)
    labels = [f"v{i}" for i in range(len(variants))]
    # (the package exports the function ``diagnose``, which shadows the module's name)
    diagnose_module = importlib.import_module("acbench_env.experiments.diagnose")

    def run_diagnose(generic: bool) -> dict:
        plain = diagnose_module._PLAIN_HEAD
        if generic:
            diagnose_module._PLAIN_HEAD = frozenset()
        try:
            return diagnose(
                args.base,
                variants,
                trajs,
                labels=labels,
                max_batch_tokens=args.max_batch_tokens,
                resamples=10,
            )
        finally:
            diagnose_module._PLAIN_HEAD = plain

    backend = TransformersBackend(args.base, batch_size=1)
    items = replay_items(trajs, backend.tokenizer)
    batches = _batches(items, args.max_batch_tokens)
    pad = backend.tokenizer.pad_token_id or 0
    prefill_seconds(backend.model, items, batches[:1], pad)  # warm-up
    tokens = sum(len(it.prompt_ids) + len(it.output_ids) - 1 for it in items)
    diag_s: list[float] = []
    prefill_s: list[float] = []
    generic_s: list[float] = []
    record: dict = {}
    for r in range(args.rounds):
        record = run_diagnose(generic=False)
        diag_s.append(record["timing"]["wall_s"])
        prefill_s.append(prefill_seconds(backend.model, items, batches, pad))
        line = f"round {r + 1}: diagnose {diag_s[-1]:.2f} s, prefill {prefill_s[-1]:.2f} s"
        if args.compare_generic:
            generic = run_diagnose(generic=True)
            generic_s.append(generic["timing"]["wall_s"])
            same = all(
                abs(generic["variants"][v]["classes"]["all"]["kl"] - rec["classes"]["all"]["kl"])
                < 1e-4
                for v, rec in record["variants"].items()
            )
            line += f", generic {generic_s[-1]:.2f} s (same per-class KL: {same})"
        print(line, flush=True)
    diag_rate = len(variants) * tokens / min(diag_s)
    prefill_rate = tokens / min(prefill_s)
    print(
        f"outputs {len(items)}, input tokens {tokens}, scored output tokens "
        f"{record['timing']['tokens']}, variants {len(variants)}, rounds {args.rounds} "
        "(fastest round of each phase)"
    )
    print(
        f"diagnose: {min(diag_s):.2f} s, {diag_rate:.0f} tok/s per model pass (variants x tokens)"
    )
    print(f"prefill:  {min(prefill_s):.2f} s, {prefill_rate:.0f} tok/s (base model, same batches)")
    if generic_s:
        generic_rate = len(variants) * tokens / min(generic_s)
        print(
            f"diagnose (generic logits path): {min(generic_s):.2f} s, {generic_rate:.0f} tok/s; "
            f"ratio generic/prefill={generic_rate / prefill_rate:.3f}"
        )
    print(f"ratio diagnose/prefill={diag_rate / prefill_rate:.3f}", flush=True)


if __name__ == "__main__":
    main()
