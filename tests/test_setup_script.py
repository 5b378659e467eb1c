"""scripts/setup.sh refuses to start installing on a disk without room, naming the fix.

A full disk otherwise stops pip halfway with "[Errno 28] No space left on device" and leaves
a half-built environment. ``df`` is replaced on PATH by a script that reports the free space.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


def _run_setup(
    tmp_path: Path, free_mb: int, with_vllm: str, min_free_gb: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run setup.sh into ``tmp_path/venv`` with a ``df`` that reports ``free_mb`` free."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    df = bin_dir / "df"
    df.write_text(
        "#!/bin/sh\n"
        "echo 'Filesystem 1024-blocks Used Available Capacity Mounted on'\n"
        f"echo '/dev/fake 100000000 90000000 {free_mb * 1024} 99% /'\n"
    )
    df.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "ACBENCH_VENV": str(tmp_path / "venv"),
        "ACBENCH_WITH_VLLM": with_vllm,
    }
    env.pop("ACBENCH_MIN_FREE_GB", None)
    if min_free_gb is not None:
        env["ACBENCH_MIN_FREE_GB"] = min_free_gb
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "setup.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("free_mb", "with_vllm", "needed_gb"),
    [(100, "0", 3), (4 * 1024, "1", 6)],
)
def test_setup_refuses_on_a_full_disk_before_creating_anything(
    tmp_path: Path, free_mb: int, with_vllm: str, needed_gb: int
) -> None:
    proc = _run_setup(tmp_path, free_mb, with_vllm)
    assert proc.returncode == 1
    assert f"only {free_mb} MB free" in proc.stderr
    assert f"about {needed_gb} GB" in proc.stderr
    assert "ACBENCH_VENV" in proc.stderr
    assert not (tmp_path / "venv").exists()


def test_setup_free_space_threshold_can_be_lowered(tmp_path: Path) -> None:
    """ACBENCH_MIN_FREE_GB moves the threshold; the message shows the one in force."""
    proc = _run_setup(tmp_path, 1536, "0", min_free_gb="2")
    assert proc.returncode == 1
    assert "only 1536 MB free" in proc.stderr
    assert "about 2 GB" in proc.stderr
