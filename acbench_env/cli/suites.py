"""Commands over suites of models and tasks: suite, report, analyze, diagnose."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acbench_env.cli.common import (
    add_backend_choice,
    add_dtype_arg,
    add_executor_args,
    executor_for,
)
from acbench_env.core.errors import (
    ConfigError,
)

if TYPE_CHECKING:
    from acbench_env.core.manifest import Manifest

logger = logging.getLogger("acbench_env.cli")


def _report_line(report: dict[str, Any]) -> str:
    from acbench_env.scoring.report import markdown_tables

    tables = markdown_tables(report)
    return "\n\n".join(tables[k] for k in ("models", "capabilities", "deltas"))


def cmd_suite(args: argparse.Namespace) -> int:
    from acbench_env.core.suites import get_suite
    from acbench_env.experiments.suite import (
        control_entries,
        describe_models,
        run_suite,
        suite_dtypes,
    )
    from acbench_env.scoring.report import load_suite, write_report

    suite = get_suite(args.suite)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not models:
        raise ConfigError("--models needs at least one model (the base model first)")
    # (--backend choices are the backends that load a model folder in-process)
    dtypes = suite_dtypes(models, args.backend, args.dtype, args.base_dtype)
    # Bad paths fail here, before any model loads.
    entries = describe_models(models, args.backend, dtypes)
    entries += control_entries(args.control or [], entries, args.backend)
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
            executor=executor_for(args, Path(args.out) / "logs"),
            progress_detail=args.verbose > 0,
            quiet_logs=args.verbose == 0,
            record_tokens=args.record_tokens,
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


def cmd_calibrate(args: argparse.Namespace) -> int:
    from acbench_env.experiments.calibrate import CalibrationSettings, calibrate, pilot_folder

    lo, _, hi = args.band.partition(",")
    try:
        band = (float(lo), float(hi))
    except ValueError as exc:
        raise ConfigError(f"--band must be LOW,HIGH (e.g. 0.3,0.7), got {args.band!r}") from exc
    settings = CalibrationSettings(
        model=args.model,
        backend=args.backend,
        seed=args.seed,
        target=args.target,
        band=band,
        pilot_episodes=args.pilot_episodes,
        max_pilots=args.max_pilots,
        mde=args.mde,
        capability_mde=args.capability_mde,
        power=args.power,
        pair_correlation=args.pair_correlation,
        min_episodes=args.min_episodes,
        budget_minutes=args.budget_minutes,
        models_in_suite=args.models_in_suite,
        name=args.name,
        dtype=args.dtype,
    )
    envs = [e.strip() for e in ",".join(args.env or []).split(",") if e.strip()]
    result = calibrate(settings, args.out, env_ids=envs or None, batch_size=args.batch_size)
    width = max(len(t.env_id) for t in result.tasks)
    for t, n in zip(result.tasks, result.episodes):
        flag = "" if t.in_band else "  out of band"
        print(
            f"{t.env_id.ljust(width)}  rung {t.rung.name:<16} pilot {t.pilot.mean:.3f} "
            f"({len(t.pilot.scores)} ep)  episodes {n}{flag}"
        )
    s = result.summary
    print(
        f"overall MDE {s['overall_mde']}, {s['minutes_planned']} min planned for "
        f"{settings.models_in_suite} models ({s['minutes_needed_for_targets']} min for the MDE "
        f"targets{', budget-capped' if s['budget_capped'] else ''})"
    )
    print(f"suite -> {result.out} (pilots in {pilot_folder(result.out)})")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from acbench_env.scoring.report import load_suite, write_report

    out = args.out or args.dirs[0]
    report = write_report(load_suite(args.dirs), out, plots=not args.no_plots)
    print(_report_line(report))
    print(f"report -> {Path(out) / 'report.html'} and report.md")
    return 0


def _models_and_labels(
    args: argparse.Namespace, manifest: Manifest | None
) -> tuple[list[str], list[str]]:
    """The models of ``--compressed`` (comma lists allowed), and the labels of ``--base``
    and of them: the suite's label for a model its manifest names, else the default one."""
    from acbench_env.core.manifest import model_labels

    compressed = [m.strip() for m in ",".join(args.compressed).split(",") if m.strip()]
    models = [args.base, *compressed]
    labels = model_labels(models)
    if manifest is not None:  # use the suite's labels for models it ran
        by_model = {m.model: m.label for m in manifest.models}
        labels = [by_model.get(m, lab) for m, lab in zip(models, labels)]
    return compressed, labels


def cmd_analyze(args: argparse.Namespace) -> int:
    from acbench_env.core.manifest import read_manifest
    from acbench_env.core.registry import env_ids
    from acbench_env.core.suites import get_suite
    from acbench_env.experiments.analysis import run_analysis

    out = Path(args.out)
    manifest = read_manifest(out)
    # In a suite folder the probes come from the suite as it was run there.
    suite = get_suite(args.suite).resolved(env_ids()) if manifest is None else manifest.suite
    compressed, labels = _models_and_labels(args, manifest)
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
    from acbench_env.core.manifest import read_manifest
    from acbench_env.experiments.diagnose import diagnose, load_trajectories, write_diagnostics

    if args.backend == "vllm":
        from acbench_env.experiments.diagnose import require_vllm

        require_vllm()  # before any model loads
    out = Path(args.out)
    manifest = read_manifest(out)
    compressed, labels = _models_and_labels(args, manifest)
    record = diagnose(
        args.base,
        compressed,
        load_trajectories(args.trajectories),
        labels=labels[1:],
        max_batch_tokens=args.max_batch_tokens,
        backend=args.backend,
        dtype=args.dtype,
        topk=args.topk,
    )
    path = write_diagnostics(out, record)
    kl_name = "KL" if record["kl_method"] == "full" else f"KL>= ({record['kl_method']} bound)"
    for label, rec in record["variants"].items():
        row = rec["classes"]["all"]
        print(
            f"{label}: {row['tokens']} tokens, {kl_name} {row['kl']:.4f}, "
            f"top-1 agreement {row['top1_agreement']:.3f}"
        )
    src = record["token_source"]
    print(f"{src['recorded']} outputs on recorded ids, {src['retokenized']} re-tokenized -> {path}")
    if manifest is not None:
        from acbench_env.scoring.report import load_suite, write_report

        write_report(load_suite([out]), out)
        print(f"report rebuilt -> {out / 'report.html'}")
    return 0


def add_parsers(sub: Any) -> None:
    """Add this group's subcommands to the ``acbench`` parser."""
    p = sub.add_parser(
        "suite", help="run every registered task on every model (same seeds), then write a report"
    )
    p.add_argument(
        "--models",
        required=True,
        help="comma-separated models, the base first: 'default' or model folders",
    )
    p.add_argument(
        "--suite",
        default="quick",
        help="quick (default), standard, full, or a suite file (.json/.yaml)",
    )
    p.add_argument("--out", required=True, help="output folder (re-running it resumes)")
    add_backend_choice(p, loads_model=True)
    p.add_argument("--batch-size", type=int, default=8, help="episodes stepped at once")
    p.add_argument(
        "--order",
        choices=("model", "task"),
        default="model",
        help="model: one model at a time (default); task: every model on a task before the "
        "next task (all models stay loaded; an interrupted run leaves complete comparisons)",
    )
    add_dtype_arg(
        p,
        auto=True,
        help="activation dtype of every model: auto (default: one dtype every model can run "
        "in on the backend: bfloat16 on vLLM when a quantized model is present, else float32)",
    )
    add_dtype_arg(
        p,
        flag="--base-dtype",
        auto=False,
        help="run the base model in another dtype than the variants (explicit; recorded)",
    )
    p.add_argument(
        "--control",
        action="append",
        help="noise-floor control, compared with the base like a variant and reported apart: "
        "'dtype' (the base in the other dtype), 'dtype:NAME', or a model folder (e.g. an "
        "8-bit RTN variant); repeatable",
    )
    p.add_argument("--no-plots", action="store_true", help="report without plots")
    p.add_argument("--no-progress", action="store_true")
    p.add_argument(
        "--record-tokens",
        action="store_true",
        help="store every step's prompt/completion token ids and logprobs (acbench diagnose "
        "then replays exactly those ids instead of re-tokenizing)",
    )
    add_executor_args(p)
    p.set_defaults(func=cmd_suite)

    p = sub.add_parser(
        "calibrate",
        help="pick each task's ladder rung for a base model and size a suite by power",
    )
    p.add_argument("--model", default="default", help="the base model ('default' or a folder)")
    add_backend_choice(p, loads_model=True)
    p.add_argument("--out", required=True, help="suite file to write (.yaml or .json)")
    p.add_argument("--env", action="append", help="only these env ids (repeat or comma-separate)")
    p.add_argument("--target", type=float, default=0.5, help="base score to aim for (0.5)")
    p.add_argument("--band", default="0.3,0.7", help="acceptable base scores LOW,HIGH")
    p.add_argument("--pilot-episodes", type=int, default=8, help="episodes per piloted rung")
    p.add_argument("--max-pilots", type=int, default=4, help="rungs piloted per task at most")
    p.add_argument("--mde", type=float, default=0.05, help="overall minimum detectable effect")
    p.add_argument("--capability-mde", type=float, default=0.10, help="per-capability MDE")
    p.add_argument("--power", type=float, default=0.8, help="power of the paired test (0.8)")
    p.add_argument(
        "--pair-correlation",
        type=float,
        default=0.5,
        help="assumed base/compressed score correlation per episode (sets the paired spread)",
    )
    p.add_argument("--min-episodes", type=int, default=10, help="episodes per task at least")
    p.add_argument(
        "--budget-minutes",
        type=float,
        default=None,
        help="cap the suite's time (pilot seconds per episode x --models-in-suite)",
    )
    p.add_argument("--models-in-suite", type=int, default=7, help="base + variants (7)")
    add_dtype_arg(
        p,
        auto=False,
        help="activation dtype of the pilots (default: the backend's for the model); use the "
        "one the suite runs the base in (bfloat16 on vLLM next to W4 variants)",
    )
    p.add_argument("--name", default="calibrated", help="the suite's name")
    p.add_argument("--seed", type=int, default=0, help="the suite's seed (pilots use others)")
    p.add_argument("--batch-size", type=int, default=8, help="episodes stepped at once")
    p.set_defaults(func=cmd_calibrate)

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
    add_backend_choice(p, loads_model=True)
    add_dtype_arg(
        p,
        auto=True,
        help="activation dtype of every model (auto: float32; on vLLM bfloat16 for quantized "
        "checkpoints)",
    )
    p.add_argument(
        "--topk",
        type=int,
        default=20,
        help="with --backend vllm: prompt logprobs listed per position (top-1 and rank are "
        "exact; KL becomes a lower bound from the top-k, recorded as kl_method topk-K)",
    )
    p.set_defaults(func=cmd_diagnose)
