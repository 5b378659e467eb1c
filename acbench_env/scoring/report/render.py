"""Rendering a built report: Markdown tables, the Markdown page and a self-contained HTML page.

Both pages are made from the same tables (:func:`markdown_tables`, one function per table in
:data:`TABLES`) and open with the same :func:`preamble`, which describes the report's own
settings (suite, weighting, bootstrap) as recorded by the build.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from acbench_env.scoring.report import breaks


# ---------------------------------------------------------------------------- formatting
def _fmt(v: Any, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _signed(v: Any, digits: int = 3) -> str:
    return "—" if v is None else f"{v:+.{digits}f}"


def _pct(v: Any) -> str:
    return "—" if v is None else f"{100 * v:+.1f}%"


def _short(env_id: str) -> str:
    return env_id.split("/", 1)[-1]


def _sub(a: Any, b: Any) -> float | None:
    return None if a is None or b is None else a - b


# -------------------------------------------------------------------------------- tables
def models_table(report: Mapping[str, Any]) -> str:
    rows = [
        "| model | role | path | compression | dtype | device | backend version | overall |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in report["models"]:
        status = report.get("overall_status", {}).get(m["label"], "complete")
        note = "" if status == "complete" else f" ({status})"
        role = f"control: {m['control']}" if m.get("control") else m["role"]
        rows.append(
            f"| {m['label']} | {role} | `{m['model']}` | {m['compression']} | "
            f"{m.get('dtype') or '—'} | {m.get('device') or '—'} | "
            f"{m.get('backend_version') or '—'} | "
            f"{_fmt(report['overall'].get(m['label']))}{note} |"
        )
    return "\n".join(rows)


def capabilities_table(report: Mapping[str, Any]) -> str:
    labels = [m["label"] for m in report["models"]]
    rows = ["| capability | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
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
    return "\n".join(rows)


def tasks_table(report: Mapping[str, Any]) -> str:
    labels = [m["label"] for m in report["models"]]
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
    return "\n".join(rows)


def _mde(v: Any) -> str:
    return "—" if v is None else "∞" if v == float("inf") else f"{v:.3f}"


def _flag(d: Mapping[str, Any]) -> str:
    if d["significant"]:
        return "**yes**"
    lo, hi = d.get("ci_low"), d.get("ci_high")
    if not d.get("supported", True) and lo is not None and hi is not None and (lo > 0 or hi < 0):
        return "no (too few pairs to flag)"
    return "no"


def _delta_name(d: Mapping[str, Any]) -> str:
    name = _short(d["name"]) if d["level"] == "task" else d["name"]
    if d["pairs"] == 0:
        name += " (empty)"
    elif d["partial"]:
        name += " (partial)"
    return str(name)


def _delta_cell(d: Mapping[str, Any]) -> str:
    return f"{_signed(d['absolute'])} [{_signed(d['ci_low'])}, {_signed(d['ci_high'])}]"


def deltas_table(report: Mapping[str, Any]) -> str:
    """Every variant's deltas with the MDE of their own pairs; with noise-floor controls, the
    controls' delta at the same level and name beside each one."""
    floor: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for f in report.get("noise_floor", []):
        floor.setdefault((f["level"], f["name"]), []).append(f)
    head = (
        "| variant | level | name | pairs | Δ abs [95% CI] | MDE | Δ rel [95% CI] | CI excludes 0 |"
    )
    sep = "|---|---|---|---|---|---|---|---|"
    if floor:
        head += " noise floor Δ [95% CI] (control) |"
        sep += "---|"
    rows = [head, sep]
    for d in report["deltas"]:
        row = (
            f"| {d['variant']} | {d['level']} | {_delta_name(d)} | {d['pairs']} | "
            f"{_delta_cell(d)} | {_mde(d.get('mde'))} | "
            f"{_pct(d['relative'])} [{_pct(d['relative_ci_low'])}, {_pct(d['relative_ci_high'])}] | "
            f"{_flag(d)} |"
        )
        if floor:
            cells = [
                f"{_delta_cell(f)} ({f['variant']})" for f in floor.get((d["level"], d["name"]), [])
            ]
            row += f" {'; '.join(cells) or '—'} |"
        rows.append(row)
    return "\n".join(rows)


def noise_floor_table(report: Mapping[str, Any]) -> str | None:
    """What "no effect" looks like at this size: each control's capability and overall
    deltas against the base; ``None`` when the suite ran no control."""
    rows_in = [f for f in report.get("noise_floor", []) if f["level"] != "task"]
    if not rows_in:
        return None
    rows = [
        "| control | level | name | pairs | changed episodes | Δ abs [95% CI] | MDE | "
        "interval includes 0 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for f in rows_in:
        changed = f.get("changed")
        rows.append(
            f"| {f['variant']} | {f['level']} | {_delta_name(f)} | {f['pairs']} | "
            f"{'—' if changed is None else changed} | {_delta_cell(f)} | {_mde(f.get('mde'))} | "
            f"{'no' if f['significant'] else 'yes'} |"
        )
    return "\n".join(rows)


def analysis_table(report: Mapping[str, Any]) -> str | None:
    """The representation metrics; ``None`` when the report has no analysis."""
    if not report["analysis"]:
        return None
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
    return "\n".join(rows)


#: The report's tables: name -> function of the report (``None``: no such table here).
TABLES: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "models": models_table,
    "capabilities": capabilities_table,
    "tasks": tasks_table,
    "deltas": deltas_table,
    "noise_floor": noise_floor_table,  # present only when the suite ran a control
    "analysis": analysis_table,
    **breaks.BREAKS_TABLES,  # present only with diagnostics (acbench diagnose)
}


def markdown_tables(report: Mapping[str, Any]) -> dict[str, str]:
    """The report's tables as Markdown (keys: models, capabilities, tasks, deltas, and
    noise_floor and analysis when there are any)."""
    return {name: t for name, make in TABLES.items() if (t := make(report)) is not None}


# ------------------------------------------------------------------------------ preamble
@dataclass(frozen=True)
class _Markup:
    """How the preamble marks code and plain text in one output format."""

    code: Callable[[str], str]
    text: Callable[[str], str]
    ff: str  # how the `ff` abbreviation is introduced


MARKDOWN = _Markup(
    code=lambda s: f"`{s}`",
    text=lambda s: s,
    ff="`ff` = format-failure rate (format-failed steps / steps).",
)
HTML = _Markup(
    code=lambda s: f"<code>{html.escape(s)}</code>",
    text=html.escape,
    ff="ff = format-failure rate.",
)


def preamble(report: Mapping[str, Any], markup: _Markup = MARKDOWN) -> str:
    """The paragraph under the title: suite fingerprint and seed, the weighting, and the
    bootstrap the intervals come from (its settings as recorded in the report)."""
    s, w, b = report["suite"], report["weighting"], report["bootstrap"]
    di = report.get("delta_intervals")
    deltas = "deltas pair episodes by seed."
    if di:
        deltas = (
            f"deltas pair episodes by seed, with a {100 * b['confidence']:g}% {di['method']} "
            f"paired interval, flagged as excluding 0 only from {di['min_pairs_to_flag']} "
            f"pairs; MDE = the smallest effect the delta's own pairs detect with "
            f"{100 * di['mde_power']:g}% power."
        )
    dtypes = sorted(
        {str(m["dtype"]) for m in report["models"] if m.get("dtype") and m["role"] != "control"}
    )
    confound = (
        f" Models compute in different activation dtypes ({', '.join(dtypes)}): a confound "
        "of every delta."
        if len(dtypes) > 1
        else ""
    )
    return (
        f"Suite fingerprint {markup.code(str(s['fingerprint']))}, seed {s['seed']}; "
        f"weighting v{w['version']}: {markup.text(w['description'])}. Intervals: "
        f"{100 * b['confidence']:g}% {b['kind']} bootstrap ({b['resamples']} resamples, seed "
        f"{b['seed']}); {deltas} {markup.ff} "
        f"Empty runs are shown as —, never as 0.{markup.text(confound)}"
    )


# ---------------------------------------------------------------------------------- pages
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
        preamble(report, MARKDOWN),
        "",
        *breaks.markdown_first_screen(report, t),
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
        *(
            ["## Noise floor (control − base)", "", t["noise_floor"], ""]
            if "noise_floor" in t
            else []
        ),
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
    lines += breaks.markdown_sections(report, t)
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
        f"<p>{preamble(report, HTML)}</p>",
        breaks.html_first_screen(report),
        "<h2>Models</h2>",
        _md_table_to_html(t["models"]),
        "<h2>Capabilities</h2>",
        _md_table_to_html(t["capabilities"]),
        img("capabilities", "capability scores with 95% intervals"),
        "<h2>Compression deltas (variant − base)</h2>",
        _md_table_to_html(t["deltas"]),
        img("deltas", "deltas with 95% intervals"),
        *(
            ["<h2>Noise floor (control − base)</h2>", _md_table_to_html(t["noise_floor"])]
            if "noise_floor" in t
            else []
        ),
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
    parts.append(breaks.html_where_it_breaks(report))
    parts.append("</body></html>")
    return "\n".join(p for p in parts if p)
