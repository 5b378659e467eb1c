"""Commands that run or check episodes: envs, run, needle-grid, check-determinism, score, export."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from acbench_env.cli.common import (
    add_agent_arg,
    add_backend_args,
    add_backend_choice,
    add_executor_args,
    executor_for,
    make_agent,
    parse_env_args,
)
from acbench_env.core.errors import (
    BackendError,
    ConfigError,
    require,
)
from acbench_env.core.validation import positive_int

logger = logging.getLogger("acbench_env.cli")


def cmd_envs(args: argparse.Namespace) -> int:
    from acbench_env.core.registry import list_envs

    entries = list_envs()
    width = max((len(e.env_id) for e in entries), default=0)
    for e in entries:
        print(f"{e.env_id.ljust(width)}  [{e.capability}]  {e.description}")
        if args.ladders:
            _print_ladder(e.env_id)
    return 0


def _print_ladder(env_id: str) -> None:
    """The env's difficulty ladder, easiest rung first; the rung its registration runs at
    is marked ``(default)``."""
    import gymnasium

    from acbench_env.core.ladder import Ladder, rung_of
    from acbench_env.core.registry import env_class

    cls = env_class(env_id)
    ladder = getattr(cls, "ladder", None)
    if not isinstance(ladder, Ladder) or not ladder.rungs:
        print("    (no ladder: runs at its registered arguments)")
        return
    default = rung_of(cls, dict(gymnasium.spec(env_id).kwargs or {}), {})
    for i, rung in enumerate(ladder):
        kwargs = " ".join(f"{k}={json.dumps(v)}" for k, v in rung.env_kwargs.items()) or "-"
        mark = "  (default)" if rung.name == default else ""
        note = f"  # {rung.note}" if rung.note else ""
        print(f"    {i}  {rung.name:<16} {kwargs}{note}{mark}")


def cmd_run(args: argparse.Namespace) -> int:
    from acbench_env.core.jsonl import read_trajectories
    from acbench_env.core.registry import check_env_id
    from acbench_env.core.seeds import episode_seeds
    from acbench_env.experiments.runner import run_episodes
    from acbench_env.scoring import format_table, summarize

    env_kwargs = parse_env_args(args.env_arg)
    if args.scenario is not None:
        if args.env is not None and args.env != "acbench/Scenario-v0":
            raise ConfigError(
                "--scenario runs acbench/Scenario-v0; leave out --env or pass that id"
            )
        from acbench_env.tools.scenario import load_scenario

        load_scenario(args.scenario)  # a malformed file fails here, before the model loads
        args.env = "acbench/Scenario-v0"
        env_kwargs["path"] = str(Path(args.scenario).resolve())
    if args.env is None:
        raise ConfigError("pass --env ID (see 'acbench envs') or --scenario FILE")
    check_env_id(args.env)
    episode_seeds(args.episodes, args.seed)
    out = Path(args.out)
    read_trajectories(out)  # a corrupt or unreadable file fails here, before the model loads
    if args.executor == "ray":
        return _run_on_ray(args, env_kwargs, out)
    agent = make_agent(args)
    if args.parquet:
        require("pyarrow", "rl", "--parquet")
    try:
        result = run_episodes(
            args.env,
            agent,
            **_episode_args(args, out, env_kwargs),
        )
    except KeyboardInterrupt:
        _print_saved(args.env, out, "\ninterrupted: ", "run the same command again to resume")
        return 130
    except BackendError as exc:
        _print_saved(
            args.env,
            out,
            f"acbench: error: {exc}\n",
            "fix the backend and run the same command again to resume",
        )
        return 3
    print(
        f"{len(result.trajectories)} episodes of {args.env} "
        f"({result.new_episodes} run now, {result.resumed_episodes} resumed) -> {out}"
    )
    if args.parquet:
        from acbench_env.core.export import write_parquet

        rows = write_parquet(result.trajectories, args.parquet)
        print(f"{rows} steps -> {args.parquet}")
    print(format_table(summarize(result.trajectories)))
    _print_tool_tables(result.trajectories)
    return 0


def _episode_args(
    args: argparse.Namespace, out: Path, env_kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The episode keywords ``acbench run`` passes to ``run_episodes`` and ``run_sharded``."""
    return {
        "episodes": args.episodes,
        "seed": args.seed,
        "out": out,
        "env_kwargs": env_kwargs,
        "batch_size": args.batch_size,
        "progress": not args.no_progress and sys.stderr.isatty(),
    }


def _print_saved(env_id: str, out: Path, head: str, advice: str) -> None:
    """Say on stderr how many finished episodes of ``env_id`` are kept in ``out``, and how
    to go on."""
    from acbench_env.core.jsonl import read_trajectories

    saved = len([t for t in read_trajectories(out) if t.env_id == env_id])
    print(f"{head}{saved} finished episodes are saved in {out}; {advice}", file=sys.stderr)


def _run_on_ray(args: argparse.Namespace, env_kwargs: dict[str, Any], out: Path) -> int:
    """``acbench run --executor ray``: the episodes in units on model replicas."""
    from acbench_env.core.jsonl import read_trajectories
    from acbench_env.core.manifest import ModelEntry
    from acbench_env.core.models import resolve_model
    from acbench_env.experiments.executors.base import PolicyAgentFactory, run_sharded
    from acbench_env.scoring import format_table, summarize

    if args.agent != "llm" or args.backend not in ("transformers", "vllm"):
        raise ConfigError("--executor ray runs --agent llm with --backend transformers or vllm")
    resolve_model(args.model)  # a bad path fails here
    factory = PolicyAgentFactory(
        args.backend,
        {"batch_size": args.batch_size},
        {
            "max_new_tokens": args.max_new_tokens,
            "temperature": args.temperature,
            "system_prompt": args.system_prompt,
            "record_tokens": args.record_tokens,
        },
    )
    new, resumed = run_sharded(
        executor_for(args, out.parent / "logs"),
        args.env,
        factory,
        ModelEntry("model", args.model, args.backend),
        **_episode_args(args, out, env_kwargs),
    )
    trajs = [t for t in read_trajectories(out) if t.env_id == args.env]
    print(f"{len(trajs)} episodes of {args.env} ({new} run now, {resumed} resumed) -> {out}")
    print(format_table(summarize(trajs)))
    return 0


def _read_files(files: Sequence[str]) -> list[Any]:
    """The trajectories of ``files``; a path that is not a file is one clear error."""
    from acbench_env.core.jsonl import read_trajectories

    trajs: list[Any] = []
    for f in files:
        path = Path(f)
        if not path.is_file():
            raise ConfigError(f"{f} is not a file; pass trajectory files written by 'acbench run'")
        trajs.extend(read_trajectories(path))
    return trajs


def cmd_export(args: argparse.Namespace) -> int:
    from acbench_env.core.export import write_parquet

    trajs = _read_files(args.files)
    rows = write_parquet(trajs, args.out)
    print(f"{len(trajs)} episodes, {rows} steps -> {args.out}")
    return 0


def cmd_score(args: argparse.Namespace) -> int:
    from acbench_env.scoring import format_table, summarize

    trajs = _read_files(args.files)
    if not trajs:
        raise ConfigError("no trajectories in the given files")
    summaries = summarize(trajs)
    if args.json:
        print(json.dumps([s.__dict__ for s in summaries], indent=2))
    else:
        print(format_table(summaries))
        _print_tool_tables(trajs)
    return 0


def cmd_check_determinism(args: argparse.Namespace) -> int:
    from acbench_env.core.registry import check_env_id, env_ids
    from acbench_env.experiments.determinism import AGENTS, check_determinism

    ids = args.env or env_ids()
    for env_id in ids:
        check_env_id(env_id)
    positive_int("--episodes", args.episodes)
    agents = AGENTS if args.agent == "all" else (args.agent,)
    env_kwargs = parse_env_args(args.env_arg)
    results = [
        check_determinism(
            env_id, agent=agent, episodes=args.episodes, seed=args.seed, env_kwargs=env_kwargs
        )
        for env_id in ids
        for agent in agents
    ]
    if args.json:
        print(json.dumps([{**r.__dict__, "ok": r.ok} for r in results], indent=2))
    else:
        width = max(len(r.env_id) for r in results)
        for r in results:
            verdict = "same" if r.ok else f"DIFFERS: {r.differences[0]}"
            print(f"{r.env_id.ljust(width)}  {r.agent:<6}  {r.digest}  {verdict}")
    bad = [r for r in results if not r.ok]
    if bad:
        print(
            f"acbench: {len(bad)} of {len(results)} checks differ between two runs with the same "
            "seed: a seed does not reach some random choice, or state leaks between runs",
            file=sys.stderr,
        )
        return 1
    return 0


def _print_tool_tables(trajs: Sequence[Any]) -> None:
    """Per-app (multi-turn) and per-dimension (step) tool-use tables, when such episodes exist."""
    from acbench_env.scoring.multi_turn import format_multi_turn_table, multi_turn_summary
    from acbench_env.scoring.tool_steps import format_tool_steps_table, tool_steps_summary

    multi = multi_turn_summary(trajs)
    if multi:
        print("\nmulti-turn tool use (state-checked):")
        print(format_multi_turn_table(multi))
    steps = tool_steps_summary(trajs)
    if steps:
        print("\ntool-use steps (per dimension and format):")
        print(format_tool_steps_table(steps))


def cmd_needle_grid(args: argparse.Namespace) -> int:
    from acbench_env.experiments.needle_sweep import check_cells, run_needle_grid

    lengths = _csv(args.lengths, int)
    depths = _csv(args.depths, float)
    env_kwargs = parse_env_args(args.env_arg)
    positive_int("--episodes", args.episodes)
    check_cells(lengths, depths, args.truncation, env_kwargs)  # before the model loads
    agent = make_agent(args)
    grid = run_needle_grid(
        agent,
        lengths,
        depths,
        episodes_per_cell=args.episodes,
        seed=args.seed,
        out_dir=args.out,
        truncation=args.truncation,
        env_kwargs=env_kwargs,
        batch_size=args.batch_size,
        heatmap=not args.no_heatmap,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    width = max(len(str(n)) for n in grid.lengths) + 2
    print(f"{grid.env_id} — {grid.model_id}; rule: {grid.scoring_rule}")
    print("depth \\ length " + "".join(str(n).rjust(width) for n in grid.lengths))
    for d, row in zip(grid.depths, grid.scores):
        print(f"{d:>14.2f} " + "".join(f"{v:.2f}".rjust(width) for v in row))
    print("mean           " + "".join(f"{v:.2f}".rjust(width) for v in grid.mean_by_length()))
    out = Path(args.out)
    print(
        f"grid -> {out / 'grid.json'}"
        + ("" if args.no_heatmap else f", heatmap -> {out / 'heatmap.png'}")
    )
    return 0


def _csv(text: str, kind: type) -> list[Any]:
    try:
        return [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(
            f"expected comma-separated {kind.__name__} values, got {text!r}"
        ) from None


def add_parsers(sub: Any) -> None:
    """Add this group's subcommands to the ``acbench`` parser."""
    p = sub.add_parser("envs", help="list the registered environments")
    p.add_argument("--ladders", action="store_true", help="also list each env's difficulty ladder")
    p.set_defaults(func=cmd_envs)

    p = sub.add_parser("run", help="run an agent through an environment and save trajectories")
    p.add_argument("--env", default=None, help="environment id, e.g. acbench/Needle-v0")
    p.add_argument(
        "--scenario",
        default=None,
        metavar="FILE",
        help="a custom tool-use scenario (YAML/JSON) to run as acbench/Scenario-v0",
    )
    p.add_argument(
        "--model", default="default", help="'default' (SmolLM2-135M-Instruct) or a model folder"
    )
    add_agent_arg(p)
    add_backend_choice(p)
    p.add_argument("--episodes", type=int, default=10, help="number of episodes (default 10)")
    p.add_argument("--seed", type=int, default=0, help="episode i is reset with seed SEED+i")
    p.add_argument("--out", required=True, help="JSON Lines file; re-running with it resumes")
    p.add_argument(
        "--batch-size",
        "--parallel",
        dest="batch_size",
        type=int,
        default=4,
        help="episodes stepped at once; their requests go to the backend together (default 4)",
    )
    add_backend_args(p)
    p.add_argument(
        "--parquet", default=None, help="also write the run's steps to this parquet file"
    )
    p.add_argument(
        "--max-new-tokens",
        type=int,
        default=None,
        help="tokens per answer (default: what the environment asks for, e.g. 64)",
    )
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    p.add_argument("--system-prompt", default=None)
    p.add_argument(
        "--env-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="environment argument (JSON value), e.g. context_length=2048; repeatable",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_executor_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "needle-grid",
        help="sweep acbench/Needle-v0 over context lengths x depths; write a grid and heatmap",
    )
    p.add_argument("--model", default="default", help="'default' or a model folder")
    add_agent_arg(p)
    add_backend_choice(p)
    p.add_argument(
        "--lengths", default="512,1024,2048,4096", help="comma-separated target-token lengths"
    )
    p.add_argument("--depths", default="0,0.25,0.5,0.75,1", help="comma-separated fractions")
    p.add_argument("--episodes", type=int, default=2, help="episodes per cell (default 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder (resumes cell by cell)")
    p.add_argument(
        "--truncation",
        choices=("left", "middle"),
        default=None,
        help="opt in to cutting lengths beyond the model's window (recorded); default: refuse",
    )
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument(
        "--max-new-tokens",
        type=int,
        default=32,
        help="new tokens per answer (default 32: small models repeat the needle sentence)",
    )
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    p.add_argument("--system-prompt", default=None)
    p.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE")
    add_backend_args(p)
    p.add_argument("--no-heatmap", action="store_true", help="write grid.json only")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_needle_grid)

    p = sub.add_parser("export", help="write trajectory files as a parquet table, one row per step")
    p.add_argument("files", nargs="+")
    p.add_argument("--out", required=True, help="parquet file to write")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "check-determinism",
        help="run each environment twice with the same seed; fail if anything differs",
    )
    p.add_argument(
        "--env", action="append", default=None, help="environment id (repeatable; default: all)"
    )
    p.add_argument("--episodes", type=int, default=5, help="episodes per run (default 5)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--agent",
        choices=("oracle", "noisy", "all"),
        default="all",
        help="'oracle', 'noisy' (garbage and correct actions mixed) or 'all' (default)",
    )
    p.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--json", action="store_true", help="machine-readable output with digests")
    p.set_defaults(func=cmd_check_determinism)

    p = sub.add_parser("score", help="summarise trajectory files")
    p.add_argument("files", nargs="+")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_score)
