"""Helpers over Gymnasium's registry for ``acbench/`` environments."""

from __future__ import annotations

import difflib
import importlib
import inspect
from dataclasses import dataclass
from typing import Any

import gymnasium

from acbench_env.core.errors import UnknownEnvError

NAMESPACE = "acbench"


@dataclass(frozen=True)
class EnvEntry:
    """A registered environment: its id, class path and one-line description."""

    env_id: str
    entry_point: str
    description: str
    capability: str


def env_ids() -> list[str]:
    """Every registered ``acbench/`` id, sorted."""
    return sorted(i for i, spec in gymnasium.registry.items() if spec.namespace == NAMESPACE)


def check_env_id(env_id: str) -> None:
    """Raise :class:`UnknownEnvError` with close matches if ``env_id`` is not registered."""
    ids = env_ids()
    if env_id in ids or env_id in gymnasium.registry:
        return
    short = {i.split("/", 1)[-1]: i for i in ids}
    name = env_id.split("/", 1)[-1]
    candidates = [short[c] for c in difflib.get_close_matches(name, list(short), n=3, cutoff=0.6)]
    hint = (
        f"did you mean {', '.join(candidates)}?"
        if candidates
        else "run 'acbench envs' to list them"
    )
    raise UnknownEnvError(f"unknown environment id {env_id!r}; {hint}")


def make(env_id: str, **kwargs: Any) -> gymnasium.Env[Any, Any]:
    """``gymnasium.make`` with a clear error (and suggestions) for an unknown id."""
    check_env_id(env_id)
    return gymnasium.make(env_id, **kwargs)


def env_class(env_id: str) -> type:
    """The class behind a registered id (imports its module)."""
    check_env_id(env_id)
    entry = gymnasium.spec(env_id).entry_point
    if not isinstance(entry, str):
        return entry  # type: ignore[return-value]
    module, _, attr = entry.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def list_envs() -> list[EnvEntry]:
    """Every ``acbench/`` environment with the first line of its class docstring."""
    out = []
    for env_id in env_ids():
        cls = env_class(env_id)
        doc = inspect.getdoc(cls) or ""
        out.append(
            EnvEntry(
                env_id=env_id,
                entry_point=str(gymnasium.spec(env_id).entry_point),
                description=doc.splitlines()[0] if doc else "",
                capability=str(getattr(cls, "capability", "")),
            )
        )
    return out
