"""Helpers shared by the command groups: environment arguments, agent and backend options, executors."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from acbench_env.core.errors import (
    ConfigError,
)

logger = logging.getLogger("acbench_env.cli")


def parse_env_args(items: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--env-arg expects KEY=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def make_agent(args: argparse.Namespace) -> Any:
    from acbench_env.agents import LLMPolicyAgent, OracleAgent

    if args.agent == "oracle":
        return OracleAgent()
    from acbench_env.agents.backends import backend_spec, create_backend
    from acbench_env.core.models import resolve_model

    backend_kwargs: dict[str, Any] = {"model": args.model, "batch_size": args.batch_size}
    if backend_spec(args.backend).remote:
        # The model is a name the server serves; --base-url says where the server is.
        if args.base_url:
            backend_kwargs["base_url"] = args.base_url
        backend_kwargs["timeout"] = args.timeout
        backend_kwargs["tool_parser"] = args.tool_parser
        backend_kwargs["chat_template"] = args.chat_template
    else:
        if args.base_url:
            raise ConfigError("--base-url is only used with a server backend (--backend openai)")
        if args.tool_parser or args.chat_template:
            raise ConfigError(
                "--tool-parser and --chat-template describe the server of --backend openai"
            )
        resolve_model(args.model)  # a bad path fails here, before the model loads
    backend = create_backend(args.backend, **backend_kwargs)
    return LLMPolicyAgent(
        backend,
        max_new_tokens=args.max_new_tokens,
        temperature=args.temperature,
        system_prompt=args.system_prompt,
        record_tokens=args.record_tokens,
    )


def add_agent_arg(p: argparse.ArgumentParser) -> None:
    from acbench_env.agents import AGENT_KINDS

    p.add_argument(
        "--agent",
        choices=sorted(AGENT_KINDS),
        default="llm",
        help="; ".join(f"{k}: {v}" for k, v in AGENT_KINDS.items()) + " (default llm)",
    )


def add_backend_choice(p: argparse.ArgumentParser, *, loads_model: bool | None = None) -> None:
    """``--backend``, its choices read from the backend registry (in-process ones only for
    commands that load every model themselves)."""
    from acbench_env.agents.backends import BACKENDS, backend_names

    names = backend_names(loads_model=loads_model)
    p.add_argument(
        "--backend",
        choices=names,
        default="transformers",
        help="; ".join(f"{n}: {BACKENDS[n].description}" for n in names),
    )


#: Activation dtypes a model can be loaded in (``auto`` is offered where a command chooses).
DTYPES = ("float32", "bfloat16", "float16")


def add_dtype_arg(
    p: argparse.ArgumentParser, *, flag: str = "--dtype", auto: bool, help: str
) -> None:
    """A dtype option: ``auto`` (the default) first when ``auto``, else default ``None``."""
    p.add_argument(
        flag,
        default="auto" if auto else None,
        choices=(("auto",) if auto else ()) + DTYPES,
        help=help,
    )


def add_backend_args(p: argparse.ArgumentParser) -> None:
    """Backend options that every command building an agent with make_agent accepts."""
    p.add_argument(
        "--base-url",
        default=None,
        help="with --backend openai: the server's URL (default http://127.0.0.1:8000/v1)",
    )
    p.add_argument(
        "--timeout", type=float, default=120.0, help="with --backend openai: seconds per request"
    )
    p.add_argument(
        "--tool-parser",
        default=None,
        help="with --backend openai: the server's tool-call parser (recorded; acbench serve "
        "prints it)",
    )
    p.add_argument(
        "--chat-template",
        default=None,
        help="with --backend openai: the server's chat template file (its hash is recorded)",
    )
    p.add_argument(
        "--record-tokens",
        action="store_true",
        help="store prompt/completion token ids and logprobs in every step (RL-ready)",
    )


def add_executor_args(p: argparse.ArgumentParser) -> None:
    """Where the episodes run: this process (default) or Ray actors (docs/cluster.md)."""
    p.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: this process (default); ray: one Ray actor per model replica",
    )
    p.add_argument(
        "--address",
        default=None,
        help="with --executor ray: HOST:PORT of a cluster's head, 'auto' (the cluster this "
        "machine joined); default: start a local Ray",
    )
    p.add_argument("--replicas-per-model", type=int, default=1, help="data-parallel copies")
    p.add_argument("--cpus-per-replica", type=float, default=1.0, help="Ray CPUs per replica")
    p.add_argument("--gpus-per-replica", type=float, default=0.0, help="Ray GPUs per replica")


def executor_for(args: argparse.Namespace, log_dir: Path) -> Any:
    from acbench_env.experiments.executors import make_executor

    return make_executor(
        args.executor,
        address=args.address,
        replicas_per_model=args.replicas_per_model,
        cpus_per_replica=args.cpus_per_replica,
        gpus_per_replica=args.gpus_per_replica,
        log_dir=log_dir,
        verbose=args.verbose > 0,
    )
