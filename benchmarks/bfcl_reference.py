"""Compare our BFCL checker's verdicts with the reference (gorilla) AST checker's.

Three steps, because the reference runs in its own virtualenv (``pip install bfcl-eval``
there, never in the project's; ``--no-deps`` is enough, the checker needs no SDK):

1. ``python benchmarks/bfcl_reference.py export DATA_DIR OUT.jsonl`` (project venv): every
   labelled candidate answer of ``tests/tools/bfcl_mutations.py`` for every item of every
   category in ``DATA_DIR``, with our verdicts in both modes;
2. ``REF_VENV/bin/python benchmarks/bfcl_reference.py reference OUT.jsonl REF.jsonl``: the
   reference checker's verdicts (its model table is stubbed: importing it pulls every
   provider SDK, and the checker reads only ``underscore_to_dot``, false here);
3. ``python benchmarks/bfcl_reference.py compare OUT.jsonl REF.jsonl``: agreement per mode,
   per category and per candidate label, and every disagreement of the upstream mode;
4. ``python benchmarks/bfcl_reference.py fixture OUT.jsonl REF.jsonl FIXTURE.json``: the
   reference's verdicts, per category, as a string of 0/1 in candidate order with a hash
   of the candidate labels (``tests/tools/data/bfcl_reference_verdicts.json``, which
   ``tests/tools/test_bfcl_modes.py`` checks our upstream mode against).

Relevance categories are judged as the reference's runner does (a decoded, non-empty list
of calls is "a call"); an answer that did not parse is a decoder failure.
"""

from __future__ import annotations

import collections
import json
import sys
import types
from pathlib import Path


def export(data_dir: str, out_path: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from acbench_env.tools.bfcl import bfcl_categories_in, check_answer, load_bfcl
    from tests.tools.bfcl_mutations import candidates

    n = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for category in bfcl_categories_in(data_dir):
            for item in load_bfcl(data_dir, category):
                for k, (label, calls) in enumerate(candidates(item)):
                    row = {
                        "key": f"{item.id}#{k}",
                        "id": item.id,
                        "label": label,
                        "category": category,
                        "functions": list(item.functions),
                        "ground_truth": list(item.ground_truth),
                        "calls": None if calls is None else [{c.name: c.arguments} for c in calls],
                    }
                    for mode in ("fixed", "upstream"):
                        result = check_answer(
                            item.functions, calls, item.ground_truth, mode=mode, category=category
                        )
                        row[mode] = result.valid
                    out.write(json.dumps(row) + "\n")
                    n += 1
    print(f"{n} candidates -> {out_path}")


def reference(in_path: str, out_path: str) -> None:
    stub = types.ModuleType("bfcl_eval.constants.model_config")

    class _Config:
        underscore_to_dot = False

    class _Table(dict):  # type: ignore[type-arg]
        def __getitem__(self, key: object) -> _Config:
            return _Config()

    stub.MODEL_CONFIG_MAPPING = _Table()  # type: ignore[attr-defined]
    sys.modules["bfcl_eval.constants.model_config"] = stub
    from bfcl_eval.constants.enums import Language  # type: ignore[import-not-found]
    from bfcl_eval.eval_checker.ast_eval.ast_checker import (  # type: ignore[import-not-found]
        ast_checker,
    )

    languages = {
        "python": Language.PYTHON,
        "java": Language.JAVA,
        "javascript": Language.JAVASCRIPT,
    }
    with open(in_path, encoding="utf-8") as src, open(out_path, "w", encoding="utf-8") as out:
        for line in src:
            row = json.loads(line)
            category, calls = row["category"], row["calls"]
            verdict: dict[str, object] = {"key": row["key"]}
            if "relevance" in category:
                called = bool(calls) and not (len(calls) == 1 and not calls[0])
                verdict["valid"] = (not called) if "irrelevance" in category else called
            elif calls is None:
                verdict["valid"] = False
            else:
                language = (
                    "javascript"
                    if "javascript" in category
                    else "java"
                    if "java" in category
                    else "python"
                )
                try:
                    result = ast_checker(
                        row["functions"],
                        calls,
                        row["ground_truth"],
                        languages[language],
                        category,
                        "stub_model",
                    )
                    verdict["valid"] = bool(result["valid"])
                    verdict["error_type"] = result.get("error_type")
                except Exception as exc:  # the reference crashes on some inputs
                    verdict["valid"] = None
                    verdict["crash"] = f"{type(exc).__name__}: {exc}"
            out.write(json.dumps(verdict) + "\n")


def compare(ours_path: str, ref_path: str) -> None:
    ref = {}
    with open(ref_path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            ref[row["key"]] = row
    totals: collections.Counter[str] = collections.Counter()
    by_label: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    by_cat: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    mismatches = []
    with open(ours_path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            r = ref[row["key"]]
            if r["valid"] is None:
                totals["reference_crash"] += 1
                continue
            totals["n"] += 1
            label = row["label"].split(":")[0]
            for mode in ("fixed", "upstream"):
                same = row[mode] == r["valid"]
                totals[f"{mode}_agree"] += same
                by_label[label][f"{mode}_agree"] += same
                by_cat[row["category"]][f"{mode}_agree"] += same
            by_label[label]["n"] += 1
            by_cat[row["category"]]["n"] += 1
            if row["upstream"] != r["valid"]:
                mismatches.append((row["key"], row["label"], row["upstream"], r))
    n = totals["n"]
    print(f"candidates compared: {n} (reference crashed on {totals['reference_crash']})")
    for mode in ("fixed", "upstream"):
        agree = totals[f"{mode}_agree"]
        print(f"{mode:9s} agreement: {agree}/{n} = {100 * agree / n:.4f}%")
    print("per category (fixed / upstream agreement):")
    for cat, c in sorted(by_cat.items()):
        print(
            f"  {cat:24s} n={c['n']:6d} fixed={c['fixed_agree']:6d} upstream={c['upstream_agree']:6d}"
        )
    print("labels where fixed departs from the reference:")
    for label, c in sorted(by_label.items()):
        if c["fixed_agree"] != c["n"]:
            print(f"  {label:24s} n={c['n']:6d} fixed disagrees on {c['n'] - c['fixed_agree']}")
    for key, label, ours, r in mismatches[:50]:
        print("UPSTREAM MISMATCH", key, label, "ours", ours, "reference", r)


def fixture(ours_path: str, ref_path: str, out_path: str) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.tools.bfcl_mutations import labels_digest

    ref = {}
    with open(ref_path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            ref[row["key"]] = row["valid"]
    per: dict[str, dict[str, list[str]]] = collections.defaultdict(
        lambda: {"labels": [], "verdicts": []}
    )
    with open(ours_path, encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            entry = per[row["category"]]
            entry["labels"].append(f"{row['key']} {row['label']}")
            entry["verdicts"].append("1" if ref[row["key"]] else "0")
    out = {
        category: {
            "n": len(entry["labels"]),
            "labels_sha256": labels_digest(entry["labels"]),
            "verdicts": "".join(entry["verdicts"]),
        }
        for category, entry in per.items()
    }
    Path(out_path).write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    commands = {"export": export, "reference": reference, "compare": compare, "fixture": fixture}
    commands[command](*args)
