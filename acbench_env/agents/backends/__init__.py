"""Backends, created by name. Optional dependencies are imported only when one is created."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from acbench_env.core.errors import ConfigError, MissingDependencyError
from acbench_env.core.protocols import Backend, Completion, GenerationRequest

# name -> (entry point, packages it needs, extra that installs them)
_BACKENDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "transformers": (
        "acbench_env.agents.backends.transformers_backend:TransformersBackend",
        ("torch", "transformers"),
        "hf",
    ),
    "scripted": ("acbench_env.agents.backends.scripted:ScriptedBackend", (), ""),
    "vllm": (
        "acbench_env.agents.backends.vllm_backend:VLLMBackend",
        ("vllm", "transformers"),
        "vllm",
    ),
    "openai": ("acbench_env.agents.backends.openai_backend:OpenAIBackend", (), ""),
}


def backend_names() -> list[str]:
    return sorted(_BACKENDS)


def create_backend(name: str, **kwargs: Any) -> Backend:
    """Create backend ``name`` (e.g. ``create_backend("transformers", model="default")``)."""
    if name not in _BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of {', '.join(backend_names())}")
    entry, packages, extra = _BACKENDS[name]
    for pkg in packages:
        if importlib.util.find_spec(pkg) is None:
            raise MissingDependencyError(pkg, extra, f"The {name} backend")
    module, _, attr = entry.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    return cls(**kwargs)  # type: ignore[no-any-return]


__all__ = ["Backend", "Completion", "GenerationRequest", "backend_names", "create_backend"]
