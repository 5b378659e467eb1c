"""Time workflow scoring: N perturbed predictions scored against their gold workflows.

Gold workflows come from WorfBench's files (``--data-dir``, the folder holding
``<subset>/graph_eval.json``) or, without it, from ``acbench/Workflow-v0``. Each prediction
is a seeded perturbation of its gold (reworded, dropped and invented nodes, rewired edges,
both node formats), so the embedding model really has to run on most node texts.

    python benchmarks/workflow_scoring.py --n 1000 [--data-dir ../shared/data/worfbench]
    taskset -c 0,1 python benchmarks/workflow_scoring.py   # on a 2-core budget

Prints the model load time and, side by side in one run, the scoring time of the N
workflows (embeddings cached per text, the cache emptied before each cold run) pair by pair
with ``score_workflow`` and all at once with ``score_workflows`` (one length-sorted
embedding pass over every node text), then a pass with the cache warm. The model forward
pass dominates, so run it on an otherwise idle machine: on 2 busy cores torch's threads
contend and the cold figure grows many times over.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from pathlib import Path

from acbench_env.scoring.workflow import (
    START,
    Workflow,
    parse_workflow,
    resolve_similarity,
    score_workflow,
    score_workflows,
)

SUBSETS = ("alfworld", "lumos", "os", "toolbench", "webshop", "wikihow")
FILLERS = ("carefully", "first", "then", "quickly", "again", "if needed")


def gold_workflows(data_dir: Path | None, n: int) -> list[Workflow]:
    out: list[Workflow] = []
    if data_dir is not None:
        for subset in SUBSETS:
            for item in json.loads((data_dir / subset / "graph_eval.json").read_text()):
                wf = parse_workflow(item["conversations"][-1]["content"]).workflow
                if wf is not None:
                    out.append(wf)
    else:
        from acbench_env.environments.workflow.generator import WorkflowEnv

        env = WorkflowEnv(level=3, num_tasks=n, few_shot=0, similarity="lexical")
        out = [env.make_task(i).gold for i in range(n)]
    return out


def reword(text: str, rng: random.Random) -> str:
    words = text.rstrip(".").split()
    choice = rng.random()
    if choice < 0.3 and len(words) > 3:
        del words[rng.randrange(len(words))]
    elif choice < 0.6 and len(words) > 2:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    elif choice < 0.8:
        words.insert(rng.randrange(len(words) + 1), rng.choice(FILLERS))
    else:
        words = [w.lower() for w in words]
    return " ".join(words)


def perturb(gold: Workflow, rng: random.Random) -> str:
    keep = [i for i in range(len(gold.nodes)) if rng.random() > 0.1] or [0]
    texts = [reword(gold.nodes[i], rng) if rng.random() < 0.7 else gold.nodes[i] for i in keep]
    if rng.random() < 0.3:
        texts.append(f"Double-check the result of step {rng.randrange(1, 9)} {rng.choice(FILLERS)}")
    new_id = {old: k + 1 for k, old in enumerate(keep)}
    edges = []
    for u, v in gold.edges:
        a = u if isinstance(u, str) else new_id.get(u)
        b = v if isinstance(v, str) else new_id.get(v)
        if a is not None and b is not None and rng.random() > 0.1:
            edges.append((a, b))
    if len(texts) > len(keep):
        edges.append((len(keep), len(texts)))
    if not any(u == START for u, _ in edges):
        edges.append((START, 1))
    sep = rng.choice(["1.", "1: ", "1. "])
    lines = ["Node:"] + [sep.replace("1", str(k + 1)) + t for k, t in enumerate(texts)]
    lines.append("Edges: " + " ".join(f"({a},{b})" for a, b in edges))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--mode", choices=["fixed", "upstream"], default="fixed")
    parser.add_argument("--similarity", default="embedding")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    golds = gold_workflows(args.data_dir, args.n)
    rng = random.Random(args.seed)
    pairs = [(perturb(g, rng), g) for g in (golds[i % len(golds)] for i in range(args.n))]

    t0 = time.perf_counter()
    sim = resolve_similarity(args.similarity)
    sim.matrix(["warm up"], ["the model"])
    load_s = time.perf_counter() - t0
    threads = "n/a"
    if args.similarity != "lexical":
        import torch

        threads = str(torch.get_num_threads())

    def clear_cache() -> None:
        cache = getattr(sim, "_cache", None)
        if cache is not None:
            cache.clear()

    clear_cache()
    t0 = time.perf_counter()
    results = [
        score_workflow(p, g, mode=args.mode, similarity=sim)  # type: ignore[arg-type]
        for p, g in pairs
    ]
    per_pair_s = time.perf_counter() - t0
    clear_cache()
    t0 = time.perf_counter()
    batched = score_workflows(pairs, args.mode, similarity=sim)  # type: ignore[arg-type]
    batch_s = time.perf_counter() - t0
    if batched != results:
        raise SystemExit("score_workflows and score_workflow disagree")
    t0 = time.perf_counter()
    score_workflows(pairs, args.mode, similarity=sim)  # type: ignore[arg-type]
    warm_s = time.perf_counter() - t0
    node_f1 = sum(r["node_f1"] for r in results) / len(results)
    graph_f1 = sum(r["graph_f1"] for r in results) / len(results)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"similarity={sim.name} mode={args.mode} n={args.n} cpus={cpus} torch_threads={threads} "
        f"source={'worfbench' if args.data_dir else 'Workflow-v0 level 3'}"
    )
    print(f"model load + warm-up: {load_s:.1f} s")
    print(
        f"scoring {args.n} workflows, cold cache: pair by pair {per_pair_s:.1f} s "
        f"({1000 * per_pair_s / args.n:.1f} ms each), score_workflows {batch_s:.1f} s "
        f"(ratio {per_pair_s / max(batch_s, 1e-9):.2f}); warm cache: {warm_s:.2f} s"
    )
    print(f"mean node F1 {node_f1:.3f}, mean graph F1 {graph_f1:.3f} (perturbed predictions)")


if __name__ == "__main__":
    main()
