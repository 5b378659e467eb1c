"""Building the report: a pure function of the loaded trajectories, one function per section.

:func:`build_report` runs each section of :data:`SECTIONS` over one
:class:`~acbench_env.scoring.report.context.ReportContext` and joins the keys they return
into the report dict (JSON-able; ``None`` where there is no value). The same files always
give the same numbers (every bootstrap is seeded). A new section is a function
``(ReportContext) -> dict`` of new report keys (see
:mod:`~acbench_env.scoring.report.sections`), added to :data:`SECTIONS` or passed to
:func:`build_report`; a table for it goes into
:data:`~acbench_env.scoring.report.render.TABLES`.

Empty and partial runs are reported as such: a task with no episode under a model has no
score (status *empty*), never 0; a task with fewer episodes than the suite asks for is
*partial*, and its deltas use only the episodes both models ran.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from acbench_env.core.errors import ConfigError
from acbench_env.scoring.report.context import Section, report_context
from acbench_env.scoring.report.load import SuiteData
from acbench_env.scoring.report.sections import (
    analysis_section,
    capabilities_section,
    deltas_section,
    header_section,
    models_section,
    needle_section,
    tasks_section,
    where_it_breaks_section,
)

#: The sections of the report, in order.
SECTIONS: tuple[Section, ...] = (
    header_section,
    models_section,
    tasks_section,
    capabilities_section,
    deltas_section,
    needle_section,
    analysis_section,
    where_it_breaks_section,
)


def build_report(data: SuiteData, sections: Sequence[Section] = SECTIONS) -> dict[str, Any]:
    """Every number of the report (a JSON-able dict; ``None`` where there is no value)."""
    ctx = report_context(data)
    report: dict[str, Any] = {}
    for section in sections:
        part = section(ctx)
        if clash := sorted(part.keys() & report.keys()):
            raise ConfigError(
                f"report section {section.__name__} writes {clash}, which another section "
                "wrote already; give its keys other names"
            )
        report.update(part)
    return nan_to_none(report)  # type: ignore[no-any-return]


def nan_to_none(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by ``None`` (JSON has neither; an
    infinite value is an MDE of fewer than 2 pairs per task: no effect is detectable),
    recursing into dicts, lists and tuples (tuples become lists)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: nan_to_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [nan_to_none(v) for v in value]
    return value
