"""Rollout throughput vs the backend's raw throughput, on the same prompts, in one run.

For N Needle episodes it measures, with the transformers backend and the default model:
  raw@1      backend.generate on the episodes' prompts one at a time
  raw@B      backend.generate on the same prompts in batches of B
  runner@1   run_episodes(batch_size=1): env reset/step, parsing, records, file writes
  runner@B   run_episodes(batch_size=B)
and prints generated tokens per second for each and the ratios runner/raw (overhead of the
rollout layer) and @B/@1 (batching speed-up).

    .venv/bin/python benchmarks/rollout_throughput.py --episodes 16 --batch 8 --context 512
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import gymnasium

import acbench_env  # noqa: F401
from acbench_env.agents import LLMPolicyAgent
from acbench_env.agents.backends import create_backend
from acbench_env.agents.backends.base import GenerationRequest
from acbench_env.core.runner import run_episodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--context", type=int, default=512)
    parser.add_argument("--max-new-tokens", type=int, default=32)
    args = parser.parse_args()

    env_kwargs = {"context_length": args.context}
    env = gymnasium.make("acbench/Needle-v0", **env_kwargs)
    prompts = [env.reset(seed=s)[0] for s in range(args.episodes)]
    requests = [
        GenerationRequest(
            messages=({"role": "user", "content": p},), max_new_tokens=args.max_new_tokens
        )
        for p in prompts
    ]
    backend = create_backend("transformers", model="default", batch_size=args.batch)
    backend.generate(requests[:1])  # warm-up

    results: dict[str, float] = {}
    for label, bs in (("raw@1", 1), (f"raw@{args.batch}", args.batch)):
        backend.batch_size = bs
        t0 = time.perf_counter()
        tokens = sum(len(c.token_ids) for c in backend.generate(requests))
        results[label] = tokens / (time.perf_counter() - t0)

    agent = LLMPolicyAgent(backend, max_new_tokens=args.max_new_tokens)
    with tempfile.TemporaryDirectory() as tmp:
        for label, bs in (("runner@1", 1), (f"runner@{args.batch}", args.batch)):
            backend.batch_size = bs
            t0 = time.perf_counter()
            res = run_episodes(
                "acbench/Needle-v0",
                agent,
                episodes=args.episodes,
                seed=0,
                out=Path(tmp) / f"{label}.jsonl",
                env_kwargs=env_kwargs,
                batch_size=bs,
            )
            tokens = sum(s.completion_tokens or 0 for t in res.trajectories for s in t.steps)
            results[label] = tokens / (time.perf_counter() - t0)

    b = args.batch
    print(
        f"{args.episodes} Needle episodes, context {args.context} tokens, "
        f"max_new_tokens {args.max_new_tokens}, default model, transformers backend (CPU)"
    )
    for label, tps in results.items():
        print(f"  {label:<10} {tps:8.1f} generated tok/s")
    print(f"  runner/raw at batch 1: {results['runner@1'] / results['raw@1']:.3f}")
    print(f"  runner/raw at batch {b}: {results[f'runner@{b}'] / results[f'raw@{b}']:.3f}")
    print(f"  batching speed-up, raw:    {results[f'raw@{b}'] / results['raw@1']:.2f}x")
    print(f"  batching speed-up, runner: {results[f'runner@{b}'] / results['runner@1']:.2f}x")


if __name__ == "__main__":
    main()
