"""Suite throughput against the backend's raw throughput (vLLM offline engine, one model).

One vLLM engine serves three measurements, side by side in this process:

1. ``today``: the suite as before continuous batching across tasks: one task at a time,
   ``--old-batch`` (8) episodes in flight (``order="task"``);
2. ``suite``: the suite with every task's episodes in flight together, up to
   ``--batch-size`` (``order="model"``, the default now);
3. ``raw``: every request the ``suite`` run sent, replayed in one ``generate`` call (no
   environments, no waiting for other episodes: what the engine can do on these prompts).

Generated tokens per second of each; ends with ``ratio suite/raw=<x>`` (target >= 0.8) and
the same ratio for ``today``. Needs vLLM (``acbench-env[vllm]``; ~5 GB of RAM on CPU).

    nice python benchmarks/suite_throughput.py [--model default] [--tasks Needle,BFCL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from acbench_env.core.suites import get_suite
from acbench_env.experiments.suite import run_suite


class Recording:
    """Passes requests to the backend and keeps them (with the tokens generated)."""

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.name, self.model_id = backend.name, backend.model_id
        self.compression = backend.compression
        self.requests: list[Any] = []
        self.tokens = 0
        self.calls = 0

    def generate(self, requests: Sequence[Any]) -> list[Any]:
        out = self.backend.generate(requests)
        self.requests.extend(requests)
        self.tokens += sum(len(c.token_ids) for c in out)
        self.calls += 1
        return out  # type: ignore[no-any-return]

    def close(self) -> None:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--suite", default="quick")
    parser.add_argument("--tasks", default="", help="only rows whose env id contains one of these")
    parser.add_argument("--batch-size", type=int, default=64, help="episodes in flight now")
    parser.add_argument("--old-batch", type=int, default=8, help="episodes in flight before")
    parser.add_argument("--kv-cache-gb", type=float, default=2.0)
    args = parser.parse_args()

    import acbench_env.core.registry as registry
    from acbench_env.agents import LLMPolicyAgent
    from acbench_env.agents.backends import create_backend

    suite = get_suite(args.suite)
    if args.tasks:
        wanted = [t.strip() for t in args.tasks.split(",") if t.strip()]
        rows = tuple(t for t in suite.tasks if any(w in t.env_id for w in wanted))
        suite = replace(suite, name=f"{suite.name}-subset", tasks=rows, all_envs=False)
    ids = sorted(t.env_id for t in suite.tasks)
    registry.env_ids = lambda: ids  # type: ignore[assignment]
    episodes = sum(t.episodes * t.repeats for t in suite.tasks)
    t0 = time.perf_counter()
    backend = create_backend(
        "vllm", model=args.model, kv_cache_gb=args.kv_cache_gb, max_num_seqs=args.batch_size
    )
    print(
        f"suite {suite.name}: {len(suite.tasks)} tasks, {episodes} episodes; vLLM up in "
        f"{time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    entries = [{"label": "m", "model": args.model, "backend": "vllm", "weights_sha256": "-"}]

    def run(order: str, batch: int, out: Path) -> tuple[Recording, float]:
        rec = Recording(backend)

        def factory(entry: Any, task: Any, repeat: int) -> Any:
            return LLMPolicyAgent(
                rec, max_new_tokens=task.max_new_tokens, temperature=task.temperature
            )

        t = time.perf_counter()
        run_suite(
            [args.model],
            suite,
            out,
            agent_factory=factory,
            model_entries=entries,
            batch_size=batch,
            order=order,
        )
        return rec, time.perf_counter() - t

    with tempfile.TemporaryDirectory() as tmp:
        old, old_s = run("task", args.old_batch, Path(tmp) / "today")
        print(
            f"today: {old.tokens} tokens in {old_s:.1f} s = {old.tokens / old_s:.1f} tok/s "
            f"({old.calls} generate calls)",
            flush=True,
        )
        new, new_s = run("model", args.batch_size, Path(tmp) / "suite")
        print(
            f"suite: {new.tokens} tokens in {new_s:.1f} s = {new.tokens / new_s:.1f} tok/s "
            f"({new.calls} generate calls)",
            flush=True,
        )
    t = time.perf_counter()
    raw_out = backend.generate(new.requests)
    raw_s = time.perf_counter() - t
    raw_tokens = sum(len(c.token_ids) for c in raw_out)
    raw = raw_tokens / raw_s
    print(
        f"raw:   {raw_tokens} tokens in {raw_s:.1f} s = {raw:.1f} tok/s "
        f"({len(new.requests)} requests in one call)"
    )
    backend.close()
    print(f"ratio today/raw={old.tokens / old_s / raw:.3f}")
    print(f"ratio suite/raw={new.tokens / new_s / raw:.3f}")


if __name__ == "__main__":
    main()
