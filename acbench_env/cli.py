"""The ``acbench`` command: list environments, run an agent through one, score trajectories."""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from acbench_env.core.errors import (
    AcbenchError,
    BackendError,
    ConfigError,
    MissingDependencyError,
)
from acbench_env.core.validation import positive_int

logger = logging.getLogger("acbench_env.cli")


def _parse_env_args(items: Sequence[str]) -> dict[str, Any]:
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


def cmd_envs(args: argparse.Namespace) -> int:
    from acbench_env.core.registry import list_envs

    entries = list_envs()
    width = max((len(e.env_id) for e in entries), default=0)
    for e in entries:
        print(f"{e.env_id.ljust(width)}  [{e.capability}]  {e.description}")
    return 0


def _make_agent(args: argparse.Namespace) -> Any:
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


def cmd_run(args: argparse.Namespace) -> int:
    from acbench_env.core.jsonl import read_trajectories
    from acbench_env.core.registry import check_env_id
    from acbench_env.core.seeds import episode_seeds
    from acbench_env.experiments.runner import run_episodes
    from acbench_env.scoring import format_table, summarize

    env_kwargs = _parse_env_args(args.env_arg)
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
    agent = _make_agent(args)
    if args.parquet and importlib.util.find_spec("pyarrow") is None:
        raise MissingDependencyError("pyarrow", "rl", "--parquet")
    try:
        result = run_episodes(
            args.env,
            agent,
            episodes=args.episodes,
            seed=args.seed,
            out=out,
            env_kwargs=env_kwargs,
            batch_size=args.batch_size,
            progress=not args.no_progress and sys.stderr.isatty(),
        )
    except KeyboardInterrupt:
        saved = len([t for t in read_trajectories(out) if t.env_id == args.env])
        print(
            f"\ninterrupted: {saved} finished episodes are saved in {out}; run the same command "
            "again to resume",
            file=sys.stderr,
        )
        return 130
    except BackendError as exc:
        saved = len([t for t in read_trajectories(out) if t.env_id == args.env])
        print(
            f"acbench: error: {exc}\n{saved} finished episodes are saved in {out}; fix the backend "
            "and run the same command again to resume",
            file=sys.stderr,
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
        _executor(args, out.parent / "logs"),
        args.env,
        factory,
        ModelEntry("model", args.model, args.backend),
        episodes=args.episodes,
        seed=args.seed,
        out=out,
        env_kwargs=env_kwargs,
        batch_size=args.batch_size,
        progress=not args.no_progress and sys.stderr.isatty(),
    )
    trajs = [t for t in read_trajectories(out) if t.env_id == args.env]
    print(f"{len(trajs)} episodes of {args.env} ({new} run now, {resumed} resumed) -> {out}")
    print(format_table(summarize(trajs)))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from acbench_env.core.export import write_parquet
    from acbench_env.core.jsonl import read_trajectories

    trajs = []
    for f in args.files:
        path = Path(f)
        if not path.is_file():
            raise ConfigError(f"{f} is not a file; pass trajectory files written by 'acbench run'")
        trajs.extend(read_trajectories(path))
    rows = write_parquet(trajs, args.out)
    print(f"{len(trajs)} episodes, {rows} steps -> {args.out}")
    return 0


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


def cmd_score(args: argparse.Namespace) -> int:
    from acbench_env.core.jsonl import read_trajectories
    from acbench_env.scoring import format_table, summarize

    trajs = []
    for f in args.files:
        path = Path(f)
        if not path.is_file():
            raise ConfigError(f"{f} is not a file; pass trajectory files written by 'acbench run'")
        trajs.extend(read_trajectories(path))
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
    env_kwargs = _parse_env_args(args.env_arg)
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


def _csv(text: str, kind: type) -> list[Any]:
    try:
        return [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise ConfigError(
            f"expected comma-separated {kind.__name__} values, got {text!r}"
        ) from None


def cmd_needle_grid(args: argparse.Namespace) -> int:
    from acbench_env.experiments.needle_sweep import check_cells, run_needle_grid

    lengths = _csv(args.lengths, int)
    depths = _csv(args.depths, float)
    env_kwargs = _parse_env_args(args.env_arg)
    positive_int("--episodes", args.episodes)
    check_cells(lengths, depths, args.truncation, env_kwargs)  # before the model loads
    agent = _make_agent(args)
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


def _report_line(report: dict[str, Any]) -> str:
    from acbench_env.scoring.report import markdown_tables

    tables = markdown_tables(report)
    return "\n\n".join(tables[k] for k in ("models", "capabilities", "deltas"))


def cmd_suite(args: argparse.Namespace) -> int:
    from acbench_env.core.suites import get_suite
    from acbench_env.experiments.suite import describe_models, run_suite
    from acbench_env.scoring.report import load_suite, write_report

    suite = get_suite(args.suite)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        raise ConfigError("--models needs at least one model (the base model first)")
    # (--backend choices are the backends that load a model folder in-process)
    entries = describe_models(models, args.backend)  # bad paths fail before any model loads
    try:
        result = run_suite(
            models,
            suite,
            args.out,
            backend=args.backend,
            batch_size=args.batch_size,
            progress=not args.no_progress and sys.stderr.isatty(),
            model_entries=entries,
            order=args.order,
            executor=_executor(args, Path(args.out) / "logs"),
            progress_detail=args.verbose > 0,
            quiet_logs=args.verbose == 0,
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: finished episodes are saved under {args.out}; run the same command "
            "again to resume",
            file=sys.stderr,
        )
        return 130
    report = write_report(load_suite([args.out]), args.out, plots=not args.no_plots)
    print(
        f"suite {suite.name} v{suite.version}: {result.new_episodes} episodes run now, "
        f"{result.resumed_episodes} resumed, {result.wall_time_s:.0f} s"
    )
    print(_report_line(report))
    print(f"report -> {Path(args.out) / 'report.html'} and report.md")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from acbench_env.scoring.report import load_suite, write_report

    out = args.out or args.dirs[0]
    report = write_report(load_suite(args.dirs), out, plots=not args.no_plots)
    print(_report_line(report))
    print(f"report -> {Path(out) / 'report.html'} and report.md")
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from acbench_env.core.manifest import model_labels, read_manifest
    from acbench_env.core.registry import env_ids
    from acbench_env.core.suites import get_suite
    from acbench_env.experiments.analysis import run_analysis

    compressed = [m.strip() for m in ",".join(args.compressed).split(",") if m.strip()]
    out = Path(args.out)
    manifest = read_manifest(out)
    # In a suite folder the probes come from the suite as it was run there.
    suite = get_suite(args.suite).resolved(env_ids()) if manifest is None else manifest.suite
    labels = model_labels([args.base, *compressed])
    if manifest is not None:  # use the suite's labels for models it ran
        by_model = {m.model: m.label for m in manifest.models}
        labels = [by_model.get(m, lab) for m, lab in zip([args.base, *compressed], labels)]
    records = run_analysis(
        args.base,
        compressed,
        suite,
        probes=args.probes,
        seed=args.seed,
        max_tokens=args.max_tokens,
        batch_size=args.batch_size,
        temperature=args.temperature,
        labels=labels,
    )
    adir = out / "analysis"
    adir.mkdir(parents=True, exist_ok=True)
    for rec in records:
        path = adir / f"{rec['base']}__vs__{rec['compressed']}.json"
        path.write_text(json.dumps(rec, indent=2, sort_keys=True) + "\n")
        tk = {r["k"]: r for r in rec["topk"]}
        print(
            f"{rec['compressed']} vs {rec['base']}: {rec['probes']} probes, {rec['positions']} "
            f"positions; ERank last layer {rec['erank_layers_base'][-1]:.2f} -> "
            f"{rec['erank_layers_compressed'][-1]:.2f}; Jaccard@10 {tk[10]['jaccard']:.3f}, "
            f"Kendall@10 {tk[10]['kendall_tau']:.3f}; mean |dE| "
            f"{rec['energy']['mean_abs_shift']:.3f} -> {path}"
        )
    if manifest is not None:
        from acbench_env.scoring.report import load_suite, write_report

        write_report(load_suite([out]), out)
        print(f"report rebuilt -> {out / 'report.html'}")
    return 0


def cmd_diagnose(args: argparse.Namespace) -> int:
    from acbench_env.core.manifest import model_labels, read_manifest
    from acbench_env.experiments.diagnose import diagnose, load_trajectories, write_diagnostics

    compressed = [m.strip() for m in ",".join(args.compressed).split(",") if m.strip()]
    out = Path(args.out)
    manifest = read_manifest(out)
    labels = model_labels([args.base, *compressed])[1:]
    if manifest is not None:  # use the suite's labels for models it ran
        by_model = {m.model: m.label for m in manifest.models}
        labels = [by_model.get(m, lab) for m, lab in zip(compressed, labels)]
    record = diagnose(
        args.base,
        compressed,
        load_trajectories(args.trajectories),
        labels=labels,
        max_batch_tokens=args.max_batch_tokens,
    )
    path = write_diagnostics(out, record)
    for label, rec in record["variants"].items():
        row = rec["classes"]["all"]
        print(
            f"{label}: {row['tokens']} tokens, KL {row['kl']:.4f}, "
            f"top-1 agreement {row['top1_agreement']:.3f}"
        )
    src = record["token_source"]
    print(f"{src['recorded']} outputs on recorded ids, {src['retokenized']} re-tokenized -> {path}")
    if manifest is not None:
        from acbench_env.scoring.report import load_suite, write_report

        write_report(load_suite([out]), out)
        print(f"report rebuilt -> {out / 'report.html'}")
    return 0


def _add_agent_arg(p: argparse.ArgumentParser) -> None:
    from acbench_env.agents import AGENT_KINDS

    p.add_argument(
        "--agent",
        choices=sorted(AGENT_KINDS),
        default="llm",
        help="; ".join(f"{k}: {v}" for k, v in AGENT_KINDS.items()) + " (default llm)",
    )


def _add_backend_choice(p: argparse.ArgumentParser, *, loads_model: bool | None = None) -> None:
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


def _add_backend_args(p: argparse.ArgumentParser) -> None:
    """Backend options that every command building an agent with _make_agent accepts."""
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


def _add_executor_args(p: argparse.ArgumentParser) -> None:
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


def _executor(args: argparse.Namespace, log_dir: Path) -> Any:
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
    if importlib.util.find_spec("torch") is None:
        raise MissingDependencyError("torch", "hf", "acbench compress")
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


def cmd_rollouts(args: argparse.Namespace) -> int:
    from acbench_env.core.registry import check_env_id
    from acbench_env.experiments.rollouts import run_rollouts, tokenizer_encoder

    check_env_id(args.env)
    for package in ("pyarrow", "datasets"):
        if importlib.util.find_spec(package) is None:
            raise MissingDependencyError(package, "rl", "acbench rollouts")
    args.agent, args.record_tokens, args.system_prompt = "llm", True, None
    args.batch_size = args.batch_size or args.tasks * args.group_size
    encode = tokenizer_encoder(args.tokenizer or args.model)
    agent = _make_agent(args)
    result = run_rollouts(
        args.env,
        agent,
        tasks=args.tasks,
        group_size=args.group_size,
        encode=encode,
        seed=args.seed,
        first_task=args.first_task,
        out_dir=args.out,
        env_kwargs=_parse_env_args(args.env_arg),
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
    _add_backend_args(p)
    p.set_defaults(func=cmd_rollouts)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="acbench",
        description="Measure how much of an LLM's ability to act survives compression.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("envs", help="list the registered environments")
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
    _add_agent_arg(p)
    _add_backend_choice(p)
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
    _add_backend_args(p)
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
    _add_executor_args(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "needle-grid",
        help="sweep acbench/Needle-v0 over context lengths x depths; write a grid and heatmap",
    )
    p.add_argument("--model", default="default", help="'default' or a model folder")
    _add_agent_arg(p)
    _add_backend_choice(p)
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
    _add_backend_args(p)
    p.add_argument("--no-heatmap", action="store_true", help="write grid.json only")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_needle_grid)

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

    p = sub.add_parser(
        "suite", help="run every registered task on every model (same seeds), then write a report"
    )
    p.add_argument(
        "--models",
        required=True,
        help="comma-separated models, the base first: 'default' or model folders",
    )
    p.add_argument(
        "--suite", default="quick", help="quick (default), full, or a suite file (.json/.yaml)"
    )
    p.add_argument("--out", required=True, help="output folder (re-running it resumes)")
    _add_backend_choice(p, loads_model=True)
    p.add_argument("--batch-size", type=int, default=8, help="episodes stepped at once")
    p.add_argument(
        "--order",
        choices=("model", "task"),
        default="model",
        help="model: one model at a time (default); task: every model on a task before the "
        "next task (all models stay loaded; an interrupted run leaves complete comparisons)",
    )
    p.add_argument("--no-plots", action="store_true", help="report without plots")
    p.add_argument("--no-progress", action="store_true")
    _add_executor_args(p)
    p.set_defaults(func=cmd_suite)

    p = sub.add_parser("report", help="rebuild a suite report from stored trajectories (no model)")
    p.add_argument("dirs", nargs="+", help="suite folders (of one suite and base model)")
    p.add_argument("--out", default=None, help="where to write the report (default: first folder)")
    p.add_argument("--no-plots", action="store_true")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser(
        "analyze", help="ERank, top-k ranking correlation and energy: base vs compressed models"
    )
    p.add_argument("--base", required=True, help="the base model ('default' or a folder)")
    p.add_argument(
        "--compressed", required=True, nargs="+", help="compressed model folders (comma or space)"
    )
    p.add_argument(
        "--out", required=True, help="folder for analysis/*.json (a suite folder: report rebuilt)"
    )
    p.add_argument("--suite", default="quick", help="suite whose prompts are the probe set")
    p.add_argument("--probes", type=int, default=16, help="number of probes (default 16)")
    p.add_argument("--seed", type=int, default=0, help="seed of the probe draw")
    p.add_argument("--max-tokens", type=int, default=128, help="last N tokens of each probe")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--temperature", type=float, default=1.0, help="energy temperature T")
    p.set_defaults(func=cmd_analyze)
    _add_rollouts_parser(sub)

    p = sub.add_parser(
        "diagnose",
        help="token-level KL / top-1 agreement of compressed models on the base's trajectories",
    )
    p.add_argument("--base", required=True, help="the base model ('default' or a folder)")
    p.add_argument("--compressed", required=True, nargs="+", help="compressed model folders")
    p.add_argument(
        "--trajectories",
        required=True,
        nargs="+",
        help="the base model's trajectories: suite folders or .jsonl files",
    )
    p.add_argument(
        "--out", required=True, help="folder for diagnostics.json (a suite folder: report rebuilt)"
    )
    p.add_argument("--max-batch-tokens", type=int, default=8192, help="padded tokens per batch")
    p.set_defaults(func=cmd_diagnose)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = (
        logging.WARNING
        if args.verbose == 0
        else logging.INFO
        if args.verbose == 1
        else logging.DEBUG
    )
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args))
    except AcbenchError as exc:
        print(f"acbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nacbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
