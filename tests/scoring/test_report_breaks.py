"""The report's "which method costs what, where" and "Where it breaks" sections: present only
with diagnostics, rendered in Markdown and HTML, and the episode viewer in headless chromium
(two columns, divergent tokens marked; a screenshot is taken)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from acbench_env.core.jsonl import read_trajectories
from acbench_env.scoring.diagnostics import StepDiagnosis, summarize
from acbench_env.scoring.report import load_suite, write_report
from acbench_env.scoring.token_classes import char_classes, output_kind

DATA = Path(__file__).parent / "data" / "report_suite"
CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
)


def fake_diagnostics(suite_dir: Path, variants: list[str]) -> dict:
    """diagnostics.json for the base runs of ``suite_dir``: word-level "tokens" with their
    real classes and, per variant, seeded random disagreement (more for later variants)."""
    rng = np.random.default_rng(0)
    outputs, steps = [], {v: [] for v in variants}
    for f in sorted((suite_dir / "runs" / "base").glob("*.jsonl")):
        for t in read_trajectories(f):
            for s in t.steps:
                text = s.raw_output
                if not text:
                    continue
                pieces = re.findall(r"\s*\S+|\s+", text)
                chars = char_classes(text, output_kind(t.env_id))
                classes, pos = [], 0
                for p in pieces:
                    seg = [c for c, ch in zip(chars[pos : pos + len(p)], p) if not ch.isspace()]
                    classes.append(max(set(seg), key=seg.count) if seg else chars[pos])
                    pos += len(p)
                outputs.append(
                    {
                        "env_id": t.env_id,
                        "seed": t.seed,
                        "task_id": t.task_id,
                        "step": s.index,
                        "capability": t.capability or "other",
                        "tokens": pieces,
                        "classes": classes,
                    }
                )
                for k, v in enumerate(variants):
                    kl = rng.exponential(0.05 * (k + 1), size=len(pieces))
                    top1 = rng.random(len(pieces)) > 0.15 * (k + 1)
                    steps[v].append(
                        StepDiagnosis(
                            t.env_id,
                            t.seed,
                            s.index,
                            t.capability or "other",
                            tuple(classes),
                            tuple(kl.tolist()),
                            tuple(bool(x) for x in top1),
                            tuple(1 if x else 2 for x in top1),
                        )
                    )
    return {
        "version": 1,
        "base": "default",
        "token_source": {"recorded": 0, "retokenized": len(outputs)},
        "outputs": outputs,
        "variants": {
            v: {
                **summarize(steps[v], resamples=100),
                "steps": [
                    {
                        "kl": list(s.kl),
                        "top1": list(s.top1),
                        "rank": list(s.rank),
                        "pred": [None if ok else "X" for ok in s.top1],
                    }
                    for s in steps[v]
                ],
            }
            for v in variants
        },
    }


@pytest.fixture
def suite_with_diagnostics(tmp_path: Path) -> Path:
    out = tmp_path / "suite"
    shutil.copytree(DATA, out, ignore=shutil.ignore_patterns("expected"))
    (out / "diagnostics.json").write_text(json.dumps(fake_diagnostics(out, ["w2", "w4"])))
    return out


def test_sections_present_only_with_diagnostics(suite_with_diagnostics: Path, tmp_path: Path):
    report = write_report(load_suite([suite_with_diagnostics]), suite_with_diagnostics, plots=False)
    wib = report["where_it_breaks"]
    assert set(wib["tokens"]) == {"w2", "w4"}
    assert wib["tokens"]["w2"]["classes"]["all"]["tokens"] > 0
    assert set(wib["outcomes"]) == {"base", "w2", "w4", "never_ran"}
    for label, counts in wib["outcomes"].items():
        assert (sum(counts.values()) > 0) == (label != "never_ran")
    assert "all" in wib["outcome_deltas"]["w4"]
    assert wib["efficiency"]["base"]["steps"] > 0
    md = (suite_with_diagnostics / "report.md").read_text()
    assert "## Which method costs what, where" in md and "## Where it breaks" in md
    assert md.index("Which method costs") < md.index("## Models")
    # Without diagnostics.json nothing changes (the regression test pins the bytes).
    (suite_with_diagnostics / "diagnostics.json").unlink()
    plain = write_report(load_suite([suite_with_diagnostics]), tmp_path / "plain", plots=False)
    assert "where_it_breaks" not in plain
    assert "Where it breaks" not in (tmp_path / "plain" / "report.md").read_text()


_PROBE = """
<script>
window.addEventListener('error', e => document.body.setAttribute('data-errors', String(e.message)));
window.addEventListener('load', () => {
  const sel = document.getElementById('viewer-episode');
  const data = JSON.parse(document.getElementById('viewer-data').textContent);
  // Show the episode with the most marks for the last variant.
  document.getElementById('viewer-variant').value = data.variants[data.variants.length - 1];
  sel.value = '0'; sel.dispatchEvent(new Event('change'));
  document.body.setAttribute('data-base-cols', String(document.querySelectorAll('.col-base').length));
  document.body.setAttribute('data-variant-cols', String(document.querySelectorAll('.col-variant').length));
  document.body.setAttribute('data-marks', String(document.querySelectorAll('.col-base mark.div').length));
  document.body.setAttribute('data-heat', String(document.querySelectorAll('#hm-kl td.v').length));
  document.getElementById('viewer').scrollIntoView();
});
</script>
"""


def _chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--virtual-time-budget=5000",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_viewer_renders_two_columns_and_marked_tokens(suite_with_diagnostics: Path, tmp_path):
    write_report(load_suite([suite_with_diagnostics]), suite_with_diagnostics, plots=False)
    page = (suite_with_diagnostics / "report.html").read_text()
    assert page.index('id="cost-map"') < page.index("<h2>Models</h2>")
    assert 'id="where-it-breaks"' in page and 'id="viewer-data"' in page
    assert not re.search(r'src="(?!data:image/png;base64,)', page)  # no external resources
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _PROBE + "</body>"))
    result = _chromium(["--dump-dom", probe.as_uri()], tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    body = re.search(r"<body[^>]*>", result.stdout)
    assert body and "data-errors" not in body.group(0), body
    attrs = dict(re.findall(r'data-([a-z-]+)="([^"]*)"', body.group(0)))
    assert int(attrs["base-cols"]) >= 1
    assert attrs["base-cols"] == attrs["variant-cols"]
    assert int(attrs["marks"]) >= 1
    assert int(attrs["heat"]) >= 2
    shot = tmp_path / "viewer.png"
    result = _chromium(
        ["--window-size=1200,2400", f"--screenshot={shot}", probe.as_uri()], tmp_path
    )
    assert result.returncode == 0, result.stderr[-2000:]
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_efficiency_per_variant_beside_the_deltas(suite_with_diagnostics: Path):
    # Resources as the suite runner records them (runs/<label>/resources.json); "w4" has none.
    for label, peak, size in (("base", 900 * 2**20, 270 * 2**20), ("w2", 700 * 2**20, 90 * 2**20)):
        (suite_with_diagnostics / "runs" / label / "resources.json").write_text(
            json.dumps({"checkpoint_bytes": size, "peak_memory_bytes": peak})
        )
    report = write_report(load_suite([suite_with_diagnostics]), suite_with_diagnostics, plots=False)
    eff = report["where_it_breaks"]["efficiency"]
    assert eff["base"]["peak_memory_bytes"] == 900 * 2**20
    assert eff["w2"]["checkpoint_bytes"] == 90 * 2**20
    assert eff["w4"]["peak_memory_bytes"] is None and eff["w4"]["checkpoint_bytes"] is None
    md = (suite_with_diagnostics / "report.md").read_text()
    # On the first screen, after the cost map and before the model tables.
    assert (
        md.index("Which method costs")
        < md.index("### Efficiency per variant")
        < md.index("## Models")
    )
    section = md[md.index("### Efficiency per variant") : md.index("## Models")]
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
        for line in section.splitlines()
        if line.startswith("| ") and not line.startswith("| model")
    }
    assert set(rows) == {"base", "w2", "w4", "never_ran"}
    overall = {d["variant"]: d for d in report["deltas"] if d["level"] == "overall"}
    assert rows["base"][0] == "base"
    assert rows["w2"][0].startswith(f"{overall['w2']['absolute']:+.3f}")
    assert rows["base"][-2:] == ["900", "270"] and rows["w2"][-2:] == ["700", "90"]
    assert rows["w4"][-2:] == ["—", "—"]
    assert float(rows["w2"][2]) > 0  # generated tok/s from the trajectories' timing
    page = (suite_with_diagnostics / "report.html").read_text()
    assert page.index('id="efficiency"') < page.index('id="task-rows"')
