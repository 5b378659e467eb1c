"""Regenerates ``report_suite/expected/`` (what ``test_report_regression.py`` compares with)
from the stored folder ``report_suite/`` with the current report code, after checking that
nothing changed but what a deliberate change names.

History of the expected files:

- commit 75220e8: written by the report code before it became a package;
- issue 18: delta intervals switched from the percentile bootstrap (which covers far less
  than 95% at 3-5 pairs) to the adjusted-t paired interval of ``scoring/intervals.py``, a
  delta is flagged "excludes 0" only from 10 pairs, every delta carries the MDE of its own
  pairs (``mde``, also a table column), and the models table shows dtype, device and backend
  version. So in ``report.json`` only the deltas' ``ci_low``, ``ci_high``, ``method``,
  ``supported``, ``significant`` and ``mde`` change, and ``delta_intervals`` and
  ``one_dtype`` (and the models' runtime fields) are new; task and capability scores and
  their intervals are unchanged (this script checks that before it writes);
- issue 18, later: the adjusted-t interval shares its pseudo-pairs out over the tasks by
  weight instead of giving each task all of them (which shrank multi-task deltas toward 0
  and under-covered large losses), so again only the deltas' interval ends, flags and MDEs
  change.

    python -m tests.scoring.data.make_expected_report
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from acbench_env.cli import main

STORED = Path(__file__).parent / "report_suite"
EXPECTED = STORED / "expected"
#: Keys of a delta row that the issue 18 change may alter, and report keys it adds.
DELTA_KEYS = {"ci_low", "ci_high", "method", "supported", "significant", "mde"}
NEW_KEYS = {"delta_intervals", "one_dtype"}
MODEL_KEYS = {"dtype", "device", "backend_version"}


def check(old: dict, new: dict) -> None:
    """Refuse a regeneration that changes more than the keys named above."""
    for key in set(old) | set(new):
        if key in NEW_KEYS or key in ("deltas", "models"):
            continue
        if old.get(key) != new.get(key):
            raise SystemExit(f"report key {key!r} changed; not an intended change")
    for rows, allowed in (("deltas", DELTA_KEYS), ("models", MODEL_KEYS)):
        if len(old[rows]) != len(new[rows]):
            raise SystemExit(f"{rows}: row count changed")
        for a, b in zip(old[rows], new[rows]):
            bad = {k for k in set(a) | set(b) if a.get(k) != b.get(k)} - allowed
            if bad:
                raise SystemExit(f"{rows} row {a.get('name', a.get('label'))}: {sorted(bad)}")


def regenerate() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        assert main(["report", str(STORED), "--out", tmp, "--no-plots"]) == 0
        old = json.loads((EXPECTED / "report.json").read_text())
        check(old, json.loads((Path(tmp) / "report.json").read_text()))
        for name in ("report.json", "report.md", "report.html"):
            shutil.copyfile(Path(tmp) / name, EXPECTED / name)


if __name__ == "__main__":
    regenerate()
