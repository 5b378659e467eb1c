"""The report's plots, drawn with matplotlib's Agg canvas (no display, no pyplot state).

Each function takes the report dict (see :func:`acbench_env.scoring.report.build_report`)
and returns PNG bytes; :func:`report_plots` returns every plot the report's data supports.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import Any

from acbench_env.core.errors import require

_COLORS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3")


def _figure(width: float, height: float) -> Any:
    require("matplotlib", "plot", "Drawing the report's plots")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _nan(v: Any) -> float:
    return float("nan") if v is None else float(v)


def capability_bars(report: Mapping[str, Any]) -> bytes:
    """Grouped bars: capability score per model, with 95% bootstrap intervals."""
    labels = [m["label"] for m in report["models"]]
    caps = [c["capability"] for c in report["capabilities"]]
    fig = _figure(max(6.0, 1.6 * len(caps) + 2), 4.0)
    ax = fig.add_subplot(1, 1, 1)
    width = 0.8 / max(len(labels), 1)
    for i, label in enumerate(labels):
        xs, ys, lo, hi = [], [], [], []
        for j, c in enumerate(report["capabilities"]):
            v = c["models"].get(label) or {}
            y = _nan(v.get("score"))
            xs.append(j + (i - (len(labels) - 1) / 2) * width)
            ys.append(0.0 if math.isnan(y) else y)
            lo.append(0.0 if math.isnan(y) else max(0.0, y - _nan(v.get("ci_low"))))
            hi.append(0.0 if math.isnan(y) else max(0.0, _nan(v.get("ci_high")) - y))
        ax.bar(
            xs, ys, width, yerr=[lo, hi], capsize=3, label=label, color=_COLORS[i % len(_COLORS)]
        )
        for x, c in zip(xs, report["capabilities"]):
            v = c["models"].get(label) or {}
            if v.get("score") is None:  # empty: no bar, never a 0
                ax.text(x, 0.02, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
    ax.set_xticks(range(len(caps)), [c.replace("_", "\n") for c in caps], fontsize=8)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score (mean of tasks)")
    ax.set_title("Capability scores with 95% bootstrap intervals", fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def delta_chart(report: Mapping[str, Any]) -> bytes:
    """Horizontal bars: capability and overall deltas (variant − base) with paired intervals;
    intervals that exclude 0 are drawn in a strong colour."""
    rows = [d for d in report["deltas"] if d["level"] in ("capability", "overall")]
    fig = _figure(7.0, max(2.5, 0.35 * len(rows) + 1.2))
    ax = fig.add_subplot(1, 1, 1)
    for i, d in enumerate(rows):
        y = _nan(d["absolute"])
        if math.isnan(y):
            continue
        color = (
            "#c44e52"
            if d["significant"] and y < 0
            else "#55a868"
            if d["significant"]
            else "#999999"
        )
        ax.barh(i, y, color=color)
        ax.errorbar(
            y,
            i,
            xerr=[[max(0.0, y - _nan(d["ci_low"]))], [max(0.0, _nan(d["ci_high"]) - y)]],
            fmt="none",
            ecolor="black",
            capsize=3,
        )
    ax.axvline(0.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [f"{d['variant']}: {d['name']}" for d in rows], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("Δ score (variant − base), paired bootstrap 95% CI")
    ax.set_title("Compression deltas (coloured: interval excludes 0)", fontsize=10)
    return _png(fig)


def needle_heatmaps(report: Mapping[str, Any]) -> bytes:
    """One heatmap per model: needle depth x context length, mean exact-match score."""
    import numpy as np

    needle = report["needle"]
    labels = [m["label"] for m in report["models"] if needle.get(m["label"])]
    lengths = sorted({c["context_length"] for lab in labels for c in needle[lab]})
    depths = sorted({c["depth"] for lab in labels for c in needle[lab]})
    fig = _figure(
        1.5 + 2.2 * len(labels) + 0.4 * len(labels) * len(lengths), 1.2 + 0.45 * len(depths)
    )
    axes = [fig.add_subplot(1, len(labels), i + 1) for i in range(len(labels))]
    image = None
    for ax, label in zip(axes, labels):
        data = np.full((len(depths), len(lengths)), np.nan)
        for c in needle[label]:
            data[depths.index(c["depth"]), lengths.index(c["context_length"])] = c["score"]
        image = ax.imshow(np.ma.masked_invalid(data), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(lengths)), [str(n) for n in lengths], fontsize=8)
        ax.set_yticks(range(len(depths)), [f"{d:.0%}" for d in depths], fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel("context tokens", fontsize=8)
        for i in range(len(depths)):
            for j in range(len(lengths)):
                text = "n/a" if math.isnan(data[i, j]) else f"{data[i, j]:.2f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7)
    axes[0].set_ylabel("needle depth", fontsize=8)
    if image is not None:
        fig.colorbar(image, ax=axes, label="exact match")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def erank_per_layer(report: Mapping[str, Any]) -> bytes:
    """ERank of each layer's hidden states, base vs every compressed model analysed."""
    fig = _figure(7.0, 4.0)
    ax = fig.add_subplot(1, 1, 1)
    drawn_base: set[str] = set()
    for i, a in enumerate(report["analysis"]):
        if a["base"] not in drawn_base:
            ax.plot(a["erank_layers_base"], color="black", marker=".", label=f"{a['base']} (base)")
            drawn_base.add(a["base"])
        ax.plot(
            a["erank_layers_compressed"],
            color=_COLORS[(i + 1) % len(_COLORS)],
            marker=".",
            label=a["compressed"],
        )
    ax.set_xlabel("layer (0 = embeddings)")
    ax.set_ylabel("ERank (mean over probes)")
    ax.set_title("Effective rank of hidden states per layer", fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def energy_histograms(report: Mapping[str, Any]) -> bytes:
    """Per analysis: histograms of per-position energy, base vs compressed (same positions)."""
    analyses = report["analysis"]
    fig = _figure(4.5 * len(analyses), 3.5)
    for i, a in enumerate(analyses):
        ax = fig.add_subplot(1, len(analyses), i + 1)
        h = a["energy"]["histogram"]
        edges = h["edges"]
        widths = [b - a_ for a_, b in zip(edges[:-1], edges[1:])]
        for side, color in (("base", "#4c72b0"), ("compressed", "#dd8452")):
            ax.bar(
                edges[:-1],
                h[side],
                width=widths,
                align="edge",
                alpha=0.5,
                label=a[side],
                color=color,
            )
        ax.set_xlabel(f"energy E = -T logsumexp(z/T), T={a['energy']['temperature']}", fontsize=8)
        ax.set_ylabel("positions", fontsize=8)
        ax.set_title(
            f"mean |ΔE| {a['energy']['mean_abs_shift']:.3f}, W1 {a['energy']['wasserstein']:.3f}",
            fontsize=9,
        )
        ax.legend(fontsize=7)
    return _png(fig)


def report_plots(report: Mapping[str, Any]) -> dict[str, bytes]:
    """Every plot the report's data supports, by name."""
    out = {"capabilities": capability_bars(report)}
    if any(d["level"] in ("capability", "overall") for d in report["deltas"]):
        out["deltas"] = delta_chart(report)
    if any(report["needle"].values()):
        out["needle"] = needle_heatmaps(report)
    if report["analysis"]:
        out["erank"] = erank_per_layer(report)
        out["energy"] = energy_histograms(report)
    return out
