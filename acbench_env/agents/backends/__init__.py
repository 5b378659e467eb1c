"""Backends, created by name from one registry. Optional dependencies are imported only when
a backend is created (the registry holds ``"module:Class"`` strings, as Gymnasium's does).

Adding a backend is one module plus one :class:`BackendSpec` line in :data:`BACKENDS`; the
CLI's ``--backend`` choices and the suite's in-process check read this table.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from acbench_env.core.errors import ConfigError, require
from acbench_env.core.protocols import Backend, Completion, GenerationRequest


@dataclass(frozen=True)
class BackendSpec:
    """A registered backend.

    ``entry_point`` is ``"module:Class"`` (imported when created) or the class itself; ``packages`` must be importable to create it and
    ``extra`` names the ``acbench-env[...]`` extra that installs them. ``loads_model`` is true
    for backends that load a model folder into this process (suites run only those; their
    weights are fingerprinted). ``remote`` backends take a model *name* that a server serves,
    not a model folder (nothing to resolve or fingerprint locally).
    """

    name: str
    entry_point: str | Callable[..., Backend]
    packages: tuple[str, ...] = ()
    extra: str = ""
    loads_model: bool = False
    remote: bool = False
    description: str = ""


BACKENDS: dict[str, BackendSpec] = {
    spec.name: spec
    for spec in (
        BackendSpec(
            "transformers",
            "acbench_env.agents.backends.transformers_backend:TransformersBackend",
            ("torch", "transformers"),
            "hf",
            loads_model=True,
            description="transformers in this process (the default)",
        ),
        BackendSpec(
            "vllm",
            "acbench_env.agents.backends.vllm_backend:VLLMBackend",
            ("vllm", "transformers"),
            "vllm",
            loads_model=True,
            description="vLLM's offline engine in this process",
        ),
        BackendSpec(
            "openai",
            "acbench_env.agents.backends.openai_backend:OpenAIBackend",
            remote=True,
            description="any OpenAI-compatible server (acbench serve, vllm serve, ...)",
        ),
        BackendSpec(
            "scripted",
            "acbench_env.agents.backends.scripted:ScriptedBackend",
            description="fixed replies, for tests",
        ),
    )
}


def register_backend(spec: BackendSpec) -> None:
    """Add a backend to the registry (refusing a name already taken), e.g. from a plug-in
    module: ``register_backend(BackendSpec("mine", "my_pkg.backend:MyBackend"))``."""
    if spec.name in BACKENDS:
        raise ConfigError(
            f"a backend named {spec.name!r} is already registered; choose another name"
        )
    if isinstance(spec.entry_point, str) and ":" not in spec.entry_point:
        raise ConfigError(
            f"backend {spec.name!r}: entry_point must be 'module:Class', got {spec.entry_point!r}"
        )
    BACKENDS[spec.name] = spec


def backend_names(*, loads_model: bool | None = None) -> list[str]:
    """Registered backend names (only those that load a model folder in-process, or only
    those that do not, when ``loads_model`` is given)."""
    return sorted(
        n for n, s in BACKENDS.items() if loads_model is None or s.loads_model == loads_model
    )


def backend_spec(name: str) -> BackendSpec:
    """The registry record of backend ``name``; an unknown name lists the choices."""
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of {', '.join(backend_names())}")
    return BACKENDS[name]


def create_backend(name: str, **kwargs: Any) -> Backend:
    """Create backend ``name`` (e.g. ``create_backend("transformers", model="default")``)."""
    spec = backend_spec(name)
    require(tuple(spec.packages), spec.extra, f"The {name} backend")
    factory = spec.entry_point
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        factory = getattr(importlib.import_module(module), attr)
    return factory(**kwargs)


__all__ = [
    "BACKENDS",
    "Backend",
    "BackendSpec",
    "Completion",
    "GenerationRequest",
    "backend_names",
    "backend_spec",
    "create_backend",
    "register_backend",
]
