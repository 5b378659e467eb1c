"""Compress the default model with every method and compare it with the base model.

For each method (one subprocess each, so that peak memory is per method) prints wall time,
process CPU time, peak resident memory, checkpoint size, measured sparsity of the decoder
Linears, and perplexity on a fixed project-written text (``EVAL_TEXT``), next to the base
model's perplexity. Run it with ``nice`` on a shared machine:

    nice -n 10 .venv/bin/python benchmarks/compression.py [--methods rtn,wanda] [--keep DIR]

Checkpoints go to a temporary folder unless ``--keep`` names one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# name -> (method, settings)
VARIANTS: dict[str, tuple[str, dict[str, object]]] = {
    "rtn-w8": ("rtn", {"bits": 8, "group_size": 64}),
    "rtn-w4g64": ("rtn", {"bits": 4, "group_size": 64}),
    "gptq-w4g64": ("gptq", {"bits": 4, "group_size": 64}),
    "awq-w4g64": ("awq", {"bits": 4, "group_size": 64}),
    "magnitude-50": ("magnitude", {"sparsity": 0.5}),
    "wanda-50": ("wanda", {"sparsity": 0.5}),
    "sparsegpt-50": ("sparsegpt", {"sparsity": 0.5}),
    "magnitude-2:4": ("magnitude", {"pattern": "2:4"}),
    "wanda-2:4": ("wanda", {"pattern": "2:4"}),
    "sparsegpt-2:4": ("sparsegpt", {"pattern": "2:4"}),
}

CHILD = r"""
import json, resource, sys, time
from acbench_env.compression import CompressionConfig
from acbench_env.compression.pipeline import compress
method, settings, out, samples, seq_len = json.loads(sys.argv[1])
t0, c0 = time.perf_counter(), time.process_time()
r = compress("default", method, CompressionConfig(method=method, **settings), "builtin", out,
             samples=samples, seq_len=seq_len, overwrite=True)
print(json.dumps({"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "sparsity": r.metadata["measured_sparsity"]}))
"""

PPL = r"""
import json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
from acbench_env.compression.calibration import EVAL_TEXT
from acbench_env.compression.evaluate import perplexity
from acbench_env.core.models import resolve_model
path = resolve_model(sys.argv[1])
model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
tok = AutoTokenizer.from_pretrained(path)
print(json.dumps({"ppl": perplexity(model, tok, EVAL_TEXT)}))
"""


def _run(code: str, arg: str) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, "-c", code, arg], capture_output=True, text=True, env=dict(os.environ)
    )
    if proc.returncode != 0:
        raise SystemExit(f"failed ({arg}):\n{proc.stderr[-3000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.glob("*.safetensors")) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(VARIANTS), help="comma-separated variants")
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--keep", default=None, help="folder to keep the checkpoints in")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args()
    names = [n.strip() for n in args.methods.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise SystemExit(f"unknown variants {unknown}; choose from {', '.join(VARIANTS)}")
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="acbench-compress-"))
    root.mkdir(parents=True, exist_ok=True)
    from acbench_env.core.models import default_model_dir

    base_dir = default_model_dir()
    load = os.getloadavg()[0]
    base = _run(PPL, "default")["ppl"]
    rows = [
        {
            "variant": "base",
            "wall_s": None,
            "cpu_s": None,
            "peak_mb": None,
            "size_mb": _size_mb(base_dir),
            "sparsity": None,
            "ppl": base,
        }
    ]
    print(f"base perplexity {base:.2f} (load average at start {load:.1f})", flush=True)
    for name in names:
        method, settings = VARIANTS[name]
        out = root / name.replace(":", "of")
        started = time.perf_counter()
        stats = _run(CHILD, json.dumps([method, settings, str(out), args.samples, args.seq_len]))
        ppl = _run(PPL, str(out))["ppl"]
        row = {"variant": name, **stats, "size_mb": _size_mb(out), "ppl": ppl}
        rows.append(row)
        print(
            f"{name}: {stats['wall_s']:.0f} s wall, {stats['cpu_s']:.0f} s CPU, "
            f"peak {stats['peak_mb']:.0f} MB, {row['size_mb']:.0f} MB, sparsity "
            f"{stats['sparsity']:.3f}, ppl {ppl:.2f} "
            f"({time.perf_counter() - started:.0f} s with evaluation)",
            flush=True,
        )
    header = "| variant | wall s | CPU s | peak MB | size MB | sparsity | perplexity | vs base |"
    print()
    print(header)
    print("|" + "---|" * 8)
    for r in rows:

        def f(key: str, fmt: str, r: dict[str, object] = r) -> str:
            v = r[key]
            return "-" if v is None else format(v, fmt)

        ratio = f"{r['ppl'] / base:.2f}x"  # type: ignore[operator]
        print(
            f"| {r['variant']} | {f('wall_s', '.0f')} | {f('cpu_s', '.0f')} | {f('peak_mb', '.0f')} "
            f"| {f('size_mb', '.0f')} | {f('sparsity', '.3f')} | {f('ppl', '.2f')} | {ratio} |"
        )
    print(f"\nload average at end {os.getloadavg()[0]:.1f}; checkpoints in {root}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
