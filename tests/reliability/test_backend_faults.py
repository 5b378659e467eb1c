"""Backend faults against the fake OpenAI-compatible server: never a hang, resume after.

Each call runs under a watchdog (:func:`bounded`), so a hang fails the test instead of
blocking CI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from acbench_env.core.errors import BackendError
from acbench_env.core.jsonl import read_trajectories
from tests.agents.fake_openai_server import serve_fake
from tests.reliability.faults import BOUND_S, RETRIES, TIMEOUT, run_bounded
from tests.reliability.faults import fault_backend as _backend
from tests.reliability.faults import request as _req
from tests.reliability.faults import run_blocks as _run


def bounded(fn: Callable[[], Any], limit_s: float) -> tuple[Any, BaseException | None, float]:
    """Run ``fn`` in a thread; fail the test if it is still running after ``limit_s``."""
    r = run_bounded(fn, limit_s)
    assert not r.hung, f"hung for more than {limit_s:.0f} s"
    return r.value, r.error, r.elapsed_s


@pytest.mark.parametrize("fault", ["stall", "trickle", "reset", "503"])
def test_persistent_fault_is_a_clear_error_within_the_bound(fault: str) -> None:
    with serve_fake() as (url, state):
        state.delay_s = 0.1  # trickle: one byte per 0.1 s, each read within the timeout
        backend = _backend(url)
        state.inject(fault)
        _, error, elapsed = bounded(lambda: backend.generate([_req("abc"), _req("de")]), BOUND_S)
        assert isinstance(error, BackendError), error
        assert f"after {RETRIES + 1} attempts" in str(error)
        assert state.faults_injected >= RETRIES + 1
        assert elapsed < BOUND_S
        backend.close()


@pytest.mark.parametrize("fault", ["stall", "trickle", "reset", "503"])
def test_transient_fault_is_retried(fault: str) -> None:
    with serve_fake() as (url, state):
        state.delay_s = 0.1
        backend = _backend(url)
        state.inject(fault, count=1)
        out, error, _ = bounded(lambda: backend.generate([_req("abc")]), BOUND_S)
        assert error is None and out[0].text == "cba"
        assert state.faults_injected == 1
        backend.close()


def test_slow_answers_within_the_timeout_succeed() -> None:
    with serve_fake() as (url, state):
        state.delay_s = TIMEOUT / 3
        backend = _backend(url)
        state.inject("slow")
        out, error, _ = bounded(lambda: backend.generate([_req(f"x{i}") for i in range(6)]), 30)
        assert error is None and [o.text for o in out] == [f"x{i}"[::-1] for i in range(6)]
        assert state.faults_injected == 6
        backend.close()


@pytest.mark.parametrize("fault", ["die", "stall", "reset"])
def test_run_fails_cleanly_mid_run_then_resumes_exactly(tmp_path, fault: str) -> None:
    out = tmp_path / "run.jsonl"
    episodes = 12
    with serve_fake() as (url, state):
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        state.inject(fault, after=40)  # the server fails for good after 40 requests
        _, error, _ = bounded(lambda: _run(url, out, episodes), 60)
        assert isinstance(error, BackendError), error
    saved = read_trajectories(out)
    assert 0 < len(saved) < episodes
    with serve_fake(port=port) as (url2, state2):
        result, error, _ = bounded(lambda: _run(url2, out, episodes), 60)
        assert error is None, error
    assert result.resumed_episodes == len(saved)
    assert result.new_episodes == episodes - len(saved)
    seeds = [t.seed for t in read_trajectories(out)]
    assert sorted(seeds) == list(range(3, 3 + episodes))  # none lost, none duplicated


def test_cli_run_exits_3_on_server_failure_and_the_same_command_resumes(tmp_path, capsys) -> None:
    from acbench_env.cli import main

    out = tmp_path / "cli.jsonl"
    with serve_fake() as (url, state):
        argv = [
            "run",
            "--env",
            "acbench/BlocksWorld-v0",
            "--backend",
            "openai",
            "--base-url",
            url,
            "--model",
            "default",
            "--episodes",
            "6",
            "--batch-size",
            "2",
            "--timeout",
            str(TIMEOUT),
            "--out",
            str(out),
            "--no-progress",
        ]
        state.inject("reset", after=25)
        code, error, _ = bounded(lambda: main(argv), 60)
        assert error is None and code == 3
        err = capsys.readouterr().err
        assert "finished episodes are saved" in err and "run the same command again" in err
        saved = len(read_trajectories(out))
        assert 0 < saved < 6
        state.inject(None)
        code, error, _ = bounded(lambda: main(argv), 60)
        assert error is None and code == 0
    seeds = [t.seed for t in read_trajectories(out)]
    assert sorted(seeds) == list(range(6))
