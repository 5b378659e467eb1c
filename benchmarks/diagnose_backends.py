"""Where vLLM's prompt logprobs give the same numbers as the transformers replay.

Runs ``acbench diagnose`` twice on the same base trajectories and variants, once on the
transformers backend (full distributions) and once on vLLM (prompt logprobs, top-k), at
one activation dtype for every model on both backends, and prints per variant how far the
two agree (:func:`acbench_env.scoring.diagnostics.backend_agreement`): the share of output
tokens with the same top-1 token, the same top-1 verdict, the same rank of the base token,
the absolute difference of its logprob, and vLLM's top-k KL lower bound against the full
KL. Writes both records and the comparison as JSON with ``--out``.

    PYTHONPATH=. python benchmarks/diagnose_backends.py --dtype float32 \\
        --compressed default /work/variants/wanda-50 --labels self wanda-50
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from acbench_env.experiments.diagnose import diagnose, load_trajectories
from acbench_env.scoring.diagnostics import backend_agreement

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "tests" / "scoring" / "data" / "diagnose_base.jsonl"


def _flat(record: dict[str, Any], label: str) -> dict[str, list[Any]]:
    steps = record["variants"][label]["steps"]
    return {
        "pred": [p for s in steps for p in s["pred_id"]],
        "rank": [r for s in steps for r in s["rank"]],
        "logprob": [x for s in steps for x in s["logprob"]],
        "kl": [x for s in steps for x in s["kl"]],
    }


def compare(hf: dict[str, Any], vl: dict[str, Any]) -> dict[str, Any]:
    """Per variant: :func:`backend_agreement` plus the KL figures of both records."""
    out: dict[str, Any] = {}
    for label in hf["variants"]:
        a, b = _flat(hf, label), _flat(vl, label)
        row = backend_agreement(a, b)
        kl_full, kl_topk = np.asarray(a["kl"]), np.asarray(b["kl"])
        row.update(
            {
                "top1_agreement_transformers": hf["variants"][label]["classes"]["all"][
                    "top1_agreement"
                ],
                "top1_agreement_vllm": vl["variants"][label]["classes"]["all"]["top1_agreement"],
                "kl_full_mean": float(kl_full.mean()),
                "kl_topk_mean": float(kl_topk.mean()),
                "kl_topk_over_full": (
                    float(kl_topk.mean() / kl_full.mean()) if kl_full.mean() > 0 else None
                ),
            }
        )
        out[label] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default="default")
    ap.add_argument("--compressed", nargs="+", required=True)
    ap.add_argument("--labels", nargs="+", default=None)
    ap.add_argument(
        "--trajectories", nargs="+", default=[str(BASE)], help="suite folders or .jsonl files"
    )
    ap.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    ap.add_argument(
        "--vllm-dtype",
        default=None,
        choices=("auto", "float32", "bfloat16"),
        help="vLLM's dtype when it differs from --dtype (auto: bfloat16 for quantized "
        "checkpoints, float32 otherwise: each backend's own default)",
    )
    ap.add_argument("--topk", type=int, default=20)
    ap.add_argument("--out", default=None, help="write both records and the comparison here")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    trajs = load_trajectories(args.trajectories)
    common = {"labels": args.labels, "resamples": 50}
    hf = diagnose(
        args.base, args.compressed, trajs, backend="transformers", dtype=args.dtype, **common
    )
    vl = diagnose(
        args.base,
        args.compressed,
        trajs,
        backend="vllm",
        topk=args.topk,
        dtype=args.vllm_dtype or args.dtype,
        **common,
    )
    result = compare(hf, vl)
    print(f"vLLM dtypes {vl['dtype']}; transformers dtypes {hf['dtype']}")
    for label, row in result.items():
        print(
            f"{label}: {row['tokens']} tokens; same top-1 token {row['same_top1_token']:.4f}, "
            f"same top-1 verdict {row['same_top1_verdict']:.4f}, same rank "
            f"{row['same_rank']:.4f} (within 1: {row['rank_within_1']:.4f}); |d logprob| mean "
            f"{row['logprob_abs_diff_mean']:.2e} p99 {row['logprob_abs_diff_p99']:.2e} max "
            f"{row['logprob_abs_diff_max']:.2e}; top-1 agreement hf "
            f"{row['top1_agreement_transformers']:.4f} vllm {row['top1_agreement_vllm']:.4f}; "
            f"KL full {row['kl_full_mean']:.4f}, vLLM top-{args.topk} bound "
            f"{row['kl_topk_mean']:.4f}"
        )
    if args.out:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "dtype_transformers": hf["dtype"],
                    "dtype_vllm": vl["dtype"],
                    "topk": args.topk,
                    "tokens": hf["timing"]["tokens"],
                    "trajectories": args.trajectories,
                    "comparison": result,
                },
                indent=1,
                sort_keys=True,
            )
            + "\n"
        )


if __name__ == "__main__":
    main()
