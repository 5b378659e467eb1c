"""Property-based fuzzing of every registered acbench/ environment's ``step``.

Parametrised over the registry, so an environment is fuzzed the moment it registers. The
default test plays a few hundred hostile actions per env; the ``slow`` one at least
10,000. Either fails on any uncaught exception or broken invariant (see
``tests/reliability/fuzzing.py``), and checks that every action was accounted for.
"""

from __future__ import annotations

import pytest

from acbench_env.core.registry import env_ids
from tests.reliability.fuzzing import fuzz_env

ALL_ENVS = env_ids()


def _check(env_id: str, examples: int, per_example: int) -> None:
    stats = fuzz_env(env_id, examples=examples, actions_per_example=per_example)
    assert stats.failures == [], "\n\n".join(stats.failures)
    assert stats.actions == examples * per_example
    accounted = stats.format_failures + stats.counted_errors + stats.scored + stats.rewarded
    assert accounted == stats.actions
    assert stats.format_failures + stats.counted_errors + stats.scored > 0
    # Garbage is rarely right: an explicit no-call ("<tool_call>[]</tool_call>") is the
    # correct answer of an irrelevance task, but more than 5% rewarded means an env
    # accepts junk as correct.
    assert stats.rewarded <= stats.actions // 20, stats


@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_fuzz_step(env_id: str) -> None:
    _check(env_id, examples=40, per_example=5)


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ALL_ENVS)
def test_fuzz_step_10k(env_id: str) -> None:
    _check(env_id, examples=1000, per_example=10)
