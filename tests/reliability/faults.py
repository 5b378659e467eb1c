"""Backend faults against the fake OpenAI-compatible server: a watchdog, the backend
settings, a request and a BlocksWorld run through that backend.

Used by ``tests/reliability/test_backend_faults.py`` and ``benchmarks/reliability.py``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acbench_env.agents import LLMPolicyAgent
from acbench_env.agents.backends import GenerationRequest, create_backend
from acbench_env.experiments.runner import run_episodes

TIMEOUT = 0.4
RETRIES = 2
BACKOFF_S = 0.1
#: The longest a failing call may take: every attempt (at most two timeouts: connection
#: and answer) plus the backoff, with slack for a busy machine.
BOUND_S = (RETRIES + 1) * 2 * TIMEOUT + BACKOFF_S * 2**RETRIES + 5.0


@dataclass(frozen=True)
class Bounded:
    """What a call run under :func:`run_bounded` gave: its value or error, whether it was
    still running at the limit, and the seconds waited."""

    value: Any
    error: BaseException | None
    hung: bool
    elapsed_s: float


def run_bounded(fn: Callable[[], Any], limit_s: float) -> Bounded:
    """Run ``fn`` in a daemon thread and wait at most ``limit_s`` for it."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box["error"] = exc

    t0 = time.monotonic()
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(limit_s)
    hung = thread.is_alive()
    return Bounded(box.get("value"), box.get("error"), hung, time.monotonic() - t0)


def fault_backend(url: str) -> Any:
    """An OpenAI-compatible backend on ``url`` with the short timeout and retries above."""
    return create_backend(
        "openai",
        model="default",
        base_url=url,
        timeout=TIMEOUT,
        max_retries=RETRIES,
        backoff_s=BACKOFF_S,
    )


def request(text: str) -> GenerationRequest:
    """A one-message request (the fake server answers with ``text`` reversed)."""
    return GenerationRequest(messages=({"role": "user", "content": text},), max_new_tokens=8)


def run_blocks(url: str, out: Path, episodes: int) -> Any:
    """``episodes`` BlocksWorld episodes from seed 3 through :func:`fault_backend`, saved to
    (and resumed from) ``out``."""
    agent = LLMPolicyAgent(fault_backend(url), max_new_tokens=8)
    return run_episodes(
        "acbench/BlocksWorld-v0", agent, episodes=episodes, seed=3, out=out, batch_size=3
    )
