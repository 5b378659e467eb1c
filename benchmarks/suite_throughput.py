"""Suite throughput against the backend's raw throughput (vLLM offline engine, one model).

One vLLM engine serves these measurements, side by side in this process:

1. ``today`` (only with ``--today``): the suite as before continuous batching across tasks:
   one task at a time, ``--old-batch`` (8) episodes in flight (``order="task"``);
2. ``lockstep``: every task's episodes in flight together, up to ``--batch-size``, stepped
   in lockstep: one ``generate`` call per step for all episodes in flight, so every step
   waits for the batch's longest reply (the runner before it kept the engine fed);
3. ``lanes``: each episode's next request joins the running engine as soon as its previous
   one is answered (``submit`` / ``collect``), episodes started in lane order (the runner
   before it started the longest chains first);
4. ``suite``: the same, the way the runner runs it now: episodes with the longest possible
   chain of steps first;
5. ``raw``: every request the ``suite`` run sent, replayed in one ``generate`` call (no
   environments, no waiting for other episodes: what the engine can do on these prompts).

Fair comparison: the model is loaded, and every task's environment built and reset once
(imports, tokenizers), before any timing; vLLM's prefix cache is emptied
before each measurement (the replay would otherwise find every prompt cached by the suite
run); rendering the chat template and tokenizing count in all of them (``raw`` renders and
tokenizes its requests inside its ``generate`` call too); only the suite runs step
environments. Generated tokens per second of each; ends with ``ratio suite/raw=<x>``
(target >= 0.8), the same ratio for ``lockstep``, ``lanes`` (and ``today``), and how many episodes'
greedy outputs differ between ``lockstep`` and ``suite`` (batch composition). Needs vLLM
(``acbench-env[vllm]``; ~5 GB of RAM on CPU).

    nice python benchmarks/suite_throughput.py [--model default] [--tasks Needle,BFCL] [--today]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from acbench_env.core.jsonl import step_values
from acbench_env.core.suites import get_suite
from acbench_env.experiments.runner import _Episodes
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


class StreamRecording(Recording):
    """A :class:`Recording` that also passes the streaming calls on (so the runner keeps the
    engine fed); a plain :class:`Recording` makes the runner step in lockstep."""

    def __init__(self, backend: Any) -> None:
        super().__init__(backend)
        self.in_flight = 0
        self.since = time.perf_counter()
        self.seconds_at: dict[int, float] = {}  # seconds spent with n requests in flight

    def _count(self, change: int) -> None:
        now = time.perf_counter()
        n = self.in_flight
        self.seconds_at[n] = self.seconds_at.get(n, 0.0) + now - self.since
        self.in_flight, self.since = n + change, now

    def submit(self, key: Any, request: Any) -> None:
        self.backend.submit(key, request)
        self.requests.append(request)
        self._count(+1)

    def collect(self) -> list[Any]:
        out = self.backend.collect()
        self.tokens += sum(len(c.token_ids) for _, c in out)
        self.calls += 1
        self._count(-len(out))
        return out  # type: ignore[no-any-return]

    def tail(self, most: int) -> float:
        """Seconds spent with 1 to ``most`` requests in flight."""
        return sum(s for n, s in self.seconds_at.items() if 0 < n <= most)

    def cancel(self) -> None:
        self.backend.cancel()


def raw_outputs(out: Path) -> dict[tuple[str, int], list[str]]:
    return step_values(out, "raw_output")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--suite", default="quick")
    parser.add_argument("--tasks", default="", help="only rows whose env id contains one of these")
    parser.add_argument("--batch-size", type=int, default=64, help="episodes in flight now")
    parser.add_argument("--old-batch", type=int, default=8, help="episodes in flight before")
    parser.add_argument("--kv-cache-gb", type=float, default=2.0)
    parser.add_argument("--today", action="store_true", help="also run one task at a time")
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
    for task in suite.tasks:  # imports and tokenizer loads: not counted in either run
        env = registry.make(task.env_id, **dict(task.env_kwargs))
        env.reset(seed=suite.seed)
        env.close()
    entries = [{"label": "m", "model": args.model, "backend": "vllm", "weights_sha256": "-"}]

    def run(
        order: str, batch: int, out: Path, stream: bool, lane_order: bool = False
    ) -> tuple[Recording, float]:
        rec = (StreamRecording if stream else Recording)(backend)

        def factory(entry: Any, task: Any, repeat: int) -> Any:
            return LLMPolicyAgent(
                rec, max_new_tokens=task.max_new_tokens, temperature=task.temperature
            )

        backend.llm.reset_prefix_cache()
        chain_tokens = _Episodes.chain_tokens
        if lane_order:  # every lane ties: the stable sort keeps lane order, seed order
            _Episodes.chain_tokens = lambda self, li: 0  # type: ignore[method-assign]
        t = time.perf_counter()
        try:
            run_suite(
                [args.model],
                suite,
                out,
                agent_factory=factory,
                model_entries=entries,
                batch_size=batch,
                order=order,
            )
        finally:
            _Episodes.chain_tokens = chain_tokens  # type: ignore[method-assign]
        return rec, time.perf_counter() - t

    def show(name: str, rec: Recording, seconds: float) -> float:
        rate = rec.tokens / seconds
        print(
            f"{name}: {rec.tokens} tokens in {seconds:.1f} s = {rate:.1f} tok/s "
            f"({rec.calls} engine calls, {len(rec.requests)} requests)",
            flush=True,
        )
        return rate

    rates: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if args.today:
            old, old_s = run("task", args.old_batch, Path(tmp) / "today", stream=False)
            rates["today"] = show("today", old, old_s)
        lock, lock_s = run("model", args.batch_size, Path(tmp) / "lockstep", stream=False)
        rates["lockstep"] = show("lockstep", lock, lock_s)
        lanes, lanes_s = run("model", args.batch_size, Path(tmp) / "lanes", True, True)
        rates["lanes"] = show("lanes", lanes, lanes_s)
        assert isinstance(lanes, StreamRecording)
        print(f"lanes: {lanes.tail(4):.1f} s with 1-4 requests in flight")
        new, new_s = run("model", args.batch_size, Path(tmp) / "suite", stream=True)
        rates["suite"] = show("suite", new, new_s)
        assert isinstance(new, StreamRecording)
        print(
            f"suite: {new.tail(4):.1f} s with 1-4 requests in flight, {new.tail(16):.1f} s "
            f"with 1-16 (the tail: the episodes with the longest chains of steps)"
        )
        chain = max(
            (sum(n or 0 for n in steps), len(steps), key)
            for key, steps in step_values(Path(tmp) / "suite", "completion_tokens").items()
        )
        print(
            f"longest chain: {chain[2][0]} seed {chain[2][1]}, {chain[1]} steps, {chain[0]} "
            "tokens generated one after another (raw decodes at most one request's tokens)"
        )
        before, after = raw_outputs(Path(tmp) / "lockstep"), raw_outputs(Path(tmp) / "suite")
        differ = sorted(k for k in before if before[k] != after.get(k))
        in_lanes = raw_outputs(Path(tmp) / "lanes")
        differ_lanes = sorted(k for k in before if in_lanes[k] != after.get(k))
    backend.llm.reset_prefix_cache()
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
    print(
        f"greedy outputs that differ between lockstep and suite: {len(differ)} of "
        f"{len(before)} episodes"
        + (": " + ", ".join(f"{e} seed {s}" for e, s in differ) if differ else "")
    )
    print(
        f"greedy outputs that differ between lanes and suite: {len(differ_lanes)} of "
        f"{len(before)} episodes"
    )
    for name in ("today", "lockstep", "lanes"):
        if name in rates:
            print(f"ratio {name}/raw={rates[name] / raw:.3f}")
    print(f"ratio suite/raw={rates['suite'] / raw:.3f}")


if __name__ == "__main__":
    main()
