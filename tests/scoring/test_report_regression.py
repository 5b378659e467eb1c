"""The report of a stored suite folder does not change: ``acbench report`` on
``data/report_suite`` (several models and tasks, repeats, a partial and an empty run, an
analysis record) gives, byte for byte, the stored report.json / report.md / report.html
(without plots). They were written by the report code before it became a package (commit
75220e8) and regenerated once on purpose for issue 18 (delta intervals, flags, MDE, runtime
columns; task and capability numbers unchanged): see ``data/make_expected_report.py`` and
``data/make_report_suite.py``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from acbench_env.cli import main
from acbench_env.core.errors import ConfigError
from acbench_env.scoring.report import build_report, load_suite

STORED = Path(__file__).parent / "data" / "report_suite"
EXPECTED = STORED / "expected"


def test_stored_suite_folder_gives_the_stored_report(tmp_path: Path, capsys) -> None:
    assert main(["report", str(STORED), "--out", str(tmp_path), "--no-plots"]) == 0
    assert "overall" in capsys.readouterr().out
    for name in ("report.json", "report.md", "report.html"):
        assert (tmp_path / name).read_text() == (EXPECTED / name).read_text(), name
    # build_report alone gives the same numbers as the stored file.
    stored = json.loads((EXPECTED / "report.json").read_text())
    assert build_report(load_suite([STORED])) == stored
    assert stored["overall_status"] == {
        "base": "complete",
        "w4": "complete",
        "w2": "partial",
        "never_ran": "empty",
    }


def test_a_second_folder_that_relabels_other_weights_is_refused(tmp_path: Path) -> None:
    other = tmp_path / "other"
    shutil.copytree(STORED, other, ignore=shutil.ignore_patterns("expected"))
    manifest = json.loads((other / "suite.json").read_text())
    manifest["models"][1]["weights_sha256"] = "f" * 64
    (other / "suite.json").write_text(json.dumps(manifest))
    with pytest.raises(ConfigError, match="labelled 'w4', with other weights"):
        load_suite([STORED, other])
