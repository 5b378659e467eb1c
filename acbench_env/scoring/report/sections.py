"""The sections of the report: each a function of the :class:`ReportContext` returning
its keys of the report dict (see :data:`acbench_env.scoring.report.build.SECTIONS`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from acbench_env.core.types import Trajectory
from acbench_env.scoring.capability import capability_scores, overall_score
from acbench_env.scoring.deltas import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    Delta,
    PairedGroup,
    mean_pass_at_k,
    paired_bootstrap_delta,
    stratified_bootstrap,
)
from acbench_env.scoring.intervals import DEFAULT_METHOD, MIN_PAIRS_TO_FLAG
from acbench_env.scoring.noise import noise_floor
from acbench_env.scoring.power import DEFAULT_POWER
from acbench_env.scoring.report.context import (
    CONFIDENCE,
    NEEDLE_ENV,
    REPORT_VERSION,
    ReportContext,
)
from acbench_env.scoring.summary import bootstrap_ci, compression_text


def header_section(ctx: ReportContext) -> dict[str, Any]:
    """The suite, the weighting and the bootstrap settings."""
    suite = ctx.suite
    return {
        "report_version": REPORT_VERSION,
        "suite": {
            "name": suite.name,
            "version": suite.version,
            "seed": suite.seed,
            "fingerprint": ctx.manifest.suite_fingerprint,
        },
        "weighting": {"version": ctx.weighting.version, "description": ctx.weighting.description},
        "bootstrap": {
            "confidence": CONFIDENCE,
            "resamples": BOOTSTRAP_RESAMPLES,
            "seed": BOOTSTRAP_SEED,
            "kind": "percentile",
        },
        "delta_intervals": {
            "method": DEFAULT_METHOD,
            "min_pairs_to_flag": MIN_PAIRS_TO_FLAG[DEFAULT_METHOD],
            "mde_power": DEFAULT_POWER,
        },
    }


def models_section(ctx: ReportContext) -> dict[str, Any]:
    """The models: the base first, each with its compression, its role (base, variant or
    noise-floor control) and how it computed (dtype, device, backend version: as its
    trajectories recorded them, else as the manifest planned them)."""
    models = []
    for i, m in enumerate(ctx.manifest.models):
        role = "base" if i == 0 else "control" if m.control else "variant"
        rec: dict[str, Any] = {
            "label": m.label,
            "model": m.model,
            "backend": m.backend,
            "role": role,
            "compression": compression_text(m.compression),
            **_runtime(ctx, m.label, m.runtime),
        }
        if m.control:
            rec["control"] = m.control
        models.append(rec)
    compared = [m for m in models if m["role"] != "control"]
    dtypes = sorted({str(m["dtype"]) for m in compared if m["dtype"] is not None})
    return {"models": models, "one_dtype": len(dtypes) <= 1}


def _runtime(ctx: ReportContext, label: str, planned: dict[str, str]) -> dict[str, Any]:
    """dtype, device and backend version of ``label``: the values its trajectories recorded
    (several joined by " / ", which flags a mixed run), else the manifest's plan, else None."""
    recorded: dict[str, set[str]] = {}
    for task in ctx.suite.tasks:
        for repeat in ctx.data.runs[label][task.env_id]:
            for t in repeat:
                for k, v in t.model.runtime.items():
                    recorded.setdefault(k, set()).add(str(v))
    out: dict[str, Any] = {}
    for key in ("dtype", "device", "backend_version"):
        values = recorded.get(key)
        out[key] = " / ".join(sorted(values)) if values else planned.get(key)
    return out


def _controls(ctx: ReportContext) -> set[str]:
    return {m.label for m in ctx.manifest.models if m.control}


def tasks_section(ctx: ReportContext) -> dict[str, Any]:
    """Per task and model: episodes, status, mean with its interval, success and
    format-failure rates, and pass@k / pass^k when the task has repeats."""
    tasks_out: list[dict[str, Any]] = []
    for i, task in enumerate(ctx.suite.tasks):
        env_id = task.env_id
        cap, metric = ctx.meta[env_id]
        per_model: dict[str, Any] = {}
        for label in ctx.labels:
            first = ctx.episodes(label, env_id)
            ts = ctx.task_scores[label][i]
            lo, hi = bootstrap_ci(  # (nan, nan) when empty
                [t.score for t in first],
                confidence=CONFIDENCE,
                resamples=BOOTSTRAP_RESAMPLES,
                seed=BOOTSTRAP_SEED,
            )
            rec: dict[str, Any] = {
                "episodes": ts.episodes,
                "status": ts.status,
                "mean": ts.mean,
                "ci_low": lo,
                "ci_high": hi,
                "success_rate": float(np.mean([t.success for t in first])) if first else None,
                "format_failure_rate": ts.format_failure_rate,
            }
            repeats = ctx.data.runs[label][env_id]
            k = len(repeats)
            if k > 1:
                by_seed: dict[int, list[bool]] = {}
                for r in repeats:
                    for t in r:
                        by_seed.setdefault(t.seed, []).append(t.success)
                complete = [v for v in by_seed.values() if len(v) == k]
                at, hat = mean_pass_at_k(complete, k)
                rec["pass_at_k"] = {"k": k, "tasks": len(complete), "pass@k": at, "pass^k": hat}
            per_model[label] = rec
        tasks_out.append(
            {
                "env_id": env_id,
                "capability": cap,
                "primary_metric": metric,
                "expected_episodes": task.episodes,
                "env_kwargs": dict(task.env_kwargs),
                "models": per_model,
            }
        )
    return {"tasks": tasks_out}


def capabilities_section(ctx: ReportContext) -> dict[str, Any]:
    """Per capability and model: the weighted score with a stratified interval; the overall
    score and status of each model."""
    weighting = ctx.weighting
    caps_out: dict[str, dict[str, Any]] = {}
    overall: dict[str, Any] = {}
    overall_status: dict[str, str] = {}
    for label in ctx.labels:
        task_scores = ctx.task_scores[label]
        caps = capability_scores(task_scores, weighting)
        for c in caps:
            groups: list[list[float]] = []
            weights: list[float] = []
            for ts in task_scores:
                if ts.capability == c.capability and ts.episodes > 0:
                    groups.append([t.score for t in ctx.episodes(label, ts.env_id)])
                    weights.append(weighting.task_weight(ts.env_id))
            lo, hi = _stratified_ci(groups, weights)
            caps_out.setdefault(c.capability, {})[label] = {
                "score": c.score,
                "ci_low": lo,
                "ci_high": hi,
                "format_failure_rate": c.format_failure_rate,
                "tasks": c.tasks,
                "scored_tasks": c.scored_tasks,
                "status": c.status,
            }
        overall[label] = overall_score(caps, weighting)
        complete_caps = [c for c in caps if c.status == "complete"]
        overall_status[label] = (
            "empty"
            if all(c.status == "empty" for c in caps)
            else "complete"
            if len(complete_caps) == len(caps)
            else "partial"
        )
    return {
        "capabilities": [{"capability": c, "models": v} for c, v in caps_out.items()],
        "overall": overall,
        "overall_status": overall_status,
    }


def deltas_section(ctx: ReportContext) -> dict[str, Any]:
    """Every variant minus the base, paired by seed: per task, per capability, overall (each
    with the MDE of its own pairs); and the noise floor: each control minus the base, at the
    same levels, with how many paired episodes changed score at all."""
    controls = _controls(ctx)
    out: dict[str, Any] = {
        "deltas": [
            d
            for label in ctx.labels[1:]
            if label not in controls
            for d in _variant_deltas(ctx, label)
        ]
    }
    if controls:
        floor = []
        for label in ctx.labels[1:]:
            if label not in controls:
                continue
            rows = _variant_deltas(ctx, label)
            groups = _paired_groups(ctx, label)
            for row in rows:  # how many paired episodes changed score at all
                level, name = row["level"], row["name"]
                picked = [
                    g
                    for (g, cap), task in zip(groups, ctx.suite.tasks)
                    if level == "overall"
                    or (level == "capability" and cap == name)
                    or (level == "task" and task.env_id == name)
                ]
                row["changed"] = noise_floor(label, picked).changed
            floor.extend(rows)
        out["noise_floor"] = floor
    return out


def needle_section(ctx: ReportContext) -> dict[str, Any]:
    """The needle heatmap cells (context length x depth) of each model that ran Needle."""
    needle: dict[str, list[dict[str, Any]]] = {}
    for label in ctx.labels:
        runs = ctx.data.runs[label]
        if NEEDLE_ENV in runs and runs[NEEDLE_ENV][0]:
            needle[label] = _needle_cells(runs[NEEDLE_ENV][0])
    return {"needle": needle}


def analysis_section(ctx: ReportContext) -> dict[str, Any]:
    """The representation analyses stored in the suite folders, as they are."""
    return {"analysis": list(ctx.data.analyses)}


def _delta_record(d: Delta) -> dict[str, Any]:
    rec = asdict(d)
    rec["significant"] = d.significant
    return rec


def _delta_row(
    label: str, level: str, name: str, cap: str, partial: bool, d: Delta
) -> dict[str, Any]:
    return {
        "variant": label,
        "level": level,
        "name": name,
        "capability": cap,
        "partial": partial,
        **_delta_record(d),
    }


def _paired_groups(ctx: ReportContext, label: str) -> list[tuple[PairedGroup, str]]:
    """``label``'s episodes paired with the base's by seed, one group per task (with its
    capability)."""
    return [
        (_task_group(ctx, label, task.env_id), ctx.meta[task.env_id][0]) for task in ctx.suite.tasks
    ]


def _task_group(ctx: ReportContext, label: str, env_id: str) -> PairedGroup:
    """``label``'s episodes of ``env_id`` paired with the base's by seed (the seeds both
    ran), weighted by the task's weight."""
    base_scores = {t.seed: t.score for t in ctx.episodes(ctx.labels[0], env_id)}
    comp_scores = {t.seed: t.score for t in ctx.episodes(label, env_id)}
    common = sorted(set(base_scores) & set(comp_scores))
    return PairedGroup(
        base=tuple(base_scores[s] for s in common),
        compressed=tuple(comp_scores[s] for s in common),
        weight=ctx.weighting.task_weight(env_id),
    )


def _variant_deltas(ctx: ReportContext, label: str) -> list[dict[str, Any]]:
    """The deltas of one variant: every task, then every capability, then overall."""
    weighting = ctx.weighting
    rows: list[dict[str, Any]] = []
    cap_groups: dict[str, list[PairedGroup]] = {}
    cap_partial: dict[str, bool] = {}  # capability -> any of its task deltas is partial
    for task in ctx.suite.tasks:
        env_id = task.env_id
        cap = ctx.meta[env_id][0]
        group = _task_group(ctx, label, env_id)
        partial = len(group.base) < task.episodes
        cap_partial[cap] = cap_partial.get(cap, False) or partial
        rows.append(
            _delta_row(label, "task", env_id, cap, partial, paired_bootstrap_delta([group]))
        )
        if group.base:
            cap_groups.setdefault(cap, []).append(group)
    cap_total = sum(weighting.capability_weight(cap) for cap in cap_groups)
    all_groups: list[PairedGroup] = []
    for cap in sorted(cap_groups, key=_capability_order):
        pairs = cap_groups[cap]
        d = paired_bootstrap_delta(pairs)
        rows.append(_delta_row(label, "capability", cap, cap, cap_partial[cap], d))
        tw = sum(g.weight for g in pairs)
        if cap_total <= 0 or tw <= 0:
            continue
        all_groups.extend(
            PairedGroup(
                g.base, g.compressed, weighting.capability_weight(cap) / cap_total * g.weight / tw
            )
            for g in pairs
        )
    if all_groups:
        d = paired_bootstrap_delta(all_groups)
        rows.append(_delta_row(label, "overall", "overall", "", any(cap_partial.values()), d))
    return rows


def _needle_cells(trajs: Sequence[Trajectory]) -> list[dict[str, Any]]:
    """(context length, depth) -> mean score, from the steps' info."""
    cells: dict[tuple[int, float], list[float]] = {}
    for t in trajs:
        info = t.steps[-1].info if t.steps else {}
        if "depth" not in info:
            continue
        length = int(t.env_kwargs.get("context_length") or info.get("context_tokens") or 0)
        cells.setdefault((length, round(float(info["depth"]), 4)), []).append(t.score)
    return [
        {"context_length": k[0], "depth": k[1], "episodes": len(v), "score": float(np.mean(v))}
        for k, v in sorted(cells.items())
    ]


def _capability_order(cap: str) -> int:
    from acbench_env.core.env import CAPABILITIES

    return CAPABILITIES.index(cap) if cap in CAPABILITIES else len(CAPABILITIES)


def _stratified_ci(
    groups: Sequence[Sequence[float]],
    weights: Sequence[float],
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile bootstrap interval of a weighted mean of group means (groups resampled
    independently)."""
    if not groups:
        return (float("nan"), float("nan"))
    total = float(sum(weights))
    (boot,) = stratified_bootstrap(
        [(np.asarray(g, dtype=np.float64),) for g in groups],
        [w / total for w in weights],
        resamples=resamples,
        seed=seed,
    )
    # The 95% (CONFIDENCE) interval; the quantiles are written out so the numbers stay bit-equal.
    return (float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975)))


def where_it_breaks_section(ctx: ReportContext) -> dict[str, Any]:
    """Where compression breaks an action (only when the suite folder holds
    ``diagnostics.json`` from ``acbench diagnose``; otherwise no key at all): token-level
    KL and top-1 agreement per class and variant, first divergences, the failure
    decomposition (outcome categories, base vs each variant, paired intervals), rollout
    efficiency per model, and the data of the side-by-side episode viewer."""
    diag = ctx.data.diagnostics
    if diag is None:
        return {}
    from acbench_env.scoring.diagnostics import position_histogram
    from acbench_env.scoring.efficiency import rollout_efficiency
    from acbench_env.scoring.outcomes import outcome_counts, outcome_deltas

    base = ctx.labels[0]
    env_ids = [t.env_id for t in ctx.suite.tasks]

    def runs(label: str) -> dict[str, list[Trajectory]]:
        return {e: ctx.episodes(label, e) for e in env_ids}

    tokens: dict[str, Any] = {}
    for label, v in diag.get("variants", {}).items():
        first = v.get("first_divergence", {})
        tokens[label] = {
            "classes": v.get("classes", {}),
            "capabilities": v.get("capabilities", {}),
            "first_divergence": {
                **{k: first.get(k) for k in ("outputs", "diverged", "by_class")},
                "median_position": first.get("median_position"),
                "histogram": position_histogram(first.get("positions", {})),
            },
        }
    all_eps = {label: [t for e in env_ids for t in ctx.episodes(label, e)] for label in ctx.labels}
    viewer = _viewer_data(ctx, diag)
    return {
        "where_it_breaks": {
            "base": base,
            "token_source": diag.get("token_source"),
            # How KL was computed (diagnose --backend vllm: a top-k lower bound); older
            # diagnostics without the key computed the full KL.
            **{k: diag[k] for k in ("backend", "kl_method", "kl_note") if k in diag},
            "histogram_edges": [0, 1, 2, 4, 8, 16, 32, 64],
            "tokens": tokens,
            "outcomes": {label: outcome_counts(all_eps[label]) for label in ctx.labels},
            "outcome_deltas": {
                label: outcome_deltas(runs(base), runs(label)) for label in ctx.labels[1:]
            },
            "efficiency": {
                label: rollout_efficiency(
                    all_eps[label],
                    checkpoint_bytes=ctx.data.resources.get(label, {}).get("checkpoint_bytes"),
                    peak_memory_bytes=ctx.data.resources.get(label, {}).get("peak_memory_bytes"),
                )
                for label in ctx.labels
            },
            "viewer": viewer,
        }
    }


def _viewer_data(ctx: ReportContext, diag: dict[str, Any]) -> list[dict[str, Any]]:
    """Per base episode with diagnostics: each step's base tokens and classes, and per
    variant the marks (top-1 disagreement, the variant's choice, KL) and the variant's own
    output of that step in its own rollout (when the suite folder holds it)."""
    outputs = diag.get("outputs", [])
    variants = diag.get("variants", {})
    episodes: dict[tuple[str, int], dict[str, Any]] = {}
    for i, o in enumerate(outputs):
        key = (o["env_id"], int(o["seed"]))
        ep = episodes.setdefault(
            key, {"env_id": key[0], "seed": key[1], "task_id": o.get("task_id"), "steps": []}
        )
        marks = {}
        for label, v in variants.items():
            st = v.get("steps", [])
            if i < len(st):
                marks[label] = {"top1": st[i]["top1"], "pred": st[i]["pred"], "kl": st[i]["kl"]}
        ep["steps"].append(
            {"step": o["step"], "tokens": o["tokens"], "classes": o["classes"], "marks": marks}
        )
    for (env_id, seed), ep in episodes.items():
        own: dict[str, list[str]] = {}
        for label in ctx.labels:
            runs = ctx.data.runs.get(label, {}).get(env_id)
            if not runs:
                continue
            match = [t for t in runs[0] if t.seed == seed]
            if match:
                own[label] = [s.raw_output for s in match[0].steps]
        ep["rollouts"] = own
    return [episodes[k] for k in sorted(episodes)]
