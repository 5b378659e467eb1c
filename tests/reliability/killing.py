"""Kill ``acbench run`` with SIGKILL at seeded random moments, restart it, check the file.

Used by ``tests/reliability/test_crash_resume.py`` and ``benchmarks/reliability.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class KillTrial:
    """One run killed ``kills`` times and then finished."""

    env_id: str
    episodes: int
    kills: int = 0
    kills_mid_run: int = 0  # kills that landed after the first and before the last episode
    saved_before_start: list[int] = field(default_factory=list)
    saved_after_kill: list[int] = field(default_factory=list)
    partial_tails: int = 0  # kills that left a half-written last line (repaired on resume)
    torn_by_test: int = 0  # last lines cut short by the test (a kill in mid-write, simulated)
    lost: int = 0
    duplicated: int = 0
    corrupt_lines: int = 0
    returncode: int | None = None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _command(env_id: str, episodes: int, out: Path, batch_size: int, agent: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "acbench_env.cli",
        "run",
        "--env",
        env_id,
        "--agent",
        agent,
        "--episodes",
        str(episodes),
        "--seed",
        "0",
        "--out",
        str(out),
        "--batch-size",
        str(batch_size),
        "--no-progress",
    ]


def _lines(out: Path) -> int:
    try:
        return out.read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def kill_and_resume(
    env_id: str,
    out: Path,
    *,
    episodes: int = 300,
    kills: int = 5,
    seed: int = 0,
    agent: str = "oracle",
    timeout_s: float = 120.0,
    tear: bool = True,
) -> KillTrial:
    """Start ``acbench run``; ``kills`` times, SIGKILL it when a random (seeded) number of
    episodes are saved plus a random delay, and restart it; then let it finish and check
    that the file holds every requested episode exactly once and only whole lines.

    A kill rarely lands inside the single ``write`` of a record, so with ``tear`` every
    other kill is followed by cutting the last line at a random byte, which is what such
    a kill leaves behind; the restarted run must repair the file and redo that episode."""
    rng = np.random.default_rng(seed)
    trial = KillTrial(env_id, episodes)
    for _ in range(kills):
        batch = int(rng.choice([1, 3, 8]))
        saved = _lines(out)
        trial.saved_before_start.append(saved)
        target = int(rng.integers(saved, max(saved + 1, episodes - 10)))
        delay = float(rng.uniform(0.0, 0.05))
        proc = subprocess.Popen(
            _command(env_id, episodes, out, batch, agent),
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout_s
        while proc.poll() is None and time.monotonic() < deadline and _lines(out) < target:
            time.sleep(0.002)
        time.sleep(delay)  # land the kill at different points of an episode or a write
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            trial.kills += 1
        proc.wait()
        now = _lines(out)
        trial.saved_after_kill.append(now)
        if out.exists() and out.stat().st_size and not out.read_bytes().endswith(b"\n"):
            trial.partial_tails += 1
        elif tear and now > 0 and rng.random() < 0.5:
            raw = out.read_bytes()
            start = raw.rfind(b"\n", 0, len(raw) - 1) + 1  # the last line
            cut = int(rng.integers(start + 1, len(raw) - 1))
            with out.open("r+b") as fh:
                fh.truncate(cut)
            trial.torn_by_test += 1
        if 0 < now < episodes:
            trial.kills_mid_run += 1
    done = subprocess.run(
        _command(env_id, episodes, out, 4, agent),
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=timeout_s,
    )
    trial.returncode = done.returncode
    raw = out.read_bytes()
    seeds = []
    for line in raw.split(b"\n")[:-1]:
        try:
            seeds.append(int(json.loads(line)["seed"]))
        except (ValueError, KeyError, TypeError):
            trial.corrupt_lines += 1
    if not raw.endswith(b"\n"):
        trial.corrupt_lines += 1
    wanted = set(range(episodes))
    trial.lost = len(wanted - set(seeds))
    trial.duplicated = len(seeds) - len(set(seeds))
    return trial
