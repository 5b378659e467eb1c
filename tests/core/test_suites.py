"""The built-in suites list every registered environment (no run falls back to the
``fallback`` row), and suite definitions stay data apart from running them."""

from __future__ import annotations

import logging

import pytest

from acbench_env.core.registry import env_ids
from acbench_env.core.suites import SUITES


@pytest.mark.parametrize("name", sorted(SUITES))
def test_builtin_suite_has_a_row_for_every_registered_env(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    suite = SUITES[name]
    listed = {t.env_id for t in suite.tasks}
    assert set(env_ids()) <= listed, sorted(set(env_ids()) - listed)
    with caplog.at_level(logging.WARNING):
        resolved = suite.resolved(env_ids())
    assert "fallback" not in caplog.text
    assert len(resolved.tasks) == len(env_ids())
