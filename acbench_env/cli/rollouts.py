"""The rollouts command: grouped samples with token sequences, loss masks and advantages."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from acbench_env.cli.common import (
    add_backend_args,
    make_agent,
    parse_env_args,
)
from acbench_env.core.errors import (
    require,
)

logger = logging.getLogger("acbench_env.cli")


def cmd_rollouts(args: argparse.Namespace) -> int:
    from acbench_env.core.registry import check_env_id
    from acbench_env.experiments.rollouts import run_rollouts, tokenizer_encoder

    check_env_id(args.env)
    require(("pyarrow", "datasets"), "rl", "acbench rollouts")
    args.agent, args.record_tokens, args.system_prompt = "llm", True, None
    args.batch_size = args.batch_size or args.tasks * args.group_size
    encode = tokenizer_encoder(args.tokenizer or args.model)
    agent = make_agent(args)
    result = run_rollouts(
        args.env,
        agent,
        tasks=args.tasks,
        group_size=args.group_size,
        encode=encode,
        seed=args.seed,
        first_task=args.first_task,
        out_dir=args.out,
        env_kwargs=parse_env_args(args.env_arg),
        batch_size=args.batch_size,
        normalize_std=args.std_normalize,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    rows = result.rows
    print(f"{len(rows)} episodes ({args.tasks} tasks x {args.group_size} samples) -> {args.out}")
    for group in sorted({r["group"] for r in rows}):
        members = [r for r in rows if r["group"] == group]
        rewards = " ".join(f"{r['reward']:.2f}" for r in members)
        print(f"group {group} (task {members[0]['task_id']}): rewards {rewards}")
    drift = sum(r["drift"] for r in rows)
    turns = sum(r["num_turns"] for r in rows)
    print(
        f"mean reward {sum(r['reward'] for r in rows) / len(rows):.3f}; drift {drift}/{turns} turns"
    )
    return 0


def _add_rollouts_parser(sub: Any) -> None:
    p = sub.add_parser(
        "rollouts",
        help="grouped rollouts for RL: token ids, loss masks, advantages (parquet + datasets)",
    )
    p.add_argument("--env", required=True, help="environment id, e.g. acbench/Needle-v0")
    p.add_argument("--model", default="default", help="'default' or a model folder")
    p.add_argument("--tasks", type=int, required=True, help="number of tasks (groups)")
    p.add_argument("--group-size", type=int, required=True, help="samples per task")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (1.0)")
    p.add_argument("--backend", default="transformers", help="transformers, vllm or openai")
    p.add_argument("--out", required=True, help="output folder (re-running it resumes)")
    p.add_argument("--seed", type=int, default=0, help="seed of the first episode")
    p.add_argument("--first-task", type=int, default=0, help="index of the first task")
    p.add_argument("--max-new-tokens", type=int, default=None, help="default: the env's")
    p.add_argument("--batch-size", type=int, default=None, help="default: all episodes")
    p.add_argument("--std-normalize", action="store_true", help="divide advantages by group std")
    p.add_argument("--tokenizer", default=None, help="tokenizer folder (default: the model's)")
    p.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--no-progress", action="store_true")
    add_backend_args(p)
    p.set_defaults(func=cmd_rollouts)


def add_parsers(sub: Any) -> None:
    """Add the rollouts subcommand to the ``acbench`` parser."""
    _add_rollouts_parser(sub)
