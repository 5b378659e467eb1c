"""The suite report: per-task and per-capability scores, compression deltas, plots.

:func:`load_suite` reads one or more suite folders (written by
:func:`acbench_env.experiments.suite.run_suite`), refusing to mix runs whose suite fingerprint,
seeds or base model differ. :func:`build_report` is a pure function of the loaded
trajectories: the same files always give the same numbers (the bootstrap is seeded), so
``acbench report DIR`` reproduces a suite's report without a model.
:func:`write_report` writes ``report.json`` (the numbers), ``report.md`` and a
self-contained ``report.html`` (plots embedded as base64 PNG).

Empty and partial runs are reported as such: a task with no episode under a model has no
score (shown as "—" and status *empty*), never 0; a task with fewer episodes than the
suite asks for is *partial*, and its deltas use only the episodes both models ran.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from acbench_env.core.errors import ConfigError, TrajectoryFileError
from acbench_env.core.jsonl import read_trajectories
from acbench_env.core.manifest import MANIFEST_FILE, read_manifest, run_file
from acbench_env.core.seeds import episode_seeds
from acbench_env.core.types import Trajectory
from acbench_env.scoring.capability import (
    TaskScore,
    Weighting,
    capability_scores,
    get_weighting,
    overall_score,
)
from acbench_env.scoring.deltas import (
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    Delta,
    PairedGroup,
    mean_pass_at_k,
    paired_bootstrap_delta,
    stratified_bootstrap,
)
from acbench_env.scoring.summary import bootstrap_ci, compression_text

logger = logging.getLogger(__name__)

#: Version of the report.json layout.
REPORT_VERSION = 1
ANALYSIS_DIR = "analysis"


@dataclass(frozen=True)
class SuiteData:
    """What a report is built from: the manifest and every model's trajectories per task
    (``runs[label][env_id][repeat]``), plus any representation analyses."""

    manifest: dict[str, Any]
    runs: dict[str, dict[str, list[list[Trajectory]]]]
    analyses: tuple[dict[str, Any], ...] = ()


def _fingerprint_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> str:
    """A short description of how two suite records differ."""
    parts = []
    for key in ("name", "version", "seed"):
        if a.get(key) != b.get(key):
            parts.append(f"{key} {a.get(key)!r} vs {b.get(key)!r}")
    ta = {t["env_id"]: t for t in a.get("tasks", [])}
    tb = {t["env_id"]: t for t in b.get("tasks", [])}
    for env_id in sorted(set(ta) | set(tb)):
        if ta.get(env_id) != tb.get(env_id):
            parts.append(f"task {env_id}: {ta.get(env_id)} vs {tb.get(env_id)}")
    return "; ".join(parts[:4]) or "(no visible difference)"


def merge_manifests(manifests: Sequence[tuple[Path, dict[str, Any]]]) -> dict[str, Any]:
    """One manifest over several suite folders; refuses differing suites or base models."""
    (first_dir, first), *rest = manifests
    merged = json.loads(json.dumps(first))
    for d, m in rest:
        if m.get("suite_fingerprint") != first.get("suite_fingerprint"):
            raise ConfigError(
                f"cannot compare {first_dir} and {d}: their suite fingerprints differ "
                f"({first.get('suite_fingerprint')} vs {m.get('suite_fingerprint')}: "
                f"{_fingerprint_diff(first['suite'], m['suite'])}); compare runs of one suite "
                "with the same seeds"
            )
        b0, b1 = first["models"][0], m["models"][0]
        if b0.get("weights_sha256") != b1.get("weights_sha256") or b0["model"] != b1["model"]:
            raise ConfigError(
                f"cannot compare {first_dir} and {d}: their base models differ ({b0['model']!r}, "
                f"weights {str(b0.get('weights_sha256'))[:12]} vs {b1['model']!r}, weights "
                f"{str(b1.get('weights_sha256'))[:12]}); compare variants of one base model"
            )
        labels = {e["label"] for e in merged["models"]}
        for e in m["models"]:
            if e["label"] not in labels:
                merged["models"].append(e)
                labels.add(e["label"])
    return merged  # type: ignore[no-any-return]


def _check_trajectory(
    traj: Trajectory, task: Mapping[str, Any], seeds: set[int], path: Path
) -> None:
    if traj.env_kwargs != task["env_kwargs"] or traj.seed not in seeds:
        raise ConfigError(
            f"{path} holds an episode of {traj.env_id} (seed {traj.seed}, env arguments "
            f"{traj.env_kwargs}) that is not part of the suite (seeds {min(seeds)}..{max(seeds)}, "
            f"env arguments {task['env_kwargs']}): the run's fingerprint differs from the "
            "suite's; move the file away or re-run the suite into a fresh folder"
        )


def load_suite(dirs: Sequence[str | Path]) -> SuiteData:
    """Read suite folders (one or more, of the same suite and base model)."""
    if not dirs:
        raise ConfigError("pass at least one suite folder")
    manifests = []
    for d in dirs:
        path = Path(d)
        m = read_manifest(path)
        if m is None:
            raise ConfigError(
                f"{path} has no {MANIFEST_FILE}; pass a folder written by 'acbench suite'"
            )
        manifests.append((path, m))
    manifest = merge_manifests(manifests)
    suite = manifest["suite"]
    runs: dict[str, dict[str, list[list[Trajectory]]]] = {}
    for entry in manifest["models"]:
        label = entry["label"]
        per_env: dict[str, list[list[Trajectory]]] = {}
        for task in suite["tasks"]:
            seeds = set(episode_seeds(int(task["episodes"]), int(suite["seed"])))
            repeats: list[list[Trajectory]] = []
            for r in range(int(task.get("repeats", 1))):
                found: dict[int, Trajectory] = {}
                for d, _ in manifests:
                    f = run_file(d, label, task["env_id"], r)
                    for t in read_trajectories(f):
                        if t.env_id != task["env_id"]:
                            continue
                        _check_trajectory(t, task, seeds, f)
                        found.setdefault(t.seed, t)
                repeats.append([found[s] for s in sorted(found)])
            per_env[task["env_id"]] = repeats
        runs[label] = per_env
    analyses = []
    for d, _ in manifests:
        adir = d / ANALYSIS_DIR
        if adir.is_dir():
            for f in sorted(adir.glob("*.json")):
                try:
                    analyses.append(json.loads(f.read_text()))
                except ValueError as exc:
                    raise TrajectoryFileError(f"{f} is not valid JSON ({exc})") from exc
    return SuiteData(manifest=manifest, runs=runs, analyses=tuple(analyses))


def _env_meta(env_id: str) -> tuple[str, str]:
    """(capability, primary metric) declared by the env class."""
    from acbench_env.core.registry import env_class

    try:
        cls = env_class(env_id)
    except Exception:  # an env that is no longer registered: fall back to stored data
        return ("", "score")
    return (str(getattr(cls, "capability", "")), str(getattr(cls, "primary_metric", "score")))


def nan_to_none(value: Any) -> Any:
    """``value`` with every NaN float replaced by ``None`` (JSON has no NaN), recursing into
    dicts, lists and tuples (tuples become lists)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [nan_to_none(v) for v in value]
    return value


def _delta_record(d: Delta) -> dict[str, Any]:
    rec = asdict(d)
    rec["significant"] = d.significant
    return rec


def _task_stats(
    trajs: Sequence[Trajectory], expected: int, env_id: str, cap: str, metric: str
) -> TaskScore:
    steps = sum(len(t.steps) for t in trajs)
    failures = sum(t.format_failures for t in trajs)
    return TaskScore(
        env_id=env_id,
        capability=cap,
        primary_metric=metric,
        episodes=len(trajs),
        expected_episodes=expected,
        mean=float(np.mean([t.score for t in trajs])) if trajs else float("nan"),
        format_failure_rate=failures / steps if steps else float("nan"),
    )


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


def build_report(data: SuiteData) -> dict[str, Any]:
    """Every number of the report (a JSON-able dict; ``None`` where there is no value)."""
    manifest = data.manifest
    suite = manifest["suite"]
    weighting: Weighting = get_weighting(int(manifest.get("weighting_version", 1)))
    models = manifest["models"]
    labels = [m["label"] for m in models]
    base = labels[0]
    tasks_out: list[dict[str, Any]] = []
    task_scores: dict[str, list[TaskScore]] = {label: [] for label in labels}
    meta: dict[str, tuple[str, str]] = {}
    for task in suite["tasks"]:
        env_id = task["env_id"]
        cap, metric = _env_meta(env_id)
        if not cap:  # the env class declares none: fall back to the stored trajectories
            stored_caps = {
                t.capability
                for label in labels
                for r in data.runs[label][env_id]
                for t in r
                if t.capability
            }
            cap = next(iter(stored_caps), "")
        meta[env_id] = (cap, metric)
        expected = int(task["episodes"])
        per_model: dict[str, Any] = {}
        for label in labels:
            first = data.runs[label][env_id][0]
            ts = _task_stats(first, expected, env_id, cap, metric)
            task_scores[label].append(ts)
            lo, hi = bootstrap_ci([t.score for t in first])  # (nan, nan) when empty
            rec: dict[str, Any] = {
                "episodes": ts.episodes,
                "status": ts.status,
                "mean": ts.mean,
                "ci_low": lo,
                "ci_high": hi,
                "success_rate": float(np.mean([t.success for t in first])) if first else None,
                "format_failure_rate": ts.format_failure_rate,
            }
            repeats = data.runs[label][env_id]
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
                "expected_episodes": expected,
                "env_kwargs": task["env_kwargs"],
                "models": per_model,
            }
        )

    caps_out: dict[str, dict[str, Any]] = {}
    overall: dict[str, Any] = {}
    overall_status: dict[str, str] = {}
    for label in labels:
        caps = capability_scores(task_scores[label], weighting)
        for c in caps:
            groups: list[list[float]] = []
            weights: list[float] = []
            for ts in task_scores[label]:
                if ts.capability == c.capability and ts.episodes > 0:
                    groups.append([t.score for t in data.runs[label][ts.env_id][0]])
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

    deltas: list[dict[str, Any]] = []
    for label in labels[1:]:
        cap_groups: dict[str, list[PairedGroup]] = {}
        cap_partial: dict[str, bool] = {}  # capability -> any of its task deltas is partial
        for task in suite["tasks"]:
            env_id = task["env_id"]
            base_scores = {t.seed: t.score for t in data.runs[base][env_id][0]}
            comp_scores = {t.seed: t.score for t in data.runs[label][env_id][0]}
            common = sorted(set(base_scores) & set(comp_scores))
            group = PairedGroup(
                base=tuple(base_scores[s] for s in common),
                compressed=tuple(comp_scores[s] for s in common),
                weight=weighting.task_weight(env_id),
            )
            d = paired_bootstrap_delta([group])
            partial = len(common) < int(task["episodes"])
            cap_partial[meta[env_id][0]] = cap_partial.get(meta[env_id][0], False) or partial
            deltas.append(
                {
                    "variant": label,
                    "level": "task",
                    "name": env_id,
                    "capability": meta[env_id][0],
                    "partial": partial,
                    **_delta_record(d),
                }
            )
            if common:
                cap_groups.setdefault(meta[env_id][0], []).append(group)
        cap_total = sum(weighting.capability_weight(cap) for cap in cap_groups)
        all_groups: list[PairedGroup] = []
        for cap in sorted(cap_groups, key=_capability_order):
            pairs = cap_groups[cap]
            d = paired_bootstrap_delta(pairs)
            deltas.append(
                {
                    "variant": label,
                    "level": "capability",
                    "name": cap,
                    "capability": cap,
                    "partial": cap_partial[cap],
                    **_delta_record(d),
                }
            )
            tw = sum(g.weight for g in pairs)
            if cap_total <= 0 or tw <= 0:
                continue
            all_groups.extend(
                PairedGroup(
                    g.base,
                    g.compressed,
                    weighting.capability_weight(cap) / cap_total * g.weight / tw,
                )
                for g in pairs
            )
        if all_groups:
            d = paired_bootstrap_delta(all_groups)
            deltas.append(
                {
                    "variant": label,
                    "level": "overall",
                    "name": "overall",
                    "capability": "",
                    "partial": any(cap_partial.values()),
                    **_delta_record(d),
                }
            )

    needle: dict[str, list[dict[str, Any]]] = {}
    for label in labels:
        runs = data.runs[label]
        if "acbench/Needle-v0" in runs and runs["acbench/Needle-v0"][0]:
            needle[label] = _needle_cells(runs["acbench/Needle-v0"][0])

    report = {
        "report_version": REPORT_VERSION,
        "suite": {
            "name": suite["name"],
            "version": suite["version"],
            "seed": suite["seed"],
            "fingerprint": manifest.get("suite_fingerprint"),
        },
        "weighting": {"version": weighting.version, "description": weighting.description},
        "bootstrap": {
            "confidence": 0.95,
            "resamples": BOOTSTRAP_RESAMPLES,
            "seed": BOOTSTRAP_SEED,
            "kind": "percentile",
        },
        "models": [
            {
                "label": m["label"],
                "model": m["model"],
                "backend": m.get("backend"),
                "role": "base" if i == 0 else "variant",
                "compression": compression_text(m.get("compression")),
            }
            for i, m in enumerate(models)
        ],
        "tasks": tasks_out,
        "capabilities": [{"capability": c, "models": v} for c, v in caps_out.items()],
        "overall": overall,
        "overall_status": overall_status,
        "deltas": deltas,
        "needle": needle,
        "analysis": list(data.analyses),
    }
    return nan_to_none(report)  # type: ignore[no-any-return]


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
    return (float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975)))


# ---------------------------------------------------------------------------- rendering
def _fmt(v: Any, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _signed(v: Any, digits: int = 3) -> str:
    return "—" if v is None else f"{v:+.{digits}f}"


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100 * v:+.1f}%"


def _short(env_id: str) -> str:
    return env_id.split("/", 1)[-1]


def markdown_tables(report: Mapping[str, Any]) -> dict[str, str]:
    """The report's tables as Markdown (keys: models, capabilities, tasks, deltas)."""
    labels = [m["label"] for m in report["models"]]
    out: dict[str, str] = {}
    rows = ["| model | role | path | compression | overall |", "|---|---|---|---|---|"]
    for m in report["models"]:
        status = report.get("overall_status", {}).get(m["label"], "complete")
        note = "" if status == "complete" else f" ({status})"
        rows.append(
            f"| {m['label']} | {m['role']} | `{m['model']}` | {m['compression']} | "
            f"{_fmt(report['overall'].get(m['label']))}{note} |"
        )
    out["models"] = "\n".join(rows)

    head = "| capability | " + " | ".join(labels) + " |"
    rows = [head, "|---|" + "---|" * len(labels)]
    for c in report["capabilities"]:
        cells = []
        for label in labels:
            v = c["models"].get(label)
            if v is None or v["status"] == "empty":
                cells.append("— (empty)")
                continue
            note = "" if v["status"] == "complete" else f" ({v['status']})"
            cells.append(
                f"{_fmt(v['score'])} [{_fmt(v['ci_low'])}, {_fmt(v['ci_high'])}]; "
                f"ff {_fmt(v['format_failure_rate'], 2)}{note}"
            )
        rows.append(f"| {c['capability']} | " + " | ".join(cells) + " |")
    out["capabilities"] = "\n".join(rows)

    rows = [
        "| task | capability | metric | " + " | ".join(labels) + " |",
        "|---|---|---|" + "---|" * len(labels),
    ]
    for t in report["tasks"]:
        cells = []
        for label in labels:
            v = t["models"][label]
            if v["status"] == "empty":
                cells.append("— (empty)")
                continue
            note = (
                ""
                if v["status"] == "complete"
                else f" (partial {v['episodes']}/{t['expected_episodes']})"
            )
            extra = ""
            if "pass_at_k" in v:
                p = v["pass_at_k"]
                extra = (
                    f"; pass@{p['k']} {_fmt(p['pass@k'], 2)}, pass^{p['k']} {_fmt(p['pass^k'], 2)}"
                )
            cells.append(
                f"{_fmt(v['mean'])} [{_fmt(v['ci_low'])}, {_fmt(v['ci_high'])}]; "
                f"ff {_fmt(v['format_failure_rate'], 2)}{note}{extra}"
            )
        rows.append(
            f"| {_short(t['env_id'])} (n={t['expected_episodes']}) | {t['capability']} | "
            f"{t['primary_metric']} | " + " | ".join(cells) + " |"
        )
    out["tasks"] = "\n".join(rows)

    rows = [
        "| variant | level | name | pairs | Δ abs [95% CI] | Δ rel [95% CI] | CI excludes 0 |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in report["deltas"]:
        name = _short(d["name"]) if d["level"] == "task" else d["name"]
        if d["pairs"] == 0:
            name += " (empty)"
        elif d["partial"]:
            name += " (partial)"
        rows.append(
            f"| {d['variant']} | {d['level']} | {name} | {d['pairs']} | "
            f"{_signed(d['absolute'])} [{_signed(d['ci_low'])}, {_signed(d['ci_high'])}] | "
            f"{_pct(d['relative'])} [{_pct(d['relative_ci_low'])}, {_pct(d['relative_ci_high'])}] | "
            f"{'**yes**' if d['significant'] else 'no'} |"
        )
    out["deltas"] = "\n".join(rows)

    if report["analysis"]:
        rows = [
            "| base | compressed | probes | tokens | ERank Δ (last layer) | ERank Δ (logits) | "
            "Jaccard@10 | Kendall τ@10 | Spearman ρ@10 | mean abs ΔE | W1(E) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for a in report["analysis"]:
            tk = {int(r["k"]): r for r in a["topk"]}.get(10) or a["topk"][0]
            rows.append(
                f"| {a['base']} | {a['compressed']} | {a['probes']} | {a['positions']} | "
                f"{_signed(a['erank_layers_compressed'][-1] - a['erank_layers_base'][-1], 2)} | "
                f"{_signed(_sub(a['erank_logits_compressed'], a['erank_logits_base']), 2)} | "
                f"{_fmt(tk['jaccard'])} | {_fmt(tk['kendall_tau'])} | {_fmt(tk['spearman_rho'])} | "
                f"{_fmt(a['energy']['mean_abs_shift'])} | {_fmt(a['energy']['wasserstein'])} |"
            )
        out["analysis"] = "\n".join(rows)
    return out


def _sub(a: Any, b: Any) -> float | None:
    return None if a is None or b is None else a - b


def render_markdown(
    report: Mapping[str, Any],
    images: Mapping[str, str] | None = None,
    *,
    tables: Mapping[str, str] | None = None,
) -> str:
    """The report as Markdown; ``images`` maps a plot name to a relative PNG path.
    ``tables``: ``markdown_tables(report)`` when the caller has it already."""
    t = markdown_tables(report) if tables is None else tables
    s = report["suite"]
    lines = [
        f"# acbench report: suite {s['name']} v{s['version']}",
        "",
        f"Suite fingerprint `{s['fingerprint']}`, seed {s['seed']}; weighting v"
        f"{report['weighting']['version']}: {report['weighting']['description']}. Intervals: "
        "95% percentile bootstrap (2000 resamples, seed 0); deltas pair episodes by seed. "
        "`ff` = format-failure rate (format-failed steps / steps). "
        "Empty runs are shown as —, never as 0.",
        "",
        "## Models",
        "",
        t["models"],
        "",
        "## Capabilities",
        "",
        t["capabilities"],
        "",
    ]
    for name, title in (("capabilities", "Capability scores"), ("deltas", "Deltas")):
        if images and name in images:
            lines += [f"![{title}]({images[name]})", ""]
    lines += [
        "## Compression deltas (variant − base)",
        "",
        t["deltas"],
        "",
        "## Tasks",
        "",
        t["tasks"],
        "",
    ]
    if images and "needle" in images:
        lines += ["## Needle in a haystack", "", f"![needle heatmap]({images['needle']})", ""]
    if "analysis" in t:
        lines += ["## Representation metrics", "", t["analysis"], ""]
        for name in ("erank", "energy"):
            if images and name in images:
                lines += [f"![{name}]({images[name]})", ""]
    return "\n".join(lines)


def _md_table_to_html(md: str) -> str:
    rows = [r.strip().strip("|").split(" | ") for r in md.splitlines() if r.strip()]
    head, body = rows[0], rows[2:]
    out = ["<table><thead><tr>"]
    out += [f"<th>{html.escape(c.strip())}</th>" for c in head]
    out.append("</tr></thead><tbody>")
    for r in body:
        out.append("<tr>" + "".join(f"<td>{_inline(c.strip())}</td>" for c in r) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _inline(text: str) -> str:
    esc = html.escape(text)
    if esc.startswith("**") and esc.endswith("**"):
        return f"<strong>{esc[2:-2]}</strong>"
    if esc.startswith("`") and esc.endswith("`"):
        return f"<code>{esc[1:-1]}</code>"
    return esc


def render_html(
    report: Mapping[str, Any],
    pngs: Mapping[str, bytes],
    *,
    tables: Mapping[str, str] | None = None,
) -> str:
    """A self-contained HTML page: the tables, and every plot as a base64 data URI.
    ``tables``: ``markdown_tables(report)`` when the caller has it already."""
    t = markdown_tables(report) if tables is None else tables
    s = report["suite"]

    def img(name: str, alt: str) -> str:
        if name not in pngs:
            return ""
        data = base64.b64encode(pngs[name]).decode("ascii")
        return f'<figure><img class="plot" id="plot-{name}" alt="{html.escape(alt)}" src="data:image/png;base64,{data}"></figure>'

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>acbench report: {html.escape(str(s['name']))}</title>",
        "<style>body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}"
        "table{border-collapse:collapse;margin:1em 0;font-size:0.9em}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}"
        "th{background:#f0f0f0}img.plot{max-width:100%}</style>",
        "</head><body>",
        f"<h1>acbench report: suite {html.escape(str(s['name']))} v{s['version']}</h1>",
        f"<p>Suite fingerprint <code>{html.escape(str(s['fingerprint']))}</code>, seed {s['seed']}; "
        f"weighting v{report['weighting']['version']}: {html.escape(report['weighting']['description'])}. "
        "Intervals: 95% percentile bootstrap (2000 resamples, seed 0); deltas pair episodes by "
        "seed. ff = format-failure rate. Empty runs are shown as —, never as 0.</p>",
        "<h2>Models</h2>",
        _md_table_to_html(t["models"]),
        "<h2>Capabilities</h2>",
        _md_table_to_html(t["capabilities"]),
        img("capabilities", "capability scores with 95% intervals"),
        "<h2>Compression deltas (variant − base)</h2>",
        _md_table_to_html(t["deltas"]),
        img("deltas", "deltas with 95% intervals"),
        "<h2>Tasks</h2>",
        _md_table_to_html(t["tasks"]),
    ]
    if "needle" in pngs:
        parts += ["<h2>Needle in a haystack</h2>", img("needle", "needle heatmap")]
    if "analysis" in t:
        parts += [
            "<h2>Representation metrics</h2>",
            _md_table_to_html(t["analysis"]),
            img("erank", "ERank per layer"),
            img("energy", "energy histograms"),
        ]
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)


def write_report(data: SuiteData, out: str | Path, *, plots: bool = True) -> dict[str, Any]:
    """Write ``report.json``, ``report.md``, ``report.html`` (and ``plots/*.png``) into ``out``."""
    report = build_report(data)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    pngs: dict[str, bytes] = {}
    if plots:
        from acbench_env.scoring.plots import report_plots

        pngs = report_plots(report)
        (out_dir / "plots").mkdir(exist_ok=True)
        for name, png in pngs.items():
            (out_dir / "plots" / f"{name}.png").write_bytes(png)
    images = {name: f"plots/{name}.png" for name in pngs}
    tables = markdown_tables(report)
    (out_dir / "report.md").write_text(render_markdown(report, images, tables=tables))
    (out_dir / "report.html").write_text(render_html(report, pngs, tables=tables))
    return report
