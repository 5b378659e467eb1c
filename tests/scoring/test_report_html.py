"""The HTML report opens in a headless browser without errors and shows every plot."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from acbench_env.scoring.report import load_suite, write_report
from tests.scoring.suite_fixtures import fake_analysis, run_mini

pytest.importorskip("matplotlib", reason="the report's plots need matplotlib (extra 'plot')")

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
)

# Appended to a copy of the page: records, after load, how many images decoded and any
# script error, into attributes that --dump-dom prints.
_PROBE = """
<script>
window.addEventListener('error', e => document.body.setAttribute('data-errors', String(e.message)));
window.addEventListener('load', () => {
  const imgs = Array.from(document.images);
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0);
  document.body.setAttribute('data-images', String(imgs.length));
  document.body.setAttribute('data-decoded', ok.map(i => i.id).join(','));
});
</script>
"""


@pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (scripts/setup.sh --dev installs it with apt-get where it can)",
)
def test_html_report_renders_every_plot_in_headless_chromium(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "suite"
    run_mini(out, monkeypatch)
    (out / "analysis").mkdir()
    (out / "analysis" / "base__vs__broken.json").write_text(
        json.dumps(fake_analysis("base", "broken"))
    )
    write_report(load_suite([out]), out)
    page = (out / "report.html").read_text()
    expected = {"plot-capabilities", "plot-deltas", "plot-needle", "plot-erank", "plot-energy"}
    assert set(re.findall(r'id="(plot-[a-z]+)"', page)) == expected
    assert "<script" not in page  # the report itself is static and self-contained
    assert not re.search(r'src="(?!data:image/png;base64,)', page)  # no external resources
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", _PROBE + "</body>"))
    profile = tmp_path / "profile"
    result = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--virtual-time-budget=5000",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    body = re.search(r"<body[^>]*>", dom)
    assert body and "data-errors" not in body.group(0), body
    assert not re.search(r"Uncaught|CONSOLE.*(error|Error)", result.stderr), result.stderr[-2000:]
    images = re.search(r'data-images="(\d+)"', body.group(0))
    decoded = re.search(r'data-decoded="([^"]*)"', body.group(0))
    assert images and decoded, dom[:500]
    assert int(images.group(1)) == len(expected)
    assert set(decoded.group(1).split(",")) == expected
