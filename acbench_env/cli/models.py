"""Commands that serve or compress a model: serve, compress."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from acbench_env.core.errors import (
    require,
)

logger = logging.getLogger("acbench_env.cli")


def cmd_serve(args: argparse.Namespace) -> int:
    from acbench_env.agents.serve import ServerConfig, VLLMServer

    cfg = ServerConfig(
        model=args.model,
        host=args.host,
        port=args.port,
        kv_cache_gb=args.kv_cache_gb,
        max_model_len=args.max_model_len,
        max_num_seqs=args.max_num_seqs,
        tool_parser=args.tool_parser,
        chat_template=args.chat_template,
    )
    parser = cfg.resolved_tool_parser()
    server = VLLMServer(cfg)
    try:
        server.start()
        server.wait_healthy(timeout_s=args.startup_timeout)
        print(
            f"serving {args.model!r} at {cfg.base_url} (OpenAI-compatible); use it with: acbench "
            f"run --backend openai --base-url {cfg.base_url} --model {args.model} "
            f"--tool-parser {parser or 'none'} --chat-template {cfg.template_file()} ...; tool "
            f"calls: {'auto, parser ' + parser if parser else 'off'}; Ctrl-C stops",
            file=sys.stderr,
            flush=True,
        )
        assert server.proc is not None
        code = server.proc.wait()
        print(f"acbench: error: the vLLM server exited with status {code}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("\nstopping the server", file=sys.stderr)
        return 0
    finally:
        server.stop()


def cmd_compress(args: argparse.Namespace) -> int:
    from acbench_env.compression.config import CompressionConfig
    from acbench_env.compression.methods import TUNABLES

    config = CompressionConfig(
        method=args.method,
        bits=args.bits,
        group_size=args.group_size,
        symmetric=not args.asymmetric,
        sparsity=args.sparsity,
        pattern=args.pattern,
        **{k: getattr(args, k) for k in TUNABLES if getattr(args, k) is not None},
    )
    require("torch", "hf", "acbench compress")
    from acbench_env.compression.pipeline import compress

    result = compress(
        args.model,
        args.method,
        config,
        args.calib,
        args.out,
        samples=args.samples,
        seq_len=args.seq_len,
        overwrite=args.overwrite,
        progress=not args.no_progress,
    )
    meta = result.metadata
    print(
        f"wrote {result.out_dir} ({meta['checkpoint_format']}); "
        f"measured sparsity {meta['measured_sparsity']:.4f}; {meta['wall_time_s']:.1f} s"
    )
    return 0


def add_parsers(sub: Any) -> None:
    """Add this group's subcommands to the ``acbench`` parser."""
    p = sub.add_parser("serve", help="serve a model with vLLM (OpenAI-compatible, 127.0.0.1)")
    p.add_argument("--model", default="default", help="'default' or a model folder")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--kv-cache-gb", type=int, default=2, help="VLLM_CPU_KVCACHE_SPACE (GiB)")
    p.add_argument("--max-model-len", type=int, default=None)
    p.add_argument("--max-num-seqs", type=int, default=64, help="sequences batched at once")
    p.add_argument("--startup-timeout", type=float, default=600.0, help="seconds to wait")
    p.add_argument(
        "--tool-parser",
        default="auto",
        help="vLLM tool-call parser (default auto: the one matching the chat template, hermes "
        "for ChatML; 'none' turns tool calls off)",
    )
    p.add_argument(
        "--chat-template",
        default=None,
        help="chat template file (default: the shipped ChatML template that renders tools)",
    )
    p.set_defaults(func=cmd_serve)

    from acbench_env.compression import method_names
    from acbench_env.compression.config import PATTERNS

    p = sub.add_parser(
        "compress", help=f"compress a model ({', '.join(method_names())}) into a checkpoint"
    )
    p.add_argument(
        "--method",
        required=True,
        choices=method_names(),
        help=f"{'|'.join(method_names('quant'))} (quantize), "
        f"{'|'.join(method_names('prune'))} (prune)",
    )
    p.add_argument("--bits", type=int, default=4, help="weight bits for gptq/awq/rtn (default 4)")
    p.add_argument(
        "--group-size",
        type=int,
        default=64,
        help="input columns per scale (default 64; must divide every layer; -1: one per row)",
    )
    p.add_argument("--asymmetric", action="store_true", help="quantize with zero points")
    p.add_argument("--sparsity", type=float, default=0.5, help="pruned share (default 0.5)")
    p.add_argument(
        "--pattern", default="unstructured", choices=PATTERNS, help="unstructured (default) or 2:4"
    )
    p.add_argument(
        "--dampening", type=float, default=None, help="gptq/sparsegpt Hessian dampening (0.01)"
    )
    p.add_argument(
        "--block-size", type=int, default=None, help="gptq/sparsegpt column block width (128)"
    )
    p.add_argument("--awq-grid", type=int, default=None, help="awq scale-search grid points (20)")
    p.add_argument(
        "--calib", default="builtin", help="'builtin' (project-written text) or a .txt/.jsonl file"
    )
    p.add_argument("--samples", type=int, default=32, help="calibration samples (default 32)")
    p.add_argument("--seq-len", type=int, default=256, help="tokens per sample (default 256)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing OUT folder")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "model", metavar="MODEL", help="'default' (SmolLM2-135M-Instruct) or a model folder"
    )
    p.add_argument(
        "out", metavar="OUT", help="output folder (refused if it exists, unless --overwrite)"
    )
    p.set_defaults(func=cmd_compress)
