"""docs/extending.md: every worked example runs as written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gymnasium
import pytest

from acbench_env.agents.backends import BACKENDS
from tests.docs.code_blocks import ROOT, python_blocks, run_blocks

DOC = ROOT / "docs" / "extending.md"


@pytest.fixture
def clean_registries() -> Iterator[None]:
    from acbench_env.compression import methods

    backends, envs, table = dict(BACKENDS), set(gymnasium.registry), methods.METHODS
    yield
    methods.METHODS = table
    BACKENDS.clear()
    BACKENDS.update(backends)
    for env_id in set(gymnasium.registry) - envs:
        del gymnasium.registry[env_id]


def test_extending_examples_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_registries: None
) -> None:
    blocks = python_blocks(DOC)
    assert len(blocks) >= 3
    ns = run_blocks(blocks, tmp_path, monkeypatch)
    assert "echo-number" in BACKENDS
    from acbench_env.compression import method_names

    assert "row-magnitude" in method_names("prune")
    assert "mylab/Add-v0" in gymnasium.registry
    # The example environment passes Gymnasium's own checker, as registered ones must.
    from gymnasium.utils.env_checker import check_env

    check_env(gymnasium.make("mylab/Add-v0").unwrapped)
    # The echo backend answers "a + b" with b: right only when a == 0.
    scores = [t.score for t in ns["result"].trajectories]  # type: ignore[attr-defined]
    assert scores == [
        1.0 if (seed_task // 10) == 0 else 0.0
        for seed_task in [t.task_index for t in ns["result"].trajectories]
    ]  # type: ignore[attr-defined]


def test_register_backend_refuses_a_taken_name(clean_registries: None) -> None:
    from acbench_env.agents.backends import BackendSpec, register_backend
    from acbench_env.core.errors import ConfigError

    with pytest.raises(ConfigError, match="already registered"):
        register_backend(BackendSpec("vllm", "x:Y"))
    with pytest.raises(ConfigError, match="module:Class"):
        register_backend(BackendSpec("mine", "no_colon"))
