"""Rendering of "which method costs what, where" and "Where it breaks".

Tables (Markdown, also used by the HTML page) and HTML fragments for the report's
``where_it_breaks`` key (present only when the suite folder holds ``diagnostics.json``):

- the cost map: variants x capabilities deltas with intervals and significance marks,
  methods ranked by their overall delta (the first screen of the HTML page, which adds the
  per-task heatmap, expandable, and the per-task rows, sortable and filterable);
- token-level KL and top-1 agreement by class and variant (a heatmap in HTML), the
  first-divergence histogram by class, the outcome categories (stacked bars, base vs each
  variant, with the paired deltas), rollout efficiency;
- the side-by-side episode viewer (HTML only): pick a task and seed and a variant; the
  base model's output step by step with the tokens where the variant's top-1 differs
  marked, beside the variant's own output of that step.

Every function returns ``None`` / ``""`` when the report has no ``where_it_breaks``, so a
report without diagnostics renders exactly as before.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any

from acbench_env.scoring.outcomes import OUTCOMES
from acbench_env.scoring.token_classes import CLASSES

_CLASS_ORDER = (*CLASSES, "all")
_SIG = "*"


def _f(v: Any, digits: int = 3) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def _s(v: Any, digits: int = 3) -> str:
    return "—" if v is None else f"{v:+.{digits}f}"


def _ci(ci: Any, digits: int = 3) -> str:
    if not ci or ci[0] is None:
        return ""
    return f" [{_f(ci[0], digits)}, {_f(ci[1], digits)}]"


def _wib(report: Mapping[str, Any]) -> Mapping[str, Any] | None:
    return report.get("where_it_breaks")


def _ranked_variants(report: Mapping[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    """Variants with their overall delta, best (least loss) first."""
    labels = [m["label"] for m in report["models"]][1:]
    overall = {d["variant"]: d for d in report["deltas"] if d["level"] == "overall" and d["pairs"]}

    def key(label: str) -> float:
        d = overall.get(label)
        return -(d["absolute"] if d and d["absolute"] is not None else float("-inf"))

    return [(label, overall.get(label)) for label in sorted(labels, key=key)]


def _cell(d: Mapping[str, Any] | None) -> str:
    if d is None or not d.get("pairs"):
        return "—"
    mark = _SIG if d["significant"] else ""
    return f"{_s(d['absolute'])}{mark} [{_s(d['ci_low'])}, {_s(d['ci_high'])}]"


# -------------------------------------------------------------------------------- tables
def cost_map_table(report: Mapping[str, Any]) -> str | None:
    """Variants (ranked by overall delta) x capabilities: delta [95% CI], ``*`` when the
    interval excludes 0."""
    if _wib(report) is None:
        return None
    caps = [c["capability"] for c in report["capabilities"]]
    by = {(d["variant"], d["name"]): d for d in report["deltas"] if d["level"] == "capability"}
    rows = [
        "| rank | variant | overall | " + " | ".join(caps) + " |",
        "|---|---|---|" + "---|" * len(caps),
    ]
    for i, (label, overall) in enumerate(_ranked_variants(report), 1):
        cells = [_cell(by.get((label, c))) for c in caps]
        rows.append(f"| {i} | {label} | {_cell(overall)} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def token_classes_table(report: Mapping[str, Any]) -> str | None:
    """Per token class and variant: mean KL(base||variant) and top-1 agreement [95% CI]."""
    wib = _wib(report)
    if wib is None or not wib["tokens"]:
        return None
    variants = list(wib["tokens"])
    rows = [
        "| class | " + " | ".join(f"{v}: tokens, KL, top-1 agreement" for v in variants) + " |",
        "|---|" + "---|" * len(variants),
    ]
    for cls in _CLASS_ORDER:
        cells = []
        for v in variants:
            r = wib["tokens"][v]["classes"].get(cls)
            if r is None:
                cells.append("—")
                continue
            cells.append(
                f"{r['tokens']}; {_f(r['kl'], 4)}{_ci(r.get('kl_ci'), 4)}; "
                f"{_f(r['top1_agreement'])}{_ci(r.get('top1_agreement_ci'))}"
            )
        if any(c != "—" for c in cells):
            rows.append(f"| {cls} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def first_divergence_table(report: Mapping[str, Any]) -> str | None:
    """Per variant: outputs whose greedy decoding would leave the base path, by the class
    of the first divergent token, and the median position."""
    wib = _wib(report)
    if wib is None or not wib["tokens"]:
        return None
    rows = [
        "| variant | outputs | diverged | median position | " + " | ".join(CLASSES) + " |",
        "|---|---|---|---|" + "---|" * len(CLASSES),
    ]
    for v, t in wib["tokens"].items():
        fd = t["first_divergence"]
        by = fd.get("by_class") or {}
        rows.append(
            f"| {v} | {fd.get('outputs')} | {fd.get('diverged')} | "
            f"{_f(fd.get('median_position'), 1)} | "
            + " | ".join(str(by.get(c, 0)) for c in CLASSES)
            + " |"
        )
    return "\n".join(rows)


def outcomes_table(report: Mapping[str, Any]) -> str | None:
    """Episodes per outcome category and model; per variant the share delta over all
    capabilities [95% paired CI]."""
    wib = _wib(report)
    if wib is None:
        return None
    labels = list(wib["outcomes"])
    variants = list(wib["outcome_deltas"])
    rows = [
        "| outcome | " + " | ".join(labels) + "".join(f" | Δ share {v}" for v in variants) + " |",
        "|---|" + "---|" * (len(labels) + len(variants)),
    ]
    for cat in OUTCOMES:
        cells = [str(wib["outcomes"][lb].get(cat, 0)) for lb in labels]
        for v in variants:
            d = wib["outcome_deltas"][v].get("all", {}).get(cat)
            cells.append(
                "—"
                if d is None
                else f"{_s(d['delta'], 2)}{_SIG if d['significant'] else ''}{_ci(d['ci'], 2)}"
            )
        rows.append(f"| {cat} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def _mb(v: Any) -> str:
    return "—" if v is None else f"{v / 2**20:.0f}"


def efficiency_table(report: Mapping[str, Any]) -> str | None:
    """Per model, beside its overall delta: rollout-level throughput and latency, peak
    memory and checkpoint size (same run, same backend; "—" where not measured)."""
    wib = _wib(report)
    if wib is None:
        return None
    overall = {d["variant"]: d for d in report["deltas"] if d["level"] == "overall"}
    rows = [
        "| model | overall Δ [95% CI] | steps | generated tok/s | prompt tok/s | "
        "latency p50 (s) | latency p95 (s) | peak memory (MiB) | checkpoint (MiB) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for i, (label, e) in enumerate(wib["efficiency"].items()):
        delta = "base" if i == 0 else _cell(overall.get(label))
        rows.append(
            f"| {label} | {delta} | {e['steps']} | {_f(e['generated_tok_s'], 1)} | "
            f"{_f(e['prompt_tok_s'], 1)} | {_f(e['latency_p50_s'], 3)} | "
            f"{_f(e['latency_p95_s'], 3)} | {_mb(e.get('peak_memory_bytes'))} | "
            f"{_mb(e.get('checkpoint_bytes'))} |"
        )
    return "\n".join(rows)


_EFFICIENCY_NOTE = (
    "Efficiency per model, measured in the suite run on its backend: tokens per second over "
    "the steps' wall time, latency per step, peak memory (GPU: max allocated; CPU: peak "
    "resident memory of the run's process, the same baseline for every model) and the "
    "checkpoint's weight files on disk."
)


#: The tables of this module (merged into the report's TABLES).
BREAKS_TABLES = {
    "cost_map": cost_map_table,
    "token_classes": token_classes_table,
    "first_divergence": first_divergence_table,
    "outcomes": outcomes_table,
    "efficiency": efficiency_table,
}


def markdown_first_screen(report: Mapping[str, Any], tables: Mapping[str, str]) -> list[str]:
    """The Markdown lines of the cost map (empty without diagnostics)."""
    if _wib(report) is None:
        return []
    return [
        "## Which method costs what, where",
        "",
        "Delta (variant − base) per capability, [95% CI]; `*`: the interval excludes 0. "
        "Methods ranked by overall delta.",
        "",
        tables["cost_map"],
        "",
        *(
            ["### Efficiency per variant", "", _EFFICIENCY_NOTE, "", tables["efficiency"], ""]
            if "efficiency" in tables
            else []
        ),
    ]


def markdown_sections(report: Mapping[str, Any], tables: Mapping[str, str]) -> list[str]:
    """The Markdown lines of "Where it breaks" (empty without diagnostics)."""
    if _wib(report) is None:
        return []
    lines = [
        "## Where it breaks",
        "",
        _source_note(report),
        "",
    ]
    for name, title in (
        ("token_classes", "Token classes: KL(base || variant) and top-1 agreement"),
        ("first_divergence", "First divergence (greedy decoding leaves the base path)"),
        ("outcomes", "Outcome categories (episodes)"),
    ):
        if name in tables:
            lines += [f"### {title}", "", tables[name], ""]
    return lines


def _source_note(report: Mapping[str, Any]) -> str:
    wib = _wib(report) or {}
    src = wib.get("token_source") or {}
    note = (
        f"Teacher-forced replay of the base model's outputs: {src.get('recorded', 0)} outputs "
        f"on their recorded token ids, {src.get('retokenized', 0)} re-tokenized from text. "
        "Intervals: 95% bootstrap over episodes."
    )
    if wib.get("kl_method", "full") != "full":
        note += f" KL is not the full KL: {wib.get('kl_note') or wib['kl_method']}."
    return note


# -------------------------------------------------------------------------------- HTML
_CSS = (
    ".hm td.v{font-variant-numeric:tabular-nums;white-space:nowrap}"
    ".bar{display:flex;height:18px;width:420px;border:1px solid #999;margin:2px 0}"
    ".bar span{display:block;height:100%}"
    ".viewer{display:flex;gap:1em;align-items:flex-start}"
    ".viewer .col{flex:1;border:1px solid #ccc;padding:.5em;min-width:0}"
    ".viewer pre{white-space:pre-wrap;word-break:break-word;margin:.3em 0}"
    "mark.div{background:#f88;border-bottom:2px solid #c00}"
    ".tok.answer{color:#006}.tok.tool_name{color:#060;font-weight:bold}"
    ".tok.arg_key{color:#840}.tok.arg_value{color:#04a}.tok.structure{color:#777}"
    "#task-rows input{margin:.3em 0}th.sort{cursor:pointer}"
)
_OUTCOME_COLORS = {
    "success": "#4caf50",
    "truncated_output": "#9c27b0",
    "format_failure": "#f44336",
    "wrong_tool": "#ff9800",
    "wrong_argument": "#ffc107",
    "loop": "#795548",
    "invalid_action": "#e91e63",
    "step_limit": "#607d8b",
    "wrong_answer": "#2196f3",
}


def _heat(value: float | None, lo: float, hi: float, reverse: bool = False) -> str:
    """A background colour: white at ``lo``, red at ``hi`` (or the reverse)."""
    if value is None or hi <= lo:
        return ""
    x = min(max((value - lo) / (hi - lo), 0.0), 1.0)
    x = 1.0 - x if reverse else x
    g = int(255 - 150 * x)
    return f' style="background:rgb(255,{g},{g})"'


def _delta_heat(d: Mapping[str, Any] | None, scale: float) -> str:
    if d is None or not d.get("pairs") or d.get("absolute") is None or scale <= 0:
        return ""
    x = max(-1.0, min(1.0, d["absolute"] / scale))
    if x < 0:
        g = int(255 - 150 * -x)
        return f' style="background:rgb(255,{g},{g})"'
    g = int(255 - 150 * x)
    return f' style="background:rgb({g},255,{g})"'


def html_first_screen(report: Mapping[str, Any]) -> str:
    """The cost-map heatmap (capabilities, tasks expandable) and the per-task rows,
    sortable and filterable; ``""`` without diagnostics."""
    if _wib(report) is None:
        return ""
    from acbench_env.scoring.report.render import _md_table_to_html

    caps = [c["capability"] for c in report["capabilities"]]
    by_cap = {(d["variant"], d["name"]): d for d in report["deltas"] if d["level"] == "capability"}
    by_task = {(d["variant"], d["name"]): d for d in report["deltas"] if d["level"] == "task"}
    tasks = [t["env_id"] for t in report["tasks"]]
    scale = max(
        [abs(d["absolute"]) for d in report["deltas"] if d["pairs"] and d["absolute"] is not None]
        or [0.0]
    )
    ranked = _ranked_variants(report)

    def grid(cols: list[str], by: Mapping[tuple[str, str], Any], short: bool) -> str:
        head = "".join(f"<th>{html.escape(c.split('/')[-1] if short else c)}</th>" for c in cols)
        out = [f'<table class="hm"><thead><tr><th>rank</th><th>variant</th><th>overall</th>{head}']
        out.append("</tr></thead><tbody>")
        for i, (label, overall) in enumerate(ranked, 1):
            out.append(
                f"<tr><td>{i}</td><td>{html.escape(label)}</td>"
                f'<td class="v"{_delta_heat(overall, scale)}>{html.escape(_cell(overall))}</td>'
            )
            for c in cols:
                d = by.get((label, c))
                out.append(f'<td class="v"{_delta_heat(d, scale)}>{html.escape(_cell(d))}</td>')
            out.append("</tr>")
        out.append("</tbody></table>")
        return "".join(out)

    rows = []
    for d in report["deltas"]:
        if d["level"] != "task":
            continue
        rows.append(
            "<tr>"
            f"<td>{html.escape(d['variant'])}</td><td>{html.escape(d['name'].split('/')[-1])}</td>"
            f"<td>{html.escape(d['capability'])}</td><td>{d['pairs']}</td>"
            f'<td data-v="{d["absolute"] if d["absolute"] is not None else ""}">'
            f"{html.escape(_cell(d))}</td><td>{'yes' if d['significant'] else 'no'}</td></tr>"
        )
    return "\n".join(
        [
            f"<style>{_CSS}</style>",
            '<section id="cost-map"><h2>Which method costs what, where</h2>',
            "<p>Delta (variant − base) with its 95% interval; *: the interval excludes 0; "
            "colour: size of the delta (red: loss, green: gain). Methods ranked by overall delta.</p>",
            grid(caps, by_cap, False),
            *(
                [
                    '<h3 id="efficiency">Efficiency per variant</h3>',
                    f"<p>{html.escape(_EFFICIENCY_NOTE)}</p>",
                    _md_table_to_html(eff),
                ]
                if (eff := efficiency_table(report)) is not None
                else []
            ),
            "<details><summary>per task</summary>",
            grid(tasks, by_task, True),
            "</details>",
            '<div id="task-rows"><input id="task-filter" placeholder="filter rows (variant, '
            'task, capability)">',
            '<table id="task-table"><thead><tr><th class="sort">variant</th>'
            '<th class="sort">task</th><th class="sort">capability</th><th class="sort">pairs'
            '</th><th class="sort">Δ [95% CI]</th><th class="sort">CI excludes 0</th></tr>'
            "</thead><tbody>",
            *rows,
            "</tbody></table></div></section>",
            f"<script>{_TABLE_JS}</script>",
        ]
    )


_TABLE_JS = """
(function(){
  const t=document.getElementById('task-table'); if(!t) return;
  const f=document.getElementById('task-filter');
  f.addEventListener('input',()=>{const q=f.value.toLowerCase();
    for(const r of t.tBodies[0].rows){r.style.display=r.textContent.toLowerCase().includes(q)?'':'none';}});
  t.querySelectorAll('th.sort').forEach((th,i)=>{let asc=true;th.addEventListener('click',()=>{
    const rows=Array.from(t.tBodies[0].rows);
    const val=r=>{const c=r.cells[i];const v=c.dataset.v;return v!==undefined&&v!==''?parseFloat(v):c.textContent;};
    rows.sort((a,b)=>{const x=val(a),y=val(b);const s=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y));return asc?s:-s;});
    asc=!asc; rows.forEach(r=>t.tBodies[0].appendChild(r));});});
})();
"""


def html_where_it_breaks(report: Mapping[str, Any]) -> str:
    """The "Where it breaks" section with its heatmaps, histogram, stacked bars, efficiency
    and the episode viewer; ``""`` without diagnostics."""
    wib = _wib(report)
    if wib is None:
        return ""
    variants = list(wib["tokens"])
    parts = ['<section id="where-it-breaks"><h2>Where it breaks</h2>']
    parts.append(f"<p>{html.escape(_source_note(report))}</p>")
    if variants:
        kls = [
            r["kl"]
            for v in variants
            for r in wib["tokens"][v]["classes"].values()
            if r.get("kl") is not None
        ]
        hi = max(kls or [0.0])
        for metric, title, rev in (
            ("kl", "Mean KL(base || variant) per token class", False),
            ("top1_agreement", "Top-1 agreement with the base token per class", True),
        ):
            parts.append(f"<h3>{title}</h3>")
            head = "".join(f"<th>{html.escape(v)}</th>" for v in variants)
            parts.append(f'<table class="hm" id="hm-{metric}"><thead><tr><th>class</th>{head}')
            parts.append("</tr></thead><tbody>")
            for cls in _CLASS_ORDER:
                rows = [wib["tokens"][v]["classes"].get(cls) for v in variants]
                if all(r is None for r in rows):
                    continue
                parts.append(f"<tr><td>{cls}</td>")
                for r in rows:
                    if r is None:
                        parts.append("<td>—</td>")
                        continue
                    val = r[metric]
                    top = hi if metric == "kl" else 1.0
                    digits = 4 if metric == "kl" else 3
                    text = (
                        f"{_f(val, digits)}{_ci(r.get(metric + '_ci'), digits)} (n={r['tokens']})"
                    )
                    parts.append(
                        f'<td class="v"{_heat(val, 0.0, top, reverse=rev)}>{html.escape(text)}</td>'
                    )
                parts.append("</tr>")
            parts.append("</tbody></table>")
        parts.append("<h3>First divergence: where greedy decoding leaves the base path</h3>")
        edges = wib["histogram_edges"]
        bins = [f"{a}–{b - 1}" if b - a > 1 else str(a) for a, b in zip(edges, edges[1:])]
        bins.append(f"{edges[-1]}+")
        for v in variants:
            hist = wib["tokens"][v]["first_divergence"]["histogram"]
            peak = max([n for h in hist.values() for n in h] or [1])
            parts.append(f'<h4>{html.escape(v)}</h4><table class="hist"><thead><tr><th>class</th>')
            parts.append("".join(f"<th>{b}</th>" for b in bins) + "</tr></thead><tbody>")
            for cls, counts in hist.items():
                cells = "".join(
                    f'<td><div style="background:#c33;height:10px;width:{int(40 * n / peak)}px">'
                    f"</div>{n}</td>"
                    for n in counts
                )
                parts.append(f"<tr><td>{cls}</td>{cells}</tr>")
            parts.append("</tbody></table>")
    parts.append("<h3>Outcome categories (share of episodes)</h3>")
    legend = "".join(
        f'<span style="background:{c};padding:0 .4em;margin-right:.3em">{k}</span>'
        for k, c in _OUTCOME_COLORS.items()
    )
    parts.append(f"<p>{legend}</p>")
    for label, counts in wib["outcomes"].items():
        total = sum(counts.values()) or 1
        segs = "".join(
            f'<span title="{k}: {n}" style="width:{100 * n / total:.2f}%;'
            f'background:{_OUTCOME_COLORS[k]}"></span>'
            for k, n in counts.items()
            if n
        )
        parts.append(f'<div>{html.escape(label)}</div><div class="bar outcome-bar">{segs}</div>')
    tables = {name: t for name, make in BREAKS_TABLES.items() if (t := make(report)) is not None}
    from acbench_env.scoring.report.render import _md_table_to_html

    for name, title in (("outcomes", "Outcome counts and paired deltas"),):
        if name in tables:
            parts += [f"<h3>{title}</h3>", _md_table_to_html(tables[name])]
    parts.append(html_viewer(report))
    parts.append("</section>")
    return "\n".join(parts)


def html_viewer(report: Mapping[str, Any]) -> str:
    """The side-by-side episode viewer: the data as JSON and a small script."""
    wib = _wib(report)
    if wib is None or not wib.get("viewer"):
        return ""
    data = {"base": wib["base"], "episodes": wib["viewer"], "variants": list(wib["tokens"])}
    blob = json.dumps(data, sort_keys=True).replace("</", "<\\/")
    return "\n".join(
        [
            '<h3>Episode viewer</h3><div id="viewer-controls">task and seed '
            '<select id="viewer-episode"></select> variant <select id="viewer-variant"></select>'
            "</div>",
            "<p>Left: the base model's output, tokens where the variant's top-1 differs "
            '<mark class="div">marked</mark> (hover: the variant\'s choice, KL). Right: the '
            "variant's own output of that step in its own rollout.</p>",
            '<div id="viewer"></div>',
            f'<script type="application/json" id="viewer-data">{blob}</script>',
            f"<script>{_VIEWER_JS}</script>",
        ]
    )


_VIEWER_JS = """
(function(){
  const data=JSON.parse(document.getElementById('viewer-data').textContent);
  const es=document.getElementById('viewer-episode'), vs=document.getElementById('viewer-variant');
  const root=document.getElementById('viewer');
  const esc=s=>s.replace(/[&<>"]/g,c=>({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;'}[c]));
  data.episodes.forEach((e,i)=>{const o=document.createElement('option');o.value=i;
    o.textContent=e.env_id.split('/').pop()+' seed '+e.seed;es.appendChild(o);});
  data.variants.forEach(v=>{const o=document.createElement('option');o.value=v;o.textContent=v;vs.appendChild(o);});
  function draw(){
    const ep=data.episodes[+es.value||0], v=vs.value; if(!ep) return;
    let html='';
    ep.steps.forEach(st=>{
      const m=st.marks[v]||{top1:[],pred:[],kl:[]};
      const toks=st.tokens.map((t,i)=>{
        const cls='tok '+st.classes[i];
        if(m.top1.length&&!m.top1[i]){
          return '<mark class="div '+cls+'" title="'+esc('variant: '+JSON.stringify(m.pred[i])+
            ' KL '+(m.kl[i]||0).toFixed(3)+' ('+st.classes[i]+')')+'">'+esc(t)+'</mark>';}
        return '<span class="'+cls+'">'+esc(t)+'</span>';}).join('');
      const own=(ep.rollouts[v]||[])[st.step];
      const base=(ep.rollouts[data.base]||[])[st.step];
      html+='<h4>step '+st.step+'</h4><div class="viewer">'+
        '<div class="col col-base"><b>'+esc(data.base)+'</b><pre>'+toks+'</pre></div>'+
        '<div class="col col-variant"><b>'+esc(v)+'</b><pre>'+
        (own===undefined?'<i>(no rollout of this step)</i>':esc(own))+'</pre></div></div>';
    });
    root.innerHTML=html;
  }
  // Open on the first episode where the first variant leaves the base path.
  const first=data.episodes.findIndex(e=>e.steps.some(st=>{const m=st.marks[data.variants[0]];
    return m&&m.top1.some(x=>!x);}));
  if(first>=0) es.value=String(first);
  es.addEventListener('change',draw); vs.addEventListener('change',draw); draw();
})();
"""
