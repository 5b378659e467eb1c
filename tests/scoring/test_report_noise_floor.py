"""The report prints the noise floor beside the compression deltas, the MDE of every delta,
and how each model computed (dtype, device, backend version): JSON, Markdown and HTML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from acbench_env.agents import OracleAgent
from acbench_env.core.suites import SuiteTask
from acbench_env.experiments.suite import run_suite
from acbench_env.scoring.report import load_suite, write_report
from tests.scoring import suite_fixtures
from tests.scoring.suite_fixtures import ENTRIES, MINI, only

RUNTIME = {"dtype": "bfloat16", "device": "cpu", "backend_version": "vllm 0.0-test"}
CONTROL = {
    **ENTRIES[0],
    **RUNTIME,
    "label": "base~float32",
    "dtype": "float32",
    "control": "base in float32",
}


def factory(entry: Any, task: SuiteTask, repeat: int) -> Any:
    """The base and its control act alike (the oracle); the variant answers garbage."""
    if entry.label.startswith("base"):
        return OracleAgent()
    return suite_fixtures.agent_factory(entry, task, repeat)


def _run(out: Path, monkeypatch: Any) -> dict[str, Any]:
    only(MINI, monkeypatch)
    entries = [{**e, **RUNTIME} for e in ENTRIES] + [CONTROL]
    run_suite(
        [e["model"] for e in entries],
        MINI,
        out,
        agent_factory=factory,
        model_entries=entries,
        batch_size=4,
    )
    return write_report(load_suite([out]), out, plots=False)


def test_noise_floor_mde_and_runtime_in_every_output(tmp_path: Path, monkeypatch: Any) -> None:
    report = _run(tmp_path, monkeypatch)
    roles = {m["label"]: m["role"] for m in report["models"]}
    assert roles == {"base": "base", "broken": "variant", "base~float32": "control"}
    base = report["models"][0]
    assert (base["dtype"], base["device"], base["backend_version"]) == (
        "bfloat16",
        "cpu",
        "vllm 0.0-test",
    )
    assert report["one_dtype"]  # the control's other dtype is not a confound
    # The control is not a variant: no compression delta of its own, but a noise floor.
    assert {d["variant"] for d in report["deltas"]} == {"broken"}
    floor = {(f["level"], f["name"]): f for f in report["noise_floor"]}
    overall = floor[("overall", "overall")]
    assert overall["absolute"] == 0.0 and overall["changed"] == 0 and not overall["significant"]
    assert overall["pairs"] == sum(t.episodes for t in MINI.tasks)
    variant = next(d for d in report["deltas"] if d["level"] == "overall")
    assert variant["absolute"] < 0 and variant["significant"]  # 18 pairs: flagged
    assert 0 < variant["mde"] < 1 and variant["method"] == "adjusted-t"
    assert json.loads((tmp_path / "report.json").read_text())["noise_floor"]
    md = (tmp_path / "report.md").read_text()
    assert "## Noise floor (control − base)" in md
    assert "| base | base | `base-model` | none | bfloat16 | cpu | vllm 0.0-test |" in md
    delta_line = next(line for line in md.splitlines() if line.startswith("| broken | overall"))
    assert f"| {variant['mde']:.3f} |" in delta_line
    assert delta_line.endswith(
        f"| **yes** | +0.000 [{overall['ci_low']:+.3f}, {overall['ci_high']:+.3f}] (base~float32) |"
    )
    assert all(f["changed"] == 0 for f in report["noise_floor"])
    html = (tmp_path / "report.html").read_text()
    assert "<h2>Noise floor (control − base)</h2>" in html and "vllm 0.0-test" in html
    assert "adjusted-t paired interval" in md and "adjusted-t paired interval" in html


def test_a_suite_with_two_dtypes_is_called_a_confound(tmp_path: Path, monkeypatch: Any) -> None:
    only(MINI, monkeypatch)
    entries = [{**ENTRIES[0], "dtype": "float32"}, {**ENTRIES[1], "dtype": "bfloat16"}]
    run_suite(
        [e["model"] for e in entries],
        MINI,
        tmp_path,
        agent_factory=factory,
        model_entries=entries,
        batch_size=4,
    )
    report = write_report(load_suite([tmp_path]), tmp_path, plots=False)
    assert not report["one_dtype"] and "noise_floor" not in report
    md = (tmp_path / "report.md").read_text()
    assert "different activation dtypes (bfloat16, float32): a confound" in md
    assert "Noise floor" not in md


def test_an_interval_that_excludes_0_on_too_few_pairs_is_not_flagged() -> None:
    from acbench_env.scoring.deltas import PairedGroup, paired_bootstrap_delta
    from acbench_env.scoring.report.render import deltas_table
    from acbench_env.scoring.report.sections import _delta_row

    # 8 pairs of clear losses: the interval excludes 0, but adjusted-t flags from 10 pairs.
    d = paired_bootstrap_delta([PairedGroup((1.0,) * 7 + (0.0,), (0.0,) * 8)])
    assert d.ci_high < 0 and not d.supported and not d.significant
    row = _delta_row("v", "overall", "overall", "", False, d)
    table = deltas_table({"deltas": [row]})
    assert table.splitlines()[-1].endswith("| no (too few pairs to flag) |")
    assert "noise floor" not in table  # no control, no column


def test_an_mde_of_one_pair_is_written_as_null() -> None:
    from acbench_env.scoring.report.build import nan_to_none

    assert nan_to_none({"mde": float("inf"), "x": [float("nan"), 1.0]}) == {
        "mde": None,
        "x": [None, 1.0],
    }
