"""Native tool calling versus tools in the prompt, on one real vLLM server, side by side.

Starts ``acbench serve`` for the default model (vLLM; on a CPU it takes ~30 s and ~4.7 GB)
unless ``--base-url`` names a running one, then runs ``acbench/FunctionCall-v0`` with the same
seed and tasks in both tool formats: ``prompt`` (tools listed in the prompt text, calls read
from the text) and ``native`` (tools sent as the chat API's ``tools``, calls read from the
server's ``tool_calls``, text fallback). Prints per format: call accuracy, format failures,
the share of answers whose calls came from ``tool_calls``, and the paired difference.

    nice -n 10 .venv/bin/python benchmarks/native_tools.py [--episodes 20] [--difficulty 0]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from acbench_env.agents import LLMPolicyAgent
from acbench_env.agents.backends import create_backend
from acbench_env.agents.serve import ServerConfig, VLLMServer, free_port
from acbench_env.experiments.runner import run_episodes


def _run(base_url: str, settings: dict[str, Any], fmt: str, args: argparse.Namespace) -> list:
    backend = create_backend(
        "openai", model="default", base_url=base_url, timeout=args.timeout, **settings
    )
    try:
        res = run_episodes(
            "acbench/FunctionCall-v0",
            LLMPolicyAgent(backend),
            episodes=args.episodes,
            seed=args.seed,
            env_kwargs={"tool_format": fmt, "difficulty": args.difficulty},
            batch_size=args.episodes,
        )
    finally:
        backend.close()
    return list(res.trajectories)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--difficulty", type=int, default=0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds per request (a loaded machine)"
    )
    ap.add_argument("--base-url", default=None, help="a running acbench serve (default: start one)")
    args = ap.parse_args()

    server = None
    cfg = ServerConfig(model="default", port=free_port(), kv_cache_gb=1, max_model_len=2048)
    if args.base_url is None:
        log = Path(tempfile.mkdtemp()) / "vllm.log"
        server = VLLMServer(cfg, log=log)
        t0 = time.perf_counter()
        server.__enter__()
        print(f"vLLM ready in {time.perf_counter() - t0:.1f} s (log {log})")
        base_url = server.base_url
    else:
        base_url = args.base_url
    settings = cfg.client_settings()
    try:
        results = {}
        for fmt in ("prompt", "native"):
            t0 = time.perf_counter()
            trajs = _run(base_url, settings, fmt, args)
            results[fmt] = (trajs, time.perf_counter() - t0)
    finally:
        if server is not None:
            server.stop()

    print(
        f"\nFunctionCall-v0, default model, vLLM CPU, difficulty {args.difficulty}, "
        f"{args.episodes} episodes, seed {args.seed}, parser {settings['tool_parser']}"
    )
    print(f"{'format':8} {'accuracy':>9} {'format fail':>12} {'from tool_calls':>16} {'time s':>7}")
    scores: dict[str, list[float]] = {}
    for fmt, (trajs, wall) in results.items():
        steps = [t.steps[0] for t in trajs]
        scores[fmt] = [t.score for t in trajs]
        acc = sum(scores[fmt]) / len(trajs)
        fails = sum(s.format_failure for s in steps) / len(steps)
        native = sum("api_tool_calls" in s.info for s in steps) / len(steps)
        print(f"{fmt:8} {acc:9.3f} {fails:12.3f} {native:16.3f} {wall:7.1f}")
    by_cat: dict[str, dict[str, list[float]]] = {}
    for fmt, (trajs, _) in results.items():
        for t in trajs:
            by_cat.setdefault(t.steps[0].info["category"], {}).setdefault(fmt, []).append(t.score)
    for cat, per in sorted(by_cat.items()):
        cells = "  ".join(f"{f} {sum(v) / len(v):.2f} (n={len(v)})" for f, v in per.items())
        print(f"  {cat:12} {cells}")
    diff = [n - p for p, n in zip(scores["prompt"], scores["native"])]
    print(
        f"native - prompt: {sum(diff) / len(diff):+.3f} (paired over the same tasks; "
        f"native better on {sum(d > 0 for d in diff)}, worse on {sum(d < 0 for d in diff)})"
    )


if __name__ == "__main__":
    main()
