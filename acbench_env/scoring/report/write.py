"""Writing a report folder: ``report.json`` (the numbers), ``report.md``, a self-contained
``report.html`` (plots embedded as base64 PNG) and ``plots/*.png``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from acbench_env.scoring.report.build import build_report
from acbench_env.scoring.report.load import SuiteData
from acbench_env.scoring.report.render import markdown_tables, render_html, render_markdown


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
