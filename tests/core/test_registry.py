"""Registration, lookup errors, and what `import acbench_env` costs."""

from __future__ import annotations

import subprocess

import gymnasium
import pytest

import acbench_env
from acbench_env.core.errors import UnknownEnvError
from acbench_env.core.registry import env_ids, list_envs


def test_import_registers_envs_and_imports_no_torch(python_exe, python_env) -> None:
    code = (
        "import sys, acbench_env, gymnasium\n"
        "env = gymnasium.make('acbench/Needle-v0')\n"
        "heavy = [m for m in ('torch', 'transformers', 'vllm') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run(
        [python_exe, "-c", code], capture_output=True, text=True, env=python_env, check=True
    )
    assert out.stdout.strip() == "[]"


def test_environments_module_holds_only_register_lines() -> None:
    import ast
    import inspect

    import acbench_env.environments as envs

    tree = ast.parse(inspect.getsource(envs))
    for node in tree.body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # docstring
        if isinstance(node, ast.ImportFrom) and node.module == "gymnasium":
            continue
        assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Call), ast.dump(node)
        assert getattr(node.value.func, "id", None) == "register"


def test_unknown_id_suggests_close_matches() -> None:
    with pytest.raises(UnknownEnvError, match=r"did you mean acbench/Needle-v0"):
        acbench_env.make("acbench/Needle-v9")
    with pytest.raises(UnknownEnvError, match=r"did you mean acbench/Needle-v0"):
        acbench_env.make("Needle-v0")
    with pytest.raises(UnknownEnvError, match="acbench envs"):
        acbench_env.make("zzzzzz")


def test_list_envs_describes_every_id() -> None:
    entries = list_envs()
    assert [e.env_id for e in entries] == env_ids()
    needle = next(e for e in entries if e.env_id == "acbench/Needle-v0")
    assert needle.capability == "long_context"
    assert "needle" in needle.description.lower() or "hidden" in needle.description.lower()
    assert all(gymnasium.spec(e.env_id).namespace == "acbench" for e in entries)
