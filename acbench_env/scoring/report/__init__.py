"""The suite report: per-task and per-capability scores, compression deltas, plots.

Three steps, one module each:

- :mod:`~acbench_env.scoring.report.load`: :func:`load_suite` reads one or more suite
  folders (written by :func:`acbench_env.experiments.suite.run_suite`) into
  :class:`SuiteData`, refusing to mix runs whose suite fingerprint, seeds or base model differ.
- :mod:`~acbench_env.scoring.report.build`: :func:`build_report`, a pure function of the
  loaded trajectories made of one function per section (:data:`SECTIONS`, written in
  :mod:`~acbench_env.scoring.report.sections` over a
  :class:`~acbench_env.scoring.report.context.ReportContext`); the same files
  always give the same numbers (the bootstrap is seeded), so ``acbench report DIR``
  reproduces a suite's report without a model.
- :mod:`~acbench_env.scoring.report.render`: Markdown and HTML from the same tables and
  preamble; :func:`write_report` writes ``report.json``, ``report.md`` and a self-contained
  ``report.html``.
"""

from acbench_env.scoring.report.build import SECTIONS, build_report, nan_to_none
from acbench_env.scoring.report.context import (
    REPORT_VERSION,
    ReportContext,
    Section,
    report_context,
)
from acbench_env.scoring.report.load import ANALYSIS_DIR, SuiteData, load_suite, merge_manifests
from acbench_env.scoring.report.render import (
    TABLES,
    markdown_tables,
    preamble,
    render_html,
    render_markdown,
)
from acbench_env.scoring.report.write import write_report

__all__ = [
    "ANALYSIS_DIR",
    "REPORT_VERSION",
    "SECTIONS",
    "TABLES",
    "ReportContext",
    "Section",
    "SuiteData",
    "build_report",
    "load_suite",
    "markdown_tables",
    "merge_manifests",
    "nan_to_none",
    "preamble",
    "render_html",
    "render_markdown",
    "report_context",
    "write_report",
]
