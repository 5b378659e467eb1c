"""The layer rule of docs/architecture.md: every import inside ``acbench_env`` (module-level
or inside a function) goes to the same subpackage or to a layer below."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "acbench_env"

#: Layer of each top-level subpackage or module, bottom up. Same number: siblings, which may
#: not import each other. ``acbench_env/__init__.py`` (the public API) sits above everything.
LAYERS: dict[str, int] = {
    "core": 0,
    "data": 0,
    "tools": 1,
    "compression": 1,
    "scoring": 2,
    "environments": 3,
    "agents": 3,
    "experiments": 4,
    "cli": 5,
    "__init__": 6,
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """Every ``acbench_env`` module that ``path`` imports, anywhere in the file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path, root).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target == root.name:
                # ``from acbench_env import scoring`` imports the subpackage; any other name
                # comes from the public API (``acbench_env/__init__.py``).
                found += [
                    (node.lineno, f"{target}.{a.name}" if a.name in LAYERS else target)
                    for a in node.names
                ]
            else:
                found.append((node.lineno, target))
    return [(line, name) for line, name in found if name.split(".")[0] == root.name]


def layer_of(module: str) -> tuple[str, int]:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    if top not in LAYERS:
        raise KeyError(
            f"{module}: subpackage {top!r} has no layer; add it to docs/architecture.md and LAYERS"
        )
    return top, LAYERS[top]


def violations(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        src_top, src_layer = layer_of(module_name(path, root))
        for line, target in imported_modules(path, root):
            if target == root.name:
                dst_top, dst_layer = "__init__", LAYERS["__init__"]
            else:
                dst_top, dst_layer = layer_of(target)
            if dst_top == src_top:
                continue
            if dst_layer >= src_layer:
                found.append(
                    f"{path.relative_to(root.parent)}:{line}: {src_top} (layer {src_layer}) "
                    f"imports {target} ({dst_top}, layer {dst_layer})"
                )
    return found


def test_every_import_goes_down() -> None:
    assert violations(PACKAGE) == []


def test_every_subpackage_has_a_layer() -> None:
    tops = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    tops |= {p.stem for p in PACKAGE.glob("*.py")}
    assert tops <= set(LAYERS), tops - set(LAYERS)


@pytest.mark.parametrize(
    ("where", "planted"),
    [
        ("core/planted.py", "from acbench_env.agents import LLMPolicyAgent\n"),
        ("scoring/planted.py", "def f():\n    from acbench_env.experiments import runner\n"),
        ("tools/planted.py", "from acbench_env import compression\n"),
        ("environments/planted.py", "from ..agents.backends import create_backend\n"),
    ],
)
def test_a_planted_upward_import_is_caught(tmp_path: Path, where: str, planted: str) -> None:
    root = tmp_path / "acbench_env"
    for sub in ("core", "scoring", "tools", "environments", "agents", "experiments", "compression"):
        (root / sub).mkdir(parents=True)
        (root / sub / "__init__.py").write_text("")
    (root / "__init__.py").write_text("")
    (root / where).write_text(planted)
    found = violations(root)
    assert len(found) == 1 and where in found[0], found
