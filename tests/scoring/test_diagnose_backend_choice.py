"""``acbench diagnose --backend``: bad input without a model (vLLM missing, unknown
backend, bad top-k)."""

from __future__ import annotations

import importlib.util

import pytest

from acbench_env.cli import main
from acbench_env.core.errors import ConfigError, MissingDependencyError
from acbench_env.experiments.diagnose import diagnose, require_vllm


@pytest.fixture
def no_vllm(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a)
    )


def test_vllm_missing_names_the_extra(no_vllm, tmp_path, capsys) -> None:
    with pytest.raises(MissingDependencyError, match=r"pip install 'acbench-env\[vllm\]'"):
        require_vllm()
    rc = main(
        [
            "diagnose",
            "--base",
            "default",
            "--compressed",
            "default",
            "--trajectories",
            str(tmp_path / "none.jsonl"),
            "--out",
            str(tmp_path / "out"),
            "--backend",
            "vllm",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1  # one line
    assert "acbench diagnose --backend vllm needs the Python package 'vllm'" in err
    assert "acbench-env[vllm]" in err
    assert not (tmp_path / "out").exists()


def test_unknown_backend_and_bad_topk() -> None:
    with pytest.raises(ConfigError, match="transformers or vllm, not 'openai'"):
        diagnose("default", ["default"], [], backend="openai")
    with pytest.raises(ConfigError, match="topk must be at least 1"):
        diagnose("default", ["default"], [], backend="vllm", topk=0)
