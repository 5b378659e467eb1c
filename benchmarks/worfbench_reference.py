"""Compare our WorfBench upstream mode with the reference evaluator on gold replays.

Each gold workflow of each subset is scored against itself (a "gold replay"): node F1 and
graph F1 per item, by our ``score_workflow(mode="upstream", similarity="embedding")`` and
by the reference's own ``t_eval_nodes`` / ``t_eval_graph`` (with its parser
``workflow_to_graph_list``) run with ``sentence-transformers`` on the same embedding model
(the packaged all-MiniLM-L6-v2).

1. ``python benchmarks/worfbench_reference.py ours DATA_DIR OUT.json`` (project venv);
2. ``REF_VENV/bin/python benchmarks/worfbench_reference.py reference WORFBENCH_DIR DATA_DIR
   REF.json`` in a virtualenv with ``sentence-transformers`` (and this package importable),
   where ``WORFBENCH_DIR`` is a checkout of the WorfBench repository (``evaluator/`` and
   ``node_eval.py``); its generation-only imports are stubbed;
3. ``python benchmarks/worfbench_reference.py compare OUT.json REF.json``;
4. ``python benchmarks/worfbench_reference.py fixture REF.json FIXTURE.json``: the
   reference's per-item scores (``tests/scoring/data/worfbench_reference_gold_replays.json``,
   which ``tests/scoring/test_workflow_reference.py`` checks our upstream mode against).

``DATA_DIR`` holds ``<subset>/graph_eval.json`` (``../shared/data/worfbench``).
"""

from __future__ import annotations

import json
import sys
import time
import types
from pathlib import Path

SUBSETS = ("alfworld", "lumos", "os", "toolbench", "webshop", "wikihow")


def _golds(data_dir: str) -> dict[str, list[tuple[str, str]]]:
    out = {}
    for subset in SUBSETS:
        path = Path(data_dir) / subset / "graph_eval.json"
        if not path.is_file():
            continue
        items = json.loads(path.read_text())
        out[subset] = [(str(it["id"]), it["conversations"][-1]["content"]) for it in items]
    return out


def ours(data_dir: str, out_path: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from acbench_env.scoring.workflow import score_workflow

    results: dict[str, list[dict[str, object]]] = {}
    start = time.perf_counter()
    for subset, golds in _golds(data_dir).items():
        rows = []
        for item_id, gold in golds:
            r = score_workflow(gold, gold, mode="upstream", similarity="embedding")
            parsed = r["parse_error"] is None
            rows.append(
                {
                    "id": item_id,
                    "node_f1": r["node_f1"] if parsed else None,
                    "graph_f1": r["graph_f1"] if parsed else None,
                }
            )
        results[subset] = rows
        print(f"{subset}: {len(rows)} items, {time.perf_counter() - start:.0f} s")
    Path(out_path).write_text(json.dumps(results))


def reference(worfbench_dir: str, data_dir: str, out_path: str) -> None:
    # node_eval.py imports the generation client and prompts, which scoring never uses.
    for name, attr in (("LLM.localLLM", "localLLM"), ("prompts.eval_prompt", "two_shot_example")):
        module = types.ModuleType(name)
        setattr(module, attr, None)
        sys.modules[name] = module
    sys.path.insert(0, worfbench_dir)
    from evaluator.graph_evaluator import (  # type: ignore[import-not-found]
        t_eval_graph,
        t_eval_nodes,
    )
    from node_eval import workflow_to_graph_list  # type: ignore[import-not-found]
    from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

    from acbench_env.scoring.workflow import embedding_model_dir

    model = SentenceTransformer(str(embedding_model_dir()), device="cpu")
    results: dict[str, list[dict[str, object]]] = {}
    start = time.perf_counter()
    for subset, golds in _golds(data_dir).items():
        rows = []
        for item_id, gold in golds:
            graph = workflow_to_graph_list(gold)
            if graph == []:  # the reference skips an unparsed prediction
                rows.append({"id": item_id, "node_f1": None, "graph_f1": None})
                continue
            node = t_eval_nodes(workflow_to_graph_list(gold), graph, model)
            edge = t_eval_graph(workflow_to_graph_list(gold), graph, model)
            rows.append(
                {
                    "id": item_id,
                    "node_f1": float(node["f1_score"]),
                    "graph_f1": float(edge["f1_score"]),
                }
            )
        results[subset] = rows
        print(f"{subset}: {len(rows)} items, {time.perf_counter() - start:.0f} s")
    Path(out_path).write_text(json.dumps(results))


def _mean(rows: list[dict[str, object]], key: str) -> float:
    """Mean over all items, an unparsed one counting 0 (the reference divides by all)."""
    values = [float(r[key]) for r in rows if r[key] is not None]  # type: ignore[arg-type]
    return sum(values) / len(rows) if rows else 0.0


def compare(ours_path: str, ref_path: str) -> None:
    a, b = json.loads(Path(ours_path).read_text()), json.loads(Path(ref_path).read_text())
    total = same_node = same_graph = 0
    for subset in SUBSETS:
        rows_a, rows_b = a[subset], b[subset]
        n = len(rows_b)
        node = sum(x["node_f1"] == y["node_f1"] for x, y in zip(rows_a, rows_b))
        graph = sum(x["graph_f1"] == y["graph_f1"] for x, y in zip(rows_a, rows_b))

        print(
            f"{subset:10s} n={n:4d} node F1 equal {node:4d}/{n} (mean ours {_mean(rows_a, 'node_f1'):.6f}"
            f" ref {_mean(rows_b, 'node_f1'):.6f}); graph F1 equal {graph:4d}/{n} (mean ours "
            f"{_mean(rows_a, 'graph_f1'):.6f} ref {_mean(rows_b, 'graph_f1'):.6f})"
        )
        for x, y in zip(rows_a, rows_b):
            if x != y:
                print("   differs:", x, y)
        total, same_node, same_graph = total + n, same_node + node, same_graph + graph
    print(f"all: node F1 equal on {same_node}/{total}, graph F1 equal on {same_graph}/{total}")


def fixture(ref_path: str, out_path: str) -> None:
    ref = json.loads(Path(ref_path).read_text())
    out = {
        subset: [[r["id"], r["node_f1"], r["graph_f1"]] for r in rows]
        for subset, rows in ref.items()
    }
    Path(out_path).write_text(json.dumps(out, indent=0) + "\n")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    commands = {"ours": ours, "reference": reference, "compare": compare, "fixture": fixture}
    commands[command](*args)
