"""Rollout throughput vs the backend's raw throughput, on the same episodes, in one run.

For N episodes of an environment (default: Needle) and one backend it measures, in
generated tokens per second:
  (b) batched     run_episodes(batch_size=N): every step, all pending requests in one call
  (a) raw         backend.generate on exactly the prompts those episodes produced (rebuilt
                  from the batched run's trajectories), all in one call: the engine's ceiling
  (c) sequential  run_episodes(batch_size=1): one episode, one request at a time
and ends with the line ``ratio batched/raw=<x> batched/sequential=<y>``.

    # CPU vLLM, 32 parallel episodes (the offline engine in this process):
    .venv/bin/python benchmarks/rollout_throughput.py --backend vllm --episodes 32
    # against a running server (acbench serve --model default --port 8000):
    .venv/bin/python benchmarks/rollout_throughput.py --backend openai --episodes 32
    # the transformers backend:
    .venv/bin/python benchmarks/rollout_throughput.py --backend transformers --episodes 16
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import acbench_env  # noqa: F401
from acbench_env.agents import LLMPolicyAgent
from acbench_env.agents.backends import create_backend
from acbench_env.core.protocols import GenerationRequest
from acbench_env.core.rollout_tokens import assemble_episode
from acbench_env.core.types import Message
from acbench_env.experiments.runner import RunResult, run_episodes


def step_requests(
    result: RunResult, max_new_tokens: int, record_tokens: bool = False
) -> list[GenerationRequest]:
    """The exact request of every step of every episode (conversation up to that step)."""
    out = []
    for traj in result.trajectories:
        history: list[Message] = list(traj.few_shot_messages)
        for step in traj.steps:
            history.append({"role": "user", "content": step.observation})
            out.append(
                GenerationRequest(
                    messages=tuple(history),
                    max_new_tokens=max_new_tokens,
                    logprobs=record_tokens,
                    return_token_ids=record_tokens,
                )
            )
            history.append({"role": "assistant", "content": step.raw_output})
    return out


def tokens_of(result: RunResult) -> int:
    return sum(s.completion_tokens or 0 for t in result.trajectories for s in t.steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--backend", default="vllm", choices=("vllm", "openai", "transformers"))
    parser.add_argument("--base-url", default="http://127.0.0.1:8000/v1")
    parser.add_argument("--env", default="acbench/Needle-v0")
    parser.add_argument("--env-args", default='{"context_length": 256}', help="JSON object")
    parser.add_argument("--episodes", type=int, default=32, help="also the batch size")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument(
        "--record-tokens",
        action="store_true",
        help="record token ids and logprobs in every step, and time the assembly of each "
        "episode's token sequence (acbench rollouts) as part of the batched run",
    )
    args = parser.parse_args()

    env_kwargs: dict[str, Any] = json.loads(args.env_args)
    kwargs: dict[str, Any] = {"model": "default"}
    if args.backend == "openai":
        kwargs["base_url"] = args.base_url
    elif args.backend == "vllm":
        kwargs["max_model_len"] = 4096
    else:
        kwargs["batch_size"] = args.episodes
    t0 = time.perf_counter()
    backend = create_backend(args.backend, **kwargs)
    startup = time.perf_counter() - t0
    agent = LLMPolicyAgent(
        backend, max_new_tokens=args.max_new_tokens, record_tokens=args.record_tokens
    )
    tok = getattr(backend, "tokenizer", None)
    if args.record_tokens and tok is None:
        from transformers import AutoTokenizer

        from acbench_env.core.models import resolve_model

        tok = AutoTokenizer.from_pretrained(resolve_model("default"))
    warm = GenerationRequest(messages=({"role": "user", "content": "Hi"},), max_new_tokens=4)
    backend.generate([warm] * 4)

    results: dict[str, tuple[int, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:

        def rollout(label: str, batch: int) -> RunResult:
            t = time.perf_counter()
            res = run_episodes(
                args.env,
                agent,
                episodes=args.episodes,
                seed=0,
                out=Path(tmp) / f"{label}.jsonl",
                env_kwargs=env_kwargs,
                batch_size=batch,
            )
            if args.record_tokens:
                for traj in res.trajectories:
                    assemble_episode(traj, lambda s: tok(s, add_special_tokens=False)["input_ids"])
            results[label] = (tokens_of(res), time.perf_counter() - t)
            return res

        # One untimed pass first: the engine's first batch of a new shape pays one-time costs
        # (kernel selection, allocations) that would otherwise land on whichever runs first.
        warmup = rollout("warmup", args.episodes)
        requests = step_requests(warmup, args.max_new_tokens, args.record_tokens)
        backend.generate(requests)
        batched = rollout("batched", args.episodes)
        t = time.perf_counter()
        raw = backend.generate(step_requests(batched, args.max_new_tokens, args.record_tokens))
        results["raw"] = (sum(len(c.token_ids) for c in raw), time.perf_counter() - t)
        sequential = rollout("sequential", 1)
    backend.close()

    same = [s.raw_output for t in batched.trajectories for s in t.steps] == [
        s.raw_output for t in sequential.trajectories for s in t.steps
    ]
    tps = {k: n / s for k, (n, s) in results.items()}
    print(
        f"{args.episodes} episodes of {args.env} {env_kwargs}, max_new_tokens "
        f"{args.max_new_tokens}, default model, backend {args.backend} (start-up {startup:.1f} s)"
        f"{', token records on' if args.record_tokens else ''}"
    )
    for label in ("raw", "batched", "sequential"):
        n, s = results[label]
        print(f"  {label:<11} {tps[label]:8.1f} generated tok/s  ({n} tokens in {s:.2f} s)")
    print(f"  batched and sequential actions identical: {same}")
    print(
        f"ratio batched/raw={tps['batched'] / tps['raw']:.3f} "
        f"batched/sequential={tps['batched'] / tps['sequential']:.3f}"
    )


if __name__ == "__main__":
    main()
